package notebook

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
)

// Problem is one reason an executed notebook failed.
type Problem struct {
	Cell int // 1-based index among all cells
	What string
}

func (p Problem) String() string { return fmt.Sprintf("cell %d: %s", p.Cell, p.What) }

// ipynb is the part of the notebook format (nbformat 4) Check reads.
type ipynb struct {
	Cells []struct {
		CellType       string          `json:"cell_type"`
		Source         json.RawMessage `json:"source"`
		ExecutionCount *int            `json:"execution_count"`
		Outputs        []struct {
			OutputType string          `json:"output_type"`
			Name       string          `json:"name"`
			Text       json.RawMessage `json:"text"`
			EName      string          `json:"ename"`
			EValue     string          `json:"evalue"`
		} `json:"outputs"`
	} `json:"cells"`
}

// Check reads an executed notebook and lists its problems: error outputs,
// anything written to stderr, and non-empty code cells never executed.
func Check(path string) ([]Problem, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("notebook: %w", err)
	}
	var nb ipynb
	if err := json.Unmarshal(b, &nb); err != nil {
		return nil, fmt.Errorf("notebook: %s is not a notebook: %w", path, err)
	}
	var problems []Problem
	for i, c := range nb.Cells {
		if c.CellType != "code" || strings.TrimSpace(multiline(c.Source)) == "" {
			continue
		}
		if c.ExecutionCount == nil {
			problems = append(problems, Problem{i + 1, "not executed"})
		}
		for _, o := range c.Outputs {
			switch {
			case o.OutputType == "error":
				problems = append(problems, Problem{i + 1, fmt.Sprintf("error %s: %s", o.EName, o.EValue)})
			case o.OutputType == "stream" && o.Name == "stderr":
				problems = append(problems, Problem{i + 1, "stderr: " + firstLines(multiline(o.Text), 3)})
			}
		}
	}
	return problems, nil
}

// multiline reads nbformat's multiline strings: a string or a list of them.
func multiline(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var parts []string
	json.Unmarshal(raw, &parts)
	return strings.Join(parts, "")
}

func firstLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = append(lines[:n], fmt.Sprintf("... (%d more lines)", len(lines)-n))
	}
	return strings.Join(lines, " | ")
}
