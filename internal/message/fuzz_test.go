package message

import (
	"bytes"
	"testing"

	"github.com/emersion/go-message/mail"
)

// FuzzCompose: whatever a user types as subject, display name or file
// name, the message parses back with exactly the fields we wrote, and no
// line is longer than RFC 5322 allows.
func FuzzCompose(f *testing.F) {
	f.Add("Møde", "Jens Hansen", "notat æøå.pdf")
	f.Add("a\r\nBcc: x@y", "b\nCc: z@y", "c\r\n\r\nbody")
	f.Add("=?utf-8?q?x?=", "\"quoted\" <x@y>", "f\"ile;name=x")
	f.Fuzz(func(t *testing.T, subject, name, file string) {
		h := header
		h.Subject = subject
		h.To = []Address{{name, "jens.hansen@kommune.example"}}
		e, err := Entity(Draft{Body: "x", Attachments: []Attachment{{Name: file, Data: []byte("data")}}})
		if err != nil {
			t.Fatal(err)
		}
		raw, err := Compose(h, e)
		if err != nil {
			t.Fatal(err)
		}
		r, err := mail.CreateReader(bytes.NewReader(raw))
		if err != nil {
			t.Fatalf("does not parse: %v\n%q", err, raw)
		}
		fields := r.Header.Fields()
		n := 0
		for fields.Next() {
			n++
			switch fields.Key() {
			case "From", "Sender", "To", "Cc", "Subject", "Date", "Message-Id", "Mime-Version", "Content-Type":
			default:
				t.Fatalf("unexpected field %q in\n%q", fields.Key(), raw)
			}
		}
		if n != 9 {
			t.Fatalf("%d header fields, want 9:\n%q", n, raw)
		}
		parts := 0
		for {
			p, err := r.NextPart()
			if err != nil {
				break
			}
			parts++
			if p.Header.Get("Bcc") != "" || p.Header.Get("Cc") != "" {
				t.Fatalf("a field was injected into a part:\n%q", raw)
			}
		}
		if parts != 2 {
			t.Fatalf("%d parts, want 2:\n%q", parts, raw)
		}
		for _, line := range bytes.Split(raw, []byte("\r\n")) {
			if len(line) > 998 {
				t.Fatalf("a line of %d octets", len(line))
			}
		}
	})
}

// FuzzReadOuter: a received header, whatever it holds, is read without a
// panic, and no more than maxHops hops are taken from it.
func FuzzReadOuter(f *testing.F) {
	f.Add([]byte("Received: from a by b with ESMTPS; Tue, 01 Dec 2026 09:14:09 +0100\r\nSubject: =?utf-8?q?x?=\r\n\r\n"))
	f.Add([]byte("Received: ;;;\r\nReceived: with\r\nFrom: <>\r\n\r\n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		if o, err := ReadOuter(raw); err == nil && len(o.Hops) > maxHops {
			t.Fatalf("%d hops", len(o.Hops))
		}
	})
}
