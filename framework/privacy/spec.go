package privacy

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// EWTuneOrders are the RDP orders of EW-Tune's "moments" accountant,
// numpy.arange(2, 32, 0.1): 2.0, 2.1, ..., 31.9 (../shared/PAPERS.md section 2).
func EWTuneOrders() []float64 {
	orders := make([]float64, 0, 300)
	for i := range 300 {
		orders = append(orders, 2+float64(i)*0.1)
	}
	return orders
}

// Parse returns the accountant a spec names. A spec is a registered name,
// optionally with options in query syntax:
//
//	rdp?conversion=opacus|classic&orders=opacus|ewtune
//	pld?interval=5e-4
//	prv?eps_error=0.1
//	edgeworth?order=1|2
//
// EW-Tune's three accountants are "edgeworth", "prv?eps_error=0.1" and
// "rdp?conversion=classic&orders=ewtune" (EWTuneSpecEW, EWTuneSpecPRV,
// EWTuneSpecRDP). A plain name
// gives the registered accountant.
func Parse(spec string) (Accountant, error) {
	name, query, hasQuery := strings.Cut(strings.TrimSpace(spec), "?")
	if !hasQuery {
		return Lookup(name)
	}
	if _, err := Lookup(name); err != nil {
		return nil, err
	}
	vals, err := url.ParseQuery(query)
	if err != nil {
		return nil, fmt.Errorf("privacy: accountant %q: bad options: %w", spec, err)
	}
	opts := map[string]string{}
	for k, v := range vals {
		if len(v) != 1 {
			return nil, fmt.Errorf("privacy: accountant %q: option %s given %d times", spec, k, len(v))
		}
		opts[k] = v[0]
	}
	known := map[string][]string{"rdp": {"conversion", "orders"}, "pld": {"interval"}, "prv": {"eps_error"}, "edgeworth": {"order"}}
	for k := range opts {
		if !slices.Contains(known[name], k) {
			return nil, fmt.Errorf("privacy: accountant %q: unknown option %q (known for %s: %s)", spec, k, name, strings.Join(known[name], ", "))
		}
	}
	num := func(key string) (float64, error) {
		v, err := strconv.ParseFloat(opts[key], 64)
		if err != nil || !(v > 0) || v > 1e3 {
			return 0, fmt.Errorf("privacy: accountant %q: %s = %q, want a number > 0", spec, key, opts[key])
		}
		return v, nil
	}
	switch name {
	case "rdp":
		var o RDPOptions
		switch opts["conversion"] {
		case "", "opacus":
		case "classic":
			o.Classic = true
		default:
			return nil, fmt.Errorf("privacy: accountant %q: conversion = %q, want opacus or classic", spec, opts["conversion"])
		}
		switch opts["orders"] {
		case "", "opacus":
		case "ewtune":
			o.Orders = EWTuneOrders()
		default:
			return nil, fmt.Errorf("privacy: accountant %q: orders = %q, want opacus or ewtune", spec, opts["orders"])
		}
		return NewRDP(o), nil
	case "pld":
		if _, ok := opts["interval"]; !ok {
			return NewPLD(PLDOptions{}), nil
		}
		v, err := num("interval")
		if err != nil {
			return nil, err
		}
		return NewPLD(PLDOptions{Interval: v}), nil
	case "prv":
		if _, ok := opts["eps_error"]; !ok {
			return NewPRV(PRVOptions{}), nil
		}
		v, err := num("eps_error")
		if err != nil {
			return nil, err
		}
		return NewPRV(PRVOptions{EpsError: v}), nil
	case "edgeworth":
		switch opts["order"] {
		case "", "1":
			return NewEdgeworth(1), nil
		case "2":
			return NewEdgeworth(2), nil
		}
		return nil, fmt.Errorf("privacy: accountant %q: order = %q, want 1 or 2", spec, opts["order"])
	}
	return nil, fmt.Errorf("privacy: accountant %q takes no options", spec)
}

// EWTune's accountant specs, as its code configures them
// (../shared/PAPERS.md section 2): "ew", "prv" and "moments".
const (
	EWTuneSpecEW  = "edgeworth"
	EWTuneSpecPRV = "prv?eps_error=0.1"
	EWTuneSpecRDP = "rdp?conversion=classic&orders=ewtune"
)
