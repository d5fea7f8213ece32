package smime

// ECDH recipients: key agreement with ephemeral-static ECDH and the
// ANSI X9.63 KDF, the content key wrapped with AES key wrap (RFC 5753).

import (
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/asn1"
	"encoding/binary"
	"fmt"
	"hash"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// keyAgreeInfo builds a KeyAgreeRecipientInfo (RFC 5753 section 3.1.1)
// with a fresh ephemeral P-256 key for one recipient.
func keyAgreeInfo(cek []byte, r Recipient, pub *ecdsa.PublicKey) ([]byte, int, error) {
	peer, err := pub.ECDH()
	if err != nil || peer.Curve() != ecdh.P256() {
		return nil, 0, &Error{Reason: UnsupportedKey, Subject: certName(r.Cert), Detail: "EC curve " + pub.Curve.Params().Name}
	}
	eph, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		return nil, 0, err
	}
	z, err := eph.ECDH(peer)
	if err != nil {
		return nil, 0, err
	}
	wrapAlg := algorithm{oid: oidAES256Wrap}
	if r.wrapNull {
		wrapAlg.params = derNull
	}
	kek := x963KDF(sha256.New, z, sharedInfo(wrapAlg, nil, 32), 32)
	wrapped, err := aesWrap(kek, cek)
	if err != nil {
		return nil, 0, err
	}
	wrapDER := cryptobyte.NewBuilder(nil)
	addAlgorithm(wrapDER, wrapAlg)
	b := cryptobyte.NewBuilder(nil)
	b.AddASN1(tagC1, func(b *cryptobyte.Builder) {
		b.AddASN1Int64(3)
		b.AddASN1(tagC0, func(b *cryptobyte.Builder) {
			b.AddASN1(tagC1, func(b *cryptobyte.Builder) {
				addAlgorithm(b, algorithm{oid: oidECPublicKey})
				b.AddASN1BitString(eph.PublicKey().Bytes())
			})
		})
		addAlgorithm(b, algorithm{oidECDHSHA256KDF, wrapDER.BytesOrPanic()})
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				if r.KeyID {
					b.AddASN1(tagC0, func(b *cryptobyte.Builder) {
						b.AddASN1OctetString(r.Cert.SubjectKeyId)
					})
				} else {
					addIssuerAndSerial(b, r.Cert)
				}
				b.AddASN1OctetString(wrapped)
			})
		})
	})
	der, err := b.Bytes()
	return der, 3, err
}

// sharedInfo is the DER of ECC-CMS-SharedInfo (RFC 5753 section 7.2).
func sharedInfo(wrap algorithm, ukm []byte, keyLen int) []byte {
	b := cryptobyte.NewBuilder(nil)
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		addAlgorithm(b, wrap)
		if ukm != nil {
			b.AddASN1(tagC0, func(b *cryptobyte.Builder) { b.AddASN1OctetString(ukm) })
		}
		b.AddASN1(tagC2, func(b *cryptobyte.Builder) {
			var n [4]byte
			binary.BigEndian.PutUint32(n[:], uint32(keyLen*8))
			b.AddASN1OctetString(n[:])
		})
	})
	return b.BytesOrPanic()
}

// x963KDF is the ANSI X9.63 key derivation function (SEC 1 section 3.6.1).
func x963KDF(h func() hash.Hash, z, info []byte, n int) []byte {
	var out []byte
	for counter := uint32(1); len(out) < n; counter++ {
		d := h()
		d.Write(z)
		var c [4]byte
		binary.BigEndian.PutUint32(c[:], counter)
		d.Write(c[:])
		d.Write(info)
		out = d.Sum(out)
	}
	return out[:n]
}

