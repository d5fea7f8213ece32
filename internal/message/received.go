package message

import (
	"bytes"
	"mime"
	"net/mail"
	"regexp"
	"strings"
	"time"

	"github.com/emersion/go-message/charset"
)

// Outer is the outer header of a received message, as it came: who it
// says it is from and to, its subject and date, and the hops it took.
// Nothing here is vouched for; a signature may say otherwise.
type Outer struct {
	From, Sender, To []*mail.Address
	Subject          string
	Date             time.Time
	MessageID        string
	Hops             []Hop
}

// ReadOuter reads the outer header of a received message; fields that
// do not parse are left empty.
func ReadOuter(raw []byte) (Outer, error) {
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return Outer{}, err
	}
	h := m.Header
	var o Outer
	o.From, _ = h.AddressList("From")
	o.Sender, _ = h.AddressList("Sender")
	o.To, _ = h.AddressList("To")
	o.Subject = DecodeHeader(h.Get("Subject"))
	o.Date, _ = h.Date()
	o.MessageID = h.Get("Message-Id")
	o.Hops = Hops(h["Received"])
	return o, nil
}

var wordDecoder = &mime.WordDecoder{CharsetReader: charset.Reader}

// DecodeHeader decodes a header value's encoded words (RFC 2047) in any
// charset; a value that does not decode is returned as it is.
func DecodeHeader(s string) string {
	if d, err := wordDecoder.DecodeHeader(s); err == nil {
		return d
	}
	return s
}

// Hop is one transport hop of a received message.
type Hop struct {
	From, By, With string
	// TLS: the hop says it was encrypted (ESMTPS and kin, RFC 3848, or a
	// TLS version in its comment); unknown hops count as not.
	TLS bool
	// Time is the date the hop stamped after its ";", if it reads.
	Time time.Time
}

var hopWords = regexp.MustCompile(`(?i)\b(from|by|with)\s+([^\s;()]+)`)
var hopTLS = regexp.MustCompile(`(?i)\bTLS ?v?1[._]?[0-3]\b|\bversion=TLS|\busing TLS`)

// maxHops is how many of the newest Received headers Hops reads.
const maxHops = 5

// Hops reads a message's transport hops from its Received headers,
// newest first (as they stand in the header), at most maxHops.
func Hops(received []string) []Hop {
	var out []Hop
	for _, r := range received {
		if len(out) == maxHops {
			break
		}
		var h Hop
		for _, m := range hopWords.FindAllStringSubmatch(r, -1) {
			switch strings.ToLower(m[1]) {
			case "from":
				if h.From == "" {
					h.From = m[2]
				}
			case "by":
				if h.By == "" {
					h.By = m[2]
				}
			case "with":
				if h.With == "" {
					h.With = m[2]
				}
			}
		}
		w := strings.ToUpper(h.With)
		h.TLS = strings.HasSuffix(w, "SMTPS") || strings.HasSuffix(w, "SMTPSA") || strings.HasSuffix(w, "LMTPS") ||
			strings.HasSuffix(w, "LMTPSA") || hopTLS.MatchString(r)
		if i := strings.LastIndexByte(r, ';'); i >= 0 {
			h.Time, _ = mail.ParseDate(strings.TrimSpace(r[i+1:]))
		}
		out = append(out, h)
	}
	return out
}
