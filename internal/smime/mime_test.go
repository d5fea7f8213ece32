package smime

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func mailboxIDs(t testing.TB) []Identity {
	return []Identity{testIdentity(t, "recipient-ec"), testIdentity(t, "mailbox-rsa")}
}

func TestOpenLayers(t *testing.T) {
	p := testPolicy(t)
	mb := testIdentity(t, "mailbox-rsa")
	signerEC := testIdentity(t, "mailbox-ec")
	recips := []Recipient{{Cert: mb.Cert}}

	signed, err := SignEntity(mimeEntity, signerEC, SignOptions{Detached: true})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(signed, mimeEntity) {
		t.Fatal("a clear-signed entity does not carry the entity readable")
	}
	enc, err := EncryptEntity(signed, recips, AES256GCM)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(enc, []byte("Content-Type: application/pkcs7-mime; smime-type=authEnveloped-data")) {
		t.Fatalf("encrypted entity header: %q", enc[:80])
	}
	// Triple wrap: signed (opaque), encrypted (CBC), signed (detached).
	opaque, _ := SignEntity(mimeEntity, mb, SignOptions{})
	encCBC, _ := EncryptEntity(opaque, recips, AES256CBC)
	triple, _ := SignEntity(encCBC, signerEC, SignOptions{Detached: true})

	for _, tc := range []struct {
		name   string
		in     []byte
		layers []LayerKind
	}{
		{"plain", mimeEntity, nil},
		{"signed", signed, []LayerKind{LayerSigned}},
		{"signed-encrypted", enc, []LayerKind{LayerEncrypted, LayerSigned}},
		{"signed-encrypted-signed", triple, []LayerKind{LayerSigned, LayerEncrypted, LayerSigned}},
	} {
		o, err := Open(tc.in, mailboxIDs(t), p)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if !bytes.Equal(o.Entity, mimeEntity) {
			t.Errorf("%s: entity %q", tc.name, o.Entity)
		}
		var kinds []LayerKind
		for _, l := range o.Layers {
			kinds = append(kinds, l.Kind)
		}
		if fmtKinds(kinds) != fmtKinds(tc.layers) {
			t.Errorf("%s: layers %v, want %v", tc.name, kinds, tc.layers)
		}
		if !o.Valid() || o.Signed() != (len(tc.layers) > 0) || o.Encrypted() != (len(tc.layers) > 1) {
			t.Errorf("%s: valid %v signed %v encrypted %v", tc.name, o.Valid(), o.Signed(), o.Encrypted())
		}
	}

	// A clear-signed entity whose text was changed on the way.
	tampered := bytes.Replace(signed, []byte("Hej Jens"), []byte("Hej Hans"), 1)
	o, err := Open(tampered, nil, p)
	if err != nil {
		t.Fatal(err)
	}
	if o.Valid() || reasonOf(o.Layers[0].Err) != ContentChanged {
		t.Errorf("tampered: valid %v, layer error %v", o.Valid(), o.Layers[0].Err)
	}
	// Encrypted for somebody else.
	if _, err := Open(enc, []Identity{testIdentity(t, "recipient-rsa")}, p); reasonOf(err) != NotForUs {
		t.Errorf("not for us: %v", err)
	}
	// Saved with LF line ends, a clear-signed entity still verifies.
	lf := bytes.ReplaceAll(signed, []byte("\r\n"), []byte("\n"))
	if o, err := Open(lf, nil, p); err != nil || !o.Valid() {
		t.Errorf("LF line ends: %v", err)
	}
	if s := o.Signers(); len(s) != 1 || !SignerMatches(s[0], "SIKKERPOST-HR@hoejskole.example") || SignerMatches(s[0], "jens@kommune.example") {
		t.Errorf("signer match: %+v", s)
	}

	// From and Sender of the outer header against the signer (RFC 8550).
	for _, tc := range []struct {
		header string
		want   bool
	}{
		{"From: Sikkerpost HR <sikkerpost-hr@hoejskole.example>\r\n", true},
		{"From: =?utf-8?q?S=C3=B8ren?= <Sikkerpost-HR@hoejskole.example>\r\n", true},
		// A Sender that signed while From names somebody else proves
		// nothing about From; nor can two From addresses both have signed.
		{"From: sikkerpost-uddservice@hoejskole.example\r\nSender: =?utf-8?q?S=C3=B8ren?= <Sikkerpost-HR@hoejskole.example>\r\n", false},
		{"From: sikkerpost-hr@hoejskole.example, jens.hansen@kommune.example\r\n", false},
		{"From: jens.hansen@kommune.example\r\n", false},
		{"", false},
	} {
		o, err := Open(append([]byte(tc.header), signed...), nil, p)
		if err != nil {
			t.Fatal(err)
		}
		if o.SignedByFrom() != tc.want {
			t.Errorf("%q: SignedByFrom %v, want %v (From %v Sender %v)", tc.header, !tc.want, tc.want, o.From, o.Sender)
		}
	}
}

func fmtKinds(k []LayerKind) string {
	var s []string
	for _, x := range k {
		s = append(s, string(x))
	}
	return "[" + strings.Join(s, " ") + "]"
}

// TestOpenFromOpenSSL opens what openssl writes in S/MIME format.
func TestOpenFromOpenSSL(t *testing.T) {
	p := testPolicy(t)
	dir := t.TempDir()
	in := filepath.Join(dir, "entity")
	os.WriteFile(in, mimeEntity, 0o600)
	signed := filepath.Join(dir, "signed.eml")
	openssl(t, nil, "cms", "-sign", "-in", in, "-signer", certPath("mailbox-ec"), "-inkey", keyPath("mailbox-ec"), "-md", "sha256", "-out", signed)
	enc := openssl(t, nil, "cms", "-encrypt", "-in", signed, "-aes-256-gcm", certPath("mailbox-rsa"))
	o, err := Open(enc, mailboxIDs(t), p)
	if err != nil {
		t.Fatal(err)
	}
	if !o.Valid() || len(o.Layers) != 2 || !bytes.Equal(o.Entity, mimeEntity) {
		t.Errorf("layers %+v entity %q", o.Layers, o.Entity)
	}
}

// TestOpenSSLReadsOurs: openssl decrypts and verifies our S/MIME entities.
func TestOpenSSLReadsOurs(t *testing.T) {
	dir := t.TempDir()
	signed, _ := SignEntity(mimeEntity, testIdentity(t, "mailbox-rsa"), SignOptions{Detached: true})
	enc, err := EncryptEntity(signed, []Recipient{{Cert: testIdentity(t, "recipient-ec").Cert}}, AES256GCM)
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(dir, "msg.eml")
	os.WriteFile(f, enc, 0o600)
	dec := openssl(t, nil, "cms", "-decrypt", "-in", f, "-recip", certPath("recipient-ec"), "-inkey", keyPath("recipient-ec"))
	if !bytes.Equal(dec, signed) {
		t.Fatalf("openssl decrypted something else")
	}
	g := filepath.Join(dir, "signed.eml")
	os.WriteFile(g, dec, 0o600)
	out := openssl(t, nil, "cms", "-verify", "-in", g, "-CAfile", certPath("ca"), "-purpose", "smimesign")
	if !bytes.Equal(canonical(out), mimeEntity) {
		t.Errorf("openssl verified %q", out)
	}
}
