package datasets

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"

	"github.com/parquet-go/parquet-go"
	"github.com/privlm/privlm/framework/data"
)

func init() {
	Register(Dataset{
		Name:        "ccnews",
		Description: "CC-News articles; user = web domain (no copy ships with privlm: give --source)",
		Formats:     "CC-News as JSON lines (.gz/.zst) or Parquet with text and domain or url (title, date optional), as on the Hugging Face hub",
		Convert:     convertCCNews,
	})
}

type ccNewsRow struct {
	Title  string `json:"title" parquet:"title,optional"`
	Text   string `json:"text" parquet:"text,optional"`
	Domain string `json:"domain" parquet:"domain,optional"`
	URL    string `json:"url" parquet:"url,optional"`
	Date   string `json:"date" parquet:"date,optional"`
}

// NewsDomain is the user of an article: its domain, or its URL's host,
// without a leading "www.".
func NewsDomain(domain, rawURL string) string {
	d := strings.ToLower(strings.TrimSpace(domain))
	if d == "" && rawURL != "" {
		if u, err := url.Parse(rawURL); err == nil {
			d = strings.ToLower(u.Hostname())
		}
	}
	return strings.TrimPrefix(d, "www.")
}

func convertCCNews(source string, emit func(data.Record) error) error {
	handle := func(where string, v *ccNewsRow) error {
		user := NewsDomain(v.Domain, v.URL)
		text := strings.TrimSpace(v.Text)
		if user == "" || text == "" {
			return nil
		}
		if t := strings.TrimSpace(v.Title); t != "" {
			text = t + "\n\n" + text
		}
		id := v.URL
		if id == "" {
			sum := sha256.Sum256([]byte(user + "\x00" + text))
			id = hex.EncodeToString(sum[:12])
		}
		return emit(data.Record{UserID: user, DocID: id, Text: text, Group: v.Date})
	}
	if strings.HasSuffix(source, ".parquet") {
		f, err := os.Open(source)
		if err != nil {
			return err
		}
		defer f.Close()
		r := parquet.NewGenericReader[ccNewsRow](f)
		defer r.Close()
		buf := make([]ccNewsRow, 512)
		row := 0
		for {
			n, err := r.Read(buf)
			for i := range n {
				if herr := handle(fmt.Sprintf("row %d", row), &buf[i]); herr != nil {
					return fmt.Errorf("row %d: %w", row, herr)
				}
				row++
			}
			if err == io.EOF || n == 0 {
				return nil
			}
			if err != nil {
				return fmt.Errorf("row %d: %w", row, err)
			}
		}
	}
	return eachJSONLine(source, func(line int, v *ccNewsRow) error { return handle("", v) })
}
