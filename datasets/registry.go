package datasets

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/privlm/privlm/framework/data"
	"github.com/privlm/privlm/framework/shareddata"
)

// Dataset is one converter.
type Dataset struct {
	Name        string
	Description string
	// DefaultSource is used when no source is given: a path relative to the
	// shared data directory, or an "npm:" package spec. Empty means a source
	// must be given.
	DefaultSource string
	// Formats describes the sources Convert accepts.
	Formats string
	// Convert reads source and emits records.
	Convert func(source string, emit func(data.Record) error) error
	// ConvertWith, if set, is used instead of Convert, with the options.
	ConvertWith func(source string, opts ConvertOptions, emit func(data.Record) error) error
	// Version names what the conversion does; it changes when the
	// converter's output changes, so cached conversions are redone.
	Version string
}

// ConvertOptions changes what a converter keeps. Converters without
// ConvertWith ignore them.
type ConvertOptions struct {
	// KeepQuotes keeps quoted replies and forwarded mails in mail bodies
	// (enron, email); by default StripQuoted removes them.
	KeepQuotes bool `json:"keep_quotes,omitempty"`
}

var registry = map[string]Dataset{}

// Register adds a dataset; it panics on a duplicate name.
func Register(d Dataset) {
	if _, dup := registry[d.Name]; dup {
		panic("datasets: duplicate dataset " + d.Name)
	}
	registry[d.Name] = d
}

// Names lists the datasets, sorted.
func Names() []string {
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Lookup returns a dataset by name.
func Lookup(name string) (Dataset, error) {
	d, ok := registry[name]
	if !ok {
		return Dataset{}, fmt.Errorf("datasets: unknown dataset %q (known: %s)", name, strings.Join(Names(), ", "))
	}
	return d, nil
}

// ResolveSource returns the source to read: the given one, else the default
// (relative paths resolve against the shared data directory).
func (d Dataset) ResolveSource(source string) (string, error) {
	if source != "" {
		return source, nil
	}
	switch {
	case d.DefaultSource == "":
		return "", fmt.Errorf("datasets: %s has no default source: give --source (%s)", d.Name, d.Formats)
	case strings.HasPrefix(d.DefaultSource, "npm:"):
		return d.DefaultSource, nil
	}
	p := filepath.Join(shareddata.Dir(), d.DefaultSource)
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("datasets: %s: default source %s not found (set %s or give --source: %s)", d.Name, p, shareddata.EnvVar, d.Formats)
	}
	return p, nil
}

// PrepareResult says what Prepare wrote.
type PrepareResult struct {
	Dataset  string        `json:"dataset"`
	Source   string        `json:"source"`
	Out      string        `json:"out"`
	Rows     int           `json:"rows"`
	Duration time.Duration `json:"duration_ns"`
}

// Prepare converts a dataset into a Parquet file at out (atomically: on any
// error nothing is left at out) with the default options. progress, if not
// nil, is called every 50,000 rows.
func Prepare(name, source, out string, progress func(rows int)) (PrepareResult, error) {
	return PrepareWith(name, source, out, ConvertOptions{}, progress)
}

// PrepareWith is Prepare with converter options.
func PrepareWith(name, source, out string, opts ConvertOptions, progress func(rows int)) (PrepareResult, error) {
	start := time.Now()
	d, err := Lookup(name)
	if err != nil {
		return PrepareResult{}, err
	}
	src, err := d.ResolveSource(source)
	if err != nil {
		return PrepareResult{}, err
	}
	w, err := data.NewWriter(out)
	if err != nil {
		return PrepareResult{}, err
	}
	seen := map[string]bool{}
	emit := func(r data.Record) error {
		if seen[r.DocID] {
			return fmt.Errorf("duplicate doc id %q", r.DocID)
		}
		seen[r.DocID] = true
		if err := data.Validate([]data.Record{r}); err != nil {
			return fmt.Errorf("doc %q: %w", r.DocID, err)
		}
		if err := w.Write(r); err != nil {
			return err
		}
		if progress != nil && w.Rows()%50000 == 0 {
			progress(w.Rows())
		}
		return nil
	}
	convert := d.Convert
	if d.ConvertWith != nil {
		convert = func(src string, emit func(data.Record) error) error { return d.ConvertWith(src, opts, emit) }
	}
	if err := convert(src, emit); err != nil {
		w.Abort()
		return PrepareResult{}, fmt.Errorf("datasets: %s from %s: %w", name, src, err)
	}
	if w.Rows() == 0 {
		w.Abort()
		return PrepareResult{}, fmt.Errorf("datasets: %s from %s: no documents", name, src)
	}
	rows := w.Rows()
	if err := w.Close(); err != nil {
		return PrepareResult{}, err
	}
	return PrepareResult{Dataset: name, Source: src, Out: out, Rows: rows, Duration: time.Since(start)}, nil
}
