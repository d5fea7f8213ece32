package smime

import (
	"bufio"
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"io"
	"os"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// Source gives a MIME entity as a stream, from its start, each time it is
// called: SignEncrypt reads it twice, and the two reads must give the
// same bytes.
type Source func() (io.ReadCloser, error)

// BytesSource is an entity in memory.
func BytesSource(b []byte) Source {
	return func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
}

// FileSource is an entity in a file.
func FileSource(path string) Source {
	return func() (io.ReadCloser, error) { return os.Open(path) }
}

// ErrChanged is returned when an entity read a second time is not what
// was signed the first: the file changed while it was sent.
var ErrChanged = errors.New("smime: the content changed while it was signed")

// SignEncrypt clear-signs a MIME entity with id and encrypts the signed
// entity for recipients, as SignEntity and then EncryptEntity do, and
// writes the application/pkcs7-mime entity to w.
//
// It streams, in memory that does not grow with the mail: the entity is
// read once to be hashed and signed, then again to be encrypted (as one
// GCM message, gcmstream.go, or CBC) and written out through a base64
// encoder, with the DER around it in definite lengths, known from the
// first read. Input with bare LF line ends is made canonical on the way.
// A second read that differs from the first fails with ErrChanged; what
// was written to w by then is to be thrown away.
func SignEncrypt(w io.Writer, entity Source, id Identity, recipients []Recipient, c Cipher) error {
	if len(recipients) == 0 {
		return &Error{Reason: NoRecipients}
	}
	digest, n, err := hashCanonical(entity, nil)
	if err != nil {
		return err
	}
	sig, err := signDigest(digest, nil, id, SignOptions{Detached: true})
	if err != nil {
		return err
	}
	boundary := newBoundary()
	head := signedHead(boundary)
	var tail bytes.Buffer
	writeSignaturePart(&tail, boundary, sig)

	env, err := newEnvelope(int64(len(head))+n+int64(tail.Len()), recipients, c)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	bw.WriteString(pkcs7Head(env.smimeType()))
	lw := &lineWriter{w: bw}
	b64 := base64.NewEncoder(base64.StdEncoding, lw)
	if _, err := b64.Write(env.head); err != nil {
		return err
	}
	enc, err := env.encrypter(b64)
	if err != nil {
		return err
	}
	enc.Write([]byte(head))
	again, m, err := hashCanonical(entity, enc)
	if err != nil {
		return err
	}
	if m != n || !bytes.Equal(again, digest) {
		return ErrChanged
	}
	if _, err := enc.Write(tail.Bytes()); err != nil {
		return err
	}
	if err := enc.Close(); err != nil {
		return err
	}
	if err := b64.Close(); err != nil {
		return err
	}
	if err := lw.end(); err != nil {
		return err
	}
	return bw.Flush()
}

// hashCanonical reads the entity, with bare LFs made CRLF, into SHA-256
// and into also (when set), and returns the digest and the length.
func hashCanonical(entity Source, also io.Writer) ([]byte, int64, error) {
	r, err := entity()
	if err != nil {
		return nil, 0, err
	}
	defer r.Close()
	h := sha256.New()
	var w io.Writer = h
	if also != nil {
		w = io.MultiWriter(h, also)
	}
	cw := &canonicalWriter{w: w}
	if _, err := io.Copy(cw, r); err != nil {
		return nil, 0, err
	}
	return h.Sum(nil), cw.n, nil
}

// canonicalWriter writes what it is given with bare LF line ends made
// CRLF, also across writes, and counts what it wrote. Canonical input
// (all that sikkermail builds) passes through in one write.
type canonicalWriter struct {
	w      io.Writer
	lastCR bool
	n      int64
}

func (c *canonicalWriter) Write(p []byte) (int, error) {
	start := 0
	for i := 0; i < len(p); {
		j := bytes.IndexByte(p[i:], '\n')
		if j < 0 {
			break
		}
		at := i + j
		if !(at == 0 && c.lastCR) && !(at > 0 && p[at-1] == '\r') {
			if err := c.put(p[start:at]); err != nil {
				return 0, err
			}
			if err := c.put([]byte{'\r'}); err != nil {
				return 0, err
			}
			start = at
		}
		i = at + 1
	}
	if err := c.put(p[start:]); err != nil {
		return 0, err
	}
	if len(p) > 0 {
		c.lastCR = p[len(p)-1] == '\r'
	}
	return len(p), nil
}

func (c *canonicalWriter) put(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	k, err := c.w.Write(b)
	c.n += int64(k)
	return err
}

// envelope is an EnvelopedData or AuthEnvelopedData ContentInfo for a
// content of a known length: the DER before the encrypted content, and
// then the content encrypted as it is written (encrypter), which ends
// with the DER after it.
type envelope struct {
	head  []byte
	c     Cipher
	block cipher.Block
	// iv is the CBC IV or the GCM nonce.
	iv []byte
	n  int64
}

func (e *envelope) smimeType() string {
	if e.c == AES256CBC {
		return "enveloped-data"
	}
	return "authEnveloped-data"
}

// ciphertextLen is how long n bytes are encrypted: as long for GCM (the
// tag goes after), padded to a whole block for CBC.
func ciphertextLen(n int64, c Cipher) int64 {
	if c == AES256CBC {
		return (n/aes.BlockSize + 1) * aes.BlockSize
	}
	return n
}

// newEnvelope makes a content key and the envelope's head for n bytes of
// content for recipients.
func newEnvelope(n int64, recipients []Recipient, c Cipher) (*envelope, error) {
	if c != AES256CBC && n > maxGCM {
		return nil, errors.New("smime: too much content for one GCM message")
	}
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
	e := &envelope{c: c, block: block, n: n}
	var alg algorithm
	var after int // the DER after the content
	typ := oidAuthEnvelopedData
	if c == AES256CBC {
		typ = oidEnvelopedData
		e.iv = make([]byte, aes.BlockSize)
		if _, err := rand.Read(e.iv); err != nil {
			return nil, err
		}
		ivParam := cryptobyte.NewBuilder(nil)
		ivParam.AddASN1OctetString(e.iv)
		alg = algorithm{oidAES256CBC, ivParam.BytesOrPanic()}
	} else {
		version = 0 // AuthEnvelopedData is always version 0
		e.iv = make([]byte, 12)
		if _, err := rand.Read(e.iv); err != nil {
			return nil, err
		}
		params := cryptobyte.NewBuilder(nil)
		params.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1OctetString(e.iv)
			b.AddASN1Int64(tagSize)
		})
		alg = algorithm{oidAES256GCM, params.BytesOrPanic()}
		after = tlvLen(tagSize) // mac OCTET STRING
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
	oid := cryptobyte.NewBuilder(nil)
	oid.AddASN1ObjectIdentifier(typ)
	oidDER := oid.BytesOrPanic()

	// Lengths from the inside out.
	ct := int(ciphertextLen(n, c))
	ctTLV := tlvLen(ct)
	eciLen := len(eciStart) + ctTLV
	seqLen := len(before) + tlvLen(eciLen) + after
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
	head = appendHeader(head, 0x80, ct) // [0] IMPLICIT OCTET STRING
	e.head = head
	return e, nil
}

