package keystore

import (
	"bytes"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"hash"
	"unicode/utf16"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"sikkermail/internal/smime"
)

// A reader of PKCS #12 files (RFC 7292) for what go-pkcs12 refuses:
// BER-encoded files (Firefox and Thunderbird export them through NSS,
// with indefinite lengths throughout, and go-pkcs12 reads DER only) and
// files with more than two safe contents. The MAC is checked over the
// authenticated safe exactly as it was written, before anything is
// decrypted; the keys are PBES2 (PBKDF2 with HMAC-SHA-1/-2, AES-CBC or
// 3DES-CBC) or PKCS #12's own 3DES; the bags may nest. RC2, which only
// old exports use for certificates, is left to go-pkcs12.

var (
	oidDataCT          = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
	oidEncryptedDataCT = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 6}
	oidKeyBag          = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 10, 1, 1}
	oidShroudedKeyBag  = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 10, 1, 2}
	oidCertBag         = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 10, 1, 3}
	oidSafeContentsBag = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 10, 1, 6}
	oidX509Cert        = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 22, 1}
	oidPBES2           = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 13}
	oidPBKDF2          = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 12}
	oidPBMAC1          = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 14}
	oidPBE3DES         = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 1, 3}
	oidPBE2DES         = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 1, 4}
	oidDESEDE3CBC      = asn1.ObjectIdentifier{1, 2, 840, 113549, 3, 7}
	oidSHA1            = asn1.ObjectIdentifier{1, 3, 14, 3, 2, 26}
	oidSHA256          = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	oidSHA384          = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 2}
	oidSHA512          = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 3}
)

// hmacs are the PRFs of PBKDF2 and PBMAC1 by OID.
var hmacs = map[string]func() hash.Hash{
	"1.2.840.113549.2.7":  sha1.New,
	"1.2.840.113549.2.8":  sha256.New224,
	"1.2.840.113549.2.9":  sha256.New,
	"1.2.840.113549.2.10": sha512.New384,
	"1.2.840.113549.2.11": sha512.New,
}

// aesCBC are the AES-CBC OIDs by key length.
var aesCBC = map[string]int{
	"2.16.840.1.101.3.4.1.2":  16,
	"2.16.840.1.101.3.4.1.22": 24,
	"2.16.840.1.101.3.4.1.42": 32,
}

var (
	errPFXPassword = errors.New("pkcs12: the MAC does not match (wrong password)")
	errPFXBad      = errors.New("pkcs12: malformed")
)

// maxBagDepth bounds nested safe contents.
const maxBagDepth = 4

// pfxContents is what a PKCS #12 file holds.
type pfxContents struct {
	keys  []any
	certs []*x509.Certificate
}

// identity is the key whose certificate the file holds, that
// certificate, and the other certificates.
func (p *pfxContents) identity() (any, *x509.Certificate, []*x509.Certificate, error) {
	for _, k := range p.keys {
		pub, ok := k.(interface{ Public() crypto.PublicKey })
		if !ok {
			continue
		}
		for i, c := range p.certs {
			if eq, ok := c.PublicKey.(interface{ Equal(crypto.PublicKey) bool }); ok && eq.Equal(pub.Public()) {
				chain := append(append([]*x509.Certificate(nil), p.certs[:i]...), p.certs[i+1:]...)
				return k, c, chain, nil
			}
		}
	}
	if len(p.keys) == 0 {
		return nil, nil, nil, fmt.Errorf("%w: no private key", errPFXBad)
	}
	return nil, nil, nil, fmt.Errorf("%w: no certificate for the private key", errPFXBad)
}

