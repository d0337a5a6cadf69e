package datasets

import (
	"bufio"
	"encoding/base64"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"regexp"
	"slices"
	"strings"
	"unicode"
)

var (
	angleAddr  = regexp.MustCompile(`^\s*(.*?)\s*<([^>]*)>\s*$`)
	x500CN     = regexp.MustCompile(`(?i)CN=([^/@>]+)`)
	headerLine = regexp.MustCompile(`^\s*(From|To|Cc|Bcc|Date|Sent|Subject|X-[A-Za-z-]+):`)
)

// NormalizeSender maps the many spellings of one person's From: header to one
// id: "Susan Bailey <susan.bailey@enron.com>", "Bailey, Susan",
// "susan.bailey@enron.com" and "CN=Susan Bailey/OU=HOU/O=ECT@ECT" all give
// "bailey susan" (lower-case name tokens, initials dropped, sorted). A sender
// with no recognisable name keeps its lower-cased address.
func NormalizeSender(from string) string {
	from = strings.TrimSpace(from)
	if from == "" {
		return ""
	}
	name, addr := "", ""
	if a, err := mail.ParseAddress(from); err == nil {
		name, addr = a.Name, a.Address
	} else if m := angleAddr.FindStringSubmatch(from); m != nil {
		name, addr = m[1], m[2]
	} else if strings.Contains(from, "@") && !strings.ContainsAny(from, " ,") {
		addr = from
	} else {
		name = from
	}
	if m := x500CN.FindStringSubmatch(from); m != nil {
		name = m[1]
	}
	if key := personKey(name); key != "" {
		return key
	}
	if at := strings.Index(addr, "@"); at > 0 {
		if key := personKey(strings.NewReplacer(".", " ", "_", " ", "-", " ").Replace(addr[:at])); strings.Contains(key, " ") {
			return key
		}
		return strings.ToLower(addr)
	}
	if key := personKey(addr); key != "" {
		return key
	}
	return strings.ToLower(strings.Join(strings.Fields(from), " "))
}

// personKey is the sorted lower-case alphabetic tokens of a name, without
// single-letter initials; "" when fewer than one token remains.
func personKey(name string) string {
	name = strings.Trim(name, `"' `)
	fields := strings.FieldsFunc(strings.ToLower(name), func(r rune) bool { return !unicode.IsLetter(r) })
	var toks []string
	for _, f := range fields {
		if len([]rune(f)) > 1 {
			toks = append(toks, f)
		}
	}
	if len(toks) == 0 || len(toks) > 5 {
		return ""
	}
	slices.Sort(toks)
	return strings.Join(toks, " ")
}

// parseMessage reads an RFC 822 message (an mbox "From " line first is
// skipped): sender, subject and the plain-text body (the text/plain parts of
// a MIME message, decoded; HTML-only mail has an empty body). A message
// whose headers cannot be parsed returns ok false.
func parseMessage(r io.Reader) (from, subject, body string, ok bool) {
	br := bufio.NewReader(r)
	if peek, _ := br.Peek(5); string(peek) == "From " {
		if _, err := br.ReadString('\n'); err != nil {
			return "", "", "", false
		}
	}
	msg, err := mail.ReadMessage(br)
	if err != nil {
		return "", "", "", false
	}
	text, err := plainText(textproto.MIMEHeader(msg.Header), msg.Body, 0)
	if err != nil {
		return "", "", "", false
	}
	return msg.Header.Get("From"), msg.Header.Get("Subject"), text, true
}

// plainText returns the decoded text/plain content of a MIME entity.
func plainText(h textproto.MIMEHeader, body io.Reader, depth int) (string, error) {
	ctype := h.Get("Content-Type")
	mediaType, params, err := mime.ParseMediaType(ctype)
	if ctype == "" || err != nil {
		mediaType = "text/plain"
	}
	switch {
	case strings.HasPrefix(mediaType, "multipart/") && params["boundary"] != "" && depth < 5:
		mr := multipart.NewReader(body, params["boundary"])
		var parts []string
		for {
			p, err := mr.NextRawPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				break // a truncated multipart keeps what was read
			}
			t, err := plainText(p.Header, p, depth+1)
			if err == nil && strings.TrimSpace(t) != "" {
				parts = append(parts, t)
			}
		}
		return strings.Join(parts, "\n"), nil
	case mediaType == "text/plain":
		var r io.Reader = body
		switch strings.ToLower(strings.TrimSpace(h.Get("Content-Transfer-Encoding"))) {
		case "quoted-printable":
			r = quotedprintable.NewReader(body)
		case "base64":
			r = base64.NewDecoder(base64.StdEncoding, body)
		}
		b, err := io.ReadAll(r)
		if err != nil && len(b) == 0 {
			return "", err
		}
		return strings.ToValidUTF8(string(b), "\uFFFD"), nil
	}
	return "", nil
}

// stripHeaderLines drops leading header-like lines ("From: ...", "To: ...")
// and blank lines that some exports keep at the top of a body.
func stripHeaderLines(text string) string {
	lines := strings.Split(text, "\n")
	i := 0
	inHeader := false
	for i < len(lines) {
		l := lines[i]
		switch {
		case headerLine.MatchString(l):
			inHeader = true
		case strings.TrimSpace(l) == "":
		case inHeader && (strings.HasPrefix(l, " ") || strings.HasPrefix(l, "\t")):
			// continuation of a header (e.g. more recipients)
		default:
			return strings.TrimSpace(strings.Join(lines[i:], "\n"))
		}
		i++
	}
	return ""
}

func parseAddress(s string) (string, error) {
	a, err := mail.ParseAddress(s)
	if err != nil {
		return "", err
	}
	return a.Address, nil
}
