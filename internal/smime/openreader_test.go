package smime

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// summary is what a reader is told of an opened message.
func summary(o *Opened, err error) string {
	var b strings.Builder
	fmt.Fprintf(&b, "err=%v valid=%v encrypted=%v signed=%v byFrom=%v layers:", reasonOf(err), o.Valid(), o.Encrypted(), o.Signed(), o.SignedByFrom())
	for _, l := range o.Layers {
		fmt.Fprintf(&b, " %s/%v", l.Kind, reasonOf(l.Err))
	}
	if err == nil {
		fmt.Fprintf(&b, " entity=%x", o.Entity)
	}
	return b.String()
}

// OpenReader tells every message as Open does: Thunderbird's vectors,
// good and forged, plain, signed and encrypted, and ours, also with
// blanks after the base64 lines and bare LF line ends.
func TestOpenReaderAgreesWithOpen(t *testing.T) {
	tb := tbPolicy(t)
	tbIDs := []Identity{tbIdentity(t, "Alice"), tbIdentity(t, "Bob")}
	names, _ := filepath.Glob(tbPath("*.eml"))
	if len(names) < 20 {
		t.Fatalf("%d Thunderbird messages", len(names))
	}
	check := func(name string, msg []byte, ids []Identity, p *Trust) {
		t.Helper()
		want := summary(Open(msg, ids, p))
		got := summary(OpenReader(bytes.NewReader(msg), int64(len(msg)), ids, p))
		if got != want {
			t.Errorf("%s:\nOpenReader %.300s\nOpen       %.300s", name, got, want)
		}
	}
	for _, n := range names {
		msg, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		check(filepath.Base(n), msg, tbIDs, tb)
	}
	id, ec := testIdentity(t, "mailbox-rsa"), testIdentity(t, "recipient-ec")
	entity := benchEntity(1 << 20)
	var out bytes.Buffer
	if err := SignEncrypt(&out, BytesSource(entity), id, []Recipient{{Cert: ec.Cert}}, AES256GCM); err != nil {
		t.Fatal(err)
	}
	ours := out.Bytes()
	p := testPolicy(t)
	check("ours", ours, []Identity{ec}, p)
	head, body, _ := bytes.Cut(ours, []byte("\r\n\r\n"))
	blanks := append(append(bytes.Clone(head), "\r\n\r\n"...), bytes.ReplaceAll(body, []byte("\r\n"), []byte(" \t\r\n"))...)
	if o, err := Open(blanks, []Identity{ec}, p); err != nil || !o.Valid() {
		t.Fatalf("blanks: %v", err)
	}
	check("ours, blanks after lines", blanks, []Identity{ec}, p)
	check("ours, bare LF", bytes.ReplaceAll(ours, []byte("\r\n"), []byte("\n")), []Identity{ec}, p)
	check("ours, not for this key", ours, []Identity{id}, p)
	check("ours, cut short", ours[:len(ours)/2], []Identity{ec}, p)
	check("ours, cut inside a base64 quantum", ours[:len(ours)*2/3+1], []Identity{ec}, p)
	check("no header at all", []byte("Hej"), nil, p)
	if o, err := OpenReader(bytes.NewReader(ours), -1, []Identity{ec}, p); err != nil || !o.Valid() || !bytes.Equal(o.Entity, entity) {
		t.Errorf("size unknown: %v", err)
	}
}

// streamSummary is summary for OpenStream, with the entity it wrote.
func streamSummary(msg []byte, ids []Identity, p *Trust) string {
	var out bytes.Buffer
	o, err := OpenStream(BytesSource(msg), ids, p, &memSpool{}, &out)
	o.Entity = out.Bytes()
	if err != nil {
		o.Entity = nil
	}
	return summary(o, err)
}

// memSpool keeps the spool in memory, for tests.
type memSpool struct{ b *bytes.Buffer }

func (m *memSpool) Create() (io.WriteCloser, error) {
	m.b = &bytes.Buffer{}
	return nopWriteCloser{m.b}, nil
}

func (m *memSpool) Open() (io.ReadCloser, error) {
	return io.NopCloser(bytes.NewReader(m.b.Bytes())), nil
}

type nopWriteCloser struct{ io.Writer }

func (nopWriteCloser) Close() error { return nil }

