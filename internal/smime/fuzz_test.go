package smime

import (
	"bytes"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"testing"
)

// FuzzDecrypt feeds arbitrary bytes to Decrypt: it must never panic, and
// every failure must be an *Error with a reason.
func FuzzDecrypt(f *testing.F) {
	rsaCert, rsaKey := testCert(f, "recipient-rsa")
	ecCert, ecKey := testCert(f, "recipient-ec")
	for _, c := range []Cipher{AES256GCM, AES256CBC} {
		der, err := Encrypt(mimeEntity, []Recipient{{Cert: rsaCert}, {Cert: ecCert, KeyID: true}}, c)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(der)
	}
	f.Add([]byte{0x30, 0x80, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x03, 0xa0, 0x80, 0x00, 0x00, 0x00, 0x00})
	f.Add([]byte{0x30, 0x03, 0x02, 0x01})
	f.Fuzz(func(t *testing.T, in []byte) {
		for _, id := range []struct {
			cert any
			dec  func() (*Decrypted, error)
		}{
			{rsaCert, func() (*Decrypted, error) { return Decrypt(in, rsaCert, rsaKey) }},
			{ecCert, func() (*Decrypted, error) { return Decrypt(in, ecCert, ecKey) }},
		} {
			d, err := id.dec()
			if err != nil {
				var e *Error
				if !errors.As(err, &e) || e.Reason == "" {
					t.Fatalf("error %T %v is not an *Error", err, err)
				}
				continue
			}
			if d == nil || d.Cipher == "" {
				t.Fatalf("success without a report: %+v", d)
			}
		}
	})
}

// FuzzBER checks that berToDER never panics and that its output, when it
// has any, is a fixed point.
func FuzzBER(f *testing.F) {
	f.Add([]byte{0x30, 0x80, 0x24, 0x80, 0x04, 0x01, 0x61, 0x04, 0x01, 0x62, 0x00, 0x00, 0x00, 0x00})
	f.Add([]byte{0x23, 0x80, 0x03, 0x02, 0x00, 0xff, 0x03, 0x02, 0x04, 0xf0, 0x00, 0x00})
	f.Add([]byte{0x1f, 0x81, 0x00, 0x00})
	f.Fuzz(func(t *testing.T, in []byte) {
		out, err := berToDER(in)
		if err != nil {
			return
		}
		again, err := berToDER(out)
		if err != nil || !bytes.Equal(again, out) {
			t.Fatalf("berToDER is not idempotent on %x: %x, %v", out, again, err)
		}
	})
}

// FuzzVerify feeds arbitrary bytes to Verify, opaque and detached: it
// must never panic, every failure must be an *Error, and a success must
// have a valid signer.
func FuzzVerify(f *testing.F) {
	p := testPolicy(f)
	for _, who := range []string{"mailbox-rsa", "mailbox-ec"} {
		for _, det := range []bool{false, true} {
			der, err := Sign(mimeEntity, testIdentity(f, who), SignOptions{Detached: det})
			if err != nil {
				f.Fatal(err)
			}
			f.Add(der, det)
		}
	}
	f.Fuzz(func(t *testing.T, in []byte, detached bool) {
		var content []byte
		if detached {
			content = mimeEntity
		}
		v, err := Verify(in, content, p)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Reason == "" {
				t.Fatalf("error %T %v is not an *Error", err, err)
			}
			return
		}
		if len(v.Signers) == 0 || v.Signers[0].Err != nil || v.Signers[0].Cert == nil {
			t.Fatalf("success without a valid signer: %+v", v)
		}
	})
}

// FuzzOpen feeds arbitrary MIME entities to Open: it must never panic, and
// every failure must be an *Error.
func FuzzOpen(f *testing.F) {
	p := testPolicy(f)
	mb := testIdentity(f, "mailbox-rsa")
	signed, _ := SignEntity(mimeEntity, mb, SignOptions{Detached: true})
	enc, _ := EncryptEntity(signed, []Recipient{{Cert: mb.Cert}}, AES256GCM)
	f.Add(signed)
	f.Add(enc)
	f.Add(mimeEntity)
	f.Add([]byte("Content-Type: multipart/signed; boundary=x\r\n\r\n--x\r\n\r\na\r\n--x\r\nContent-Type: application/pkcs7-signature\r\n\r\n\r\n--x--\r\n"))
	ids := []Identity{mb}
	f.Fuzz(func(t *testing.T, in []byte) {
		o, err := Open(in, ids, p)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Reason == "" {
				t.Fatalf("error %T %v is not an *Error", err, err)
			}
			return
		}
		if o == nil || o.Entity == nil && len(in) > 0 {
			t.Fatalf("no entity: %+v", o)
		}
	})
}

