package message

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-message/mail"

	"sikkermail/internal/keystore"
	"sikkermail/internal/smime"
	"sikkermail/internal/testenv"
)

var (
	body  = "Kære Jens\n\nHermed journalnotatet. Æble, øl og å.\n" + strings.Repeat("En meget lang linje uden linjeskift. ", 40) + "\n\nVenlig hilsen"
	draft = Draft{
		Subject: "Møde om praktikforløb",
		Body:    body,
		Attachments: []Attachment{
			{Name: "Journalnotat æøå.pdf", Data: bytes.Repeat([]byte{0, 1, 2, 0xff}, 5000)},
			{Name: "deltagere.csv", Data: []byte("navn;rolle\r\nJens;studerende\r\n")},
			{Name: "ukendt.xyz", Data: []byte("?")},
		},
	}
	header = Header{
		From:      Address{"Sikkerpost-uddservice", "sikkerpost-uddservice@hoejskole.example"},
		Sender:    Address{"Demo Medarbejder", "medarbejder@hoejskole.example"},
		To:        []Address{{"Jens Hansen", "jens.hansen@kommune.example"}},
		Cc:        []Address{{"Søren Ærø", "soren@kommune.example"}},
		Subject:   "Møde om praktikforløb",
		Date:      time.Date(2026, 11, 22, 10, 30, 0, 0, time.UTC),
		MessageID: "<0123abcd@hoejskole.example>",
	}
)

