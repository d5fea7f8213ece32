package smime

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/cryptobyte"
)

var mimeEntity = []byte("Content-Type: text/plain; charset=utf-8\r\n\r\nHej Jens, her er journalnotatet. Æble, øl og å.\r\n")

func TestEncryptDecryptRoundTrip(t *testing.T) {
	rsaCert, rsaKey := testCert(t, "recipient-rsa")
	ecCert, ecKey := testCert(t, "recipient-ec")
	mbCert, mbKey := testCert(t, "mailbox-rsa")
	for _, c := range []Cipher{AES256GCM, AES256CBC} {
		for _, pad := range []RSAPadding{OAEP, PKCS1v15} {
			for _, keyID := range []bool{false, true} {
				name := fmt.Sprintf("%s/pad%d/keyid=%v", c, pad, keyID)
				t.Run(name, func(t *testing.T) {
					// A mixed RSA and EC recipient list, as the library could not read.
					recips := []Recipient{
						{Cert: rsaCert, RSAPadding: pad, KeyID: keyID},
						{Cert: ecCert, KeyID: keyID},
						{Cert: mbCert, RSAPadding: pad},
					}
					der, err := Encrypt(mimeEntity, recips, c)
					if err != nil {
						t.Fatal(err)
					}
					for _, who := range []struct {
						cert any
						dec  func() (*Decrypted, error)
					}{
						{rsaCert, func() (*Decrypted, error) { return Decrypt(der, rsaCert, rsaKey) }},
						{ecCert, func() (*Decrypted, error) { return Decrypt(der, ecCert, ecKey) }},
						{mbCert, func() (*Decrypted, error) { return Decrypt(der, mbCert, mbKey) }},
					} {
						d, err := who.dec()
						if err != nil {
							t.Fatal(err)
						}
						if !bytes.Equal(d.Content, mimeEntity) {
							t.Fatalf("content %q", d.Content)
						}
						if d.Cipher != c.String() || d.Recipients != 3 || d.Authenticated != (c == AES256GCM) {
							t.Errorf("report %+v", d)
						}
					}
				})
			}
		}
	}
}

func TestDecryptErrors(t *testing.T) {
	rsaCert, rsaKey := testCert(t, "recipient-rsa")
	otherCert, otherKey := testCert(t, "recipient-rsa-2")
	der, err := Encrypt(mimeEntity, []Recipient{{Cert: rsaCert}}, AES256GCM)
	if err != nil {
		t.Fatal(err)
	}
	wantReason := func(err error, r Reason) {
		t.Helper()
		var e *Error
		if !errors.As(err, &e) || e.Reason != r {
			t.Fatalf("error %v, want reason %s", err, r)
		}
	}
	_, err = Decrypt(der, otherCert, otherKey)
	wantReason(err, NotForUs)

	// Any change to the GCM ciphertext is detected.
	tampered := bytes.Clone(der)
	tampered[len(tampered)-20] ^= 1 // the ciphertext ends just before the 16-byte tag
	_, err = Decrypt(tampered, rsaCert, rsaKey)
	wantReason(err, DecryptFailed)

	for n := 0; n < len(der); n += 97 {
		if _, err := Decrypt(der[:n], rsaCert, rsaKey); err == nil {
			t.Fatalf("decrypted a message cut to %d bytes", n)
		}
	}
	_, err = Encrypt(mimeEntity, nil, AES256GCM)
	wantReason(err, NoRecipients)
	_, err = Decrypt([]byte("not cms"), rsaCert, rsaKey)
	wantReason(err, Malformed)
}

// TestEncryptForOpenSSL: what we encrypt, openssl cms decrypts.
func TestEncryptForOpenSSL(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []Cipher{AES256GCM, AES256CBC} {
		for _, who := range []string{"recipient-rsa", "recipient-ec"} {
			for _, pad := range []RSAPadding{OAEP, PKCS1v15} {
				for _, keyID := range []bool{false, true} {
					if who == "recipient-ec" && pad == PKCS1v15 {
						continue
					}
					t.Run(fmt.Sprintf("%s/%s/pad%d/keyid=%v", c, who, pad, keyID), func(t *testing.T) {
						cert, _ := testCert(t, who)
						other, _ := testCert(t, "mailbox-ec")
						der, err := Encrypt(mimeEntity, []Recipient{{Cert: other}, {Cert: cert, RSAPadding: pad, KeyID: keyID}}, c)
						if err != nil {
							t.Fatal(err)
						}
						in := filepath.Join(dir, "msg.der")
						if err := os.WriteFile(in, der, 0o600); err != nil {
							t.Fatal(err)
						}
						out := openssl(t, nil, "cms", "-decrypt", "-binary", "-inform", "DER", "-in", in,
							"-recip", certPath(who), "-inkey", keyPath(who))
						if !bytes.Equal(out, mimeEntity) {
							t.Fatalf("openssl decrypted %q", out)
						}
					})
				}
			}
		}
	}
}

