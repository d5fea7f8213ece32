package message

import (
	"bytes"
	"io"
	"mime"
	"net/mail"
	"strings"
	"testing"
)

func TestParseRoundTrip(t *testing.T) {
	d := Draft{Subject: "x", Body: "Kære Jens\n\nHermed æøå.\n", Attachments: []Attachment{
		{Name: "afgørelse æøå.pdf", Data: bytes.Repeat([]byte{0, 1, 2, 250}, 3000)},
		{Name: "noter.txt", Data: []byte("en fil, ikke brødtekst")},
	}}
	e, err := Entity(d)
	if err != nil {
		t.Fatal(err)
	}
	r, err := Parse(e)
	if err != nil {
		t.Fatal(err)
	}
	if r.Text != d.Body || r.FromHTML || len(r.Attachments) != 2 {
		t.Fatalf("%q html=%v, %d attachments", r.Text, r.FromHTML, len(r.Attachments))
	}
	for i, a := range r.Attachments {
		if a.Name != d.Attachments[i].Name || !bytes.Equal(a.Data, d.Attachments[i].Data) {
			t.Errorf("attachment %d: %q, %d bytes", i, a.Name, len(a.Data))
		}
	}
}

func TestParseForeignMail(t *testing.T) {
	msg := "Content-Type: multipart/mixed; boundary=a\r\n\r\n" +
		"--a\r\nContent-Type: multipart/alternative; boundary=b\r\n\r\n" +
		"--b\r\nContent-Type: text/html; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" +
		"<html><head><style>p{color:red}</style><script>alert(1)</script></head><body><p>K=E6re Jens</p><p>Med venlig <b>hilsen</b><br>Kommunen</p></body></html>\r\n" +
		"--b--\r\n" +
		"--a\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename*=UTF-8''bilag%20%C3%A6.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjc=\r\n" +
		"--a\r\nContent-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n\r\niVBORw==\r\n" +
		"--a--\r\n"
	r, err := Parse([]byte(msg))
	if err != nil {
		t.Fatal(err)
	}
	if !r.FromHTML || r.Text != "Kære Jens\n\nMed venlig hilsen\nKommunen" {
		t.Fatalf("text %q", r.Text)
	}
	if len(r.Attachments) != 2 || r.Attachments[0].Name != "bilag æ.pdf" || string(r.Attachments[0].Data) != "%PDF-1.7" ||
		!strings.HasPrefix(r.Attachments[1].Name, "del-2.") {
		t.Fatalf("attachments %+v", r.Attachments)
	}
}

func FuzzParse(f *testing.F) {
	e, _ := Entity(Draft{Body: "x", Attachments: []Attachment{{Name: "a.pdf", Data: []byte("y")}}})
	f.Add(e)
	f.Add([]byte("Content-Type: multipart/mixed; boundary=a\r\n\r\n--a\r\nContent-Type: text/html\r\n\r\n<p>x<script>y\r\n--a--\r\n"))
	f.Add([]byte("Content-Type: text/plain; charset=bogus\r\n\r\nhej"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := Parse(b)
		if err == nil && r == nil {
			t.Fatal("nil without error")
		}
	})
}

// TestParseShowsWhatItCan: one part that cannot be read does not hide
// the others.
func TestParseShowsWhatItCan(t *testing.T) {
	mail := "Content-Type: multipart/mixed; boundary=b\r\n\r\n" +
		"--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHej Jens, se bilaget.\r\n" +
		"--b\r\nContent-Type: application/pdf; name=\"notat.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!! not base64 ****\r\n" +
		"--b\r\nContent-Type: text/plain; charset=x-unknown-charset\r\n\r\nAnden del.\r\n" +
		"--b--\r\n"
	r, err := Parse([]byte(mail))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(r.Text, "Hej Jens") || !strings.Contains(r.Text, "Anden del") {
		t.Errorf("text %q", r.Text)
	}
	if len(r.Unreadable) != 1 || r.Unreadable[0].Name != "notat.pdf" || r.Unreadable[0].Err == nil {
		t.Errorf("unreadable %+v", r.Unreadable)
	}
	// A structure cut short keeps what came before.
	r, err = Parse([]byte("Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nFørste del.\r\n--b\r\nContent-Type: text/plain\r\nBroken header\r\n"))
	if err != nil || !strings.Contains(r.Text, "Første del") {
		t.Errorf("cut short: %v %+v", err, r)
	}
}