func build(t *testing.T, h Header, d Draft) []byte {
	t.Helper()
	e, err := Entity(d)
	if err != nil {
		t.Fatal(err)
	}
	m, err := Compose(h, e)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestBuildAndReadBack(t *testing.T) {
	raw := build(t, header, draft)
	for i, line := range strings.Split(string(raw), "\r\n") {
		if strings.Contains(line, "\n") || strings.Contains(line, "\r") {
			t.Fatalf("line %d has a bare line break: %q", i, line)
		}
		if len(line) > 998 {
			t.Fatalf("line %d is %d octets long", i, len(line))
		}
	}
	if !bytes.Contains(raw, []byte(`filename*=utf-8''Journalnotat%20%C3%A6%C3%B8%C3%A5.pdf`)) {
		t.Error("the file name is not RFC 2231 encoded")
	}
	r, err := mail.CreateReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	from, _ := r.Header.AddressList("From")
	sender, _ := r.Header.AddressList("Sender")
	cc, _ := r.Header.AddressList("Cc")
	subject, _ := r.Header.Subject()
	id, _ := r.Header.MessageID()
	date, _ := r.Header.Date()
	if from[0].Address != header.From.Address || sender[0].Name != "Demo Medarbejder" || cc[0].Name != "Søren Ærø" ||
		subject != header.Subject || id != "0123abcd@hoejskole.example" || !date.Equal(header.Date) || r.Header.Get("MIME-Version") != "1.0" {
		t.Errorf("header: from %v sender %v cc %v subject %q id %q date %v", from[0], sender[0], cc[0], subject, id, date)
	}
	var texts []string
	files := map[string][]byte{}
	types := map[string]string{}
	for {
		p, err := r.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(p.Body)
		switch h := p.Header.(type) {
		case *mail.InlineHeader:
			texts = append(texts, string(b))
		case *mail.AttachmentHeader:
			name, _ := h.Filename()
			ct, _, _ := h.ContentType()
			files[name], types[name] = b, ct
		}
	}
	if len(texts) != 1 || texts[0] != crlf(body) {
		t.Errorf("text %q", texts)
	}
	for _, a := range draft.Attachments {
		if !bytes.Equal(files[a.Name], a.Data) {
			t.Errorf("attachment %q: %d bytes back", a.Name, len(files[a.Name]))
		}
	}
	if types["Journalnotat æøå.pdf"] != "application/pdf" || types["deltagere.csv"] != "text/csv" || types["ukendt.xyz"] != "application/octet-stream" {
		t.Errorf("content types %v", types)
	}
	// A mail to oneself from the mailbox itself has no Sender.
	self := header
	self.Sender = header.From
	if bytes.Contains(build(t, self, Draft{Body: "x"}), []byte("Sender:")) {
		t.Error("Sender: equal to From:")
	}
}

// TestNoHeaderInjection: line breaks in what a user typed never start a
// new header field.
func TestNoHeaderInjection(t *testing.T) {
	h := header
	h.Subject = "Hej\r\nBcc: evil@example.org"
	h.To = []Address{{"Jens\r\nBcc: evil@example.org", "jens.hansen@kommune.example"}}
	d := Draft{Body: "x", Attachments: []Attachment{{Name: "a.pdf\r\nBcc: evil@example.org", Data: []byte("x")}}}
	raw := build(t, h, d)
	r, err := mail.CreateReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if r.Header.Get("Bcc") != "" {
		t.Fatalf("a Bcc: header was injected:\n%s", raw)
	}
	if s, _ := r.Header.Subject(); !strings.HasPrefix(s, "Hej") || !strings.Contains(s, "evil@example.org") {
		t.Errorf("subject %q", s)
	}
	for {
		p, err := r.NextPart()
		if err != nil {
			break
		}
		if p.Header.Get("Bcc") != "" {
			t.Fatalf("a Bcc: field was injected into a part")
		}
	}
}

// TestSMIMERoundTrip: the entity signed and encrypted by smime, under the
// transport header, opens to the exact entity — in our reader and openssl's.
func TestSMIMERoundTrip(t *testing.T) {
	certs := testenv.Path("testdata", "certs")
	mb, err := keystore.Load(filepath.Join(certs, "mailbox-rsa.p12"), []byte("test"))
	if err != nil {
		t.Fatal(err)
	}
	jens, err := keystore.Load(filepath.Join(certs, "recipient-rsa.p12"), []byte("test"))
	if err != nil {
		t.Fatal(err)
	}
	entity, _ := Entity(draft)
	signed, err := smime.SignEntity(entity, *mb, smime.SignOptions{Detached: true})
	if err != nil {
		t.Fatal(err)
	}
	enc, err := smime.EncryptEntity(signed, []smime.Recipient{{Cert: jens.Cert}, {Cert: mb.Cert}}, smime.AES256GCM)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := Compose(header, enc)
	if err != nil {
		t.Fatal(err)
	}
	o, err := smime.Open(raw, []smime.Identity{*jens}, &smime.Trust{Roots: rootsOf(t, mb)})
	if err != nil {
		t.Fatal(err)
	}
	if !o.Valid() || !o.Encrypted() || !o.Signed() || !o.SignedByFrom() || !bytes.Equal(o.Entity, entity) {
		t.Fatalf("opened: valid %v encrypted %v signed %v from-match %v", o.Valid(), o.Encrypted(), o.Signed(), o.SignedByFrom())
	}
	f := filepath.Join(t.TempDir(), "mail.eml")
	os.WriteFile(f, raw, 0o600)
	bin := testenv.Need(t, "openssl")
	out, err := runOut(bin, "cms", "-decrypt", "-in", f, "-recip", filepath.Join(certs, "recipient-rsa.pem"), "-inkey", filepath.Join(certs, "recipient-rsa.key"))
	if err != nil || !bytes.Equal(out, signed) {
		t.Errorf("openssl: %v", err)
	}
}

func TestLongFileName(t *testing.T) {
	long := strings.Repeat("æ", 300) + ".pdf"
	raw := build(t, header, Draft{Body: "x", Attachments: []Attachment{{Name: long, Data: []byte("x")}}})
	r, _ := mail.CreateReader(bytes.NewReader(raw))
	r.NextPart()
	p, err := r.NextPart()
	if err != nil {
		t.Fatal(err)
	}
	name, _ := p.Header.(*mail.AttachmentHeader).Filename()
	if !strings.HasSuffix(name, ".pdf") || len(name) > maxFileName || !strings.HasPrefix(name, "ææææ") {
		t.Errorf("name %q (%d bytes)", name, len(name))
	}
}