// FuzzSignedAssembly assembles multipart/signed entities from fuzzed
// pieces (boundary, first part, preamble, text between the parts, the
// order of the parts, a detached or an opaque signature): whatever comes
// out, a valid signature is reported only over the exact content that
// was signed, and that content is what Open returns.
func FuzzSignedAssembly(f *testing.F) {
	p := testPolicy(f)
	mb := testIdentity(f, "mailbox-rsa")
	detached, err := Sign(mimeEntity, mb, SignOptions{Detached: true})
	if err != nil {
		f.Fatal(err)
	}
	opaque, err := Sign(mimeEntity, mb, SignOptions{})
	if err != nil {
		f.Fatal(err)
	}
	sigs := [][]byte{detached, opaque}
	for order := uint8(0); order < 5; order++ {
		for which := uint8(0); which < 2; which++ {
			f.Add([]byte("b1"), mimeEntity, which, []byte("preamble"), []byte(""), order)
			f.Add([]byte("b1"), fakeText, which, []byte(""), []byte("\r\n--b1\r\n"), order)
		}
	}
	f.Add([]byte("--b1"), mimeEntity, uint8(0), []byte("--b1\r\n"), []byte("\r\n"), uint8(0))
	f.Fuzz(func(t *testing.T, boundary, first []byte, which uint8, preamble, between []byte, order uint8) {
		b := string(boundary)
		sig := sigPart(sigs[int(which)%len(sigs)])
		parts := [][]byte{first, sig}
		switch order % 5 {
		case 1:
			parts = [][]byte{sig, first}
		case 2:
			parts = [][]byte{first, sig, sig}
		case 3:
			parts = [][]byte{first, between, sig}
		case 4:
			parts = [][]byte{mimeEntity, sig}
		}
		var e bytes.Buffer
		e.WriteString("From: sikkerpost-uddservice@hoejskole.example\r\n")
		e.WriteString("Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; boundary=\"" + b + "\"\r\n\r\n")
		e.Write(preamble)
		for i, part := range parts {
			if i > 0 {
				e.Write(between)
			}
			e.WriteString("\r\n--" + b + "\r\n")
			e.Write(part)
		}
		e.WriteString("\r\n--" + b + "--\r\n")
		o, err := Open(e.Bytes(), nil, p)
		if err == nil && o.Valid() && o.Signed() && !bytes.Equal(o.Entity, mimeEntity) {
			t.Fatalf("a valid signature over %q, which was never signed", o.Entity)
		}
	})
}

// FuzzIDP feeds arbitrary issuingDistributionPoint values to parseIDP
// and certificate distribution points to certDPNames: no panic.
func FuzzIDP(f *testing.F) {
	f.Add([]byte{0x30, 0x03, 0x81, 0x01, 0xff})
	f.Add([]byte{0x30, 0x0a, 0xa0, 0x08, 0xa0, 0x06, 0x86, 0x04, 'h', 't', 't', 'p'})
	f.Add([]byte{0x30, 0x03, 0x84, 0x01, 0xff})
	f.Fuzz(func(t *testing.T, v []byte) {
		parseIDP(v)
		c := &x509.Certificate{Extensions: []pkix.Extension{{Id: oidExtCRLDistPoints, Value: v}}}
		certDPNames(c)
	})
}

// FuzzOpenStream: whatever the message — fuzzed whole (the envelope's
// BER), or a fuzzed entity encrypted for us (the streamed delimiters and
// signature) — OpenStream tells what Open tells and writes Open's entity.
func FuzzOpenStream(f *testing.F) {
	p := testPolicy(f)
	mb := testIdentity(f, "mailbox-rsa")
	signed, _ := SignEntity(mimeEntity, mb, SignOptions{Detached: true})
	enc, _ := EncryptEntity(signed, []Recipient{{Cert: mb.Cert}}, AES256GCM)
	f.Add(signed, true)
	f.Add(enc, false)
	f.Add(bytes.Replace(signed, []byte("\r\n--"), []byte("\n--"), 1), true)
	f.Add([]byte("Content-Type: multipart/signed; boundary=x\r\n\r\n--x\r\n\r\na\r\n--x \t\r\nContent-Type: application/pkcs7-signature\r\n\r\n\r\n--x--\r\n"), true)
	ids := []Identity{mb}
	f.Fuzz(func(t *testing.T, in []byte, encrypt bool) {
		msg := in
		if encrypt {
			var err error
			if msg, err = EncryptEntity(in, []Recipient{{Cert: mb.Cert}}, AES256GCM); err != nil {
				return
			}
		}
		if got, want := streamSummary(msg, ids, p), summary(Open(msg, ids, p)); got != want {
			t.Fatalf("OpenStream %.300s\nOpen       %.300s", got, want)
		}
	})
}
