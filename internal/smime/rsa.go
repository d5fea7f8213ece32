package smime

// RSA recipients: key transport with PKCS #1 v1.5 or RSAES-OAEP (RFC
// 8017, 3560).

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"fmt"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// RSAPadding is the key transport for an RSA recipient.
type RSAPadding int

const (
	// OAEP is RSAES-OAEP with SHA-256 and MGF1-SHA-256 (RFC 3560, 4055).
	OAEP RSAPadding = iota
	// PKCS1v15 is RSAES-PKCS1-v1_5 (RFC 3370), for recipients known not
	// to read OAEP.
	PKCS1v15
)

// oaepParams is RSAES-OAEP-params for SHA-256 (RFC 4055 section 4.1).
func oaepParams() []byte {
	sha256ID := func(b *cryptobyte.Builder) { addAlgorithm(b, algorithm{oidSHA256, derNull}) }
	b := cryptobyte.NewBuilder(nil)
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(tagC0, sha256ID)
		b.AddASN1(tagC1, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1ObjectIdentifier(oidMGF1)
				sha256ID(b)
			})
		})
	})
	return b.BytesOrPanic()
}

func openKeyTrans(ri cryptobyte.String, cert *x509.Certificate, key crypto.PrivateKey) ([]byte, string, error) {
	var seq cryptobyte.String
	var version int
	var id recipientID
	var alg algorithm
	var ek []byte
	if !ri.ReadASN1(&seq, cbasn1.SEQUENCE) || !seq.ReadASN1Integer(&version) {
		return nil, "", malformed("bad key transport recipient info")
	}
	if seq.PeekASN1Tag(tag0) {
		var skid cryptobyte.String
		if !seq.ReadASN1(&skid, tag0) {
			return nil, "", malformed("bad recipient key id")
		}
		id.skid = skid
	} else if !readIssuerAndSerial(&seq, &id) {
		return nil, "", malformed("bad recipient identifier")
	}
	if !readAlgorithm(&seq, &alg) || !seq.ReadASN1Bytes(&ek, cbasn1.OCTET_STRING) {
		return nil, "", malformed("bad key transport recipient info")
	}
	if !id.matches(cert) {
		return nil, "", nil
	}
	// An *rsa.PrivateKey, or a key that never leaves its token (a
	// PKCS #11 HSM): both decrypt.
	priv, ok := key.(crypto.Decrypter)
	if _, rsaKey := publicOf(key).(*rsa.PublicKey); !ok || !rsaKey {
		return nil, "", &Error{Reason: UnsupportedKey, Subject: certName(cert), Detail: fmt.Sprintf("RSA key transport with a %T", key)}
	}
	switch {
	case alg.oid.Equal(oidRSAEncryption):
		// Most S/MIME senders still use v1.5 key transport; a mail client
		// is no decryption oracle. No options: PKCS #1 v1.5, for an
		// *rsa.PrivateKey and a token's key alike.
		cek, err := priv.Decrypt(nil, ek, nil)
		if err != nil {
			return nil, "", &Error{Reason: DecryptFailed, Subject: certName(cert), Err: err}
		}
		return cek, "RSA-PKCS1v15", nil
	case alg.oid.Equal(oidRSAOAEP):
		h, mgf, label, err := parseOAEPParams(alg.params)
		if err != nil {
			return nil, "", err
		}
		if h != mgf {
			return nil, "", &Error{Reason: Unsupported, Detail: "RSA-OAEP with different hash and MGF1 hash"}
		}
		cek, err := priv.Decrypt(nil, ek, &rsa.OAEPOptions{Hash: h, MGFHash: h, Label: label})
		if err != nil {
			return nil, "", &Error{Reason: DecryptFailed, Subject: certName(cert), Err: err}
		}
		return cek, "RSA-OAEP-" + hashName(h), nil
	}
	return nil, "", &Error{Reason: Unsupported, Detail: algName(alg.oid)}
}

// publicOf is key's public key, nil when it has none to tell.
func publicOf(key crypto.PrivateKey) crypto.PublicKey {
	if k, ok := key.(interface{ Public() crypto.PublicKey }); ok {
		return k.Public()
	}
	return nil
}

// parseOAEPParams reads RSAES-OAEP-params; absent fields take their
// defaults (SHA-1, MGF1-SHA-1, empty label).
func parseOAEPParams(p []byte) (h, mgf crypto.Hash, label []byte, err error) {
	h, mgf = crypto.SHA1, crypto.SHA1
	if p == nil || bytes.Equal(p, derNull) {
		return h, mgf, nil, nil
	}
	bad := malformed("bad RSA-OAEP parameters")
	s := cryptobyte.String(p)
	var seq cryptobyte.String
	if !s.ReadASN1(&seq, cbasn1.SEQUENCE) {
		return 0, 0, nil, bad
	}
	if seq.PeekASN1Tag(tagC0) {
		var f cryptobyte.String
		var a algorithm
		if !seq.ReadASN1(&f, tagC0) || !readAlgorithm(&f, &a) {
			return 0, 0, nil, bad
		}
		if h, err = digestHash(a.oid); err != nil {
			return 0, 0, nil, err
		}
	}
	if seq.PeekASN1Tag(tagC1) {
		var f cryptobyte.String
		var a, inner algorithm
		if !seq.ReadASN1(&f, tagC1) || !readAlgorithm(&f, &a) || !a.oid.Equal(oidMGF1) {
			return 0, 0, nil, bad
		}
		ps := cryptobyte.String(a.params)
		if !readAlgorithm(&ps, &inner) {
			return 0, 0, nil, bad
		}
		if mgf, err = digestHash(inner.oid); err != nil {
			return 0, 0, nil, err
		}
	}
	if seq.PeekASN1Tag(tagC2) {
		var f cryptobyte.String
		var a algorithm
		if !seq.ReadASN1(&f, tagC2) || !readAlgorithm(&f, &a) || !a.oid.Equal(oidPSpecified) {
			return 0, 0, nil, bad
		}
		ps := cryptobyte.String(a.params)
		if !ps.ReadASN1Bytes(&label, cbasn1.OCTET_STRING) {
			return 0, 0, nil, bad
		}
	}
	return h, mgf, label, nil
}

func digestHash(oid asn1.ObjectIdentifier) (crypto.Hash, error) {
	switch {
	case oid.Equal(oidSHA1):
		return crypto.SHA1, nil
	case oid.Equal(oidSHA256):
		return crypto.SHA256, nil
	case oid.Equal(oidSHA384):
		return crypto.SHA384, nil
	case oid.Equal(oidSHA512):
		return crypto.SHA512, nil
	}
	return 0, &Error{Reason: Unsupported, Detail: algName(oid)}
}

func hashName(h crypto.Hash) string {
	switch h {
	case crypto.SHA1:
		return "SHA1"
	case crypto.SHA256:
		return "SHA256"
	case crypto.SHA384:
		return "SHA384"
	case crypto.SHA512:
		return "SHA512"
	}
	return h.String()
}
