package main

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"text/tabwriter"

	"github.com/privlm/privlm/framework/plugin"
)

func init() {
	register("plugins", "plugins: list, describe", subcommands("plugins", map[string]func([]string, *env) error{
		"list":     runPluginsList,
		"describe": runPluginsDescribe,
	}))
}

// pluginEntry is what list and describe print.
type pluginEntry struct {
	plugin.Info
	Path   string         `json:"path"`
	Config []plugin.Param `json:"config,omitempty"`
}

// loadPlugins builds the built-ins if the source is at hand, then starts each
// discovered plugin to read its Info.
func loadPlugins(log io.Writer, only string) ([]pluginEntry, error) {
	if _, err := plugin.BuildBuiltins(); err != nil {
		fmt.Fprintf(log, "privlm: built-in plugins not rebuilt: %v\n", err)
	}
	found, err := plugin.Discover(plugin.Dirs()...)
	if err != nil {
		return nil, err
	}
	var names []string
	for n := range found {
		if only == "" || n == only {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	if only != "" && len(names) == 0 {
		_, err := plugin.Find(only, plugin.Dirs()...)
		return nil, err
	}
	var out []pluginEntry
	for _, n := range names {
		c, err := plugin.Open(found[n], plugin.Options{Log: io.Discard})
		if err != nil {
			fmt.Fprintf(log, "privlm: skipping %s: %v\n", found[n], err)
			continue
		}
		out = append(out, pluginEntry{Info: c.Info(), Path: found[n], Config: c.ConfigSchema()})
		c.Close()
	}
	return out, nil
}

func runPluginsList(args []string, e *env) error {
	fs := newFlags("plugins list", "plugins list [--json]", e.stderr)
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	list, err := loadPlugins(e.stderr, "")
	if err != nil {
		return err
	}
	if *asJSON {
		for i := range list {
			list[i].Config = nil
		}
		return json.NewEncoder(e.stdout).Encode(list)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tKIND\tVERSION\tPATH")
	for _, p := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", p.Name, p.Kind, p.Version, p.Path)
	}
	return tw.Flush()
}

func runPluginsDescribe(args []string, e *env) error {
	fs := newFlags("plugins describe", "plugins describe NAME [--json]", e.stderr)
	asJSON := fs.Bool("json", false, "print JSON")
	name, rest := "", args
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		name, rest = args[0], args[1:]
	}
	if err := parse(fs, rest); err != nil {
		return err
	}
	if name == "" {
		return fmt.Errorf("name a plugin (privlm plugins list)")
	}
	list, err := loadPlugins(e.stderr, name)
	if err != nil {
		return err
	}
	if len(list) == 0 {
		return fmt.Errorf("plugin %q did not start", name)
	}
	p := list[0]
	if *asJSON {
		return json.NewEncoder(e.stdout).Encode(p)
	}
	fmt.Fprintf(e.stdout, "%s (%s %s, API %d)\n%s\npath: %s\n", p.Name, p.Kind, p.Version, p.APIVersion, p.Description, p.Path)
	if len(p.Config) == 0 {
		fmt.Fprintln(e.stdout, "no configuration")
		return nil
	}
	fmt.Fprintln(e.stdout, "configuration:")
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	for _, c := range p.Config {
		def := ""
		if c.Default != nil {
			def = fmt.Sprint(c.Default)
		}
		fmt.Fprintf(tw, "  %s\t%s\tdefault %s\t%s\n", c.Name, c.Type, def, c.Description)
	}
	return tw.Flush()
}
