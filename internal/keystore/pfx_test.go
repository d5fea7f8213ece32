package keystore

import (
	"crypto"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
	"software.sslmate.com/src/go-pkcs12"

	"sikkermail/internal/smime"
	"sikkermail/internal/testenv"
)

// TestLoadNSSExports: the PKCS #12 files Thunderbird's test suite exports
// through NSS (BER with indefinite lengths, PBES2 with AES) load, which
// go-pkcs12 alone refuses.
func TestLoadNSSExports(t *testing.T) {
	for _, tc := range []struct{ file, email string }{
		{"Alice.p12", "Alice@example.com"},
		{"Bob.p12", "Bob@example.com"},
		{"Dave.p12", "Dave@example.com"},
		{"Alice-ec.p12", "Alice-ec@example.com"},
	} {
		path := testenv.Path("testdata", "thunderbird", tc.file)
		data, _ := os.ReadFile(path)
		if _, _, _, err := pkcs12.DecodeChain(data, "nss"); err == nil {
			t.Errorf("%s: go-pkcs12 reads it; the fallback is not tested by it", tc.file)
		}
		id, err := Load(path, []byte("nss"))
		if err != nil {
			t.Fatalf("%s: %v", tc.file, err)
		}
		if !smime.HasAddress(id.Cert, tc.email) {
			t.Errorf("%s: certificate for %v", tc.file, smime.Addresses(id.Cert))
		}
		if _, err := smime.Sign([]byte("x"), *id, smime.SignOptions{}); err != nil {
			t.Errorf("%s: the key does not sign: %v", tc.file, err)
		}
		if _, err := Load(path, []byte("forkert")); reason(err) != WrongPassword {
			t.Errorf("%s, wrong password: %v", tc.file, err)
		}
	}
	// Bob's key opens what Alice encrypted for him.
	bob, err := Load(testenv.Path("testdata", "thunderbird", "Bob.p12"), []byte("nss"))
	if err != nil {
		t.Fatal(err)
	}
	msg, _ := os.ReadFile(testenv.Path("testdata", "thunderbird", "alice.env.eml"))
	if o, err := smime.Open(msg, []smime.Identity{*bob}, &smime.Trust{}); err != nil || !o.Encrypted() {
		t.Errorf("Bob opens alice.env.eml: %v", err)
	}
}

// TestDecodePFXReadsOpenSSL: our reader reads what openssl writes, in
// every form but RC2 (left to go-pkcs12), and agrees with go-pkcs12.
func TestDecodePFXReadsOpenSSL(t *testing.T) {
	for _, name := range []string{"mailbox-rsa", "mailbox-ec", "mailbox-rsa-legacy", "recipient-ec-legacy", "oces2"} {
		data, err := os.ReadFile(p12(name))
		if err != nil {
			t.Fatal(err)
		}
		c, err := decodePFX(data, "test")
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		key, cert, chain, err := c.identity()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		wantKey, wantCert, wantChain, err := pkcs12.DecodeChain(data, "test")
		if err != nil {
			t.Fatal(err)
		}
		if !cert.Equal(wantCert) || len(chain) != len(wantChain) || !key.(interface{ Equal(crypto.PrivateKey) bool }).Equal(wantKey) {
			t.Errorf("%s: read otherwise than go-pkcs12", name)
		}
		if _, err := decodePFX(data, "forkert"); err != errPFXPassword {
			t.Errorf("%s, wrong password: %v", name, err)
		}
	}
	data, _ := os.ReadFile(p12("mailbox-rsa-rc2"))
	if _, err := decodePFX(data, "test"); err == nil || !strings.Contains(err.Error(), "unsupported") {
		t.Errorf("RC2: %v", err)
	}
}

