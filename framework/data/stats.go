package data

import (
	"slices"

	"github.com/privlm/privlm/framework/tokenizer"
)

// Stats summarises a dataset.
type Stats struct {
	Users     int `json:"users"`
	Documents int `json:"documents"`
	// Tokens under the tokenizer given (0 without one).
	Tokens    int    `json:"tokens"`
	Tokenizer string `json:"tokenizer,omitempty"`
	// DocsPerUser quantiles: min, 25%, 50%, 75%, 90%, 99%, max.
	DocsPerUser map[string]int `json:"docs_per_user"`
	// UsersWithAtLeast[n] counts users with >= n documents, for the paper's
	// filters (5, 10, 20, 50, 100).
	UsersWithAtLeast map[int]int `json:"users_with_at_least"`
}

// StatsThresholds are the document counts UsersWithAtLeast reports.
var StatsThresholds = []int{5, 10, 20, 50, 100}

// ComputeStats summarises recs; tok may be nil.
func ComputeStats(recs []Record, tok tokenizer.Tokenizer) Stats {
	counts := map[string]int{}
	for _, r := range recs {
		counts[r.UserID]++
	}
	per := make([]int, 0, len(counts))
	for _, c := range counts {
		per = append(per, c)
	}
	slices.Sort(per)
	s := Stats{Users: len(counts), Documents: len(recs), DocsPerUser: map[string]int{}, UsersWithAtLeast: map[int]int{}}
	if len(per) > 0 {
		q := func(p float64) int { return per[min(len(per)-1, int(p*float64(len(per)-1)+0.5))] }
		for name, p := range map[string]float64{"min": 0, "p25": 0.25, "p50": 0.5, "p75": 0.75, "p90": 0.9, "p99": 0.99, "max": 1} {
			s.DocsPerUser[name] = q(p)
		}
	}
	for _, n := range StatsThresholds {
		i, _ := slices.BinarySearch(per, n)
		s.UsersWithAtLeast[n] = len(per) - i
	}
	if tok != nil {
		s.Tokenizer = tok.Name()
		for _, r := range recs {
			s.Tokens += len(tok.Encode(r.Text))
			if r.TextB != "" {
				s.Tokens += len(tok.Encode(r.TextB))
			}
		}
	}
	return s
}
