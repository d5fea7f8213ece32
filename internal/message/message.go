// Package message is the MIME of sikkermail's mail (RFC 5322, RFC
// 2045–2049), with github.com/emersion/go-message. It builds a secure
// mail: the inner entity — the text and the attachments, which S/MIME
// signs and encrypts — and the transport header on top of whatever entity
// is sent: From the secure mailbox, Sender the user (shown as "<user> på
// vegne af <mailbox>"), To, Cc, Subject, Date, a Message-ID and
// MIME-Version. And it reads received mail: the outer header and its
// Received hops (ReadOuter), and the text and attachments of the opened
// entity (Parse), within bounds, whatever the sender wrote.
//
// Header injection is impossible by construction: every value that comes
// from a user (subject, names, file names) has its line breaks and other
// control characters replaced before go-message encodes it.
package message

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"mime"
	"path/filepath"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	gomessage "github.com/emersion/go-message"
	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-message/textproto"
)

// Attachment is a file attached to a mail.
type Attachment struct {
	// Name is the file name shown to the recipient (æøå work: it is
	// written with RFC 2231 encoding).
	Name string
	// ContentType is the media type; "" means from the name's extension,
	// else application/octet-stream.
	ContentType string
	Data        []byte
	// Open, when Data is nil, gives the content as a stream of Size
	// bytes (the outbox's sealed copy of a queued mail). WriteEntity
	// opens each attachment once, in order.
	Open func() (io.ReadCloser, error)
	Size int64
}

// Len is the attachment's size in bytes.
func (a Attachment) Len() int64 {
	if a.Data == nil && a.Open != nil {
		return a.Size
	}
	return int64(len(a.Data))
}

// Draft is what the user composed: subject, text and attachments.
type Draft struct {
	Subject     string
	Body        string
	Attachments []Attachment
}

// Address is a display name and an address.
type Address struct {
	Name, Address string
}

// Header is the transport header of a sent mail.
type Header struct {
	// From is the secure mailbox, Sender the user who sends on its behalf.
	From, Sender Address
	To, Cc       []Address
	Subject      string
	Date         time.Time
	// MessageID is "<id@domain>", assigned when the mail is queued so that
	// a retry never gets a new one.
	MessageID string
}

// clean makes a user's text safe in a header: line breaks, tabs and other
// control characters become spaces.
func clean(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
}

// NewMessageID returns a fresh "<random@domain>" Message-ID.
func NewMessageID(domain string) string {
	var b [16]byte
	rand.Read(b[:])
	return "<" + hex.EncodeToString(b[:]) + "@" + clean(domain) + ">"
}

// ValidMessageID reports whether id is a Message-ID as RFC 5322 has
// them and NewMessageID makes them: <left@right>, each side dot-atom
// text, at most 250 characters in all.
func ValidMessageID(id string) bool {
	return len(id) <= 250 && messageID.MatchString(id)
}

var messageID = regexp.MustCompile("^<[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*>$")

