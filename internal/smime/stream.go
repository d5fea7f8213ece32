package smime

import (
	"bufio"
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"io"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// SignEncrypt clear-signs a MIME entity with id and encrypts the signed
// entity for recipients, as SignEntity and then EncryptEntity do, and
// writes the application/pkcs7-mime entity to w.
//
// It holds one copy of the mail: the entity is read from r (size bytes)
// into the buffer that becomes the multipart/signed entity, hashed there,
// encrypted there in place, and written out through a base64 encoder
// with the DER around it, never assembled. Input with bare LF line ends
// is made canonical first (a second copy).
func SignEncrypt(w io.Writer, r io.Reader, size int64, id Identity, recipients []Recipient, c Cipher) error {
	if len(recipients) == 0 {
		return &Error{Reason: NoRecipients}
	}
	boundary := newBoundary()
	head := signedHead(boundary)
	// Room after the entity for the signature part (the certificates are
	// most of it) and the cipher's tag or padding.
	slack := 8<<10 + 2*len(id.Cert.Raw)
	for _, ch := range id.Chain {
		slack += 2 * len(ch.Raw)
	}
	buf := make([]byte, len(head), len(head)+int(size)+slack)
	copy(buf, head)
	buf = buf[:len(head)+int(size)]
	if _, err := io.ReadFull(r, buf[len(head):]); err != nil {
		return err
	}
	if entity := buf[len(head):]; bareLFs(entity) > 0 {
		buf = append(buf[:len(head):len(head)], canonical(entity)...)
	}
	entity := buf[len(head):]
	digest := sha256.Sum256(entity)
	sig, err := signDigest(digest[:], nil, id, SignOptions{Detached: true})
	if err != nil {
		return err
	}
	var tail bytes.Buffer
	writeSignaturePart(&tail, boundary, sig)
	buf = append(buf, tail.Bytes()...)

	env, err := newEnvelope(buf, recipients, c)
	if err != nil {
		return err
	}
	typ := "authEnveloped-data"
	if c == AES256CBC {
		typ = "enveloped-data"
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	bw.WriteString(pkcs7Head(typ))
	lw := &lineWriter{w: bw}
	enc := base64.NewEncoder(base64.StdEncoding, lw)
	for _, part := range [][]byte{env.head, env.content, env.tail} {
		if _, err := enc.Write(part); err != nil {
			return err
		}
	}
	if err := enc.Close(); err != nil {
		return err
	}
	if err := lw.end(); err != nil {
		return err
	}
	return bw.Flush()
}

// envelope is an EnvelopedData or AuthEnvelopedData ContentInfo in three
// pieces: the DER before the encrypted content, the content (encrypted
// in the caller's buffer), and the DER after it.
type envelope struct {
	head, content, tail []byte
}

// newEnvelope encrypts plain in place (its capacity must allow 16 more
// bytes, for the GCM tag or the CBC padding) for recipients.
func newEnvelope(plain []byte, recipients []Recipient, c Cipher) (*envelope, error) {
	cek := make([]byte, 32)
	if _, err := rand.Read(cek); err != nil {
		return nil, err
	}
	infos := make([][]byte, len(recipients))
	version := 0
	for i, r := range recipients {
		ri, v, err := recipientInfo(cek, r)
		if err != nil {
			return nil, err
		}
		infos[i] = ri
		if v != 0 {
			version = 2
		}
	}
	block, err := aes.NewCipher(cek)
	if err != nil {
		return nil, err
	}
	var alg algorithm
	var ct, mac []byte
	typ := oidAuthEnvelopedData
	if c == AES256CBC {
		typ = oidEnvelopedData
		iv := make([]byte, aes.BlockSize)
		if _, err := rand.Read(iv); err != nil {
			return nil, err
		}
		pad := aes.BlockSize - len(plain)%aes.BlockSize
		ct = plain
		for range pad {
			ct = append(ct, byte(pad))
		}
		cipher.NewCBCEncrypter(block, iv).CryptBlocks(ct, ct)
		ivParam := cryptobyte.NewBuilder(nil)
		ivParam.AddASN1OctetString(iv)
		alg = algorithm{oidAES256CBC, ivParam.BytesOrPanic()}
	} else {
		version = 0 // AuthEnvelopedData is always version 0
		gcm, err := cipher.NewGCM(block)
		if err != nil {
			return nil, err
		}
		nonce := make([]byte, gcm.NonceSize())
		if _, err := rand.Read(nonce); err != nil {
			return nil, err
		}
		sealed := gcm.Seal(plain[:0], nonce, plain, nil)
		ct, mac = sealed[:len(plain)], sealed[len(plain):]
		params := cryptobyte.NewBuilder(nil)
		params.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1OctetString(nonce)
			b.AddASN1Int64(int64(len(mac)))
		})
		alg = algorithm{oidAES256GCM, params.BytesOrPanic()}
	}
	// The pieces that surround the encrypted content, each whole DER.
	b := cryptobyte.NewBuilder(nil)
	b.AddASN1Int64(int64(version))
	b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
		for _, ri := range sortedSet(infos) {
			b.AddBytes(ri)
		}
	})
	before := b.BytesOrPanic()
	eciHead := cryptobyte.NewBuilder(nil)
	eciHead.AddASN1ObjectIdentifier(oidData)
	addAlgorithm(eciHead, alg)
	eciStart := eciHead.BytesOrPanic()
	var after []byte
	if mac != nil {
		m := cryptobyte.NewBuilder(nil)
		m.AddASN1OctetString(mac)
		after = m.BytesOrPanic()
	}
	oid := cryptobyte.NewBuilder(nil)
	oid.AddASN1ObjectIdentifier(typ)
	oidDER := oid.BytesOrPanic()

	// Lengths from the inside out.
	ctTLV := tlvLen(len(ct))
	eciLen := len(eciStart) + ctTLV
	seqLen := len(before) + tlvLen(eciLen) + len(after)
	explicitLen := tlvLen(seqLen)
	ciLen := len(oidDER) + tlvLen(explicitLen)

	var head []byte
	head = appendHeader(head, 0x30, ciLen) // ContentInfo
	head = append(head, oidDER...)
	head = appendHeader(head, 0xa0, explicitLen) // [0] EXPLICIT
	head = appendHeader(head, 0x30, seqLen)      // (Auth)EnvelopedData
	head = append(head, before...)
	head = appendHeader(head, 0x30, eciLen) // EncryptedContentInfo
	head = append(head, eciStart...)
	head = appendHeader(head, 0x80, len(ct)) // [0] IMPLICIT OCTET STRING
	return &envelope{head: head, content: ct, tail: after}, nil
}

