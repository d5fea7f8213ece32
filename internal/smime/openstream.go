package smime

import (
	"bufio"
	"bytes"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/asn1"
	"errors"
	"hash"
	"io"
	"mime"
	"strings"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// Opening a message of any size in memory that does not grow with it.
//
// OpenStream takes the commonest large message, an encrypted one holding
// a clear-signed entity that opens and verifies, through in two passes: the envelope is read and
// decrypted as a stream into a spool (the caller's, sealed: the content
// is not to be trusted, nor shown, before the tag is checked), and the
// signed entity is then read from the spool twice: once to find its
// parts by the delimiters, hash the first as it passes and verify the
// signature, and once to write that first part out. Every other shape,
// and every message that does not open or verify, is opened by the same
// code as Open, in memory, so that failures are told exactly as Open
// tells them. What it tells is what
// Open tells (TestOpenStreamAgreesWithOpen); its Entity is empty, since
// the entity went to out.

// Spool keeps what is decrypted while it is read again: Create starts it
// (the one before is gone), Open reads it from its start, as often as
// asked.
type Spool interface {
	Create() (io.WriteCloser, error)
	Open() (io.ReadCloser, error)
}

// errUnusual is a message OpenStream leaves to the in-memory opening: a
// shape, an encoding or a size its streaming does not take.
var errUnusual = errors.New("smime: not for streaming")

// maxPiece bounds what OpenStream holds of a message at once: a header,
// the recipient infos, a signature part, a line that could be a
// delimiter.
const maxPiece = 4 << 20

// OpenStream opens the message src gives (read more than once) as Open
// would, and writes what Open would return as Entity to out, only when
// the opening succeeds; when it fails after writing began (the content
// changed between reads: ErrChanged), what was written is to be thrown
// away. spool keeps the decrypted content between its reads.
func OpenStream(src Source, ids []Identity, p *Trust, spool Spool, out io.Writer) (*Opened, error) {
	o, err := openStream(src, ids, p, spool, out)
	if !errors.Is(err, errUnusual) {
		return o, err
	}
	r, err := src()
	if err != nil {
		return &Opened{}, err
	}
	defer r.Close()
	o, err = OpenReader(r, -1, ids, p)
	if err == nil {
		_, err = out.Write(o.Entity)
	}
	return o, err
}

func openStream(src Source, ids []Identity, p *Trust, spool Spool, out io.Writer) (*Opened, error) {
	r, err := src()
	if err != nil {
		return &Opened{}, err
	}
	defer r.Close()
	outer, err := readOuter(bufio.NewReaderSize(r, 64<<10))
	if err != nil || outer.body == nil || outer.signed || spool == nil {
		return nil, errUnusual
	}
	w, err := spool.Create()
	if err != nil {
		return &Opened{}, err
	}
	der := bufio.NewReaderSize(outer.body, 64<<10)
	cw := &canonicalWriter{w: w}
	d, err := streamDecryptAny(der, ids, cw)
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		// A message that does not open is told by the opening in memory,
		// so that its reason is exactly Open's.
		return nil, errUnusual
	}
	h := outer.header
	o := &Opened{Entity: outer.head, From: addresses(h.Get("From")), Sender: addresses(h.Get("Sender"))}
	o.Layers = append(o.Layers, Layer{Kind: LayerEncrypted, Decrypted: d})
	return o.streamSigned(1, spool.Open, ids, p, out)
}

