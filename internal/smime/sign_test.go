package smime

import (
	"bytes"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"sikkermail/internal/testenv"
)

func testPolicy(t testing.TB) *Trust {
	t.Helper()
	ca, _ := testCert(t, "ca")
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	crlPEM, err := os.ReadFile(testenv.Path("testdata", "certs", "ca.crl"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := pem.Decode(crlPEM)
	crl, err := x509.ParseRevocationList(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return &Trust{Roots: roots, CRLs: []*x509.RevocationList{crl}, Time: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)}
}

func testIdentity(t testing.TB, name string) Identity {
	cert, key := testCert(t, name)
	return Identity{Cert: cert, Key: key}
}

func TestSignVerifyRoundTrip(t *testing.T) {
	p := testPolicy(t)
	when := time.Date(2026, 10, 3, 12, 0, 0, 0, time.UTC)
	for _, who := range []string{"mailbox-rsa", "mailbox-ec"} {
		for _, detached := range []bool{false, true} {
			der, err := Sign(mimeEntity, testIdentity(t, who), SignOptions{Detached: detached, Time: when})
			if err != nil {
				t.Fatal(err)
			}
			var content []byte
			if detached {
				content = mimeEntity
			}
			v, err := Verify(der, content, p)
			if err != nil {
				t.Fatalf("%s detached=%v: %v", who, detached, err)
			}
			if !bytes.Equal(v.Content, mimeEntity) || v.Detached != detached || len(v.Signers) != 1 {
				t.Fatalf("report %+v", v)
			}
			s := v.Signers[0]
			if s.Err != nil || s.Cert == nil || !HasAddress(s.Cert, "sikkerpost-"+map[string]string{"mailbox-rsa": "uddservice", "mailbox-ec": "hr"}[who]+"@hoejskole.example") {
				t.Errorf("signer %+v", s)
			}
			if !s.SigningTime.Equal(when) || s.Digest != "SHA-256" || len(s.Chains) == 0 {
				t.Errorf("signing time %v digest %s chains %d", s.SigningTime, s.Digest, len(s.Chains))
			}
			if len(s.Capabilities) == 0 || s.Capabilities[0] != "AES-256-GCM" {
				t.Errorf("capabilities %v", s.Capabilities)
			}
			// The CA's list says the certificate is not revoked; with no
			// list, nothing says so.
			if !s.NotRevoked || s.Revocation != nil {
				t.Errorf("not revoked %v, revocation %v", s.NotRevoked, s.Revocation)
			}
			bare := *p
			bare.CRLs = nil
			if v, err := Verify(der, content, &bare); err != nil || v.Signers[0].NotRevoked {
				t.Errorf("without a list: not revoked %v, %v", v.Signers[0].NotRevoked, err)
			}
			if detached {
				changed := bytes.Replace(mimeEntity, []byte("Jens"), []byte("Hans"), 1)
				if _, err := Verify(der, changed, p); reasonOf(err) != ContentChanged {
					t.Errorf("changed content: %v", err)
				}
			}
		}
	}
}

func TestVerifyCertificateProblems(t *testing.T) {
	p := testPolicy(t)
	for name, want := range map[string]Reason{
		"expired":   CertExpired,
		"notyet":    CertNotYetValid,
		"untrusted": CertUntrusted,
		"wrong-eku": CertWrongUsage,
		"short-key": CertShortKey,
		"revoked":   CertRevoked,
	} {
		der, err := Sign(mimeEntity, testIdentity(t, name), SignOptions{})
		if err != nil {
			t.Fatal(err)
		}
		v, err := Verify(der, nil, p)
		if reasonOf(err) != want {
			t.Errorf("%s: error %v, want %s", name, err, want)
			continue
		}
		if v == nil || len(v.Signers) != 1 || v.Signers[0].Cert == nil {
			t.Errorf("%s: no report with the error", name)
		}
	}
	// A tampered signature.
	der, _ := Sign(mimeEntity, testIdentity(t, "mailbox-rsa"), SignOptions{})
	bad := bytes.Clone(der)
	bad[len(bad)-10] ^= 0x40
	if _, err := Verify(bad, nil, p); reasonOf(err) != BadSignature {
		t.Errorf("tampered signature: %v", err)
	}
	// A changed opaque content.
	bad = bytes.Replace(der, []byte("Jens"), []byte("Hans"), 1)
	if _, err := Verify(bad, nil, p); reasonOf(err) != ContentChanged {
		t.Errorf("changed content: %v", err)
	}
	// Detached without its content.
	det, _ := Sign(mimeEntity, testIdentity(t, "mailbox-rsa"), SignOptions{Detached: true})
	if _, err := Verify(det, nil, p); reasonOf(err) != Malformed {
		t.Errorf("detached without content: %v", err)
	}
}

func TestCVR(t *testing.T) {
	for name, want := range map[string]string{"mailbox-rsa": "29403473", "oces2": "35954716", "recipient-ec": "13585628", "expired": ""} {
		c, _ := testCert(t, name)
		if got := CVR(c); got != want {
			t.Errorf("%s: CVR %q, want %q", name, got, want)
		}
	}
}

// TestSignForOpenSSL: what we sign, openssl cms verifies.
func TestSignForOpenSSL(t *testing.T) {
	dir := t.TempDir()
	content := filepath.Join(dir, "content")
	os.WriteFile(content, mimeEntity, 0o600)
	for _, who := range []string{"mailbox-rsa", "mailbox-ec"} {
		for _, detached := range []bool{false, true} {
			der, err := Sign(mimeEntity, testIdentity(t, who), SignOptions{Detached: detached})
			if err != nil {
				t.Fatal(err)
			}
			sig := filepath.Join(dir, "sig.der")
			os.WriteFile(sig, der, 0o600)
			args := []string{"cms", "-verify", "-binary", "-inform", "DER", "-in", sig, "-CAfile", certPath("ca"), "-purpose", "smimesign"}
			if detached {
				args = append(args, "-content", content)
			}
			out := openssl(t, nil, args...)
			if !bytes.Equal(out, mimeEntity) {
				t.Errorf("%s detached=%v: openssl verified %q", who, detached, out)
			}
			// And openssl sees the attributes RFC 8551 asks for.
			printed := openssl(t, nil, "cms", "-cmsout", "-print", "-inform", "DER", "-in", sig)
			for _, attr := range []string{"signingTime", "messageDigest", "S/MIME Capabilities", "id-smime-aa-encrypKeyPref", "sha256"} {
				if !bytes.Contains(printed, []byte(attr)) {
					t.Errorf("%s: openssl does not see %s", who, attr)
				}
			}
		}
	}
}

// TestVerifyFromOpenSSL: what openssl cms signs, we verify.
func TestVerifyFromOpenSSL(t *testing.T) {
	p := testPolicy(t)
	p.Time = time.Time{}
	dir := t.TempDir()
	content := filepath.Join(dir, "content")
	os.WriteFile(content, mimeEntity, 0o600)
	cases := []struct {
		name     string
		who      string
		args     []string
		detached bool
		digest   string
		want     Reason
	}{
		{"rsa-opaque", "mailbox-rsa", []string{"-nodetach"}, false, "SHA-256", ""},
		{"rsa-detached", "mailbox-rsa", nil, true, "SHA-256", ""},
		{"rsa-sha512", "mailbox-rsa", []string{"-nodetach", "-md", "sha512"}, false, "SHA-512", ""},
		{"rsa-stream-ber", "mailbox-rsa", []string{"-nodetach", "-stream"}, false, "SHA-256", ""},
		{"rsa-keyid", "mailbox-rsa", []string{"-nodetach", "-keyid"}, false, "SHA-256", ""},
		{"ec-opaque", "mailbox-ec", []string{"-nodetach"}, false, "SHA-256", ""},
		{"ec-detached-noattr", "mailbox-ec", []string{"-noattr"}, true, "SHA-256", ""},
		{"rsa-sha1", "mailbox-rsa", []string{"-nodetach", "-md", "sha1"}, false, "", WeakAlgorithm},
		{"rsa-nocerts", "mailbox-rsa", []string{"-nodetach", "-nocerts"}, false, "", SignerCertMissing},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			args := []string{"cms", "-sign", "-binary", "-in", content, "-outform", "DER", "-signer", certPath(tc.who), "-inkey", keyPath(tc.who), "-md", "sha256"}
			args = append(args, tc.args...)
			der := openssl(t, nil, args...)
			var c []byte
			if tc.detached {
				c = mimeEntity
			}
			v, err := Verify(der, c, p)
			if tc.want != "" {
				if reasonOf(err) != tc.want {
					t.Fatalf("error %v, want %s", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(v.Content, mimeEntity) || v.Detached != tc.detached || v.Signers[0].Digest != tc.digest {
				t.Errorf("report %+v", v)
			}
		})
	}
}

// TestKeyUsage: a certificate whose key usage does not allow the purpose is
// refused for it, and accepted for the purpose it does allow.
func TestKeyUsage(t *testing.T) {
	p := testPolicy(t)
	ca, caKey := testCert(t, "ca")
	_, rsaKey := testCert(t, "recipient-rsa")
	mk := func(ku x509.KeyUsage) *x509.Certificate {
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(int64(1000 + ku)), Subject: pkix.Name{CommonName: "KU"},
			NotBefore: ca.NotBefore, NotAfter: ca.NotAfter.AddDate(-5, 0, 0), KeyUsage: ku,
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageEmailProtection}, EmailAddresses: []string{"ku@kommune.example"}}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, rsaKey.Public(), caKey)
		if err != nil {
			t.Fatal(err)
		}
		c, _ := x509.ParseCertificate(der)
		return c
	}
	encOnly, signOnly := mk(x509.KeyUsageKeyEncipherment), mk(x509.KeyUsageDigitalSignature)
	if _, err := p.CheckFor(Encryption, encOnly); err != nil {
		t.Errorf("keyEncipherment for encryption: %v", err)
	}
	if _, err := p.CheckFor(Signing, encOnly); reasonOf(err) != CertWrongUsage {
		t.Errorf("keyEncipherment for signing: %v", err)
	}
	if _, err := p.CheckFor(Encryption, signOnly); reasonOf(err) != CertWrongUsage {
		t.Errorf("digitalSignature for encryption: %v", err)
	}
	ec, _ := testCert(t, "recipient-ec") // keyAgreement
	if _, err := p.CheckFor(Encryption, ec); err != nil {
		t.Errorf("EC keyAgreement for encryption: %v", err)
	}
}