// tagSize is the GCM tag's length.
const tagSize = 16

// encrypter returns the writer that encrypts the envelope's content to
// out; its Close writes the padding (CBC) or the mac (GCM) and checks
// that exactly the announced length was written.
func (e *envelope) encrypter(out io.Writer) (*contentWriter, error) {
	cw := &contentWriter{e: e, out: out}
	if e.c == AES256CBC {
		cw.cbc = cipher.NewCBCEncrypter(e.block, e.iv)
		cw.pending = make([]byte, 0, cbcChunk+aes.BlockSize)
		return cw, nil
	}
	var err error
	cw.gcm, err = newGCMSealer(e.block, e.iv, func(b []byte) error { _, err := out.Write(b); return err })
	return cw, err
}

// contentWriter encrypts an envelope's content as it is written.
type contentWriter struct {
	e       *envelope
	out     io.Writer
	gcm     *gcmSealer
	cbc     cipher.BlockMode
	pending []byte // CBC: not yet encrypted, less than cbcChunk
	n       int64
	err     error
}

func (w *contentWriter) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	w.n += int64(len(p))
	if w.n > w.e.n {
		w.err = errors.New("smime: more content than announced")
		return 0, w.err
	}
	if w.gcm != nil {
		_, w.err = w.gcm.Write(p)
		return len(p), w.err
	}
	for q := p; len(q) > 0; {
		k := min(len(q), cbcChunk-len(w.pending))
		w.pending = append(w.pending, q[:k]...)
		q = q[k:]
		if len(w.pending) == cbcChunk {
			w.cbc.CryptBlocks(w.pending, w.pending)
			if _, w.err = w.out.Write(w.pending); w.err != nil {
				return 0, w.err
			}
			w.pending = w.pending[:0]
		}
	}
	return len(p), nil
}

// cbcChunk is how much CBC content is encrypted at a time (whole blocks).
const cbcChunk = 64 << 10

// Close ends the content.
func (w *contentWriter) Close() error {
	if w.err != nil {
		return w.err
	}
	if w.n != w.e.n {
		return errors.New("smime: less content than announced")
	}
	if w.gcm != nil {
		tag, err := w.gcm.Close()
		if err != nil {
			return err
		}
		_, err = w.out.Write(appendTLV(nil, []byte{0x04}, tag))
		return err
	}
	pad := aes.BlockSize - len(w.pending)%aes.BlockSize
	for range pad {
		w.pending = append(w.pending, byte(pad))
	}
	w.cbc.CryptBlocks(w.pending, w.pending)
	_, err := w.out.Write(w.pending)
	return err
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