// streamSigned goes on with the decrypted content in the spool, at depth.
// A clear-signed entity is verified as it streams by; anything else is
// read into memory and opened as Open does.
func (o *Opened) streamSigned(depth int, open func() (io.ReadCloser, error), ids []Identity, p *Trust, out io.Writer) (*Opened, error) {
	// inMemory opens the n bytes at off (all, for n < 0) as Open would at
	// that depth: the decrypted content (at) is made an entity first.
	inMemory := func(off, n int64, at int, content bool) (*Opened, error) {
		b, err := readRange(open, off, n)
		if err != nil {
			return o, err
		}
		if content {
			o.setContent(b)
		} else {
			o.Entity = b
		}
		res, err := o.open(at, nil, ids, p)
		if err == nil {
			_, err = out.Write(res.Entity)
		}
		res.Entity = nil
		return res, err
	}
	r, err := open()
	if err != nil {
		return o, err
	}
	defer r.Close()
	br := bufio.NewReaderSize(r, 64<<10)
	head, err := readHeaderBlock(br)
	if err != nil || !isEntity(head) {
		return inMemory(0, -1, depth, true)
	}
	hdr, _, err := splitEntity(head)
	if err != nil {
		return inMemory(0, -1, depth, true)
	}
	mt, params, _ := mime.ParseMediaType(hdr.Get("Content-Type"))
	if mt != "multipart/signed" || depth >= maxLayers {
		return inMemory(0, -1, depth, true)
	}
	// Streamed only while all is well: anything that fails is told by
	// the opening in memory, so that it is told exactly as Open tells it.
	boundary, err := signedBoundary(params)
	if err != nil {
		return inMemory(0, -1, depth, true)
	}
	parts, err := scanSigned(br, int64(len(head)), boundary)
	if err != nil || !parts.closed || parts.starts != 2 {
		return inMemory(0, -1, depth, true)
	}
	sig, err := signaturePart(parts.sig)
	if err != nil {
		return inMemory(0, -1, depth, true)
	}
	v, verr := verifyDetached(sig, parts.digest, p)
	if v == nil || verr != nil {
		return inMemory(0, -1, depth, true)
	}
	ih, _, err := splitEntity(parts.head)
	if err != nil {
		return inMemory(0, -1, depth, true)
	}
	o.Layers = append(o.Layers, Layer{Kind: LayerSigned, Verified: v})
	// The signed entity: a layer in turn is opened in memory; anything
	// else ends the opening here, with its header as the protected one.
	imt, iparams, _ := mime.ParseMediaType(ih.Get("Content-Type"))
	whole := bytes.Contains(parts.head, []byte("\r\n\r\n")) || len(parts.head) < maxPiece
	if isLayer(imt) || imt == "message/rfc822" && !strings.EqualFold(iparams["forwarded"], "yes") || !whole {
		return inMemory(parts.off, parts.n, depth+1, false)
	}
	if o.Protected == nil {
		o.Protected = protectedHeader(ih)
	}
	// Written out as it is read a last time, and hashed again: what is
	// written is what was verified, or the opening fails (a spool that
	// changed in between), and the caller drops what it got.
	h := sha256.New()
	if err := copyRange(open, io.MultiWriter(out, h), parts.off, parts.n); err != nil {
		return o, err
	}
	if !bytes.Equal(h.Sum(nil), parts.digest(crypto.SHA256)) {
		return o, ErrChanged
	}
	if streamed != nil {
		streamed()
	}
	return o, nil
}

// streamed, when set (by tests), is called each time a message went the
// streaming way to its end: agreeing with Open proves little of a path
// that was not taken.
var streamed func()

// signedParts is what scanSigned found in a multipart/signed body: where
// the signed entity is, its digests, the head of it, and the signature
// part.
type signedParts struct {
	closed bool
	starts int
	off, n int64
	digest func(crypto.Hash) []byte
	head   []byte
	sig    []byte
}

