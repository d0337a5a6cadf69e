package datasets

import (
	"fmt"

	"github.com/privlm/privlm/framework/data"
)

func init() {
	Register(Dataset{
		Name:          "shakespeare",
		Description:   "Speeches of 37 Shakespeare plays (Folger, via DraCor); user = play/speaker",
		DefaultSource: "shakespeare_folger_speeches.jsonl.gz",
		Formats:       "JSON lines (.gz) with user, play and text",
		Convert:       convertShakespeare,
	})
}

func convertShakespeare(source string, emit func(data.Record) error) error {
	type line struct{ User, Play, Text string }
	n := 0
	return eachJSONLine(source, func(_ int, v *line) error {
		if v.User == "" || v.Text == "" {
			return nil
		}
		n++
		return emit(data.Record{UserID: v.User, DocID: fmt.Sprintf("speech-%06d", n), Text: v.Text, Group: v.Play})
	})
}
