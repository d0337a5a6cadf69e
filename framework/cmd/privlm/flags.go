package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
)

// errUsage means the usage was already printed.
var errUsage = errors.New("usage")

// newFlags returns a flag set that prints its usage to w and reports errors
// instead of exiting.
func newFlags(name, synopsis string, w io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(w)
	fs.Usage = func() {
		fmt.Fprintf(w, "usage: privlm %s\n\nflags:\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses flags, mapping -h and flag errors to errUsage.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	return nil
}

// subcommands dispatches `privlm group <sub> ...`.
func subcommands(group string, subs map[string]func([]string, *env) error) func([]string, *env) error {
	return func(args []string, e *env) error {
		names := make([]string, 0, len(subs))
		for n := range subs {
			names = append(names, n)
		}
		sort.Strings(names)
		if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
			fmt.Fprintf(e.stdout, "usage: privlm %s <%s> [flags]\n", group, strings.Join(names, "|"))
			return nil
		}
		sub, ok := subs[args[0]]
		if !ok {
			return fmt.Errorf("unknown subcommand %q (known: %s)", args[0], strings.Join(names, ", "))
		}
		return sub(args[1:], e)
	}
}
