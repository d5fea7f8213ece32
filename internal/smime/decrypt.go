package smime

// Decrypting: finding the recipient info for our certificate, unwrapping
// the content key, opening the content.

import (
	"crypto"
	"crypto/x509"
	"encoding/asn1"
	"fmt"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// Decrypted is the result of Decrypt.
type Decrypted struct {
	// Content is the decrypted MIME entity (nil when OpenStream streamed
	// it to its output).
	Content []byte
	// Cipher names the content encryption, e.g. "AES-256-GCM".
	Cipher string
	// KeyTransport names how the content key reached us, e.g.
	// "RSA-OAEP-SHA256" or "ECDH-P256 X9.63-SHA256 AES-256-WRAP".
	KeyTransport string
	// Authenticated is true for AuthEnvelopedData: any change to the
	// ciphertext would have been detected.
	Authenticated bool
	// Recipients is the number of recipient infos in the message.
	Recipients int
}

// Decrypt decrypts an EnvelopedData or AuthEnvelopedData ContentInfo (DER
// or BER) with the private key of cert.
func Decrypt(in []byte, cert *x509.Certificate, key crypto.PrivateKey) (*Decrypted, error) {
	return decrypt(in, cert, key, false)
}

// decrypt is Decrypt; with inPlace the content is decrypted over its
// ciphertext in in, which is then no longer the message (Open does this
// with the buffer it decoded the message into, and keeps one copy).
func decrypt(in []byte, cert *x509.Certificate, key crypto.PrivateKey, inPlace bool) (*Decrypted, error) {
	typ, body, err := readContentInfo(in)
	if err != nil {
		return nil, err
	}
	auth := typ.Equal(oidAuthEnvelopedData)
	if !auth && !typ.Equal(oidEnvelopedData) {
		return nil, &Error{Reason: Unsupported, Detail: algName(typ)}
	}
	var seq, infos cryptobyte.String
	var version int
	if !body.ReadASN1(&seq, cbasn1.SEQUENCE) || !seq.ReadASN1Integer(&version) {
		return nil, malformed("bad enveloped data")
	}
	seq.SkipOptionalASN1(tagC0) // originatorInfo
	if !seq.ReadASN1(&infos, cbasn1.SET) {
		return nil, malformed("no recipient infos")
	}
	out := &Decrypted{Authenticated: auth}
	cek, err := contentKey(infos, cert, key, out)
	if err != nil {
		return nil, err
	}
	var eci cryptobyte.String
	var ctype asn1.ObjectIdentifier
	var alg algorithm
	var ct []byte
	if !seq.ReadASN1(&eci, cbasn1.SEQUENCE) || !eci.ReadASN1ObjectIdentifier(&ctype) || !readAlgorithm(&eci, &alg) {
		return nil, malformed("bad encrypted content info")
	}
	if !readOctets(&eci, &ct, tag0, tagC0) {
		return nil, malformed("no encrypted content (detached content is not supported)")
	}
	if auth {
		var authAttrs []byte
		if seq.PeekASN1Tag(tagC1) {
			var a cryptobyte.String
			if !seq.ReadASN1Element(&a, tagC1) {
				return nil, malformed("bad authenticated attributes")
			}
			authAttrs = append([]byte{0x31}, a[1:]...) // AAD is the DER SET OF
		}
		var mac []byte
		if !seq.ReadASN1Bytes(&mac, cbasn1.OCTET_STRING) {
			return nil, malformed("no message authentication code")
		}
		out.Content, out.Cipher, err = openGCM(alg, cek, ct, mac, authAttrs, inPlace)
	} else {
		out.Content, out.Cipher, err = openCBC(alg, cek, ct, inPlace)
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

// contentKey finds the recipient info for cert among infos and opens the
// content-encryption key with key; out counts the infos and names the
// key transport.
func contentKey(infos cryptobyte.String, cert *x509.Certificate, key crypto.PrivateKey, out *Decrypted) ([]byte, error) {
	var cek []byte
	var lastErr error
	for !infos.Empty() {
		var ri cryptobyte.String
		var tag cbasn1.Tag
		if !infos.ReadAnyASN1Element(&ri, &tag) {
			return nil, malformed("bad recipient info")
		}
		out.Recipients++
		if cek != nil {
			continue
		}
		k, name, err := openRecipientInfo(ri, tag, cert, key)
		switch {
		case err == nil && k != nil:
			cek, out.KeyTransport = k, name
		case err != nil:
			lastErr = err
		}
	}
	if cek == nil {
		if lastErr != nil {
			return nil, lastErr
		}
		return nil, &Error{Reason: NotForUs, Subject: certName(cert)}
	}
	return cek, nil
}

// openRecipientInfo returns the content-encryption key if ri is for cert,
// nil if it is for someone else.
func openRecipientInfo(ri cryptobyte.String, tag cbasn1.Tag, cert *x509.Certificate, key crypto.PrivateKey) ([]byte, string, error) {
	switch tag {
	case cbasn1.SEQUENCE:
		return openKeyTrans(ri, cert, key)
	case tagC1:
		return openKeyAgree(ri, cert, key)
	}
	return nil, "", nil // kekri, pwri, ori: not ours to open
}

// certName names a certificate for a user: its e-mail address, else its
// common name.
func certName(c *x509.Certificate) string {
	if c == nil {
		return ""
	}
	switch {
	case len(c.EmailAddresses) > 0:
		return c.EmailAddresses[0]
	case c.Subject.CommonName != "":
		return c.Subject.CommonName
	case len(c.Subject.Names) > 0:
		return c.Subject.String()
	}
	return fmt.Sprintf("serial %x", c.SerialNumber) // a sentence never has an empty name
}
