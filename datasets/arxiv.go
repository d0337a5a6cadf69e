package datasets

import (
	"fmt"
	"strings"

	"github.com/privlm/privlm/framework/data"
)

func init() {
	Register(Dataset{
		Name:          "arxiv",
		Description:   "arXiv abstracts; user = first author, as in the paper",
		DefaultSource: "arxiv_cs_2025_2026.jsonl.gz",
		Formats:       "the shared arxiv jsonl(.gz) (id, authors list, categories list, title, abstract), or the arXiv metadata snapshot (JSON lines with authors_parsed and a space-separated categories string)",
		Convert:       convertArxiv,
	})
}

type arxivLine struct {
	ID            string     `json:"id"`
	Authors       any        `json:"authors"` // []string (shared) or string (snapshot)
	AuthorsParsed [][]string `json:"authors_parsed"`
	Categories    any        `json:"categories"`
	Title         string     `json:"title"`
	Abstract      string     `json:"abstract"`
}

// firstAuthor returns the first author as "First Last".
func (a *arxivLine) firstAuthor() string {
	if len(a.AuthorsParsed) > 0 && len(a.AuthorsParsed[0]) >= 2 {
		p := a.AuthorsParsed[0]
		return collapseSpace(strings.Join([]string{p[1], p[0]}, " "))
	}
	switch v := a.Authors.(type) {
	case []any:
		if len(v) > 0 {
			if s, ok := v[0].(string); ok {
				return collapseSpace(s)
			}
		}
	case string:
		first := strings.Split(strings.ReplaceAll(v, " and ", ", "), ",")[0]
		return collapseSpace(first)
	}
	return ""
}

func (a *arxivLine) primaryCategory() string {
	switch v := a.Categories.(type) {
	case []any:
		if len(v) > 0 {
			s, _ := v[0].(string)
			return s
		}
	case string:
		if f := strings.Fields(v); len(f) > 0 {
			return f[0]
		}
	}
	return ""
}

func convertArxiv(source string, emit func(data.Record) error) error {
	return eachJSONLine(source, func(line int, v *arxivLine) error {
		user := v.firstAuthor()
		text := collapseSpace(v.Abstract)
		if user == "" || text == "" {
			return nil
		}
		if v.ID == "" {
			return fmt.Errorf("paper without id")
		}
		return emit(data.Record{UserID: user, DocID: v.ID, Text: text, Group: v.primaryCategory()})
	})
}
