package smime

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sikkermail/internal/testenv"
)

// Thunderbird's S/MIME test messages (testdata/thunderbird, made by the
// NSS test suite; see its README): what another client writes, good and
// forged, read as a reader of the secure mailbox would.

func tbPath(name string) string { return testenv.Path("testdata", "thunderbird", name) }

func tbRead(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(tbPath(name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// tbPolicy trusts the NSS test CA at a time inside its certificates'
// validity (2026-01-26 to 2031-01-26), so the tests do not age.
func tbPolicy(t *testing.T) *Trust {
	t.Helper()
	certs, err := ReadCertificates(tbPath("TestCA.pem"))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	for _, c := range certs {
		roots.AddCert(c)
	}
	return &Trust{Roots: roots, Time: time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)}
}

// tbIdentity is a person of the NSS test suite, read from their PKCS #12
// file (password "nss") by openssl, the reference reader.
func tbIdentity(t *testing.T, name string) Identity {
	t.Helper()
	out := openssl(t, nil, "pkcs12", "-in", tbPath(name+".p12"), "-passin", "pass:nss", "-nodes", "-clcerts")
	var id Identity
	for rest := out; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		switch b.Type {
		case "CERTIFICATE":
			c, err := x509.ParseCertificate(b.Bytes)
			if err != nil {
				t.Fatal(err)
			}
			id.Cert = c
		case "PRIVATE KEY":
			k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
			if err != nil {
				t.Fatal(err)
			}
			id.Key = k.(crypto.Signer)
		}
	}
	if id.Cert == nil || id.Key == nil {
		t.Fatalf("%s.p12: no certificate and key in %q", name, out)
	}
	return id
}

func TestThunderbirdMessages(t *testing.T) {
	p := tbPolicy(t)
	bob := []Identity{tbIdentity(t, "Bob")}
	const aliceText = "This is a test message from Alice to Bob."
	for _, tc := range []struct {
		file string
		// layers are the kinds opened, outermost first.
		layers []LayerKind
		// fail is the Reason Open returns or a layer carries; "" is valid.
		fail Reason
		// from: the From address is a valid signer's.
		from bool
		text string
	}{
		{"alice.dsig.SHA256.multipart.eml", []LayerKind{LayerSigned}, "", true, aliceText},
		{"alice.dsig.SHA384.multipart.eml", []LayerKind{LayerSigned}, "", true, aliceText},
		{"alice.dsig.SHA512.multipart.eml", []LayerKind{LayerSigned}, "", true, aliceText},
		{"alice.future.dsig.SHA256.multipart.eml", []LayerKind{LayerSigned}, "", true, aliceText},
		{"alice.sig.SHA256.opaque.eml", []LayerKind{LayerSigned}, "", true, aliceText},
		{"alice.html.sig.SHA256.opaque.eml", []LayerKind{LayerSigned}, "", true, "<html><body>"},
		{"alice.env.eml", []LayerKind{LayerEncrypted}, "", false, aliceText},
		{"alice.dsig.SHA256.multipart.env.eml", []LayerKind{LayerEncrypted, LayerSigned}, "", true, aliceText},
		{"alice.sig.SHA256.opaque.env.eml", []LayerKind{LayerEncrypted, LayerSigned}, "", true, aliceText},
		// Its digest does not match what it signs; openssl cms -verify
		// fails on it the same way ("content verify error").
		{"alice.env.dsig.SHA256.multipart.eml", []LayerKind{LayerSigned, LayerEncrypted}, ContentChanged, false, ""},
		// Dave signs around Alice's signature: From is Dave, who signed.
		{"alice.plain.dsig.SHA256.multipart.dave.dsig.SHA256.multipart.eml", []LayerKind{LayerSigned, LayerSigned}, "", true, aliceText},
		{"alice.plain.sig.SHA256.opaque.dave.dsig.SHA256.multipart.eml", []LayerKind{LayerSigned, LayerSigned}, "", true, aliceText},
		{"alice.env.sig.SHA256.opaque.dave.sig.SHA256.opaque.eml", []LayerKind{LayerSigned, LayerSigned, LayerEncrypted}, "", true, aliceText},
		// Changed after signing.
		{"alice.dsig.SHA256.multipart.bad.eml", []LayerKind{LayerSigned}, ContentChanged, false, ""},
		// SHA-1 proves nothing any more.
		{"alice.dsig.SHA1.multipart.eml", []LayerKind{LayerSigned}, WeakAlgorithm, false, ""},
		// The forgery: Alice's opaque signature beside a text she never
		// wrote. Refused, and the fake text is never what comes out.
		{"alice.dsig.SHA256.multipart.mismatch-econtent.eml", nil, EmbeddedContent, false, ""},
		{"alice.dsig.SHA512.multipart.mismatch-econtent.eml", nil, EmbeddedContent, false, ""},
		{"alice.dsig.SHA1.multipart.mismatch-econtent.eml", nil, EmbeddedContent, false, ""},
		// A mailing list's wrapping: the signed part sits inside a
		// multipart/mixed beside unsigned parts. The message as a whole
		// is not signed, and is reported so.
		{"alice.dsig.SHA256.multipart.in.mixed.eml", nil, "", false, "test-list mailing list"},
		{"alice.dsig.SHA256.multipart.in.mixed.with.header.eml", nil, "", false, "Welcome to the test-list"},
		// Two encrypted parts in a multipart/alternative (a bait and the
		// prey of an exfiltration attack): no part is decrypted.
		{"multipart-alternative.eml", nil, "", false, "smime-type=enveloped-data"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			o, err := Open(tbRead(t, tc.file), bob, p)
			var kinds []LayerKind
			for _, l := range o.Layers {
				kinds = append(kinds, l.Kind)
			}
			got := reasonOf(err)
			for _, l := range o.Layers {
				if got == "" && l.Err != nil {
					got = reasonOf(l.Err)
				}
			}
			if got != tc.fail {
				t.Fatalf("reason %q (%v), want %q", got, err, tc.fail)
			}
			if tc.fail == EmbeddedContent {
				if o.Valid() || o.Signed() || o.SignedByFrom() || !bytes.HasPrefix(o.Entity, []byte("MIME-Version")) {
					t.Fatalf("forgery: err %v valid %v signed %v entity %.80q", err, o.Valid(), o.Signed(), o.Entity)
				}
				return
			}
			if tc.fail != "" {
				if o.Valid() || o.SignedByFrom() {
					t.Fatalf("valid %v, signed by From %v", o.Valid(), o.SignedByFrom())
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if fmtKinds(kinds) != fmtKinds(tc.layers) {
				t.Errorf("layers %v, want %v", kinds, tc.layers)
			}
			if !o.Valid() || o.SignedByFrom() != tc.from {
				t.Errorf("valid %v, signed by From %v (want %v; From %v, signers %d)", o.Valid(), o.SignedByFrom(), tc.from, o.From, len(o.Signers()))
			}
			if !bytes.Contains(o.Entity, []byte(tc.text)) {
				t.Errorf("entity %q lacks %q", o.Entity, tc.text)
			}
		})
	}
}

// TestThunderbirdNestedSignatures: a signed message carrying another
// signed message as an attachment. Only the outer signature is a layer;
// the attachment is content, not a signature of this message.
func TestThunderbirdNestedSignatures(t *testing.T) {
	o, err := Open(tbRead(t, "nested-sigs.eml"), nil, tbPolicy(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(o.Layers) != 1 || o.Layers[0].Kind != LayerSigned {
		t.Fatalf("layers %+v", o.Layers)
	}
	if !strings.Contains(string(o.Entity), "level 1") || !strings.Contains(string(o.Entity), "nested2.eml") {
		t.Errorf("entity %.200q", o.Entity)
	}
	// CAcert is no trust anchor here: the signature is not valid.
	if o.Valid() || o.SignedByFrom() {
		t.Errorf("valid %v, signed by From %v", o.Valid(), o.SignedByFrom())
	}
}

func TestThunderbirdDataHasProvenance(t *testing.T) {
	readme, err := os.ReadFile(tbPath("README.md"))
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(tbPath("*"))
	for _, f := range files {
		if n := filepath.Base(f); n != "README.md" && !bytes.Contains(readme, []byte(n)) {
			t.Errorf("%s is not named in testdata/thunderbird/README.md", n)
		}
	}
}