// TestDecryptFromOpenSSL: what openssl cms encrypts, we decrypt — every
// combination, including BER (-stream) output.
func TestDecryptFromOpenSSL(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "content")
	if err := os.WriteFile(in, mimeEntity, 0o600); err != nil {
		t.Fatal(err)
	}
	oaep := []string{"-keyopt", "rsa_padding_mode:oaep", "-keyopt", "rsa_oaep_md:sha256", "-keyopt", "rsa_mgf1_md:sha256"}
	cases := []struct {
		name    string
		who     string
		args    []string // cipher and output options
		keyopts []string // options for the reading recipient
		want    string
		auth    bool
		trans   string
	}{
		{"rsa-v15-cbc", "recipient-rsa", []string{"-aes-256-cbc"}, nil, "AES-256-CBC", false, "RSA-PKCS1v15"},
		{"rsa-v15-aes128", "recipient-rsa", []string{"-aes-128-cbc"}, nil, "AES-128-CBC", false, "RSA-PKCS1v15"},
		{"rsa-v15-gcm", "recipient-rsa", []string{"-aes-256-gcm"}, nil, "AES-256-GCM", true, "RSA-PKCS1v15"},
		{"rsa-v15-aes128-gcm", "recipient-rsa", []string{"-aes-128-gcm"}, nil, "AES-128-GCM", true, "RSA-PKCS1v15"},
		{"rsa-oaep-gcm", "recipient-rsa", []string{"-aes-256-gcm"}, oaep, "AES-256-GCM", true, "RSA-OAEP-SHA256"},
		{"rsa-oaep-sha1-cbc", "recipient-rsa", []string{"-aes-256-cbc"}, []string{"-keyopt", "rsa_padding_mode:oaep"}, "AES-256-CBC", false, "RSA-OAEP-SHA1"},
		{"rsa-keyid-gcm", "recipient-rsa", []string{"-aes-256-gcm", "-keyid"}, nil, "AES-256-GCM", true, "RSA-PKCS1v15"},
		{"rsa-stream-ber", "recipient-rsa", []string{"-aes-256-cbc", "-stream"}, nil, "AES-256-CBC", false, "RSA-PKCS1v15"},
		{"rsa-stream-gcm", "recipient-rsa", []string{"-aes-256-gcm", "-stream"}, oaep, "AES-256-GCM", true, "RSA-OAEP-SHA256"},
		{"ec-gcm", "recipient-ec", []string{"-aes-256-gcm"}, nil, "AES-256-GCM", true, "ECDH X9.63-SHA1 AES-256-WRAP"},
		{"ec-cbc-keyid", "recipient-ec", []string{"-aes-256-cbc", "-keyid"}, nil, "AES-256-CBC", false, "ECDH X9.63-SHA1 AES-256-WRAP"},
		{"ec-sha256kdf", "recipient-ec", []string{"-aes-256-gcm"}, []string{"-keyopt", "ecdh_kdf_md:sha256"}, "AES-256-GCM", true, "ECDH X9.63-SHA256 AES-256-WRAP"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			args := []string{"cms", "-encrypt", "-binary", "-in", in, "-outform", "DER"}
			args = append(args, tc.args...)
			// Mixed recipients: an EC one and an RSA one besides the one that reads.
			args = append(args, "-recip", certPath("mailbox-ec"), "-recip", certPath(tc.who))
			args = append(args, tc.keyopts...)
			args = append(args, "-recip", certPath("mailbox-rsa"))
			der := openssl(t, nil, args...)
			cert, key := testCert(t, tc.who)
			d, err := Decrypt(der, cert, key)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(d.Content, mimeEntity) {
				t.Fatalf("content %q", d.Content)
			}
			if d.Cipher != tc.want || d.Authenticated != tc.auth || d.KeyTransport != tc.trans || d.Recipients != 3 {
				t.Errorf("report %+v, want %s auth=%v %s", d, tc.want, tc.auth, tc.trans)
			}
			if strings.Contains(tc.name, "stream") && der[1] != 0x80 {
				t.Errorf("-stream output is not BER with indefinite length (%x)", der[:4])
			}
		})
	}
}