// TestLoadThreeSafes: a file with a safe for the key, one for the
// certificate and one for the CA (as some exports write them) loads;
// openssl reads the same file, which shows it is well formed.
func TestLoadThreeSafes(t *testing.T) {
	openssl := testenv.Need(t, "openssl")
	keyDER := pemBytes(t, "mailbox-ec.key")
	certDER := pemBytes(t, "mailbox-ec.pem")
	caDER := pemBytes(t, "ca.pem")
	safe := func(bagID []int, value func(*cryptobyte.Builder)) func(*cryptobyte.Builder) {
		// A data ContentInfo holding a SafeContents of one bag.
		inner := cryptobyte.NewBuilder(nil)
		inner.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1ObjectIdentifier(bagID)
				b.AddASN1(cbasn1.Tag(0).ContextSpecific().Constructed(), value)
			})
		})
		return func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1ObjectIdentifier(oidDataCT)
				b.AddASN1(cbasn1.Tag(0).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) { b.AddASN1OctetString(inner.BytesOrPanic()) })
			})
		}
	}
	certBag := func(der []byte) func(*cryptobyte.Builder) {
		return func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1ObjectIdentifier(oidX509Cert)
				b.AddASN1(cbasn1.Tag(0).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) { b.AddASN1OctetString(der) })
			})
		}
	}
	auth := cryptobyte.NewBuilder(nil)
	auth.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		safe(oidKeyBag, func(b *cryptobyte.Builder) { b.AddBytes(keyDER) })(b)
		safe(oidCertBag, certBag(certDER))(b)
		safe(oidCertBag, certBag(caDER))(b)
	})
	authSafe := auth.BytesOrPanic()
	salt := make([]byte, 16)
	rand.Read(salt)
	const password = "tre safes"
	macKey := pkcs12KDF(sha256.New, 64, bmpPasswords(password)[0], salt, 3, 2048, 32)
	m := hmac.New(sha256.New, macKey)
	m.Write(authSafe)
	pfx := cryptobyte.NewBuilder(nil)
	pfx.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1Int64(3)
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1ObjectIdentifier(oidDataCT)
			b.AddASN1(cbasn1.Tag(0).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) { b.AddASN1OctetString(authSafe) })
		})
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddASN1ObjectIdentifier(oidSHA256) })
				b.AddASN1OctetString(m.Sum(nil))
			})
			b.AddASN1OctetString(salt)
			b.AddASN1Int64(2048)
		})
	})
	file := filepath.Join(t.TempDir(), "three.p12")
	os.WriteFile(file, pfx.BytesOrPanic(), 0o600)
	if out, err := exec.Command(openssl, "pkcs12", "-in", file, "-passin", "pass:"+password, "-nodes").CombinedOutput(); err != nil ||
		strings.Count(string(out), "BEGIN CERTIFICATE") != 2 || !strings.Contains(string(out), "PRIVATE KEY") {
		t.Fatalf("openssl does not read the file: %v\n%s", err, out)
	}
	if _, _, _, err := pkcs12.DecodeChain(pfx.BytesOrPanic(), password); err == nil {
		t.Error("go-pkcs12 reads three safes; the fallback is not tested by it")
	}
	id, err := Load(file, []byte(password))
	if err != nil {
		t.Fatal(err)
	}
	if !smime.HasAddress(id.Cert, "sikkerpost-hr@hoejskole.example") || len(id.Chain) != 1 || id.Chain[0].Subject.CommonName != "Sikkermail Test Root CA" {
		t.Errorf("cert %v, chain %d", id.Cert.Subject, len(id.Chain))
	}
	if _, err := Load(file, []byte("forkert")); reason(err) != WrongPassword {
		t.Errorf("wrong password: %v", err)
	}
}

func pemBytes(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(testenv.Path("testdata", "certs", name))
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		t.Fatalf("%s: not PEM", name)
	}
	if blk.Type == "CERTIFICATE" {
		if _, err := x509.ParseCertificate(blk.Bytes); err != nil {
			t.Fatal(err)
		}
	}
	return blk.Bytes
}

// FuzzDecodePFX feeds arbitrary bytes to the PKCS #12 reader: it must
// never panic, and a file it reads must hold a key.
func FuzzDecodePFX(f *testing.F) {
	for _, name := range []string{"mailbox-ec", "mailbox-rsa-legacy"} {
		if b, err := os.ReadFile(p12(name)); err == nil {
			f.Add(b, "test")
		}
	}
	if b, err := os.ReadFile(testenv.Path("testdata", "thunderbird", "Alice-ec.p12")); err == nil {
		f.Add(b, "nss")
	}
	f.Fuzz(func(t *testing.T, data []byte, password string) {
		c, err := decodePFX(data, password)
		if err != nil {
			return
		}
		if c == nil {
			t.Fatal("no contents and no error")
		}
	})
}