func openKeyAgree(ri cryptobyte.String, cert *x509.Certificate, key crypto.PrivateKey) ([]byte, string, error) {
	bad := malformed("bad key agreement recipient info")
	var seq, orig, keys cryptobyte.String
	var version int
	if !ri.ReadASN1(&seq, tagC1) || !seq.ReadASN1Integer(&version) || !seq.ReadASN1(&orig, tagC0) {
		return nil, "", bad
	}
	var ephPub []byte
	var ukm []byte
	if orig.PeekASN1Tag(tagC1) {
		var ok cryptobyte.String
		var a algorithm
		var bits asn1.BitString
		if !orig.ReadASN1(&ok, tagC1) || !readAlgorithm(&ok, &a) || !ok.ReadASN1BitString(&bits) {
			return nil, "", bad
		}
		ephPub = bits.Bytes
	}
	if seq.PeekASN1Tag(tagC1) {
		var u cryptobyte.String
		if !seq.ReadASN1(&u, tagC1) || !u.ReadASN1Bytes(&ukm, cbasn1.OCTET_STRING) {
			return nil, "", bad
		}
	}
	var kea algorithm
	if !readAlgorithm(&seq, &kea) || !seq.ReadASN1(&keys, cbasn1.SEQUENCE) {
		return nil, "", bad
	}
	var wrapped []byte
	for !keys.Empty() {
		var rek cryptobyte.String
		var id recipientID
		if !keys.ReadASN1(&rek, cbasn1.SEQUENCE) {
			return nil, "", bad
		}
		if rek.PeekASN1Tag(tagC0) {
			var rkid cryptobyte.String
			var skid []byte
			if !rek.ReadASN1(&rkid, tagC0) || !rkid.ReadASN1Bytes(&skid, cbasn1.OCTET_STRING) {
				return nil, "", bad
			}
			id.skid = skid
		} else if !readIssuerAndSerial(&rek, &id) {
			return nil, "", bad
		}
		var ek []byte
		if !rek.ReadASN1Bytes(&ek, cbasn1.OCTET_STRING) {
			return nil, "", bad
		}
		if id.matches(cert) {
			wrapped = ek
			break
		}
	}
	if wrapped == nil {
		return nil, "", nil
	}
	if ephPub == nil {
		return nil, "", &Error{Reason: Unsupported, Detail: "key agreement without an ephemeral originator key"}
	}
	priv, ok := key.(*ecdsa.PrivateKey)
	if !ok {
		return nil, "", &Error{Reason: UnsupportedKey, Subject: certName(cert), Detail: fmt.Sprintf("ECDH with a %T", key)}
	}
	var kdf func() hash.Hash
	var kdfName string
	switch {
	case kea.oid.Equal(oidECDHSHA256KDF):
		kdf, kdfName = sha256.New, "SHA256"
	case kea.oid.Equal(oidECDHSHA384KDF):
		kdf, kdfName = sha512.New384, "SHA384"
	case kea.oid.Equal(oidECDHSHA512KDF):
		kdf, kdfName = sha512.New, "SHA512"
	case kea.oid.Equal(oidECDHSHA1KDF):
		kdf, kdfName = sha1.New, "SHA1"
	default:
		return nil, "", &Error{Reason: Unsupported, Detail: algName(kea.oid)}
	}
	var wrap algorithm
	ws := cryptobyte.String(kea.params)
	if !readAlgorithm(&ws, &wrap) {
		return nil, "", bad
	}
	var kekLen int
	switch {
	case wrap.oid.Equal(oidAES128Wrap):
		kekLen = 16
	case wrap.oid.Equal(oidAES192Wrap):
		kekLen = 24
	case wrap.oid.Equal(oidAES256Wrap):
		kekLen = 32
	default:
		return nil, "", &Error{Reason: Unsupported, Detail: algName(wrap.oid)}
	}
	ecPriv, err := priv.ECDH()
	if err != nil {
		return nil, "", &Error{Reason: UnsupportedKey, Subject: certName(cert), Err: err}
	}
	peer, err := ecPriv.Curve().NewPublicKey(ephPub)
	if err != nil {
		return nil, "", malformed("bad ephemeral key: %v", err)
	}
	z, err := ecPriv.ECDH(peer)
	if err != nil {
		return nil, "", &Error{Reason: DecryptFailed, Subject: certName(cert), Err: err}
	}
	// The shared info carries the key-wrap algorithm exactly as the
	// sender wrote it, NULL parameters and all (as openssl does).
	kek := x963KDF(kdf, z, sharedInfo(wrap, ukm, kekLen), kekLen)
	cek, err := aesUnwrap(kek, wrapped)
	if err != nil {
		return nil, "", &Error{Reason: DecryptFailed, Subject: certName(cert), Err: err}
	}
	return cek, fmt.Sprintf("ECDH X9.63-%s AES-%d-WRAP", kdfName, kekLen*8), nil
}