// TestUnsupportedKeys: a key type we cannot encrypt to is a typed error,
// never a panic (the library this package replaces panicked here).
func TestUnsupportedKeys(t *testing.T) {
	ca, caKey := testCert(t, "ca")
	edPub, _, _ := ed25519.GenerateKey(rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	for name, pub := range map[string]any{"ed25519": edPub, "p384": &p384.PublicKey} {
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(99), Subject: pkix.Name{CommonName: name},
			NotBefore: ca.NotBefore, NotAfter: ca.NotAfter, EmailAddresses: []string{name + "@kommune.example"}}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, pub, caKey)
		if err != nil {
			t.Fatal(err)
		}
		cert, _ := x509.ParseCertificate(der)
		_, err = Encrypt(mimeEntity, []Recipient{{Cert: cert}}, AES256GCM)
		var e *Error
		if !errors.As(err, &e) || e.Reason != UnsupportedKey || e.Subject != name+"@kommune.example" {
			t.Errorf("%s: %v, want unsupported_key naming the address", name, err)
		}
	}
	if _, err := Encrypt(mimeEntity, []Recipient{{Cert: &x509.Certificate{}}}, AES256GCM); reasonOf(err) != UnsupportedKey {
		t.Errorf("empty certificate: %v", err)
	}
}

func TestChooseCipher(t *testing.T) {
	for _, tc := range []struct {
		known []Known
		want  Cipher
	}{
		{nil, AES256GCM},
		{[]Known{{}}, AES256GCM},
		{[]Known{{Capabilities: []string{"AES-256-GCM", "AES-256-CBC"}}, {}}, AES256GCM},
		{[]Known{{}, {Capabilities: []string{"AES-256-CBC", "AES-128-CBC"}}}, AES256CBC},
		{[]Known{{Capabilities: []string{}}}, AES256CBC}, // announced, and no GCM among it
		{[]Known{{Capabilities: []string{"AES-128-GCM"}}, {NeedsCBC: true}}, AES256CBC},
	} {
		if got := ChooseCipher(tc.known...); got != tc.want {
			t.Errorf("ChooseCipher(%+v) = %s, want %s", tc.known, got, tc.want)
		}
	}
	// What we announce ourselves makes others choose GCM for us.
	der, _ := Sign(mimeEntity, testIdentity(t, "mailbox-ec"), SignOptions{})
	v, err := Verify(der, nil, testPolicy(t))
	if err != nil {
		t.Fatal(err)
	}
	if ChooseCipher(Known{Capabilities: v.Signers[0].Capabilities}) != AES256GCM {
		t.Errorf("our own capabilities %v do not choose GCM", v.Signers[0].Capabilities)
	}
}

// TestECDHWrapNullParameters: a key-wrap AlgorithmIdentifier with NULL
// parameters (as some senders write it) goes into the KDF's shared info
// as written: openssl decrypts such a message, and so do we.
func TestECDHWrapNullParameters(t *testing.T) {
	cert, key := testCert(t, "recipient-ec")
	der, err := Encrypt(mimeEntity, []Recipient{{Cert: cert, wrapNull: true}}, AES256CBC)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(der, append(append([]byte{0x30, 0x0d, 0x06, 0x09}, oidBytes(oidAES256Wrap)...), 0x05, 0x00)) {
		t.Fatal("the key wrap algorithm has no NULL parameters")
	}
	f := filepath.Join(t.TempDir(), "msg.der")
	os.WriteFile(f, der, 0o600)
	out := openssl(t, nil, "cms", "-decrypt", "-binary", "-inform", "DER", "-in", f, "-recip", certPath("recipient-ec"), "-inkey", keyPath("recipient-ec"))
	if !bytes.Equal(out, mimeEntity) {
		t.Fatalf("openssl decrypted %q", out)
	}
	d, err := Decrypt(der, cert, key)
	if err != nil || !bytes.Equal(d.Content, mimeEntity) {
		t.Fatalf("decrypt: %v", err)
	}
}

// oidBytes is the DER content of an OBJECT IDENTIFIER.
func oidBytes(oid []int) []byte {
	b := cryptobyte.NewBuilder(nil)
	b.AddASN1ObjectIdentifier(oid)
	return b.BytesOrPanic()[2:]
}
