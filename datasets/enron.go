package datasets

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/privlm/privlm/framework/data"
)

func init() {
	Register(Dataset{
		Name:          "enron",
		Description:   "Enron mail; user = sender, normalised to one id per person",
		DefaultSource: "enron_enronarchive_13mailboxes.jsonl.gz",
		Formats:       "the shared enron jsonl(.gz) (mailbox, path, from, subject, text), or the CMU maildir layout (a directory maildir/<mailbox>/<folder>/<message>)",
		Convert:       convertEnron,
	})
}

func convertEnron(source string, emit func(data.Record) error) error {
	if info, err := os.Stat(source); err == nil && info.IsDir() {
		return convertMaildir(source, emit)
	}
	type line struct{ Mailbox, Path, From, Subject, Text string }
	return eachJSONLine(source, func(n int, v *line) error {
		user := NormalizeSender(v.From)
		text := stripHeaderLines(v.Text)
		if user == "" || text == "" {
			return nil
		}
		id := v.Path
		if id == "" {
			id = fmt.Sprintf("line-%d", n)
		}
		return emit(data.Record{UserID: user, DocID: id, Text: text, Group: v.Mailbox})
	})
}

// convertMaildir walks the CMU Enron maildir: root/<mailbox>/.../<message>.
func convertMaildir(root string, emit func(data.Record) error) error {
	return filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		from, _, body, ok := parseMessage(f)
		f.Close()
		if !ok {
			return nil // not a message (e.g. an index file)
		}
		user, text := NormalizeSender(from), strings.TrimSpace(body)
		if user == "" || text == "" {
			return nil
		}
		mailbox := strings.SplitN(filepath.ToSlash(rel), "/", 2)[0]
		return emit(data.Record{UserID: user, DocID: filepath.ToSlash(rel), Text: text, Group: mailbox})
	})
}