// decodePFX reads a PKCS #12 file, BER or DER.
func decodePFX(data []byte, password string) (*pfxContents, error) {
	der, err := smime.DER(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errPFXBad, err)
	}
	in := cryptobyte.String(der)
	var pfx, authSafe, macData cryptobyte.String
	var version int
	var ct asn1.ObjectIdentifier
	if !in.ReadASN1(&pfx, cbasn1.SEQUENCE) || !pfx.ReadASN1Integer(&version) || version != 3 ||
		!pfx.ReadASN1(&authSafe, cbasn1.SEQUENCE) || !authSafe.ReadASN1ObjectIdentifier(&ct) || !ct.Equal(oidDataCT) {
		return nil, errPFXBad
	}
	var explicit cryptobyte.String
	var safe []byte
	if !authSafe.ReadASN1(&explicit, cbasn1.Tag(0).ContextSpecific().Constructed()) || !readOctetString(&explicit, &safe) {
		return nil, errPFXBad
	}
	// The MAC is over the authenticated safe as written (BER and all).
	if pfx.PeekASN1Tag(cbasn1.SEQUENCE) {
		if !pfx.ReadASN1(&macData, cbasn1.SEQUENCE) {
			return nil, errPFXBad
		}
		if err := checkMAC(macData, safe, password); err != nil {
			return nil, err
		}
	} else if password != "" {
		return nil, fmt.Errorf("%w: no MAC", errPFXBad)
	}
	authDER, err := smime.DER(safe)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errPFXBad, err)
	}
	as := cryptobyte.String(authDER)
	var infos cryptobyte.String
	if !as.ReadASN1(&infos, cbasn1.SEQUENCE) {
		return nil, errPFXBad
	}
	out := &pfxContents{}
	for !infos.Empty() {
		var ci, content cryptobyte.String
		var typ asn1.ObjectIdentifier
		if !infos.ReadASN1(&ci, cbasn1.SEQUENCE) || !ci.ReadASN1ObjectIdentifier(&typ) || !ci.ReadASN1(&content, cbasn1.Tag(0).ContextSpecific().Constructed()) {
			return nil, errPFXBad
		}
		var contents []byte
		switch {
		case typ.Equal(oidDataCT):
			if !readOctetString(&content, &contents) {
				return nil, errPFXBad
			}
		case typ.Equal(oidEncryptedDataCT):
			var ed, eci, ciphertext cryptobyte.String
			var v int
			var alg algorithmID
			var innerType asn1.ObjectIdentifier
			if !content.ReadASN1(&ed, cbasn1.SEQUENCE) || !ed.ReadASN1Integer(&v) || !ed.ReadASN1(&eci, cbasn1.SEQUENCE) ||
				!eci.ReadASN1ObjectIdentifier(&innerType) || !readAlgorithmID(&eci, &alg) {
				return nil, errPFXBad
			}
			var ctext []byte
			if !readImplicitOctets(&eci, &ctext) {
				return nil, errPFXBad
			}
			ciphertext = ctext
			if contents, err = pbeDecrypt(alg, ciphertext, password); err != nil {
				return nil, err
			}
		default:
			return nil, fmt.Errorf("%w: a safe of type %v", errPFXBad, typ)
		}
		if err := out.readBags(contents, password, 0); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// readBags reads a SafeContents (BER or DER) into out.
func (out *pfxContents) readBags(ber []byte, password string, depth int) error {
	if depth > maxBagDepth {
		return fmt.Errorf("%w: safe contents nested too deep", errPFXBad)
	}
	der, err := smime.DER(ber)
	if err != nil {
		return fmt.Errorf("%w: %v", errPFXBad, err)
	}
	in := cryptobyte.String(der)
	var bags cryptobyte.String
	if !in.ReadASN1(&bags, cbasn1.SEQUENCE) {
		return errPFXBad
	}
	for !bags.Empty() {
		var bag, value cryptobyte.String
		var id asn1.ObjectIdentifier
		if !bags.ReadASN1(&bag, cbasn1.SEQUENCE) || !bag.ReadASN1ObjectIdentifier(&id) || !bag.ReadASN1(&value, cbasn1.Tag(0).ContextSpecific().Constructed()) {
			return errPFXBad
		}
		switch {
		case id.Equal(oidShroudedKeyBag):
			var epki, enc cryptobyte.String
			var alg algorithmID
			if !value.ReadASN1(&epki, cbasn1.SEQUENCE) || !readAlgorithmID(&epki, &alg) || !epki.ReadASN1(&enc, cbasn1.OCTET_STRING) {
				return errPFXBad
			}
			plain, err := pbeDecrypt(alg, enc, password)
			if err != nil {
				return err
			}
			if value, err = smime.DER(plain); err != nil {
				return fmt.Errorf("%w: %v", errPFXBad, err)
			}
			fallthrough // decrypted, it is a keyBag's PrivateKeyInfo
		case id.Equal(oidKeyBag):
			key, err := x509.ParsePKCS8PrivateKey(value)
			if err != nil {
				return fmt.Errorf("%w: %v", errPFXBad, err)
			}
			out.keys = append(out.keys, key)
		case id.Equal(oidCertBag):
			var cb, cv cryptobyte.String
			var certType asn1.ObjectIdentifier
			var raw []byte
			if !value.ReadASN1(&cb, cbasn1.SEQUENCE) || !cb.ReadASN1ObjectIdentifier(&certType) ||
				!cb.ReadASN1(&cv, cbasn1.Tag(0).ContextSpecific().Constructed()) || !readOctetString(&cv, &raw) {
				return errPFXBad
			}
			if !certType.Equal(oidX509Cert) {
				continue // SDSI and other certificate kinds
			}
			c, err := x509.ParseCertificate(raw)
			if err != nil {
				return fmt.Errorf("%w: %v", errPFXBad, err)
			}
			out.certs = append(out.certs, c)
		case id.Equal(oidSafeContentsBag):
			var nested cryptobyte.String
			if !value.ReadASN1Element(&nested, cbasn1.SEQUENCE) {
				return errPFXBad
			}
			if err := out.readBags(nested, password, depth+1); err != nil {
				return err
			}
		}
		// CRL and secret bags hold nothing an identity needs.
	}
	return nil
}

// checkMAC checks the MacData (RFC 7292 section 4; PBMAC1 of RFC 9579)
// over the authenticated safe.
func checkMAC(macData cryptobyte.String, safe []byte, password string) error {
	var digestInfo cryptobyte.String
	var alg algorithmID
	var digest, salt []byte
	iterations := int64(1)
	if !macData.ReadASN1(&digestInfo, cbasn1.SEQUENCE) || !readAlgorithmID(&digestInfo, &alg) ||
		!digestInfo.ReadASN1Bytes(&digest, cbasn1.OCTET_STRING) || !macData.ReadASN1Bytes(&salt, cbasn1.OCTET_STRING) {
		return errPFXBad
	}
	if !macData.Empty() && !macData.ReadASN1Int64WithTag(&iterations, cbasn1.INTEGER) {
		return errPFXBad
	}
	if iterations < 1 || iterations > maxIterations {
		return fmt.Errorf("%w: %d MAC iterations", errPFXBad, iterations)
	}
	if alg.oid.Equal(oidPBMAC1) {
		p := cryptobyte.String(alg.params)
		var params cryptobyte.String
		var kdf, macAlg algorithmID
		if !p.ReadASN1(&params, cbasn1.SEQUENCE) || !readAlgorithmID(&params, &kdf) || !readAlgorithmID(&params, &macAlg) || !kdf.oid.Equal(oidPBKDF2) {
			return errPFXBad
		}
		h, ok := hmacs[macAlg.oid.String()]
		if !ok {
			return fmt.Errorf("%w: the MAC %v", errPFXUnsupported, macAlg.oid)
		}
		key, err := pbkdf2Key(kdf.params, password, 0)
		if err != nil {
			return err
		}
		m := hmac.New(h, key)
		m.Write(safe)
		if subtle.ConstantTimeCompare(m.Sum(nil), digest) != 1 {
			return errPFXPassword
		}
		return nil
	}
	var h func() hash.Hash
	var v int
	switch {
	case alg.oid.Equal(oidSHA1):
		h, v = sha1.New, 64
	case alg.oid.Equal(oidSHA256):
		h, v = sha256.New, 64
	case alg.oid.Equal(oidSHA384):
		h, v = sha512.New384, 128
	case alg.oid.Equal(oidSHA512):
		h, v = sha512.New, 128
	default:
		return fmt.Errorf("%w: the MAC %v", errPFXUnsupported, alg.oid)
	}
	for _, pw := range bmpPasswords(password) {
		key := pkcs12KDF(h, v, pw, salt, 3, int(iterations), h().Size())
		m := hmac.New(h, key)
		m.Write(safe)
		if subtle.ConstantTimeCompare(m.Sum(nil), digest) == 1 {
			return nil
		}
	}
	return errPFXPassword
}

// maxIterations bounds the work a hostile file can ask for.
const maxIterations = 1_000_000

// bmpPasswords are the forms of password PKCS #12's own KDF is given:
// BMPString with its terminator, and for the empty password also none at
// all (implementations differ).
func bmpPasswords(password string) [][]byte {
	var b []byte
	for _, r := range utf16.Encode([]rune(password)) {
		b = append(b, byte(r>>8), byte(r))
	}
	b = append(b, 0, 0)
	if password == "" {
		return [][]byte{b, nil}
	}
	return [][]byte{b}
}

// pkcs12KDF is the key derivation of RFC 7292 appendix B.2: id 1 gives
// keys, 2 IVs, 3 MAC keys; v is the hash's block size.
func pkcs12KDF(h func() hash.Hash, v int, password, salt []byte, id byte, iterations, n int) []byte {
	fill := func(s []byte) []byte {
		if len(s) == 0 {
			return nil
		}
		out := make([]byte, v*((len(s)+v-1)/v))
		for i := range out {
			out[i] = s[i%len(s)]
		}
		return out
	}
	d := bytes.Repeat([]byte{id}, v)
	i := append(fill(salt), fill(password)...)
	var out []byte
	for len(out) < n {
		hh := h()
		hh.Write(d)
		hh.Write(i)
		a := hh.Sum(nil)
		for k := 1; k < iterations; k++ {
			hh = h()
			hh.Write(a)
			a = hh.Sum(a[:0])
		}
		out = append(out, a...)
		// I_j = (I_j + B + 1) mod 2^(8v), B being A repeated to v bytes.
		b := make([]byte, v)
		for k := range b {
			b[k] = a[k%len(a)]
		}
		for j := 0; j < len(i); j += v {
			carry := 1
			for k := v - 1; k >= 0; k-- {
				sum := int(i[j+k]) + int(b[k]) + carry
				i[j+k], carry = byte(sum), sum>>8
			}
		}
	}
	return out[:n]
}

// pbeDecrypt decrypts a PKCS #12 or PBES2-protected piece.
func pbeDecrypt(alg algorithmID, ciphertext []byte, password string) ([]byte, error) {
	switch {
	case alg.oid.Equal(oidPBES2):
		p := cryptobyte.String(alg.params)
		var params cryptobyte.String
		var kdf, enc algorithmID
		if !p.ReadASN1(&params, cbasn1.SEQUENCE) || !readAlgorithmID(&params, &kdf) || !readAlgorithmID(&params, &enc) || !kdf.oid.Equal(oidPBKDF2) {
			return nil, errPFXBad
		}
		var keyLen int
		var block func([]byte) (cipher.Block, error)
		if n, ok := aesCBC[enc.oid.String()]; ok {
			keyLen, block = n, aes.NewCipher
		} else if enc.oid.Equal(oidDESEDE3CBC) {
			keyLen, block = 24, des.NewTripleDESCipher
		} else {
			return nil, fmt.Errorf("%w: the encryption %v", errPFXUnsupported, enc.oid)
		}
		ivs := cryptobyte.String(enc.params)
		var iv []byte
		if !ivs.ReadASN1Bytes(&iv, cbasn1.OCTET_STRING) {
			return nil, errPFXBad
		}
		// PBES2 takes the password as UTF-8 (OpenSSL, NSS); some old
		// writers gave it as BMPString: both are tried.
		for _, pw := range append([]string{password}, bmpString(password)) {
			key, err := pbkdf2Key(kdf.params, pw, keyLen)
			if err != nil {
				return nil, err
			}
			if plain, err := cbcDecrypt(block, key, iv, ciphertext); err == nil {
				return plain, nil
			}
		}
		return nil, errPFXPassword
	case alg.oid.Equal(oidPBE3DES), alg.oid.Equal(oidPBE2DES):
		_, salt, iterations, ok := readSaltIterations(alg.params) // pkcs-12PbeParams
		if !ok {
			return nil, errPFXBad
		}
		for _, pw := range bmpPasswords(password) {
			key := pkcs12KDF(sha1.New, 64, pw, salt, 1, iterations, 24)
			if alg.oid.Equal(oidPBE2DES) {
				copy(key[16:], key[:8])
			}
			iv := pkcs12KDF(sha1.New, 64, pw, salt, 2, iterations, 8)
			if plain, err := cbcDecrypt(des.NewTripleDESCipher, key, iv, ciphertext); err == nil {
				return plain, nil
			}
		}
		return nil, errPFXPassword
	}
	return nil, fmt.Errorf("%w: the encryption %v", errPFXUnsupported, alg.oid)
}

var errPFXUnsupported = errors.New("pkcs12: unsupported")

// bmpString is password as UTF-16 big-endian bytes, terminated.
func bmpString(password string) string { return string(bmpPasswords(password)[0]) }

// pbkdf2Key derives a key from PBKDF2-params (RFC 8018 appendix A.2);
// keyLen 0 takes the length the parameters give.
func pbkdf2Key(params []byte, password string, keyLen int) ([]byte, error) {
	seq, salt, iterations, ok := readSaltIterations(params)
	if !ok {
		return nil, errPFXBad
	}
	if seq.PeekASN1Tag(cbasn1.INTEGER) {
		var n int64
		if !seq.ReadASN1Int64WithTag(&n, cbasn1.INTEGER) || n < 1 || n > 64 {
			return nil, errPFXBad
		}
		if keyLen == 0 {
			keyLen = int(n)
		}
	}
	prf := sha1.New
	if !seq.Empty() {
		var a algorithmID
		if !readAlgorithmID(&seq, &a) {
			return nil, errPFXBad
		}
		if prf, ok = hmacs[a.oid.String()]; !ok {
			return nil, fmt.Errorf("%w: the PRF %v", errPFXUnsupported, a.oid)
		}
	}
	if keyLen == 0 {
		return nil, errPFXBad
	}
	return pbkdf2.Key(prf, password, salt, iterations, keyLen)
}

// readSaltIterations reads the SEQUENCE that PKCS #12's PBE parameters
// and PBKDF2's both begin with, a salt and an iteration count, the count
// bounded by maxIterations. rest is what of the SEQUENCE follows.
func readSaltIterations(params []byte) (rest cryptobyte.String, salt []byte, iterations int, ok bool) {
	p := cryptobyte.String(params)
	var n int64
	if !p.ReadASN1(&rest, cbasn1.SEQUENCE) || !rest.ReadASN1Bytes(&salt, cbasn1.OCTET_STRING) || !rest.ReadASN1Int64WithTag(&n, cbasn1.INTEGER) ||
		n < 1 || n > maxIterations {
		return nil, nil, 0, false
	}
	return rest, salt, int(n), true
}

// cbcDecrypt decrypts CBC with PKCS #7 padding, which it checks.
func cbcDecrypt(newBlock func([]byte) (cipher.Block, error), key, iv, ciphertext []byte) ([]byte, error) {
	b, err := newBlock(key)
	if err != nil {
		return nil, err
	}
	bs := b.BlockSize()
	if len(iv) != bs || len(ciphertext) == 0 || len(ciphertext)%bs != 0 {
		return nil, errPFXBad
	}
	plain := make([]byte, len(ciphertext))
	cipher.NewCBCDecrypter(b, iv).CryptBlocks(plain, ciphertext)
	n := int(plain[len(plain)-1])
	if n == 0 || n > bs {
		return nil, errPFXPassword
	}
	for _, c := range plain[len(plain)-n:] {
		if int(c) != n {
			return nil, errPFXPassword
		}
	}
	return plain[:len(plain)-n], nil
}

// algorithmID is an AlgorithmIdentifier: its OID and its parameters'
// full encoding.
type algorithmID struct {
	oid    asn1.ObjectIdentifier
	params []byte
}

func readAlgorithmID(s *cryptobyte.String, a *algorithmID) bool {
	var seq cryptobyte.String
	if !s.ReadASN1(&seq, cbasn1.SEQUENCE) || !seq.ReadASN1ObjectIdentifier(&a.oid) {
		return false
	}
	if !seq.Empty() {
		var p cryptobyte.String
		if !seq.ReadAnyASN1Element(&p, nil) {
			return false
		}
		a.params = p
	}
	return true
}

// readOctetString reads an OCTET STRING (joined by smime.DER when it was
// constructed).
func readOctetString(s *cryptobyte.String, out *[]byte) bool {
	return s.ReadASN1Bytes(out, cbasn1.OCTET_STRING)
}

// readImplicitOctets reads EncryptedContentInfo's [0] IMPLICIT OCTET
// STRING, primitive or, in BER, constructed of OCTET STRING chunks.
func readImplicitOctets(s *cryptobyte.String, out *[]byte) bool {
	prim := cbasn1.Tag(0).ContextSpecific()
	if s.PeekASN1Tag(prim) {
		return s.ReadASN1Bytes(out, prim)
	}
	var cons cryptobyte.String
	if !s.ReadASN1(&cons, prim.Constructed()) {
		return false
	}
	var all []byte
	for !cons.Empty() {
		var chunk []byte
		if !cons.ReadASN1Bytes(&chunk, cbasn1.OCTET_STRING) {
			return false
		}
		all = append(all, chunk...)
	}
	*out = all
	return true
}
