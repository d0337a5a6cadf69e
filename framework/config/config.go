// Package config sets fields of typed configuration structs from
// key=value strings, the one syntax privlm uses on the command line
// (-set key=value), in config files and in notebooks. Keys are the fields'
// json tags; nested structs use dots ("train.batch_size").
package config

import (
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
)

// Set assigns value to the field named key in the struct ptr points to.
// Errors name the key and what was expected.
func Set(ptr any, key, value string) error {
	v := reflect.ValueOf(ptr)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return fmt.Errorf("config: Set needs a pointer to a struct, got %T", ptr)
	}
	field, err := lookup(v.Elem(), key)
	if err != nil {
		return err
	}
	return assign(field, key, value)
}

// SetAll applies "key=value" assignments in order.
func SetAll(ptr any, assignments ...string) error {
	for _, a := range assignments {
		k, val, ok := strings.Cut(a, "=")
		if !ok {
			return fmt.Errorf("config: %q is not key=value", a)
		}
		if err := Set(ptr, strings.TrimSpace(k), strings.TrimSpace(val)); err != nil {
			return err
		}
	}
	return nil
}

// Keys lists the settable keys of a struct, sorted.
func Keys(ptr any) []string {
	var out []string
	var walk func(t reflect.Type, prefix string)
	walk = func(t reflect.Type, prefix string) {
		for i := range t.NumField() {
			f := t.Field(i)
			name := tagName(f)
			if name == "" {
				continue
			}
			if f.Type.Kind() == reflect.Struct {
				walk(f.Type, prefix+name+".")
			} else {
				out = append(out, prefix+name)
			}
		}
	}
	walk(reflect.TypeOf(ptr).Elem(), "")
	sort.Strings(out)
	return out
}

func tagName(f reflect.StructField) string {
	if !f.IsExported() {
		return ""
	}
	tag := strings.Split(f.Tag.Get("json"), ",")[0]
	if tag == "-" {
		return ""
	}
	if tag == "" {
		return strings.ToLower(f.Name)
	}
	return tag
}

func lookup(v reflect.Value, key string) (reflect.Value, error) {
	parts := strings.Split(key, ".")
	cur := v
	for i, p := range parts {
		found := false
		for j := range cur.NumField() {
			if tagName(cur.Type().Field(j)) == p {
				cur = cur.Field(j)
				found = true
				break
			}
		}
		if !found {
			prefix := strings.Join(parts[:i], ".")
			return reflect.Value{}, fmt.Errorf("config: unknown key %q%s (known: %s)", key, inScope(prefix), strings.Join(keysOf(cur, prefix), ", "))
		}
		if i < len(parts)-1 && cur.Kind() != reflect.Struct {
			return reflect.Value{}, fmt.Errorf("config: key %q: %q is not a group of keys", key, strings.Join(parts[:i+1], "."))
		}
	}
	if cur.Kind() == reflect.Struct {
		return reflect.Value{}, fmt.Errorf("config: key %q is a group; set one of %s", key, strings.Join(keysOf(cur, key), ", "))
	}
	return cur, nil
}

func inScope(prefix string) string {
	if prefix == "" {
		return ""
	}
	return " in " + prefix
}

func keysOf(v reflect.Value, prefix string) []string {
	p := reflect.New(v.Type())
	keys := Keys(p.Interface())
	if prefix != "" {
		for i := range keys {
			keys[i] = prefix + "." + keys[i]
		}
	}
	return keys
}

func assign(f reflect.Value, key, value string) error {
	bad := func(want string) error {
		return fmt.Errorf("config: key %q: %q is not %s", key, value, want)
	}
	switch f.Kind() {
	case reflect.String:
		f.SetString(value)
	case reflect.Int, reflect.Int64, reflect.Int32:
		n, err := strconv.ParseInt(value, 10, 64)
		if err != nil || f.OverflowInt(n) {
			return bad("an integer")
		}
		f.SetInt(n)
	case reflect.Uint64, reflect.Uint, reflect.Uint32:
		n, err := strconv.ParseUint(value, 10, 64)
		if err != nil || f.OverflowUint(n) {
			return bad("a non-negative integer")
		}
		f.SetUint(n)
	case reflect.Float64, reflect.Float32:
		x, err := strconv.ParseFloat(value, 64)
		if err != nil || math.IsNaN(x) || math.IsInf(x, 0) || f.OverflowFloat(x) {
			return bad("a finite number")
		}
		f.SetFloat(x)
	case reflect.Bool:
		b, err := strconv.ParseBool(value)
		if err != nil {
			return bad("true or false")
		}
		f.SetBool(b)
	case reflect.Slice:
		if f.Type().Elem().Kind() != reflect.String {
			return fmt.Errorf("config: key %q: lists of %s cannot be set", key, f.Type().Elem())
		}
		var items []string
		for _, s := range strings.Split(value, ",") {
			if s = strings.TrimSpace(s); s != "" {
				items = append(items, s)
			}
		}
		f.Set(reflect.ValueOf(items))
	default:
		return fmt.Errorf("config: key %q has unsupported type %s", key, f.Type())
	}
	return nil
}

// CheckFinite reports the first float field of the struct ptr points to
// (nested structs included) that is NaN or infinite, by its key: values set
// in Go, not through Set, are checked too.
func CheckFinite(ptr any) error {
	v := reflect.ValueOf(ptr)
	if v.Kind() == reflect.Pointer {
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return fmt.Errorf("config: CheckFinite needs a struct, got %T", ptr)
	}
	var walk func(v reflect.Value, prefix string) error
	walk = func(v reflect.Value, prefix string) error {
		t := v.Type()
		for i := range t.NumField() {
			name := tagName(t.Field(i))
			if name == "" {
				continue
			}
			f := v.Field(i)
			switch f.Kind() {
			case reflect.Struct:
				if err := walk(f, prefix+name+"."); err != nil {
					return err
				}
			case reflect.Float32, reflect.Float64:
				if x := f.Float(); math.IsNaN(x) || math.IsInf(x, 0) {
					return fmt.Errorf("config: key %q: %v is not a finite number", prefix+name, x)
				}
			}
		}
		return nil
	}
	return walk(v, "")
}
