package smime

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// multipartSigned assembles a multipart/signed entity from raw parts,
// as an attacker would: any parts, in any order.
func multipartSigned(protocol string, parts ...[]byte) []byte {
	const boundary = "forged-boundary"
	var b bytes.Buffer
	b.WriteString("From: sikkerpost-uddservice@hoejskole.example\r\n")
	b.WriteString("Content-Type: multipart/signed; protocol=\"" + protocol + "\"; micalg=sha-256; boundary=\"" + boundary + "\"\r\n\r\n")
	for _, p := range parts {
		b.WriteString("--" + boundary + "\r\n")
		b.Write(p)
		b.WriteString("\r\n")
	}
	b.WriteString("--" + boundary + "--\r\n")
	return b.Bytes()
}

// sigPart is a signature part carrying der.
func sigPart(der []byte) []byte {
	var b bytes.Buffer
	b.WriteString("Content-Type: application/pkcs7-signature; name=\"smime.p7s\"\r\nContent-Transfer-Encoding: base64\r\n\r\n")
	writeBase64(&b, der)
	return bytes.TrimSuffix(b.Bytes(), []byte("\r\n"))
}

var fakeText = []byte("Content-Type: text/plain; charset=utf-8\r\n\r\nBetal 1.000.000 kr. til konto 1234-5678901.")

// TestOpenRefusesForgeries builds every construction we can think of
// that puts unsigned text where a signed one is expected, and checks that
// no such text is ever returned as signed.
func TestOpenRefusesForgeries(t *testing.T) {
	p := testPolicy(t)
	mb := testIdentity(t, "mailbox-rsa")
	opaqueDER, err := Sign(mimeEntity, mb, SignOptions{})
	if err != nil {
		t.Fatal(err)
	}
	detachedDER, err := Sign(mimeEntity, mb, SignOptions{Detached: true})
	if err != nil {
		t.Fatal(err)
	}
	fakeDetachedDER, _ := Sign(fakeText, testIdentity(t, "untrusted"), SignOptions{Detached: true})
	goodSigned, _ := SignEntity(mimeEntity, mb, SignOptions{Detached: true})
	goodOpaque, _ := SignEntity(mimeEntity, mb, SignOptions{})
	nested, _ := SignEntity(goodSigned, mb, SignOptions{Detached: true})
	wrapped := func(ct string, parts ...[]byte) []byte {
		var b bytes.Buffer
		b.WriteString("From: sikkerpost-uddservice@hoejskole.example\r\nContent-Type: " + ct + "; boundary=\"mixed\"\r\n\r\n")
		for _, p := range parts {
			b.WriteString("--mixed\r\n")
			b.Write(p)
			b.WriteString("\r\n")
		}
		b.WriteString("--mixed--\r\n")
		return b.Bytes()
	}
	encrypt := func(e []byte) []byte {
		out, err := EncryptEntity(e, []Recipient{{Cert: mb.Cert}}, AES256GCM)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	forgedEContent := multipartSigned("application/pkcs7-signature", fakeText, sigPart(opaqueDER))

	for _, tc := range []struct {
		name string
		in   []byte
		// fail is the reason Open gives; "" when it opens.
		fail Reason
		// signed: the result counts as validly signed by the mailbox.
		signed bool
	}{
		{"econtent beside a fake text", forgedEContent, EmbeddedContent, false},
		{"econtent beside a fake text, encrypted", encrypt(forgedEContent), EmbeddedContent, false},
		{"econtent beside the very text it carries", multipartSigned("application/pkcs7-signature", mimeEntity, sigPart(opaqueDER)), EmbeddedContent, false},
		{"signature part first", multipartSigned("application/pkcs7-signature", sigPart(detachedDER), mimeEntity), Malformed, false},
		{"two signature parts", multipartSigned("application/pkcs7-signature", fakeText, sigPart(fakeDetachedDER), sigPart(detachedDER)), Malformed, false},
		{"text, then signed text, then signature", multipartSigned("application/pkcs7-signature", fakeText, mimeEntity, sigPart(detachedDER)), Malformed, false},
		{"one part only", multipartSigned("application/pkcs7-signature", mimeEntity), Malformed, false},
		{"another protocol", multipartSigned("application/pgp-signature", mimeEntity, sigPart(detachedDER)), Unsupported, false},
		{"detached signature as opaque", append([]byte("From: sikkerpost-uddservice@hoejskole.example\r\n"), pkcs7Entity("signed-data", detachedDER)...), Malformed, false},
		{"signature over another text", multipartSigned("application/pkcs7-signature", fakeText, sigPart(detachedDER)), "", false},
		{"signed part inside multipart/mixed", wrapped("multipart/mixed", fakeText, goodSigned), "", false},
		{"signed part second in multipart/mixed", wrapped("multipart/mixed", goodSigned, fakeText), "", false},
		{"opaque signed data inside multipart/mixed", wrapped("multipart/mixed", fakeText, goodOpaque), "", false},
		{"signed parts in multipart/alternative", wrapped("multipart/alternative", fakeText, goodSigned), "", false},
		{"nested multipart/signed", append([]byte("From: sikkerpost-uddservice@hoejskole.example\r\n"), nested...), "", true},
		{"genuine", append([]byte("From: sikkerpost-uddservice@hoejskole.example\r\n"), goodSigned...), "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, err := Open(tc.in, []Identity{mb}, p)
			if reasonOf(err) != tc.fail {
				t.Fatalf("error %v, want %q", err, tc.fail)
			}
			valid := err == nil && o.Valid() && o.Signed() && o.SignedByFrom()
			if valid != tc.signed {
				t.Fatalf("signed and valid %v, want %v (layers %+v)", valid, tc.signed, o.Layers)
			}
			if valid && !bytes.Equal(o.Entity, mimeEntity) {
				t.Errorf("validly signed, but the entity is %q", o.Entity)
			}
			if o.Valid() && o.Signed() && bytes.Contains(o.Entity, []byte("Betal")) {
				t.Errorf("the fake text comes out of a valid signature: %q", o.Entity)
			}
		})
	}
}

