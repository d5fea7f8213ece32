package smime

import (
	"bytes"
	"fmt"
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
	check := func(name string, msg []byte, ids []Identity, p *Policy) {
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
	check("no header at all", []byte("Hej"), nil, p)
	if o, err := OpenReader(bytes.NewReader(ours), -1, []Identity{ec}, p); err != nil || !o.Valid() || !bytes.Equal(o.Entity, entity) {
		t.Errorf("size unknown: %v", err)
	}
}