// scanSigned reads a multipart/signed body from br (at offset base in the
// entity) by the rules splitSigned keeps: a delimiter is "--boundary" at
// the start of a line (after CRLF, or first), followed by only blanks to
// the line's CRLF, or by "--" (the close); the CRLF before a delimiter
// is the delimiter's. The first part is hashed as it passes, without its
// last CRLF until the next line says whether it is the part's.
func scanSigned(br *bufio.Reader, base int64, boundary string) (*signedParts, error) {
	delim := []byte("--" + boundary)
	hashes := map[crypto.Hash]hash.Hash{crypto.SHA256: sha256.New(), crypto.SHA384: sha512.New384(), crypto.SHA512: sha512.New()}
	out := &signedParts{digest: func(h crypto.Hash) []byte {
		if d, ok := hashes[h]; ok {
			return d.Sum(nil)
		}
		return nil
	}}
	part := -1 // 0: the signed entity, 1: the signature, -1 neither
	var held []byte
	put := func(b []byte) {
		switch part {
		case 0:
			for _, d := range hashes {
				d.Write(b)
			}
			if len(out.head) < maxPiece {
				out.head = append(out.head, b[:min(len(b), maxPiece-len(out.head))]...)
			}
			out.n += int64(len(b))
		case 1:
			out.sig = append(out.sig, b...)
		}
	}
	pos, lineStart := base, true
	for !out.closed {
		line, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			if lineStart && bytes.HasPrefix(line, delim) {
				return nil, errUnusual // a delimiter line this long is left to the whole
			}
			put(held)
			held = nil
			put(line)
			pos += int64(len(line))
			lineStart = false
			continue
		}
		if err != nil && err != io.EOF {
			return nil, err
		}
		if len(line) == 0 && err == io.EOF {
			break
		}
		if lineStart && bytes.HasPrefix(line, delim) {
			after := line[len(delim):]
			isClose := bytes.HasPrefix(after, []byte("--"))
			rest, crlf := bytes.CutSuffix(after, []byte("\r\n"))
			if isClose || crlf && len(bytes.Trim(rest, " \t")) == 0 {
				held = nil // the CRLF before the delimiter is the delimiter's
				if isClose {
					out.closed = true
					break
				}
				out.starts++
				part = out.starts - 1
				if part > 1 {
					part = 2
				}
				pos += int64(len(line))
				if part == 0 {
					out.off = pos
				}
				lineStart = true
				continue
			}
		}
		put(held)
		held = nil
		pos += int64(len(line))
		if body, ok := bytes.CutSuffix(line, []byte("\r\n")); ok {
			put(body)
			held = []byte("\r\n")
			lineStart = true
		} else {
			put(line)
			lineStart = false
		}
		if len(out.sig) > maxPiece {
			return nil, errUnusual
		}
		if err == io.EOF {
			break
		}
	}
	return out, nil
}

// verifyDetached is Verify for a detached signature over content that is
// not in memory, given by its digests.
func verifyDetached(in []byte, digest func(crypto.Hash) []byte, p *Trust) (*Verified, error) {
	sd, err := readSignedData(in)
	if err != nil {
		return nil, err
	}
	if !sd.eType.Equal(oidData) {
		return nil, &Error{Reason: Unsupported, Detail: algName(sd.eType)}
	}
	if sd.content != nil {
		return nil, &Error{Reason: EmbeddedContent, Subject: sd.signerName()}
	}
	v := &Verified{Detached: true}
	verdict, bad := verifySigners(v, sd, digest, p)
	if bad != nil {
		return nil, bad
	}
	return v, verdict
}

// readRange reads n bytes (all, when n < 0) from off of what open gives.
func readRange(open func() (io.ReadCloser, error), off, n int64) ([]byte, error) {
	var b bytes.Buffer
	err := copyRange(open, &b, off, n)
	return b.Bytes(), err
}

// copyRange writes n bytes (all, when n < 0) from off of what open gives
// to w.
func copyRange(open func() (io.ReadCloser, error), w io.Writer, off, n int64) error {
	r, err := open()
	if err != nil {
		return err
	}
	defer r.Close()
	if _, err := io.CopyN(io.Discard, r, off); err != nil {
		return err
	}
	if n < 0 {
		_, err = io.Copy(w, r)
		return err
	}
	_, err = io.CopyN(w, r, n)
	return err
}

// ber reads BER (and DER) elements from a stream, counting what it read.
type ber struct {
	r   *bufio.Reader
	pos int64
}