// TestReadCertificatesP7C reads a certs-only PKCS #7 file as openssl writes
// it, in DER and in PEM, and plain PEM and DER certificates.
func TestReadCertificatesP7C(t *testing.T) {
	dir := t.TempDir()
	for _, form := range []string{"DER", "PEM"} {
		f := filepath.Join(dir, "certs."+form)
		openssl(t, nil, "crl2pkcs7", "-nocrl", "-certfile", certPath("recipient-rsa"), "-certfile", certPath("recipient-rsa-2"), "-outform", form, "-out", f)
		certs, err := ReadCertificates(f)
		if err != nil || len(certs) != 2 || !HasAddress(certs[1], "jens.hansen@kommune.example") {
			t.Errorf("%s: %d certificates, %v", form, len(certs), err)
		}
	}
	der := filepath.Join(dir, "c.der")
	openssl(t, nil, "x509", "-in", certPath("recipient-ec"), "-outform", "DER", "-out", der)
	for _, f := range []string{der, certPath("recipient-ec")} {
		if certs, err := ReadCertificates(f); err != nil || len(certs) != 1 {
			t.Errorf("%s: %d certificates, %v", f, len(certs), err)
		}
	}
	junk := filepath.Join(dir, "junk")
	os.WriteFile(junk, []byte("hello"), 0o600)
	if _, err := ReadCertificates(junk); err == nil {
		t.Error("junk read as certificates")
	}
}
