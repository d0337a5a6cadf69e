// Command privlm fine-tunes language models on many users' text, attacks
// them, and measures privacy. Run `privlm help` for the commands.
package main

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// command is one subcommand (or group of subcommands).
type command struct {
	summary string
	run     func(args []string, env *env) error
}

// env is what commands read and write, so tests can run them in-process.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
}

var commands = map[string]command{}

func register(name, summary string, run func(args []string, env *env) error) {
	if _, dup := commands[name]; dup {
		panic("privlm: duplicate command " + name)
	}
	commands[name] = command{summary, run}
}

func main() {
	os.Exit(runMain(os.Args[1:], &env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr}))
}

// runMain runs a command line and returns the exit status. Errors are printed
// on stderr; no panic escapes.
func runMain(args []string, e *env) (status int) {
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(e.stderr, "privlm: internal error: %v\n", r)
			status = 2
		}
	}()
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(e.stdout)
		return 0
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(e.stderr, "privlm: unknown command %q (known: %s)\n", args[0], strings.Join(commandNames(), ", "))
		return 2
	}
	if err := cmd.run(args[1:], e); err != nil {
		if err == errUsage {
			return 2
		}
		fmt.Fprintf(e.stderr, "privlm %s: %v\n", args[0], err)
		return 1
	}
	return 0
}

func commandNames() []string {
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: privlm <command> [arguments]")
	fmt.Fprintln(w)
	for _, n := range commandNames() {
		fmt.Fprintf(w, "  %-12s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run `privlm <command> -h` for a command's flags.")
}
