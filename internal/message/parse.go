package message

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/mail"
	"regexp"
	"strings"
	"unicode/utf8"

	gomessage "github.com/emersion/go-message"
	_ "github.com/emersion/go-message/charset" // ISO-8859-1, Windows-1252 and friends in received mail
	"golang.org/x/net/html"
)

// Received is a received message as a reader sees it: its text and its
// attachments.
type Received struct {
	// Text is the text/plain parts, or — when there are none — the HTML
	// parts as text.
	Text string
	// FromHTML is true when Text was made from HTML.
	FromHTML    bool
	Attachments []Attachment
	// Unreadable are the parts that could not be read (a broken
	// encoding, a structure cut short); the rest is shown all the same.
	Unreadable []PartError
}

// PartError is a part of a received message that could not be read.
type PartError struct {
	// Name is the part's file name, or "" when it has none.
	Name string
	Err  error
}

// Limits on what Parse takes from a received message: hostile input
// must not make it use unbounded memory or time.
const (
	maxParts    = 500
	maxPartSize = 200 << 20
)

// Parse reads a MIME entity (the innermost one, once S/MIME is opened):
// every text part, every attachment, in order; nested multiparts and
// message/rfc822 attachments included. Charsets other than UTF-8 are
// converted; an unknown charset leaves the text as it is. A part that
// cannot be read is listed in Unreadable and the others are read; an
// error means nothing at all could be read.
func Parse(entity []byte) (*Received, error) {
	e, err := gomessage.Read(bytes.NewReader(entity))
	if err != nil && !gomessage.IsUnknownCharset(err) && !gomessage.IsUnknownEncoding(err) {
		return nil, fmt.Errorf("message: %w", err)
	}
	var plain, htmlText []string
	out := &Received{}
	parts := 0
	err = e.Walk(func(path []int, p *gomessage.Entity, err error) error {
		if err != nil && !gomessage.IsUnknownCharset(err) {
			return err
		}
		if parts++; parts > maxParts {
			return errors.New("too many parts")
		}
		mt, params, _ := p.Header.ContentType()
		if strings.HasPrefix(mt, "multipart/") {
			return nil
		}
		disp, dparams, _ := p.Header.ContentDisposition()
		name := dparams["filename"]
		if name == "" {
			name = params["name"]
		}
		body, rerr := io.ReadAll(io.LimitReader(p.Body, maxPartSize+1))
		if rerr != nil {
			out.Unreadable = append(out.Unreadable, PartError{Name: clean(name), Err: rerr})
			return nil
		}
		if len(body) > maxPartSize {
			return fmt.Errorf("a part is larger than %d MB", maxPartSize>>20)
		}
		switch {
		case disp == "attachment" || name != "" || !strings.HasPrefix(mt, "text/") && mt != "":
			if name == "" {
				name = fmt.Sprintf("del-%d%s", len(out.Attachments)+1, extension(mt))
			}
			out.Attachments = append(out.Attachments, Attachment{Name: clean(name), ContentType: mt, Data: body})
		case mt == "text/html":
			htmlText = append(htmlText, HTMLText(string(body)))
		default: // text/plain, or no type at all (RFC 2045: text/plain)
			plain = append(plain, strings.ReplaceAll(string(body), "\r\n", "\n"))
		}
		return nil
	})
	if err != nil {
		if len(plain)+len(htmlText)+len(out.Attachments) == 0 {
			return nil, fmt.Errorf("message: %w", err)
		}
		out.Unreadable = append(out.Unreadable, PartError{Err: err})
	}
	out.Text = strings.Join(plain, "\n")
	if len(plain) == 0 && len(htmlText) > 0 {
		out.Text, out.FromHTML = strings.Join(htmlText, "\n"), true
	}
	return out, nil
}

func extension(mt string) string {
	if exts, _ := mime.ExtensionsByType(mt); len(exts) > 0 {
		return exts[0]
	}
	return ".bin"
}

