package smime

// The content ciphers: AES-GCM (RFC 5084, 5083) and AES-CBC for
// recipients known not to read GCM, and their choice.

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/asn1"
	"errors"
	"fmt"
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

// ParseCipher is the cipher String names.
func ParseCipher(name string) (Cipher, bool) {
	for _, c := range []Cipher{AES256GCM, AES256CBC} {
		if c.String() == name {
			return c, true
		}
	}
	return 0, false
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
