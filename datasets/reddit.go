package datasets

import (
	"strings"

	"github.com/privlm/privlm/framework/data"
)

func init() {
	Register(Dataset{
		Name:          "reddit",
		Description:   "Reddit posts and comments; user = author. [deleted], AutoModerator and bot accounts are dropped, as in the paper",
		DefaultSource: "reddit_college.jsonl.gz",
		Formats:       "the shared reddit_college.jsonl(.gz) (user, subreddit, id, kind, text), or Reddit dumps as JSON lines (.gz/.zst) with author and body (comments) or title and selftext (submissions)",
		Convert:       convertReddit,
	})
}

type redditLine struct {
	// shared copy
	User string `json:"user"`
	Text string `json:"text"`
	// dumps
	Author   string `json:"author"`
	Body     string `json:"body"`
	Title    string `json:"title"`
	Selftext string `json:"selftext"`
	// both
	ID        string `json:"id"`
	Subreddit string `json:"subreddit"`
}

// IsRedditBot reports accounts the paper removes: deleted authors,
// AutoModerator and accounts named like bots.
func IsRedditBot(author string) bool {
	a := strings.ToLower(author)
	return a == "" || a == "[deleted]" || a == "automoderator" || strings.HasSuffix(a, "bot") ||
		strings.HasSuffix(a, "_bot") || strings.HasPrefix(a, "bot_")
}

func removedText(t string) bool {
	t = strings.TrimSpace(t)
	return t == "" || t == "[deleted]" || t == "[removed]"
}

func convertReddit(source string, emit func(data.Record) error) error {
	return eachJSONLine(source, func(line int, v *redditLine) error {
		author, text := v.User, v.Text
		if author == "" {
			author = v.Author
		}
		if text == "" {
			text = v.Body
			if text == "" && (v.Title != "" || v.Selftext != "") {
				if removedText(v.Selftext) {
					text = v.Title
				} else {
					text = v.Title + "\n\n" + v.Selftext
				}
			}
		}
		if IsRedditBot(author) || removedText(text) || v.ID == "" {
			return nil
		}
		return emit(data.Record{UserID: author, DocID: v.ID, Text: text, Group: v.Subreddit})
	})
}