// HTMLText turns HTML into readable text: the words, with line breaks
// where blocks end; scripts, styles and markup dropped. Nothing in it is
// run or fetched.
func HTMLText(s string) string {
	z := html.NewTokenizer(strings.NewReader(s))
	var b strings.Builder
	skip := 0
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			return tidy(b.String())
		case html.TextToken:
			if skip == 0 {
				b.WriteString(strings.Join(strings.Fields(string(z.Text())), " "))
				b.WriteByte(' ')
			}
		case html.StartTagToken, html.SelfClosingTagToken, html.EndTagToken:
			name, _ := z.TagName()
			tag := string(name)
			switch tag {
			case "script", "style", "head", "title":
				if tt == html.EndTagToken {
					skip = max(0, skip-1)
				} else if tt == html.StartTagToken {
					skip++
				}
			case "br", "p", "div", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "table", "blockquote", "pre":
				b.WriteByte('\n')
			}
		}
	}
}

// tidy trims each line and keeps at most one empty line in a row.
func tidy(s string) string {
	var lines []string
	blank := false
	for _, l := range strings.Split(s, "\n") {
		l = strings.TrimSpace(l)
		if l == "" {
			if !blank && len(lines) > 0 {
				lines = append(lines, "")
			}
			blank = true
			continue
		}
		blank = false
		lines = append(lines, l)
	}
	return strings.TrimSpace(strings.Join(lines, "\n"))
}

var addressInName = regexp.MustCompile(`[^\s<>"'(),;:@]+@[^\s<>"'(),;:@]+\.[^\s<>"'(),;:@]+`)

// HiddenAddress returns an e-mail address written in a's display name
// that is not a's own address, as in `"Jens Hansen
// <jens.hansen@kommune.example>" <post@firma.example>`, or "" when the
// name holds none. Such a name shows a reader a sender the mail is not
// from.
func HiddenAddress(a *mail.Address) string {
	for _, m := range addressInName.FindAllString(a.Name, -1) {
		if !strings.EqualFold(m, a.Address) {
			return m
		}
	}
	return ""
}

// Printable makes text from a received mail safe to show on a terminal
// or in a window: control characters become their visible pictures (ESC
// is "␛"), so that a mail cannot clear the screen or draw a verdict of
// its own; C1 controls and invalid UTF-8 become "�"; bidirectional
// controls (the right-to-left override that makes "gpj.exe" read
// "exe.jpg") are shown as ⟨U+202E⟩, not obeyed. Line ends and tabs stay
// when multiline, else they become spaces.
func Printable(s string, multiline bool) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\n' || r == '\t':
			if multiline {
				b.WriteRune(r)
			} else {
				b.WriteByte(' ')
			}
		case r == '\r':
			if !multiline {
				b.WriteByte(' ')
			}
		case r < 0x20:
			b.WriteRune(0x2400 + r)
		case r == 0x7f:
			b.WriteRune(0x2421)
		case r >= 0x80 && r < 0xa0, r == utf8.RuneError:
			b.WriteRune(utf8.RuneError)
		case r == 0x061c, r == 0x200e, r == 0x200f, r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
			fmt.Fprintf(&b, "⟨U+%04X⟩", r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// windowsReserved are the device names Windows will not take as a file
// name, with any extension.
var windowsReserved = map[string]bool{"CON": true, "PRN": true, "AUX": true, "NUL": true,
	"COM1": true, "COM2": true, "COM3": true, "COM4": true, "COM5": true, "COM6": true, "COM7": true, "COM8": true, "COM9": true,
	"LPT1": true, "LPT2": true, "LPT3": true, "LPT4": true, "LPT5": true, "LPT6": true, "LPT7": true, "LPT8": true, "LPT9": true}

// SafeFileName is an attachment's name as a file may be called on any
// PC: no folders, no characters Windows forbids (<>:"/\|?*), no control
// or bidi characters (shown as Printable shows them), no device name
// (CON, NUL, COM1, …), no trailing dot or space; "bilag" when nothing is
// left.
func SafeFileName(name string) string {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Map(func(r rune) rune {
		if strings.ContainsRune(`<>:"|?*`, r) {
			return '_'
		}
		return r
	}, Printable(name, false))
	name = strings.TrimRight(strings.TrimSpace(name), ". ")
	base := name
	if i := strings.IndexByte(base, '.'); i >= 0 {
		base = base[:i]
	}
	if windowsReserved[strings.ToUpper(strings.TrimSpace(base))] {
		name = "_" + name
	}
	if name == "" || name == "." || name == ".." {
		return "bilag"
	}
	return name
}
