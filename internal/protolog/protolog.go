// Package protolog writes SMTP and IMAP protocol traces for debugging
// (SIKKERMAIL_DEBUG=smtp,imap) without what must never be written down:
// credentials (AUTH, LOGIN, AUTHENTICATE and the SASL exchange after
// them) and mail (SMTP DATA, IMAP literals such as APPEND and FETCH
// bodies), which is replaced by its size.
//
// The clients tee both directions of their connection into one writer,
// above TLS, in the order the bytes pass; the protocols are request and
// answer in turn, so the trace is read line by line.
package protolog

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
)

// Enabled reports whether SIKKERMAIL_DEBUG names the protocol ("smtp",
// "imap", "digitalpost", or "all").
func Enabled(protocol string) bool {
	for _, p := range strings.Split(os.Getenv("SIKKERMAIL_DEBUG"), ",") {
		if p = strings.TrimSpace(strings.ToLower(p)); p == protocol || p == "all" {
			return true
		}
	}
	return false
}

// Writer is a redacting trace: what is written to it goes, cleaned, to
// Out, one line at a time, each prefixed.
type Writer struct {
	out    io.Writer
	prefix string

	mu   sync.Mutex
	line []byte
	// skip is how many bytes of a literal are still to pass unwritten.
	skip int
	// sasl: inside an authentication exchange; data: inside SMTP DATA
	// (lines counted); tag: the IMAP command tag that ends AUTHENTICATE.
	sasl, data, expectData bool
	// sync is a synchronizing literal's size, waiting for the "+".
	sync      int
	afterPlus bool
	// overlong: the line so far passed 64 KB and was dropped.
	overlong bool
	lines    int
	tag      string
}

// New returns a trace into out, each line starting with prefix (such as
// "smtp mail.example.dk:587 ").
func New(out io.Writer, prefix string) *Writer { return &Writer{out: out, prefix: prefix} }

var (
	smtpAuth   = regexp.MustCompile(`(?i)^(AUTH\s+\S+)(\s.*)?$`)
	imapLogin  = regexp.MustCompile(`(?i)^(\S+\s+LOGIN\s+\S+)\s.*$`)
	imapAuth   = regexp.MustCompile(`(?i)^((\S+)\s+AUTHENTICATE\s+\S+)(\s.*)?$`)
	smtpReply  = regexp.MustCompile(`^[2-5]\d\d[ -]`)
	literalEnd = regexp.MustCompile(`\{(\d+)\+?\}$`)
)

// Write implements io.Writer; it never fails.
func (w *Writer) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := len(b)
	for len(b) > 0 {
		if w.skip > 0 {
			k := min(w.skip, len(b))
			w.skip -= k
			b = b[k:]
			continue
		}
		if w.sync > 0 && len(w.line) == 0 {
			// A synchronizing literal: the server's "+" comes first,
			// then the literal's bytes.
			if b[0] != '+' {
				w.skip, w.sync = w.sync, 0
				continue
			}
			w.afterPlus = true
		}
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			w.line = append(w.line, b...)
			if len(w.line) > 64<<10 { // no protocol line is this long: it is data
				w.line, w.overlong = w.line[:0], true
			}
			break
		}
		w.line = append(w.line, b[:i]...)
		b = b[i+1:]
		if w.overlong {
			w.print("[a long line, not written]")
		} else {
			w.emit(strings.TrimRight(string(w.line), "\r"))
		}
		w.line, w.overlong = w.line[:0], false
		if w.afterPlus {
			w.skip, w.sync, w.afterPlus = w.sync, 0, false
		}
	}
	return n, nil
}

func (w *Writer) emit(line string) {
	if m := literalEnd.FindStringSubmatch(line); m != nil && !w.data {
		if n, err := strconv.Atoi(m[1]); err == nil {
			if strings.HasSuffix(line, "+}") || strings.HasPrefix(line, "* ") {
				w.skip = n
			} else {
				w.sync = n
			}
			line += " [" + m[1] + " bytes, not written]"
		}
	}
	switch {
	case w.data:
		if line == "." {
			w.data = false
			w.print(fmt.Sprintf("[message: %d lines, not written]", w.lines))
			w.print(".")
		}
		w.lines++
		return
	case w.sasl:
		if smtpReply.MatchString(line) && !strings.HasPrefix(line, "334") || w.tag != "" && strings.HasPrefix(line, w.tag+" ") {
			w.sasl, w.tag = false, ""
			w.print(line)
			return
		}
		if strings.HasPrefix(line, "334") || strings.HasPrefix(line, "+") {
			w.print(line[:min(len(line), 4)] + "***")
			return
		}
		w.print("***")
		return
	}
	if m := smtpAuth.FindStringSubmatch(line); m != nil {
		w.sasl = true
		w.print(m[1] + " ***")
		return
	}
	if m := imapLogin.FindStringSubmatch(line); m != nil {
		w.print(m[1] + " ***")
		return
	}
	if m := imapAuth.FindStringSubmatch(line); m != nil {
		w.sasl, w.tag = true, m[2]
		w.print(m[1] + " ***")
		return
	}
	if strings.EqualFold(line, "DATA") {
		w.print(line)
		w.data, w.lines = false, 0
		w.expectData = true
		return
	}
	if w.expectData && strings.HasPrefix(line, "354") {
		w.expectData = false
		w.data = true
		w.print(line)
		return
	}

	if len(line) > 300 {
		line = line[:300] + " …"
	}
	w.print(line)
}

func (w *Writer) print(s string) { fmt.Fprintf(w.out, "%s%s\n", w.prefix, s) }
