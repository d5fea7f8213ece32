package smime

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"os"
	"testing"

	"sikkermail/internal/testenv"
)

// RFC 4134's examples of S/MIME messages (testdata/rfc4134, see its
// README): all made in 2002 with SHA-1, DSA, 3DES or RC2 and 1024-bit
// RSA. Each is read, and refused with the algorithm named: none of them
// would be secure today. What they prove is that we read every form they
// take (BER, detached, several signers, key identifiers, certificates
// only) without a crash, and say why they do not count.

func rfc4134(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(testenv.Path("testdata", "rfc4134", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRFC4134(t *testing.T) {
	content := rfc4134(t, "ExContent.bin")
	p := &Trust{Roots: x509.NewCertPool()}
	// 3.1 is 3.2 in BER: the same ContentInfo, converted.
	der, err := berToDER(rfc4134(t, "3.1.bin"))
	if err != nil || !bytes.Equal(der, rfc4134(t, "3.2.bin")) {
		t.Errorf("3.1 in DER is not 3.2: %v", err)
	}
	for _, tc := range []struct {
		file     string
		detached bool
		want     Reason
		detail   string
		signers  int
	}{
		{"4.1.bin", false, WeakAlgorithm, "SHA-1", 1},
		{"4.2.bin", false, WeakAlgorithm, "SHA-1", 1},
		{"4.3.bin", true, WeakAlgorithm, "SHA-1", 1},
		{"4.4.bin", false, WeakAlgorithm, "SHA-1", 1},
		{"4.5.bin", false, WeakAlgorithm, "SHA-1", 1},
		{"4.6.bin", false, WeakAlgorithm, "SHA-1", 2},
		{"4.7.bin", false, WeakAlgorithm, "SHA-1", 1},
	} {
		var c []byte
		if tc.detached {
			c = content
		}
		v, err := Verify(rfc4134(t, tc.file), c, p)
		if reasonOf(err) != tc.want || !bytes.Contains([]byte(err.Error()), []byte(tc.detail)) {
			t.Errorf("%s: %v, want %s (%s)", tc.file, err, tc.want, tc.detail)
			continue
		}
		if !bytes.Equal(v.Content, content) || len(v.Signers) != tc.signers {
			t.Errorf("%s: content %q, %d signers", tc.file, v.Content, len(v.Signers))
		}
	}
	// Enveloped for Bob with 3DES (5.1) and RC2 (5.2): refused by name.
	bobCert, err := x509.ParseCertificate(rfc4134(t, "BobRSASignByCarl.cer"))
	if err != nil {
		t.Fatal(err)
	}
	bobKey, err := x509.ParsePKCS8PrivateKey(rfc4134(t, "BobPrivRSAEncrypt.pri"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ file, detail string }{{"5.1.bin", "3DES"}, {"5.2.bin", "RC2"}} {
		_, err := Decrypt(rfc4134(t, tc.file), bobCert, bobKey.(crypto.Signer))
		if reasonOf(err) != Unsupported || !bytes.Contains([]byte(err.Error()), []byte(tc.detail)) {
			t.Errorf("%s: %v, want unsupported (%s)", tc.file, err, tc.detail)
		}
	}
	// The S/MIME messages: opened layer by layer, refused by name.
	bob := []Identity{{Cert: bobCert, Key: bobKey.(crypto.Signer)}}
	for _, tc := range []struct {
		file   string
		want   Reason
		detail string
	}{
		{"4.8.eml", WeakAlgorithm, "SHA-1"},
		{"4.9.eml", WeakAlgorithm, "SHA-1"},
		{"5.3.eml", Unsupported, "3DES"},
	} {
		o, err := Open(rfc4134(t, tc.file), bob, p)
		got := reasonOf(err)
		for _, l := range o.Layers {
			if got == "" && l.Err != nil {
				got, err = reasonOf(l.Err), l.Err
			}
		}
		if got != tc.want || !bytes.Contains([]byte(err.Error()), []byte(tc.detail)) || o.Valid() {
			t.Errorf("%s: %v, want %s (%s)", tc.file, err, tc.want, tc.detail)
		}
	}
	// Certificates only (4.11 holds Carl's, Alice's, Bob's and Diane's):
	// read as certificates, and no signature.
	certs, err := CertificatesFromPKCS7(rfc4134(t, "4.11.bin"))
	if err != nil || len(certs) == 0 {
		t.Errorf("4.11: %d certificates, %v", len(certs), err)
	}
	if _, err := Verify(rfc4134(t, "4.11.bin"), nil, p); err == nil {
		t.Error("4.11 verifies with no signer")
	}
	// Digested (6.0), encrypted (7.1) and authenticated data (7.2) are
	// no S/MIME layer we open: refused, never a crash.
	for _, f := range []string{"6.0.bin", "7.1.bin", "7.2.bin", "4.10.bin"} {
		if _, err := Decrypt(rfc4134(t, f), bobCert, bobKey.(crypto.Signer)); err == nil {
			t.Errorf("%s decrypts", f)
		}
	}
}
