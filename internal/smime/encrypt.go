package smime

// Encrypting: the content key wrapped for each recipient, the
// EnvelopedData or AuthEnvelopedData written around the content.

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"slices"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// Recipient is one recipient of an encrypted message.
type Recipient struct {
	Cert *x509.Certificate
	// RSAPadding selects the key transport when Cert has an RSA key.
	RSAPadding RSAPadding
	// KeyID identifies the recipient by the certificate's subject key
	// identifier instead of its issuer and serial number.
	KeyID bool
	// wrapNull writes the ECDH key-wrap AlgorithmIdentifier with NULL
	// parameters, as some senders do (tests only).
	wrapNull bool
}

// Encrypt encrypts content (a MIME entity, typically already signed) for
// every recipient and returns the DER of the CMS ContentInfo:
// AuthEnvelopedData for AES256GCM, EnvelopedData for AES256CBC. RSA
// recipients get key transport (OAEP or v1.5), EC P-256 recipients
// ephemeral-static ECDH with the X9.63 SHA-256 KDF and AES-256 key wrap
// (RFC 5753). Any other key type is an *Error with Reason UnsupportedKey.
func Encrypt(content []byte, recipients []Recipient, c Cipher) ([]byte, error) {
	if len(recipients) == 0 {
		return nil, &Error{Reason: NoRecipients}
	}
	env, err := newEnvelope(int64(len(content)), recipients, c)
	if err != nil {
		return nil, err
	}
	out := bytes.NewBuffer(make([]byte, 0, len(env.head)+int(ciphertextLen(int64(len(content)), c))+tlvLen(tagSize)))
	out.Write(env.head)
	w, err := env.encrypter(out)
	if err != nil {
		return nil, err
	}
	w.Write(content)
	if err := w.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// sortedSet returns DER elements in the order DER requires for a SET OF.
func sortedSet(elems [][]byte) [][]byte {
	s := slices.Clone(elems)
	slices.SortFunc(s, bytes.Compare)
	return s
}

// recipientInfo returns the DER of one RecipientInfo and its version.
func recipientInfo(cek []byte, r Recipient) ([]byte, int, error) {
	if r.Cert == nil {
		return nil, 0, &Error{Reason: NoRecipients}
	}
	if r.KeyID && len(r.Cert.SubjectKeyId) == 0 {
		return nil, 0, &Error{Reason: UnsupportedKey, Subject: certName(r.Cert), Detail: "no subject key identifier"}
	}
	switch pub := r.Cert.PublicKey.(type) {
	case *rsa.PublicKey:
		var alg algorithm
		var ek []byte
		var err error
		if r.RSAPadding == PKCS1v15 {
			alg = algorithm{oidRSAEncryption, derNull}
			//lint:ignore SA1019 only when a recipient reads nothing else (Debian's gpgsm 2.2); RSA-OAEP is the default
			ek, err = rsa.EncryptPKCS1v15(rand.Reader, pub, cek)
		} else {
			alg = algorithm{oidRSAOAEP, oaepParams()}
			ek, err = rsa.EncryptOAEP(sha256.New(), rand.Reader, pub, cek, nil)
		}
		if err != nil {
			return nil, 0, &Error{Reason: UnsupportedKey, Subject: certName(r.Cert), Err: err}
		}
		version := 0
		if r.KeyID {
			version = 2
		}
		b := cryptobyte.NewBuilder(nil)
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1Int64(int64(version))
			if r.KeyID {
				b.AddASN1(tag0, func(b *cryptobyte.Builder) { b.AddBytes(r.Cert.SubjectKeyId) })
			} else {
				addIssuerAndSerial(b, r.Cert)
			}
			addAlgorithm(b, alg)
			b.AddASN1OctetString(ek)
		})
		der, err := b.Bytes()
		return der, version, err
	case *ecdsa.PublicKey:
		return keyAgreeInfo(cek, r, pub)
	}
	return nil, 0, &Error{Reason: UnsupportedKey, Subject: certName(r.Cert), Detail: keyName(r.Cert.PublicKey)}
}
