package datasets

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/privlm/privlm/framework/data"
)

// Mails shaped as in the shared Enron copy and the SpamAssassin corpus.
func TestStripQuoted(t *testing.T) {
	tests := []struct {
		name, body, want string
	}{
		{"outlook original message",
			"FYI\n\n -----Original Message-----\n\nFrom: Trevelise, Jon \n\nSent: Tuesday, October 23, 2001 5:20 PM\n\nTo: Jones, Robert W.\n\nSubject: Re: Enron Article\n\nSee the article.",
			"FYI"},
		{"lotus notes forward",
			"Please review.\n\n---------------------- Forwarded by John Craig Taylor/HOU/ECT on 02/22/2001 \n\n04:30 PM ---------------------------\n\nJohn Griffith@ENRON\n\n02/22/2001 04:26 PM\n\nTo: John Craig Taylor/HOU/ECT@ECT\n\ncc: \n\nSubject: Airport\n\nThe airport text.",
			"Please review."},
		{"forward only", "---------------------- Forwarded by Jon Trevelise/Houston/Eott on 10/23/2001 05:19 PM -----\n\nSomeone else's mail.", ""},
		{"lotus notes reply header",
			"Regards,\n\nAgustin Perez\n\n Stephanie Panus\n\n 01/11/2001 08:59 AM\n\n To: Agustin Perez/NA/Enron@ENRON\n\n cc: \n\n Subject: Re: ISDA\n\nAgustin,\n\nWanted to check on the status.",
			"Regards,\n\nAgustin Perez"},
		{"lotus header on one line",
			"Thanks, Molly.\n\n Steve Roberts 10/23/01 01:03 PM To: Molly Sample/Houston/Eott@Eott cc: Subject: Re: Article \n\nHerewith the tale.",
			"Thanks, Molly."},
		{"quoted from line",
			"It may be time for a drink!!\n\nSusan\n\nFrom: Stacy E Dickson on 10/04/2000 04:33 PM\n\nTo: Susan W Pereira/HOU/ECT@ECT\n\nSubject: Re: Bazor\n\nNo problem.",
			"It may be time for a drink!!\n\nSusan"},
		{"gmail forward", "See below.\n\n---------- Forwarded message ----------\nFrom: A <a@b.c>\nDate: Mon\n\nBody of A.", "See below."},
		{"apple forward", "fyi\n\nBegin forwarded message:\n\n> From: x\n> text", "fyi"},
		{"interleaved list reply",
			"On Mon, 2 Sep 2002, Joe Bloggs wrote:\n\n> Does apt-get work on RH 7.3?\n> I tried it.\n\nYes, it works fine.\n\n> And the kernel?\n\nUse the updates channel.\n\n-- \nMatthias",
			"Yes, it works fine.\n\n\nUse the updates channel.\n\n-- \nMatthias"},
		{"wrapped attribution",
			"On Tue, Sep 03, 2002 at 10:00:00AM +0100,\nJoe Bloggs <joe@example.org> wrote:\n> quoted\nMy answer.",
			"My answer."},
		{"memo from line", "FROM: Enron Property & Services Corp\n\nBus passes for January are now available.", "FROM: Enron Property & Services Corp\n\nBus passes for January are now available."},
		{"groupwise", "Thanks.\n\n>>> \"Bailey, Susan\" <Susan.Bailey@ENRON.com> 11/21/01 11:45AM >>>\n\nDan,\nthe quoted mail", "Thanks."},
		{"aol attribution", "In a message dated 2/25/02 14:38:12 Eastern Standard Time, \n\nSusan.Bailey@ENRON.com writes:\n\n> question?\n\nI WILL KEEP YOU INFORMED.", "I WILL KEEP YOU INFORMED."},
		{"truncated marker", "Take care.\n\ninal Message-----\n\nFrom: \"C S\" <c@h.com>\n\nSent: Friday", "Take care."},
		{"no quotes", "Just a note: the meeting is at 10.\nThanks", "Just a note: the meeting is at 10.\nThanks"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := StripQuoted(tc.body); got != tc.want {
				t.Errorf("StripQuoted =\n%q\nwant\n%q", got, tc.want)
			}
		})
	}
}

// TestEnronPreparation: quotes go unless kept, and a sender's exact
// duplicates (sent folder and a recipient's inbox) are kept once.
func TestEnronPreparation(t *testing.T) {
	root := filepath.Join(t.TempDir(), "maildir")
	mail := func(path, from, body string) {
		p := filepath.Join(root, path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("From: "+from+"\r\nSubject: s\r\n\r\n"+strings.ReplaceAll(body, "\n", "\r\n")), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	reply := "Agreed, send it.\n\n -----Original Message-----\nFrom: Lay, Kenneth\nSent: Monday\n\nShall we send the draft?"
	mail("bailey-s/sent/1.", "susan.bailey@enron.com", reply)
	mail("lay-k/inbox/3.", "\"Bailey, Susan\" <susan.bailey@enron.com>", reply) // the same mail, received
	mail("bailey-s/sent/2.", "susan.bailey@enron.com", "Agreed,  SEND it!")     // the same text, normalised
	mail("lay-k/sent/4.", "kenneth.lay@enron.com", "Agreed, send it.")          // another sender may share text
	mail("lay-k/sent/5.", "kenneth.lay@enron.com", "---------------------- Forwarded by Kenneth Lay/HOU/ECT on 02/22/2001 04:30 PM ---------------------------\n\nnews")
	for _, keep := range []bool{false, true} {
		out := filepath.Join(t.TempDir(), "enron.parquet")
		if _, err := PrepareWith("enron", root, out, ConvertOptions{KeepQuotes: keep}, nil); err != nil {
			t.Fatal(err)
		}
		recs, err := data.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		byUser := data.ByUser(recs)
		bailey, lay := byUser["bailey susan"], byUser["kenneth lay"]
		if !keep {
			if len(bailey) != 1 || bailey[0].Text != "Agreed, send it." || len(lay) != 1 || lay[0].Text != "Agreed, send it." {
				t.Errorf("quotes stripped: %+v", recs)
			}
			continue
		}
		// Kept quotes: the reply and "Agreed, SEND it!" differ; the
		// received copy of the reply is a duplicate; the forward is kept.
		if len(bailey) != 2 || !strings.Contains(bailey[0].Text+bailey[1].Text, "Shall we send the draft?") || len(lay) != 2 {
			t.Errorf("quotes kept: %+v", recs)
		}
	}
}