// tlvLen is the size of a DER element whose content is n bytes.
func tlvLen(n int) int { return len(appendHeader(nil, 0, n)) + n }

// appendHeader appends a DER tag and definite length.
func appendHeader(b []byte, tag byte, n int) []byte {
	b = append(b, tag)
	if n < 0x80 {
		return append(b, byte(n))
	}
	var l []byte
	for v := n; v > 0; v >>= 8 {
		l = append([]byte{byte(v)}, l...)
	}
	b = append(b, 0x80|byte(len(l)))
	return append(b, l...)
}

// lineWriter breaks what is written into lines of 76 characters ending
// in CRLF (RFC 2045's base64 lines).
type lineWriter struct {
	w   *bufio.Writer
	col int
}

func (l *lineWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		k := min(76-l.col, len(p))
		if _, err := l.w.Write(p[:k]); err != nil {
			return 0, err
		}
		p, l.col = p[k:], l.col+k
		if l.col == 76 {
			if _, err := l.w.WriteString("\r\n"); err != nil {
				return 0, err
			}
			l.col = 0
		}
	}
	return n, nil
}

// end closes the last line.
func (l *lineWriter) end() error {
	if l.col > 0 {
		_, err := l.w.WriteString("\r\n")
		return err
	}
	return nil
}
