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

// Quoted and forwarded text in a mail body (see StripQuoted).
var (
	// Markers after which the rest of the body is someone else's mail:
	// Outlook's "-----Original Message-----", Lotus Notes' "-----
	// Forwarded by ... -----", Gmail/Thunderbird/Apple forward headers.
	quoteCutMarker = regexp.MustCompile(`(?i)^\s*(-{2,}\s*original (message|appointment)\s*-{2,}|-{2,}\s*forwarded by\b|-{2,}\s*forwarded message\s*-{2,}|-{2,}\s*(begin )?forwarded message|begin forwarded message:|-{2,}\s*original message\s*$|-{2,}\s*inline attachment follows|.{0,5}inal (message|appointment)\s*-{2,}\s*$|>>>.*>>>\s*$)`)
	// A quoted mail's header inside the body (the body's own headers are
	// gone by then): "From: Agustin Perez on 12/22/2000 12:10 PM",
	// "From: Trevelise, Jon" followed by "Sent:" (a "From:" line is a
	// header when it carries a date or a header line follows within three
	// lines; "FROM: Enron Property & Services Corp" over a memo is not).
	quotedFrom   = regexp.MustCompile(`(?i)^\s*from:\s*\S`)
	headerFollow = regexp.MustCompile(`(?i)^\s*(to|sent|date|subject|cc):`)
	// Lotus Notes' reply header: a line ending in a date and time
	// ("Stephanie Panus 01/11/2001 08:59 AM"), then a "To:" line (or "To:"
	// on the same line).
	notesDate = regexp.MustCompile(`(?i)\d{1,2}/\d{1,2}/\d{2,4}\s+\d{1,2}:\d{2}(:\d{2})?\s*(am|pm)?\s*(to:.*)?$`)
	toLine    = regexp.MustCompile(`(?i)^\s*to:`)
	// An attribution line of a quote: "On Mon, 2 Sep 2002, Joe wrote:",
	// "Joe Bloggs <joe@x.org> writes:".
	attribution = regexp.MustCompile(`(?i)(wrote|writes|said)\s*:\s*$`)
	onLine      = regexp.MustCompile(`(?i)^\s*(on|in a message dated)\s`)
)

// StripQuoted removes the text of other mails from a mail body: everything
// from the first marker of an included mail on ("-----Original
// Message-----", "----- Forwarded by ...", "---------- Forwarded message
// ----------", "Begin forwarded message:", a quoted "From:" header, a
// Lotus Notes "Name  MM/DD/YYYY HH:MM AM" line followed by "To:"), and,
// before it, the lines quoted with ">" and their attribution lines ("On
// ..., X wrote:"), so that inline replies between quotes are kept. A mail
// that only forwards another becomes empty.
func StripQuoted(body string) string {
	lines := strings.Split(strings.ReplaceAll(body, "\r\n", "\n"), "\n")
	nextNonBlank := func(i int) string {
		for j := i + 1; j < len(lines); j++ {
			if strings.TrimSpace(lines[j]) != "" {
				return lines[j]
			}
		}
		return ""
	}
	isQuotedFrom := func(i int) bool {
		if !quotedFrom.MatchString(lines[i]) {
			return false
		}
		if notesDate.MatchString(lines[i]) {
			return true
		}
		for j, seen := i+1, 0; j < len(lines) && seen < 3; j++ {
			if strings.TrimSpace(lines[j]) == "" {
				continue
			}
			if headerFollow.MatchString(lines[j]) {
				return true
			}
			seen++
		}
		return false
	}
	cut := len(lines)
	for i, l := range lines {
		if quoteCutMarker.MatchString(l) || isQuotedFrom(i) {
			cut = i
			break
		}
		if m := notesDate.FindStringSubmatch(l); m != nil && (m[3] != "" || toLine.MatchString(nextNonBlank(i))) {
			cut = i
			// The sender's name on the line before ("Stephanie Panus").
			if j := prevNonBlank(lines, i); j >= 0 && len(strings.Fields(lines[j])) <= 4 && !strings.ContainsAny(lines[j], ".,!?:;") {
				cut = j
			}
			break
		}
	}
	drop := make([]bool, cut)
	for i, l := range lines[:cut] {
		t := strings.TrimSpace(l)
		switch {
		case strings.HasPrefix(t, ">"):
			drop[i] = true
		case attribution.MatchString(t) && len(strings.Fields(t)) <= 20:
			// "On ..., X wrote:", wrapped or not.
			drop[i] = true
			if j := prevNonBlank(lines, i); j >= 0 && !onLine.MatchString(t) && onLine.MatchString(lines[j]) {
				drop[j] = true
			}
		}
	}
	var kept []string
	for i, l := range lines[:cut] {
		if !drop[i] {
			kept = append(kept, l)
		}
	}
	return strings.TrimSpace(strings.Join(kept, "\n"))
}

// prevNonBlank is the index of the last non-blank line before i, or -1.
func prevNonBlank(lines []string, i int) int {
	for j := min(i, len(lines)) - 1; j >= 0; j-- {
		if strings.TrimSpace(lines[j]) != "" {
			return j
		}
	}
	return -1
}