// Entity returns the MIME entity of the draft: a text/plain part in UTF-8,
// quoted-printable, alone or with the attachments in multipart/mixed,
// each attachment base64 with its file name. Line ends are CRLF.
func Entity(d Draft) ([]byte, error) {
	var buf bytes.Buffer
	if err := WriteEntity(&buf, d); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// WriteEntity writes the entity Entity returns to w, reading each
// attachment as it goes: memory stays small whatever the attachments
// weigh.
func WriteEntity(w io.Writer, d Draft) error {
	buf := bufio.NewWriterSize(w, 64<<10)
	var th gomessage.Header
	th.SetContentType("text/plain", map[string]string{"charset": "utf-8"})
	th.Set("Content-Transfer-Encoding", "quoted-printable")
	text := func(w *gomessage.Writer, err error) error {
		if err != nil {
			return err
		}
		if _, err := io.WriteString(w, crlf(d.Body)); err != nil {
			return err
		}
		return w.Close()
	}
	if len(d.Attachments) == 0 {
		if err := text(gomessage.CreateWriter(buf, th)); err != nil {
			return err
		}
		return buf.Flush()
	}
	var h gomessage.Header
	h.SetContentType("multipart/mixed", nil)
	mw, err := gomessage.CreateWriter(buf, h)
	if err != nil {
		return err
	}
	if err := text(mw.CreatePart(th)); err != nil {
		return err
	}
	for _, a := range d.Attachments {
		name := fileName(a.Name)
		ct := a.ContentType
		if ct == "" {
			ct = mime.TypeByExtension(strings.ToLower(filepath.Ext(name)))
		}
		if mt, _, err := mime.ParseMediaType(ct); err == nil {
			ct = mt
		} else {
			ct = "application/octet-stream"
		}
		// mime.FormatMediaType writes non-ASCII names with RFC 2231
		// (filename*=utf-8''...), which go-message's setters would write
		// as RFC 2047 words, not allowed in parameters.
		var ah gomessage.Header
		ah.Set("Content-Type", mime.FormatMediaType(ct, map[string]string{"name": name}))
		ah.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
		ah.Set("Content-Transfer-Encoding", "base64")
		aw, err := mw.CreatePart(ah)
		if err != nil {
			return err
		}
		if err := WriteContent(aw, a); err != nil {
			return err
		}
		if err := aw.Close(); err != nil {
			return err
		}
	}
	if err := mw.Close(); err != nil {
		return err
	}
	return buf.Flush()
}

// WriteContent writes an attachment's bytes: from Data, or all Size
// bytes of its stream (fewer or more is an error: the stream is not the
// file that was queued).
func WriteContent(w io.Writer, a Attachment) error {
	if a.Data != nil || a.Open == nil {
		_, err := w.Write(a.Data)
		return err
	}
	r, err := a.Open()
	if err != nil {
		return err
	}
	defer r.Close()
	n, err := io.Copy(w, io.LimitReader(r, a.Size))
	if err == nil && n != a.Size {
		err = fmt.Errorf("message: attachment %s: %d of %d bytes", a.Name, n, a.Size)
	}
	return err
}

// maxFileName bounds a file name in bytes, so that its RFC 2231 form (up
// to three characters a byte) stays within RFC 5322's line limit; file
// systems allow 255.
const maxFileName = 200

// fileName makes an attachment's name safe for its header: no control
// characters, valid UTF-8, at most maxFileName bytes with the extension
// kept.
func fileName(s string) string {
	s = strings.ToValidUTF8(clean(s), "\uFFFD")
	if len(s) <= maxFileName {
		return s
	}
	ext := filepath.Ext(s)
	if len(ext) > 16 || !utf8.ValidString(ext) {
		ext = ""
	}
	stem := s[:maxFileName-len(ext)]
	for !utf8.ValidString(stem) {
		stem = stem[:len(stem)-1]
	}
	return stem + ext
}

// crlf gives text CRLF line ends and ends it with one.
func crlf(s string) string {
	s = strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n")
	if !strings.HasSuffix(s, "\n") {
		s += "\n"
	}
	return strings.ReplaceAll(s, "\n", "\r\n")
}

// Compose puts the transport header on top of an entity (the draft's own,
// or an S/MIME one that wraps it): the entity's Content-* fields are kept,
// and From, Sender, To, Cc, Subject, Date, Message-ID and MIME-Version are
// added.
func Compose(h Header, entity []byte) ([]byte, error) {
	var out bytes.Buffer
	out.Grow(len(entity) + 1024)
	if err := ComposeTo(&out, h, bytes.NewReader(entity)); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// ComposeTo writes what Compose returns to w, reading the entity as it
// goes.
func ComposeTo(w io.Writer, h Header, entity io.Reader) error {
	br := bufio.NewReader(entity)
	eh, err := textproto.ReadHeader(br)
	if err != nil {
		return fmt.Errorf("message: entity header: %w", err)
	}
	var mh mail.Header
	addr := func(a Address) *mail.Address { return &mail.Address{Name: clean(a.Name), Address: clean(a.Address)} }
	list := func(as []Address) []*mail.Address {
		out := make([]*mail.Address, len(as))
		for i, a := range as {
			out[i] = addr(a)
		}
		return out
	}
	mh.SetAddressList("From", []*mail.Address{addr(h.From)})
	if h.Sender.Address != "" && !strings.EqualFold(h.Sender.Address, h.From.Address) {
		mh.SetAddressList("Sender", []*mail.Address{addr(h.Sender)})
	}
	if len(h.To) > 0 {
		mh.SetAddressList("To", list(h.To))
	}
	if len(h.Cc) > 0 {
		mh.SetAddressList("Cc", list(h.Cc))
	}
	mh.SetSubject(clean(h.Subject))
	mh.SetDate(h.Date)
	mh.Set("Message-Id", clean(h.MessageID))
	mh.Set("MIME-Version", "1.0")
	// The fields in the order a reader expects: transport first, then the
	// entity's own (without its MIME-Version, given once above).
	type field struct{ k, v string }
	var order []field
	for _, k := range []string{"From", "Sender", "To", "Cc", "Subject", "Date", "Message-Id", "MIME-Version"} {
		if v := mh.Get(k); v != "" {
			order = append(order, field{k, v})
		}
	}
	fields := eh.Fields()
	for fields.Next() {
		if !strings.EqualFold(fields.Key(), "MIME-Version") {
			order = append(order, field{fields.Key(), fields.Value()})
		}
	}
	// go-message writes a header's fields last-added first.
	var final textproto.Header
	for i := len(order) - 1; i >= 0; i-- {
		final.Add(order[i].k, order[i].v)
	}
	if err := textproto.WriteHeader(w, final); err != nil {
		return err
	}
	_, err = br.WriteTo(w)
	return err
}