// header reads a tag and length: n < 0 is an indefinite length. raw is
// the header's bytes.
func (b *ber) header() (tag byte, n int64, raw []byte, err error) {
	var buf [10]byte
	if buf[0], err = b.r.ReadByte(); err != nil {
		return 0, 0, nil, malformed("BER: %v", err)
	}
	tag = buf[0]
	if tag&0x1f == 0x1f {
		return 0, 0, nil, errUnusual
	}
	l, err := b.r.ReadByte()
	if err != nil {
		return 0, 0, nil, malformed("BER: %v", err)
	}
	buf[1] = l
	k := 2
	switch {
	case l < 0x80:
		n = int64(l)
	case l == 0x80:
		if tag&0x20 == 0 {
			return 0, 0, nil, malformed("BER: indefinite primitive")
		}
		n = -1
	case l&0x7f > 7:
		return 0, 0, nil, malformed("BER: length of %d bytes", l&0x7f)
	default:
		for range int(l & 0x7f) {
			c, err := b.r.ReadByte()
			if err != nil {
				return 0, 0, nil, malformed("BER: %v", err)
			}
			buf[k] = c
			k++
			n = n<<8 | int64(c)
		}
	}
	b.pos += int64(k)
	return tag, n, append([]byte(nil), buf[:k]...), nil
}

// peek returns the next tag without reading it (0 at the end).
func (b *ber) peek() byte {
	t, err := b.r.Peek(1)
	if err != nil {
		return 0
	}
	return t[0]
}

// element reads one whole element, at most max bytes of it.
func (b *ber) element(max int) ([]byte, error) {
	_, n, raw, err := b.header()
	if err != nil {
		return nil, err
	}
	if n >= 0 {
		if n > int64(max) {
			return nil, errUnusual
		}
		body := make([]byte, n)
		if _, err := io.ReadFull(b.r, body); err != nil {
			return nil, malformed("BER: %v", err)
		}
		b.pos += n
		return append(raw, body...), nil
	}
	for start := b.pos; ; {
		if b.atEnd(start, n) {
			if err := b.end(start, n); err != nil {
				return nil, err
			}
			return append(raw, 0, 0), nil
		}
		child, err := b.element(max - len(raw))
		if err != nil {
			return nil, err
		}
		raw = append(raw, child...)
		if len(raw) > max {
			return nil, errUnusual
		}
	}
}

// derElement reads one whole element, at most max bytes of it, as DER.
func (b *ber) derElement(max int) ([]byte, error) {
	e, err := b.element(max)
	if err != nil {
		return nil, err
	}
	return berToDER(e)
}

// end reads the end of a constructed element begun at start with length
// n: the end-of-contents of an indefinite one; a definite one must end
// where its length says.
func (b *ber) end(start, n int64) error {
	if n >= 0 {
		if b.pos != start+n {
			return malformed("BER: element of %d bytes holds %d", n, b.pos-start)
		}
		return nil
	}
	eoc := make([]byte, 2)
	if _, err := io.ReadFull(b.r, eoc); err != nil || eoc[0] != 0 || eoc[1] != 0 {
		return malformed("BER: no end of contents")
	}
	b.pos += 2
	return nil
}

// atEnd reports whether the constructed element begun at start with
// length n has no more content.
func (b *ber) atEnd(start, n int64) bool {
	if n >= 0 {
		return b.pos >= start+n
	}
	eoc, _ := b.r.Peek(2)
	return len(eoc) < 2 || eoc[0] == 0 && eoc[1] == 0
}

// open reads the header of a constructed element with tag and returns
// where its content starts and its length.
func (b *ber) open(tag byte) (start, n int64, err error) {
	t, n, _, err := b.header()
	if err != nil {
		return 0, 0, err
	}
	if t != tag {
		return 0, 0, malformed("BER: tag %#x, want %#x", t, tag)
	}
	return b.pos, n, nil
}