// OpenStream tells every message as Open does and writes exactly Open's
// entity: Thunderbird's vectors, and ours in every form the streaming
// takes (GCM and CBC, RSA and EC, openssl's BER from -stream, a bare-LF
// inner entity, a tampered tag, a signature over other content).
func TestOpenStreamAgreesWithOpen(t *testing.T) {
	n := 0
	streamed = func() { n++ }
	t.Cleanup(func() { streamed = nil })
	// check compares; stream says whether the message must have gone the
	// streaming way (what opens and verifies), or the in-memory one.
	check := func(name string, msg []byte, ids []Identity, p *Trust, stream ...bool) {
		t.Helper()
		before := n
		if got, want := streamSummary(msg, ids, p), summary(Open(msg, ids, p)); got != want {
			t.Errorf("%s:\nOpenStream %.400s\nOpen       %.400s", name, got, want)
		}
		if len(stream) > 0 && stream[0] != (n > before) {
			t.Errorf("%s: streamed %v, want %v", name, n > before, stream[0])
		}
	}
	tb := tbPolicy(t)
	tbIDs := []Identity{tbIdentity(t, "Alice"), tbIdentity(t, "Bob")}
	names, _ := filepath.Glob(tbPath("*.eml"))
	for _, n := range names {
		msg, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		check(filepath.Base(n), msg, tbIDs, tb)
	}
	p := testPolicy(t)
	id, ec := testIdentity(t, "mailbox-rsa"), testIdentity(t, "recipient-ec")
	entity := benchEntity(3 << 20)
	for _, c := range []Cipher{AES256GCM, AES256CBC} {
		var out bytes.Buffer
		if err := SignEncrypt(&out, BytesSource(entity), id, []Recipient{{Cert: ec.Cert}, {Cert: id.Cert}}, c); err != nil {
			t.Fatal(err)
		}
		msg := out.Bytes()
		check(c.String(), msg, []Identity{ec}, p, true)
		check(c.String()+", the other key", msg, []Identity{id}, p, true)
		check(c.String()+", not for these keys", msg, []Identity{testIdentity(t, "recipient-rsa")}, p, false)
		check(c.String()+", cut short", msg[:len(msg)*2/3], []Identity{ec}, p, false)
		// A byte of the ciphertext changed (far from the DER around it).
		head, body, _ := bytes.Cut(msg, []byte("\r\n\r\n"))
		der, _ := base64.StdEncoding.DecodeString(strings.ReplaceAll(string(body), "\r\n", ""))
		der[len(der)/2] ^= 1
		check(c.String()+", tampered", append(append(bytes.Clone(head), "\r\n\r\n"...), base64.StdEncoding.EncodeToString(der)...), []Identity{ec}, p, false)
	}
	// openssl's BER (-stream), signed then enveloped, CBC and GCM.
	dir := t.TempDir()
	in := filepath.Join(dir, "in.eml")
	os.WriteFile(in, bytes.ReplaceAll(benchEntity(200<<10), []byte("\r\n"), []byte("\n")), 0o600)
	signed := openssl(t, nil, "cms", "-sign", "-stream", "-in", in, "-signer", certPath("mailbox-rsa"), "-inkey", keyPath("mailbox-rsa"), "-md", "sha256")
	s := filepath.Join(dir, "signed.eml")
	os.WriteFile(s, signed, 0o600)
	for _, alg := range []string{"-aes-256-cbc", "-aes-256-gcm"} {
		enc := openssl(t, nil, "cms", "-encrypt", "-stream", alg, "-in", s, "-recip", certPath("recipient-ec"))
		check("openssl -stream "+alg, enc, []Identity{ec}, p, true)
	}
	// An opaque signature inside: opened in memory, told the same.
	opaque, err := SignEntity(entity[:4096], id, SignOptions{})
	if err != nil {
		t.Fatal(err)
	}
	enc, err := EncryptEntity(opaque, []Recipient{{Cert: ec.Cert}}, AES256GCM)
	if err != nil {
		t.Fatal(err)
	}
	check("opaque inside", enc, []Identity{ec}, p, false)
}

// swapSpool gives changed content on its second read (the first finds
// the parts and verifies, the second copies), as a spool changed on the
// disk between the reads would.
type swapSpool struct {
	memSpool
	reads int
}

func (s *swapSpool) Open() (io.ReadCloser, error) {
	s.reads++
	if s.reads == 2 {
		b := bytes.Clone(s.b.Bytes())
		b[len(b)/2] ^= 1
		return io.NopCloser(bytes.NewReader(b)), nil
	}
	return s.memSpool.Open()
}

// What OpenStream writes is what it verified: content that changed
// between the verifying read and the writing one fails the opening.
func TestOpenStreamChangedSpool(t *testing.T) {
	p := testPolicy(t)
	id, ec := testIdentity(t, "mailbox-rsa"), testIdentity(t, "recipient-ec")
	var msg bytes.Buffer
	if err := SignEncrypt(&msg, BytesSource(benchEntity(64<<10)), id, []Recipient{{Cert: ec.Cert}}, AES256GCM); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if _, err := OpenStream(BytesSource(msg.Bytes()), []Identity{ec}, p, &memSpool{}, &out); err != nil {
		t.Fatalf("unchanged: %v", err)
	}
	s := &swapSpool{}
	if _, err := OpenStream(BytesSource(msg.Bytes()), []Identity{ec}, p, s, io.Discard); !errors.Is(err, ErrChanged) || s.reads != 2 {
		t.Fatalf("a changed spool: %v after %d reads", err, s.reads)
	}
}
