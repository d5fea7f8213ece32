package smime

import (
	"bytes"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/asn1"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"slices"
	"strings"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// Cipher is the content-encryption algorithm of an encrypted message.
type Cipher int

const (
	// AES256GCM is AES-256-GCM in AuthEnvelopedData (RFC 5083, 5084):
	// the RFC 8551 default, which also detects any change to the content.
	AES256GCM Cipher = iota
	// AES256CBC is AES-256-CBC in EnvelopedData (RFC 5652, 3565), for
	// recipients known not to read AuthEnvelopedData.
	AES256CBC
)

func (c Cipher) String() string {
	if c == AES256CBC {
		return "AES-256-CBC"
	}
	return "AES-256-GCM"
}

// RSAPadding is the key transport for an RSA recipient.
type RSAPadding int

const (
	// OAEP is RSAES-OAEP with SHA-256 and MGF1-SHA-256 (RFC 3560, 4055).
	OAEP RSAPadding = iota
	// PKCS1v15 is RSAES-PKCS1-v1_5 (RFC 3370), for recipients known not
	// to read OAEP.
	PKCS1v15
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
	priv, ok := key.(*rsa.PrivateKey)
	if !ok {
		return nil, "", &Error{Reason: UnsupportedKey, Subject: certName(cert), Detail: fmt.Sprintf("RSA key transport with a %T", key)}
	}
	switch {
	case alg.oid.Equal(oidRSAEncryption):
		//lint:ignore SA1019 most S/MIME senders still use v1.5 key transport; a mail client is no decryption oracle
		cek, err := rsa.DecryptPKCS1v15(nil, priv, ek)
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
		cek, err := rsa.DecryptOAEP(h.New(), nil, priv, ek, label)
		if err != nil {
			return nil, "", &Error{Reason: DecryptFailed, Subject: certName(cert), Err: err}
		}
		return cek, "RSA-OAEP-" + hashName(h), nil
	}
	return nil, "", &Error{Reason: Unsupported, Detail: algName(alg.oid)}
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

func aesKeyLen(oid asn1.ObjectIdentifier) (int, bool) {
	switch {
	case oid.Equal(oidAES128CBC), oid.Equal(oidAES128GCM):
		return 16, true
	case oid.Equal(oidAES192CBC), oid.Equal(oidAES192GCM):
		return 24, true
	case oid.Equal(oidAES256CBC), oid.Equal(oidAES256GCM):
		return 32, true
	}
	return 0, false
}

func isGCM(oid asn1.ObjectIdentifier) bool {
	return oid.Equal(oidAES128GCM) || oid.Equal(oidAES192GCM) || oid.Equal(oidAES256GCM)
}

// cbcParams checks a CBC algorithm and its key, and returns its name
// and IV.
func cbcParams(alg algorithm, cek []byte) (name string, iv []byte, err error) {
	n, ok := aesKeyLen(alg.oid)
	if !ok || isGCM(alg.oid) {
		return "", nil, &Error{Reason: Unsupported, Detail: algName(alg.oid)}
	}
	name = fmt.Sprintf("AES-%d-CBC", n*8)
	if len(cek) != n {
		return "", nil, &Error{Reason: DecryptFailed, Detail: name, Err: errors.New("content key has the wrong length")}
	}
	ps := cryptobyte.String(alg.params)
	if !ps.ReadASN1Bytes(&iv, cbasn1.OCTET_STRING) || len(iv) != aes.BlockSize {
		return "", nil, malformed("bad CBC parameters")
	}
	return name, iv, nil
}

func openCBC(alg algorithm, cek, ct []byte, inPlace bool) ([]byte, string, error) {
	name, iv, err := cbcParams(alg, cek)
	if err != nil {
		return nil, "", err
	}
	if len(ct) == 0 || len(ct)%aes.BlockSize != 0 {
		return nil, "", &Error{Reason: DecryptFailed, Detail: name, Err: errors.New("ciphertext is not whole blocks")}
	}
	block, _ := aes.NewCipher(cek)
	pt := ct
	if !inPlace {
		pt = make([]byte, len(ct))
	}
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(pt, ct)
	pad, err := padding(pt, name)
	if err != nil {
		return nil, "", err
	}
	return pt[:len(pt)-pad], name, nil
}

// padding checks the PKCS #7 padding that ends pt and returns its length.
func padding(pt []byte, name string) (int, error) {
	pad := int(pt[len(pt)-1])
	if pad == 0 || pad > aes.BlockSize {
		return 0, &Error{Reason: DecryptFailed, Detail: name, Err: errors.New("bad padding")}
	}
	for _, b := range pt[len(pt)-pad:] {
		if int(b) != pad {
			return 0, &Error{Reason: DecryptFailed, Detail: name, Err: errors.New("bad padding")}
		}
	}
	return pad, nil
}

// gcmParams checks a GCM algorithm, its key and the tag's length (macLen,
// or -1 before the tag is read), and returns its name, nonce and tag
// length.
func gcmParams(alg algorithm, cek []byte, macLen int) (name string, nonce []byte, icvLen int, err error) {
	n, ok := aesKeyLen(alg.oid)
	if !ok || !isGCM(alg.oid) {
		return "", nil, 0, &Error{Reason: Unsupported, Detail: algName(alg.oid)}
	}
	name = fmt.Sprintf("AES-%d-GCM", n*8)
	if len(cek) != n {
		return "", nil, 0, &Error{Reason: DecryptFailed, Detail: name, Err: errors.New("content key has the wrong length")}
	}
	ps := cryptobyte.String(alg.params)
	var seq cryptobyte.String
	icvLen = 12
	if !ps.ReadASN1(&seq, cbasn1.SEQUENCE) || !seq.ReadASN1Bytes(&nonce, cbasn1.OCTET_STRING) || len(nonce) == 0 ||
		(seq.PeekASN1Tag(cbasn1.INTEGER) && !seq.ReadASN1Integer(&icvLen)) || !seq.Empty() {
		return "", nil, 0, malformed("bad GCM parameters")
	}
	if macLen >= 0 && icvLen != macLen || icvLen < 12 || icvLen > 16 {
		return "", nil, 0, malformed("GCM tag of %d bytes, parameters say %d", macLen, icvLen)
	}
	return name, nonce, icvLen, nil
}

func openGCM(alg algorithm, cek, ct, mac, aad []byte, inPlace bool) ([]byte, string, error) {
	name, nonce, icvLen, err := gcmParams(alg, cek, len(mac))
	if err != nil {
		return nil, "", err
	}
	block, _ := aes.NewCipher(cek)
	var gcm cipher.AEAD
	switch {
	case len(nonce) == 12:
		gcm, err = cipher.NewGCMWithTagSize(block, icvLen)
	case icvLen == 16:
		gcm, err = cipher.NewGCMWithNonceSize(block, len(nonce))
	default:
		err = fmt.Errorf("a %d-byte nonce with a %d-byte tag", len(nonce), icvLen)
	}
	if err != nil {
		return nil, "", malformed("bad GCM parameters: %v", err)
	}
	// One buffer: ciphertext and tag together, decrypted in place. In
	// place of the message, when allowed: the tag is moved up to follow
	// the ciphertext (over the DER between them, read already).
	var buf []byte
	if inPlace && cap(ct) >= len(ct)+len(mac) {
		buf = ct[:len(ct)+len(mac)]
		copy(buf[len(ct):], mac)
	} else {
		buf = make([]byte, 0, len(ct)+len(mac))
		buf = append(append(buf, ct...), mac...)
	}
	pt, err := gcm.Open(buf[:0], nonce, buf, aad)
	if err != nil {
		return nil, "", &Error{Reason: DecryptFailed, Detail: name, Err: err}
	}
	return pt, name, nil
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

// ChooseCipher picks the one content encryption every recipient can read.
// Each argument is what is known of one recipient: the capabilities it
// announced in a verified signature (Signer.Capabilities), nil when
// nothing is known, and whether a setting says it needs CBC. GCM is the
// RFC 8551 default when nothing is known; one recipient that needs CBC,
// or that announced capabilities without any GCM, makes the whole message
// CBC, since a message has one content key and one cipher.
func ChooseCipher(recipients ...Known) Cipher {
	for _, r := range recipients {
		if r.NeedsCBC || (r.Capabilities != nil && !slices.ContainsFunc(r.Capabilities, func(c string) bool { return strings.HasSuffix(c, "-GCM") })) {
			return AES256CBC
		}
	}
	return AES256GCM
}

// Known is what is known of one recipient's abilities, for ChooseCipher.
type Known struct {
	// Capabilities as announced in a verified signature; nil if unknown.
	Capabilities []string
	// NeedsCBC is set by configuration for recipients known not to read
	// AuthEnvelopedData.
	NeedsCBC bool
}