// octets streams the content of an OCTET STRING with tag (primitive, or
// constructed of OCTET STRINGs, as openssl -stream writes them) to emit.
func (b *ber) octets(prim, cons byte, emit func([]byte) error) error {
	tag, n, _, err := b.header()
	if err != nil {
		return err
	}
	switch tag {
	case prim:
		if n < 0 {
			return malformed("BER: indefinite primitive")
		}
		buf := make([]byte, 64<<10)
		for left := n; left > 0; {
			k := int(min(left, int64(len(buf))))
			if _, err := io.ReadFull(b.r, buf[:k]); err != nil {
				return malformed("BER: %v", err)
			}
			b.pos += int64(k)
			left -= int64(k)
			if err := emit(buf[:k]); err != nil {
				return err
			}
		}
		return nil
	case cons:
		start := b.pos
		for !b.atEnd(start, n) {
			if err := b.octets(0x04, 0x24, emit); err != nil {
				return err
			}
		}
		return b.end(start, n)
	}
	return malformed("no encrypted content (detached content is not supported)")
}

// streamDecryptAny decrypts the EnvelopedData or AuthEnvelopedData that r
// gives, with whichever of ids it is for, writing the content to w, as
// decryptAny does in memory.
func streamDecryptAny(r *bufio.Reader, ids []Identity, w io.Writer) (*Decrypted, error) {
	b := &ber{r: r}
	start, n, err := b.open(0x30) // ContentInfo
	if err != nil {
		return nil, err
	}
	oidDER, err := b.element(256)
	if err != nil {
		return nil, err
	}
	var typ asn1.ObjectIdentifier
	if s := cryptobyte.String(oidDER); !s.ReadASN1ObjectIdentifier(&typ) {
		return nil, malformed("bad content type")
	}
	auth := typ.Equal(oidAuthEnvelopedData)
	if !auth && !typ.Equal(oidEnvelopedData) {
		return nil, &Error{Reason: Unsupported, Detail: algName(typ)}
	}
	xs, xn, err := b.open(0xa0)
	if err != nil {
		return nil, err
	}
	ss, sn, err := b.open(0x30) // (Auth)EnvelopedData
	if err != nil {
		return nil, err
	}
	if _, err := b.element(16); err != nil { // version
		return nil, err
	}
	if b.peek() == 0xa0 { // originatorInfo
		if _, err := b.element(maxPiece); err != nil {
			return nil, err
		}
	}
	infosDER, err := b.derElement(maxPiece)
	if err != nil {
		return nil, err
	}
	out, cek, err := openInfos(infosDER, ids, auth)
	if err != nil {
		return nil, err
	}
	es, en, err := b.open(0x30) // EncryptedContentInfo
	if err != nil {
		return nil, err
	}
	if _, err := b.element(256); err != nil { // content type
		return nil, err
	}
	algDER, err := b.derElement(maxPiece)
	if err != nil {
		return nil, err
	}
	var alg algorithm
	if s := cryptobyte.String(algDER); !readAlgorithm(&s, &alg) {
		return nil, malformed("bad encrypted content info")
	}
	// The content, decrypted as it comes; the tag is checked at the end.
	var gcm *gcmSealer
	var cbc *cbcOpener
	emit := func(p []byte) error { _, err := w.Write(p); return err }
	if auth {
		name, nonce, _, err := gcmParams(alg, cek, -1)
		if err != nil {
			return nil, err
		}
		if len(nonce) != 12 {
			return nil, errUnusual // other nonce sizes are left to the whole
		}
		block, _ := aes.NewCipher(cek)
		if gcm, err = newGCMSealer(block, nonce, emit); err != nil {
			return nil, err
		}
		gcm.opening = true
		out.Cipher = name
	} else {
		name, iv, err := cbcParams(alg, cek)
		if err != nil {
			return nil, err
		}
		block, _ := aes.NewCipher(cek)
		cbc = &cbcOpener{mode: cipher.NewCBCDecrypter(block, iv), name: name, emit: emit}
		out.Cipher = name
	}
	var ct func([]byte) error
	if gcm != nil {
		ct = func(p []byte) error { _, err := gcm.Write(p); return err }
	} else {
		ct = cbc.write
	}
	if err := b.octets(0x80, 0xa0, ct); err != nil {
		return nil, err
	}
	if err := b.end(es, en); err != nil {
		return nil, err
	}
	if auth {
		var aad []byte
		if b.peek() == 0xa1 {
			d, err := b.derElement(maxPiece)
			if err != nil {
				return nil, err
			}
			aad = append([]byte{0x31}, d[1:]...) // AAD is the DER SET OF
		}
		macBER, err := b.element(64)
		if err != nil {
			return nil, malformed("no message authentication code")
		}
		var mac []byte
		if s := cryptobyte.String(macBER); !s.ReadASN1Bytes(&mac, cbasn1.OCTET_STRING) {
			return nil, malformed("no message authentication code")
		}
		if _, _, _, err := gcmParams(alg, cek, len(mac)); err != nil {
			return nil, err
		}
		tag, err := gcm.sum(aad)
		if err != nil {
			return nil, err
		}
		if subtle.ConstantTimeCompare(tag[:len(mac)], mac) != 1 {
			return nil, &Error{Reason: DecryptFailed, Detail: out.Cipher, Err: errors.New("cipher: message authentication failed")}
		}
	} else if err := cbc.close(); err != nil {
		return nil, err
	}
	// What follows (unprotected attributes) is read over, as in memory.
	for !b.atEnd(ss, sn) {
		if _, err := b.element(maxPiece); err != nil {
			return nil, err
		}
	}
	for _, e := range [][2]int64{{ss, sn}, {xs, xn}, {start, n}} {
		if err := b.end(e[0], e[1]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// openInfos finds the content key in the recipient infos (DER) with
// whichever identity they are for, as decryptAny tries them.
func openInfos(infosDER []byte, ids []Identity, auth bool) (*Decrypted, []byte, error) {
	var first error
	for _, id := range ids {
		s := cryptobyte.String(infosDER)
		var infos cryptobyte.String
		if !s.ReadASN1(&infos, cbasn1.SET) {
			return nil, nil, malformed("no recipient infos")
		}
		out := &Decrypted{Authenticated: auth}
		cek, err := contentKey(infos, id.Cert, id.Key, out)
		if err == nil {
			return out, cek, nil
		}
		if first == nil || reasonOf(first) == NotForUs {
			first = err
		}
	}
	if first == nil {
		first = &Error{Reason: NotForUs}
	}
	return nil, nil, first
}

// cbcOpener decrypts CBC as it comes, holding the last block back for
// its padding.
type cbcOpener struct {
	mode    cipher.BlockMode
	name    string
	emit    func([]byte) error
	pending []byte
}

func (c *cbcOpener) write(p []byte) error {
	c.pending = append(c.pending, p...)
	if len(c.pending) >= cbcChunk+aes.BlockSize {
		k := (len(c.pending) - aes.BlockSize) / aes.BlockSize * aes.BlockSize
		c.mode.CryptBlocks(c.pending[:k], c.pending[:k])
		if err := c.emit(c.pending[:k]); err != nil {
			return err
		}
		c.pending = append(c.pending[:0], c.pending[k:]...)
	}
	return nil
}

func (c *cbcOpener) close() error {
	if len(c.pending) == 0 || len(c.pending)%aes.BlockSize != 0 {
		return &Error{Reason: DecryptFailed, Detail: c.name, Err: errors.New("ciphertext is not whole blocks")}
	}
	c.mode.CryptBlocks(c.pending, c.pending)
	pad, err := padding(c.pending, c.name)
	if err != nil {
		return err
	}
	return c.emit(c.pending[:len(c.pending)-pad])
}