// TestOpenBareContent: what openssl signs or encrypts without -text is
// no MIME entity; it is shown as text, not refused.
func TestOpenBareContent(t *testing.T) {
	p := testPolicy(t)
	dir := t.TempDir()
	text := "Hej Jens,\r\nher er notatet: Æble.\r\n"
	in := filepath.Join(dir, "text")
	os.WriteFile(in, []byte(text), 0o600)
	signed := openssl(t, nil, "cms", "-sign", "-nodetach", "-binary", "-in", in, "-signer", certPath("mailbox-ec"), "-inkey", keyPath("mailbox-ec"), "-md", "sha256")
	enc := openssl(t, nil, "cms", "-encrypt", "-binary", "-in", in, "-aes-256-cbc", certPath("mailbox-rsa"))
	bin := filepath.Join(dir, "bin")
	os.WriteFile(bin, []byte{0x25, 0x50, 0x44, 0x46, 0x00, 0xff, 0xfe}, 0o600)
	encBin := openssl(t, nil, "cms", "-encrypt", "-binary", "-in", bin, "-aes-256-cbc", certPath("mailbox-rsa"))
	for _, tc := range []struct {
		name, typ string
		in        []byte
		want      string
	}{
		{"signed text", "text/plain", signed, text},
		{"encrypted text", "text/plain", enc, text},
		{"encrypted binary", "application/octet-stream", encBin, "%PDF"},
	} {
		o, err := Open(tc.in, mailboxIDs(t), p)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if !o.Bare || !strings.HasPrefix(string(o.Entity), "Content-Type: "+tc.typ) || !strings.Contains(string(o.Entity), tc.want) {
			t.Errorf("%s: bare %v, entity %q", tc.name, o.Bare, o.Entity)
		}
	}
	// Text that starts like a header line is still text.
	if isEntity([]byte("Betaling: 1000 kr.\r\n\r\nResten.")) || !isEntity(mimeEntity) {
		t.Error("isEntity takes a text line for a header, or a header for text")
	}
}

// TestOpenProtectedHeaders: the header a sender put inside the layers —
// a whole message wrapped as message/rfc822 (RFC 8551 section 3.1), or
// the header protection of RFC 9788 — is what Protected holds.
func TestOpenProtectedHeaders(t *testing.T) {
	p := testPolicy(t)
	mb := testIdentity(t, "mailbox-rsa")
	inner := []byte("From: sikkerpost-uddservice@hoejskole.example\r\nSubject: Det rigtige emne\r\nContent-Type: text/plain\r\n\r\nTekst.\r\n")
	wrap := func(e []byte) []byte {
		return append([]byte("Content-Type: message/rfc822\r\n\r\n"), e...)
	}
	signedInner, _ := SignEntity(mimeEntity, mb, SignOptions{Detached: true})
	hp := []byte("Content-Type: text/plain; hp=\"clear\"\r\nSubject: Det rigtige emne\r\n\r\nTekst.\r\n")
	for _, tc := range []struct {
		name   string
		entity []byte
		want   string // the protected subject; "" none
	}{
		{"message/rfc822", wrap(inner), "Det rigtige emne"},
		{"message/rfc822 around a signed message", wrap(append([]byte("Subject: Det rigtige emne\r\n"), signedInner...)), "Det rigtige emne"},
		{"RFC 9788", hp, "Det rigtige emne"},
		{"no protected header", mimeEntity, ""},
		{"forwarded, not wrapped", append([]byte("Content-Type: message/rfc822; forwarded=yes\r\n\r\n"), inner...), ""},
	} {
		signed, err := SignEntity(tc.entity, mb, SignOptions{Detached: true})
		if err != nil {
			t.Fatal(err)
		}
		msg := append([]byte("From: sikkerpost-uddservice@hoejskole.example\r\nSubject: Et andet emne\r\n"), signed...)
		o, err := Open(msg, nil, p)
		if err != nil || !o.Valid() {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := o.Protected.Get("Subject"); got != tc.want {
			t.Errorf("%s: protected subject %q, want %q", tc.name, got, tc.want)
		}
	}
}
