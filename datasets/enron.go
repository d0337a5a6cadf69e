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
		Convert: func(source string, emit func(data.Record) error) error {
			return convertEnron(source, ConvertOptions{}, emit)
		},
		ConvertWith: convertEnron,
		Version:     EnronPreparation,
	})
}

// EnronPreparation is what preparing enron does beyond parsing: quoted and
// forwarded mail stripped (unless ConvertOptions.KeepQuotes), and a
// sender's exact duplicate mails (same NormalizeText) kept once, as in
// Kandpal et al. (../shared/PAPERS.md section 1, Setup: "Enron ... exact
// duplicates removed"). The 13 mailboxes hold many mails twice (the
// sender's sent folder and a recipient's inbox).
const EnronPreparation = "enron-v2: quotes stripped, within-sender exact duplicates removed"

// mailBody is a body as prepared: quotes stripped unless kept.
func mailBody(text string, opts ConvertOptions) string {
	if opts.KeepQuotes {
		return strings.TrimSpace(text)
	}
	return StripQuoted(text)
}

// dedupWithinUser wraps emit to drop a user's documents whose normalised
// text that user has emitted already.
func dedupWithinUser(emit func(data.Record) error) func(data.Record) error {
	seen := map[string]map[string]bool{}
	return func(r data.Record) error {
		norm := data.NormalizeText(r.Text)
		if seen[r.UserID] == nil {
			seen[r.UserID] = map[string]bool{}
		}
		if seen[r.UserID][norm] {
			return nil
		}
		seen[r.UserID][norm] = true
		return emit(r)
	}
}

func convertEnron(source string, opts ConvertOptions, emit func(data.Record) error) error {
	emit = dedupWithinUser(emit)
	if info, err := os.Stat(source); err == nil && info.IsDir() {
		return convertMaildir(source, opts, emit)
	}
	type line struct{ Mailbox, Path, From, Subject, Text string }
	return eachJSONLine(source, func(n int, v *line) error {
		user := NormalizeSender(v.From)
		text := mailBody(stripHeaderLines(v.Text), opts)
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
func convertMaildir(root string, opts ConvertOptions, emit func(data.Record) error) error {
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
		user, text := NormalizeSender(from), mailBody(body, opts)
		if user == "" || text == "" {
			return nil
		}
		mailbox := strings.SplitN(filepath.ToSlash(rel), "/", 2)[0]
		return emit(data.Record{UserID: user, DocID: filepath.ToSlash(rel), Text: text, Group: mailbox})
	})
}
