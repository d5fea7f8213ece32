package smime

import (
	"bytes"
	"crypto/x509"
	"testing"

	"go.mozilla.org/pkcs7"
)

// go.mozilla.org/pkcs7, the library the design first named, is one more
// peer for the part of CMS it handles: SignedData (RSA, SHA-256) and
// EnvelopedData with AES-CBC to RSA PKCS #1 v1.5 recipients. What we
// write, it reads; what it writes, we read.

func TestMozillaPKCS7ReadsOurs(t *testing.T) {
	mb := testIdentity(t, "mailbox-rsa")
	ca, _ := testCert(t, "ca")
	trust := x509.NewCertPool()
	trust.AddCert(ca)
	for _, detached := range []bool{false, true} {
		der, err := Sign(mimeEntity, mb, SignOptions{Detached: detached})
		if err != nil {
			t.Fatal(err)
		}
		p7, err := pkcs7.Parse(der)
		if err != nil {
			t.Fatalf("detached %v: pkcs7 cannot parse our SignedData: %v", detached, err)
		}
		if detached {
			p7.Content = mimeEntity
		}
		if err := p7.VerifyWithChain(trust); err != nil {
			t.Errorf("detached %v: pkcs7 does not verify our signature: %v", detached, err)
		}
		if !bytes.Equal(p7.Content, mimeEntity) || p7.GetOnlySigner() == nil || !p7.GetOnlySigner().Equal(mb.Cert) {
			t.Errorf("detached %v: content or signer differ", detached)
		}
	}
	rc, rk := testCert(t, "recipient-rsa")
	der, err := Encrypt(mimeEntity, []Recipient{{Cert: rc, RSAPadding: PKCS1v15}}, AES256CBC)
	if err != nil {
		t.Fatal(err)
	}
	p7, err := pkcs7.Parse(der)
	if err != nil {
		t.Fatalf("pkcs7 cannot parse our EnvelopedData: %v", err)
	}
	plain, err := p7.Decrypt(rc, rk)
	if err != nil || !bytes.Equal(plain, mimeEntity) {
		t.Errorf("pkcs7 decrypts %q, %v", plain, err)
	}
}

func TestMozillaPKCS7WritesForUs(t *testing.T) {
	p := testPolicy(t)
	mb := testIdentity(t, "mailbox-rsa")
	sd, err := pkcs7.NewSignedData(mimeEntity)
	if err != nil {
		t.Fatal(err)
	}
	sd.SetDigestAlgorithm(pkcs7.OIDDigestAlgorithmSHA256)
	if err := sd.AddSigner(mb.Cert, mb.Key, pkcs7.SignerInfoConfig{}); err != nil {
		t.Fatal(err)
	}
	der, err := sd.Finish()
	if err != nil {
		t.Fatal(err)
	}
	v, err := Verify(der, nil, p)
	if err != nil || !bytes.Equal(v.Content, mimeEntity) {
		t.Fatalf("we do not verify pkcs7's SignedData: %v", err)
	}
	rc, rk := testCert(t, "recipient-rsa")
	pkcs7.ContentEncryptionAlgorithm = pkcs7.EncryptionAlgorithmAES256CBC
	enc, err := pkcs7.Encrypt(mimeEntity, []*x509.Certificate{rc})
	if err != nil {
		t.Fatal(err)
	}
	d, err := Decrypt(enc, rc, rk)
	if err != nil || !bytes.Equal(d.Content, mimeEntity) || d.Cipher != "AES-256-CBC" {
		t.Fatalf("we do not decrypt pkcs7's EnvelopedData: %v", err)
	}
}
