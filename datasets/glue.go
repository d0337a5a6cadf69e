package datasets

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/privlm/privlm/framework/data"
)

// GLUETask describes one GLUE task's default copy.
type GLUETask struct {
	Name          string // sst2, qnli, qqp, mnli
	DefaultSource string
	// Labels lists the class names in index order.
	Labels []string
}

// GLUETasks are the tasks EW-Tune fine-tunes on.
var GLUETasks = []GLUETask{
	{"sst2", "glue/alps_SST-2", []string{"0", "1"}},
	{"qnli", "glue/powerfulpromptft_glue_pretrain/QNLI", []string{"entailment", "not_entailment"}},
	{"qqp", "glue/powerfulpromptft_glue_pretrain/QQP", []string{"0", "1"}},
	{"mnli", "glue/powerfulpromptft_glue_pretrain/MNLI", []string{"entailment", "neutral", "contradiction"}},
}

func init() {
	for _, task := range GLUETasks {
		Register(Dataset{
			Name:          "glue-" + task.Name,
			Description:   fmt.Sprintf("GLUE %s with labels (%s); one user per example; group = split", strings.ToUpper(task.Name), strings.Join(task.Labels, "/")),
			DefaultSource: task.DefaultSource,
			Formats:       "a directory of GLUE TSV files (train.tsv, dev.tsv, dev_matched.tsv, test.tsv with GLUE's column names), of PowerfulPromptFT JSON (train.json, dev.json: {idx: {text_a, text_b, label}}), or one such file",
			Convert:       func(src string, emit func(data.Record) error) error { return convertGLUE(task, src, emit) },
		})
	}
}

// splitName maps a file to its split: train, dev or test.
func splitName(path string) string {
	base := strings.ToLower(filepath.Base(path))
	switch {
	case strings.HasPrefix(base, "train"):
		return "train"
	case strings.HasPrefix(base, "dev"), strings.Contains(base, "valid"):
		return "dev"
	case strings.HasPrefix(base, "test"):
		return "test"
	}
	return strings.TrimSuffix(base, filepath.Ext(base))
}

func convertGLUE(task GLUETask, source string, emit func(data.Record) error) error {
	files := []string{source}
	if info, err := os.Stat(source); err == nil && info.IsDir() {
		files = nil
		for _, pattern := range []string{"*.tsv", "*.json"} {
			m, _ := filepath.Glob(filepath.Join(source, pattern))
			files = append(files, m...)
		}
		slices.Sort(files)
		if len(files) == 0 {
			return fmt.Errorf("no .tsv or .json files in %s", source)
		}
	}
	for _, f := range files {
		split := splitName(f)
		n := 0
		emitExample := func(a, b, label string) error {
			if strings.TrimSpace(a) == "" {
				return nil
			}
			if !slices.Contains(task.Labels, label) {
				return fmt.Errorf("example %d: label %q is not one of %v", n, label, task.Labels)
			}
			id := fmt.Sprintf("%s-%s-%06d", task.Name, split, n)
			n++
			return emit(data.Record{UserID: id, DocID: id, Text: a, TextB: b, Label: label, Group: split})
		}
		var err error
		if strings.HasSuffix(f, ".json") {
			err = readGLUEJSON(f, emitExample)
		} else {
			err = readGLUETSV(f, emitExample)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
	}
	return nil
}

// readGLUEJSON reads PowerfulPromptFT's {"0": {"text_a", "text_b", "label"}, ...}.
func readGLUEJSON(path string, emit func(a, b, label string) error) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var m map[string]struct {
		TextA string `json:"text_a"`
		TextB string `json:"text_b"`
		Label any    `json:"label"`
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		return err
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(x, y string) int {
		a, errA := strconv.Atoi(x)
		b, errB := strconv.Atoi(y)
		if errA == nil && errB == nil {
			return a - b
		}
		return strings.Compare(x, y)
	})
	for _, k := range keys {
		ex := m[k]
		if err := emit(ex.TextA, ex.TextB, fmt.Sprint(ex.Label)); err != nil {
			return fmt.Errorf("example %q: %w", k, err)
		}
	}
	return nil
}

// readGLUETSV reads a GLUE TSV by its header: the first text column is
// sentence / question / question1 / sentence1, the second question2 /
// sentence2 (or sentence when question is first), the label label /
// is_duplicate / gold_label. Unlabelled test files are skipped.
func readGLUETSV(path string, emit func(a, b, label string) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.Comma = '\t'
	r.LazyQuotes = true
	r.FieldsPerRecord = -1
	r.ReuseRecord = true
	header, err := r.Read()
	if err != nil {
		return fmt.Errorf("reading the header: %w", err)
	}
	col := map[string]int{}
	for i, h := range header {
		col[strings.TrimSpace(h)] = i
	}
	pick := func(names ...string) int {
		for _, n := range names {
			if i, ok := col[n]; ok {
				return i
			}
		}
		return -1
	}
	a := pick("question", "question1", "sentence1", "sentence")
	if a < 0 {
		return fmt.Errorf("no text column in header %v", header)
	}
	b := -1
	switch header[a] {
	case "question":
		b = pick("sentence")
	case "question1":
		b = pick("question2")
	case "sentence1":
		b = pick("sentence2")
	}
	lab := pick("label", "is_duplicate", "gold_label")
	if lab < 0 {
		return nil // GLUE test files have no labels
	}
	for line := 2; ; line++ {
		rec, err := r.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("line %d: %w", line, err)
		}
		get := func(i int) string {
			if i < 0 || i >= len(rec) {
				return ""
			}
			return strings.TrimSpace(rec[i])
		}
		if err := emit(get(a), get(b), get(lab)); err != nil {
			return fmt.Errorf("line %d: %w", line, err)
		}
	}
}