func TestHiddenAddress(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`"Jens Hansen <jens.hansen@kommune.example>" <post@firma.example>`, "jens.hansen@kommune.example"},
		{`"jens.hansen@kommune.example" <post@firma.example>`, "jens.hansen@kommune.example"},
		{`=?utf-8?q?S=C3=B8ren_soren=40kommune.example?= <post@firma.example>`, "soren@kommune.example"},
		{`"post@firma.example" <post@firma.example>`, ""},
		{`Jens Hansen <jens.hansen@kommune.example>`, ""},
	} {
		a, err := (&mail.AddressParser{WordDecoder: &mime.WordDecoder{}}).Parse(tc.in)
		if err != nil {
			t.Fatal(err)
		}
		if got := HiddenAddress(a); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestPrintable(t *testing.T) {
	for _, tc := range []struct {
		in        string
		multiline bool
		want      string
	}{
		{"Hej\x1b[2J\x1b[32mSendt sikkert\x1b[0m", false, "Hej␛[2J␛[32mSendt sikkert␛[0m"},
		{"linje 1\r\nlinje 2\tfane", true, "linje 1\nlinje 2\tfane"},
		{"linje 1\r\nlinje 2", false, "linje 1  linje 2"},
		{"faktura\u202Efdp.exe", false, "faktura⟨U+202E⟩fdp.exe"},
		{"bip\a\x7f\u009b", false, "bip␇␡\uFFFD"},
		{"ugyldig \xff", false, "ugyldig \uFFFD"},
		{"Æble, øl og å", false, "Æble, øl og å"},
	} {
		if got := Printable(tc.in, tc.multiline); got != tc.want {
			t.Errorf("%q: %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestSafeFileName(t *testing.T) {
	for in, want := range map[string]string{
		"notat.pdf":            "notat.pdf",
		"../../etc/passwd":     "passwd",
		`C:\Windows\win.ini`:   "win.ini",
		"CON":                  "_CON",
		"nul.txt":              "_nul.txt",
		"com1.pdf":             "_com1.pdf",
		"console.txt":          "console.txt",
		"faktura\u202Efdp.exe": "faktura⟨U+202E⟩fdp.exe",
		"a<b>c:d|e?f*.txt":     "a_b_c_d_e_f_.txt",
		"slut. ":               "slut",
		"":                     "bilag",
		"..":                   "bilag",
		"linje\nskift.pdf":     "linje skift.pdf",
	} {
		if got := SafeFileName(in); got != want {
			t.Errorf("%q: %q, want %q", in, got, want)
		}
	}
}

// Attachments given as streams make the same entity as in memory, and a
// stream that does not hold the queued size is refused.
func TestStreamedAttachments(t *testing.T) {
	data := [][]byte{bytes.Repeat([]byte{0, 1, 2, 250}, 70000), []byte("kort")}
	opened := 0
	stream := func(b []byte) Attachment {
		return Attachment{Name: "f.bin", Size: int64(len(b)), Open: func() (io.ReadCloser, error) {
			opened++
			return io.NopCloser(bytes.NewReader(b)), nil
		}}
	}
	d := Draft{Body: "Se bilag.\n", Attachments: []Attachment{stream(data[0]), stream(data[1])}}
	if d.Attachments[0].Len() != int64(len(data[0])) {
		t.Fatal("Len of a stream")
	}
	var b bytes.Buffer
	if err := WriteEntity(&b, d); err != nil {
		t.Fatal(err)
	}
	r, err := Parse(b.Bytes())
	if err != nil || opened != 2 || len(r.Attachments) != 2 {
		t.Fatalf("%v, opened %d", err, opened)
	}
	for i, a := range r.Attachments {
		if !bytes.Equal(a.Data, data[i]) {
			t.Errorf("attachment %d differs", i)
		}
	}
	short := stream(data[1])
	short.Size++
	if err := WriteEntity(io.Discard, Draft{Attachments: []Attachment{short}}); err == nil {
		t.Error("a stream shorter than its size was taken")
	}
}

// The outer header as it came: addresses, an encoded subject, and the
// hops, newest first, with whether each was encrypted and when.
func TestReadOuter(t *testing.T) {
	raw := "Received: from mail.kommune.example (mail.kommune.example [192.0.2.7])\r\n" +
		"\tby mx.hoejskole.example with ESMTPS id 4Fx; Tue, 01 Dec 2026 09:14:09 +0100\r\n" +
		"Received: from laptop by mail.kommune.example with SMTP (TLS1.3) id 9q; Tue, 01 Dec 2026 09:14:01 +0100\r\n" +
		"Received: from webmail.example by mail.kommune.example with SMTP id 7z; Tue, 01 Dec 2026 09:13:00 +0100\r\n" +
		"From: Jens Hansen <jens.hansen@kommune.example>\r\nTo: sikkerpost@hoejskole.example\r\n" +
		"Subject: =?iso-8859-1?q?Ans=F8gning?=\r\nMessage-Id: <1@kommune.example>\r\n" +
		"Date: Tue, 01 Dec 2026 09:13:55 +0100\r\n\r\nhej\r\n"
	o, err := ReadOuter([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	if o.Subject != "Ansøgning" || len(o.From) != 1 || o.From[0].Address != "jens.hansen@kommune.example" || o.MessageID != "<1@kommune.example>" {
		t.Fatalf("%+v", o)
	}
	if len(o.Hops) != 3 || !o.Hops[0].TLS || o.Hops[0].By != "mx.hoejskole.example" || !o.Hops[1].TLS || o.Hops[2].TLS ||
		o.Hops[0].Time.IsZero() || o.Hops[0].From != "mail.kommune.example" {
		t.Fatalf("hops %+v", o.Hops)
	}
	if _, err := ReadOuter([]byte("not a header")); err == nil {
		t.Error("no header read as one")
	}
}
