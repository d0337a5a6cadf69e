package notebook

import (
	"bufio"
	"bytes"
	"fmt"
	"html"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"text/tabwriter"

	"github.com/janpfeifer/gonb/gonbui"
	"github.com/privlm/privlm/framework/data"
)

// ModeEnv overrides a notebook's mode variable (CI sets it to quick).
const ModeEnv = "PRIVLM_NOTEBOOK_MODE"

// Modes are the notebook sizes.
const (
	Quick = "quick" // CI-sized: minutes on 2 CPU cores; effects within noise
	// Repro is sized to show the papers' findings on an ordinary machine:
	// up to about an hour per notebook on 2 CPU cores (pure-Go backend),
	// with enough users and seeds for the effects to clear their intervals.
	Repro = "repro"
	Full  = "full" // paper scale: hours, meant for a GPU backend
)

// Modes lists the modes in order of size.
var Modes = []string{Quick, Repro, Full}

// ValidMode reports whether m is one of Modes.
func ValidMode(m string) bool {
	for _, x := range Modes {
		if m == x {
			return true
		}
	}
	return false
}

// Mode returns $PRIVLM_NOTEBOOK_MODE when it is set, else def. It panics
// on anything but "quick", "repro" or "full", so a typo stops the notebook
// at its first cell.
func Mode(def string) string {
	m := def
	if env := strings.TrimSpace(os.Getenv(ModeEnv)); env != "" {
		m = env
	}
	if !ValidMode(m) {
		panic(fmt.Sprintf("notebook mode %q: want %q, %q or %q (from the notebook's mode variable or $%s)", m, Quick, Repro, Full, ModeEnv))
	}
	return m
}

// Page is one notebook's output: its results folder and its display.
type Page struct {
	Name string // the notebook, e.g. "01_user_inference_table"
	Mode string
	// Dir is results/<Name>/<Mode> in the repository.
	Dir string
	out io.Writer
}

// Open makes the notebook's results folder and returns its page.
func Open(name, mode string) (*Page, error) {
	root, err := RepoRoot()
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(root, "results", name, mode)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("notebook: %w", err)
	}
	return &Page{Name: name, Mode: mode, Dir: dir, out: os.Stdout}, nil
}

// Path is a path inside the page's results folder.
func (p *Page) Path(elem ...string) string {
	return filepath.Join(append([]string{p.Dir}, elem...)...)
}

// RepoRoot is the privlm repository the process runs in: the nearest
// folder at or above the working directory whose go.mod is privlm's.
func RepoRoot() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && bytes.HasPrefix(b, []byte("module github.com/privlm/privlm\n")) {
			return dir, nil
		}
		if filepath.Dir(dir) == dir {
			return "", fmt.Errorf("notebook: no privlm repository at or above %s (run notebooks from its notebooks/ folder)", wd)
		}
	}
}

// Table writes rows (structs with parquet tags) to <Dir>/<name>.parquet
// and shows them.
func Table[T any](p *Page, name string, rows []T) error {
	if reflect.TypeFor[T]().Kind() != reflect.Struct {
		return fmt.Errorf("notebook: table %s: want a slice of structs, got []%v", name, reflect.TypeFor[T]())
	}
	path := p.Path(name + ".parquet")
	if err := data.WriteParquet(path, rows); err != nil {
		return fmt.Errorf("notebook: table %s: %w", name, err)
	}
	head, cells := tableCells(reflect.ValueOf(rows))
	if gonbui.IsNotebook {
		gonbui.DisplayHTML(tableHTML(name, head, cells))
		return nil
	}
	fmt.Fprintf(p.out, "%s (%s)\n", name, path)
	w := tabwriter.NewWriter(p.out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, strings.Join(head, "\t"))
	for _, r := range cells {
		fmt.Fprintln(w, strings.Join(r, "\t"))
	}
	return w.Flush()
}

// Figure writes a PNG to <Dir>/<name>.png and shows it.
func (p *Page) Figure(name string, png []byte) error {
	path := p.Path(name + ".png")
	if err := data.WriteBytes(path, png); err != nil {
		return fmt.Errorf("notebook: figure %s: %w", name, err)
	}
	if gonbui.IsNotebook {
		gonbui.DisplayPNG(png)
		return nil
	}
	fmt.Fprintf(p.out, "figure %s: %s\n", name, path)
	return nil
}

// Markdown shows text (plain outside a notebook).
func (p *Page) Markdown(md string) {
	if gonbui.IsNotebook {
		gonbui.DisplayMarkdown(md)
		return
	}
	fmt.Fprintln(p.out, md)
}

// Status returns a log writer shown as one status line that each new line
// replaces (in a terminal: the lines themselves, on stdout).
func (p *Page) Status() io.Writer {
	if !gonbui.IsNotebook {
		return p.out
	}
	return &statusLine{id: "status-" + gonbui.UniqueID()}
}

type statusLine struct {
	mu      sync.Mutex
	id      string
	partial []byte
}

func (s *statusLine) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.partial = append(s.partial, b...)
	last := ""
	sc := bufio.NewScanner(bytes.NewReader(s.partial))
	for sc.Scan() {
		if t := strings.TrimSpace(sc.Text()); t != "" {
			last = t
		}
	}
	if i := bytes.LastIndexByte(s.partial, '\n'); i >= 0 {
		s.partial = s.partial[i+1:]
	}
	if last != "" {
		gonbui.UpdateHTML(s.id, `<pre style="margin:0;color:#555">`+html.EscapeString(last)+`</pre>`)
	}
	return len(b), nil
}
