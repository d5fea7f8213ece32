// Package sealed keeps data at rest encrypted for a certificate, as a
// stream: what the outbox holds of a mail on its way (the draft with its
// attachments, the built messages) is never plaintext on disk and never
// needs to be whole in memory.
//
// A sealed stream is a short header and the data in chunks:
//
//	"sikkermail-sealed-1\n"
//	uint32 n, then n bytes: a random 256-bit file key, encrypted for the
//	    certificate as CMS AuthEnvelopedData (smime.Encrypt), so the
//	    mailbox's own key opens it, as it opens its mail
//	chunks: 64 KiB of data each (the last may be shorter, or empty),
//	    sealed with AES-256-GCM under the file key; the nonce is the
//	    chunk's number (88 bits) and a byte that is 1 for the last chunk
//
// That is the STREAM construction age uses: a chunk cannot be changed,
// moved, repeated or dropped, nor the stream cut short or extended,
// without Read failing at that chunk.
package sealed

import (
	"bufio"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync"

	"sikkermail/internal/smime"
)

const (
	magic     = "sikkermail-sealed-1\n"
	chunkSize = 64 << 10
	tagSize   = 16
	maxHeader = 64 << 10
)

// ErrDamaged is returned when a sealed stream does not open: it was
// changed, cut short or is not one.
var ErrDamaged = errors.New("sealed: the data is damaged or cut short")

// Writer seals what is written to it. Close writes the last chunk.
type Writer struct {
	w     io.Writer
	aead  cipher.AEAD
	buf   []byte
	out   []byte
	count uint64
	err   error
}

// Keys seals for one certificate and opens with its private key (Key
// may be nil for a Keys that only seals). It remembers the file keys of
// the streams it sealed or opened lately, so that a file read again —
// the outbox reads each of a mail's files several times — takes no
// private-key operation.
type Keys struct {
	Cert *x509.Certificate
	Key  crypto.PrivateKey
	// Also are more certificates the file key is encrypted for: the
	// holder of any of their keys opens the stream too.
	Also []*x509.Certificate

	mu    sync.Mutex
	known map[[32]byte][]byte // SHA-256 of the header → file key
	order [][32]byte
}

// remembered is how many file keys a Keys keeps.
const remembered = 64

func (k *Keys) remember(header, key []byte) {
	sum := sha256.Sum256(header)
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.known == nil {
		k.known = map[[32]byte][]byte{}
	}
	if _, ok := k.known[sum]; ok {
		return
	}
	if len(k.order) == remembered {
		delete(k.known, k.order[0])
		k.order = k.order[1:]
	}
	k.known[sum] = key
	k.order = append(k.order, sum)
}

// fileKey opens the file key in header.
func (k *Keys) fileKey(header []byte) ([]byte, error) {
	sum := sha256.Sum256(header)
	k.mu.Lock()
	key, ok := k.known[sum]
	k.mu.Unlock()
	if ok {
		return key, nil
	}
	if k.Key == nil {
		return nil, errors.New("sealed: no private key to open with")
	}
	d, err := smime.Decrypt(header, k.Cert, k.Key)
	if err != nil {
		return nil, err
	}
	if len(d.Content) != 32 {
		return nil, ErrDamaged
	}
	k.remember(header, d.Content)
	return d.Content, nil
}

// NewWriter writes the header to w and returns a Writer that seals for
// the holder of the certificate's key.
func (k *Keys) NewWriter(w io.Writer) (*Writer, error) {
	key := make([]byte, 32)
	rand.Read(key)
	to := []smime.Recipient{{Cert: k.Cert}}
	for _, c := range k.Also {
		to = append(to, smime.Recipient{Cert: c})
	}
	header, err := smime.Encrypt(key, to, smime.AES256GCM)
	if err != nil {
		return nil, err
	}
	if len(header) > maxHeader {
		return nil, fmt.Errorf("sealed: certificate too large for the header")
	}
	aead, err := newAEAD(key)
	if err != nil {
		return nil, err
	}
	head := binary.BigEndian.AppendUint32([]byte(magic), uint32(len(header)))
	if _, err := w.Write(append(head, header...)); err != nil {
		return nil, err
	}
	k.remember(header, key)
	return &Writer{w: w, aead: aead, buf: make([]byte, 0, chunkSize), out: make([]byte, 0, chunkSize+tagSize)}, nil
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

func nonce(count uint64, last bool) []byte {
	var n [12]byte
	binary.BigEndian.PutUint64(n[3:11], count)
	if last {
		n[11] = 1
	}
	return n[:]
}

// Write seals p. A chunk is written only when more data follows it, so
// that Close can mark the last one.
func (w *Writer) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	n := 0
	for len(p) > 0 {
		if len(w.buf) == chunkSize {
			if w.err = w.flush(false); w.err != nil {
				return n, w.err
			}
		}
		k := copy(w.buf[len(w.buf):chunkSize], p)
		w.buf = w.buf[:len(w.buf)+k]
		p = p[k:]
		n += k
	}
	return n, nil
}

func (w *Writer) flush(last bool) error {
	w.out = w.aead.Seal(w.out[:0], nonce(w.count, last), w.buf, nil)
	w.count++
	w.buf = w.buf[:0]
	_, err := w.w.Write(w.out)
	return err
}

// Close seals the last chunk. It does not close the underlying writer.
func (w *Writer) Close() error {
	if w.err != nil {
		return w.err
	}
	w.err = w.flush(true)
	if w.err == nil {
		w.err = errors.New("sealed: write after close")
		return nil
	}
	return w.err
}

// Reader opens a sealed stream.
type Reader struct {
	r    *bufio.Reader
	aead cipher.AEAD
	in   []byte
	buf  []byte // opened, not yet read
	out  []byte
	n    uint64
	done bool
	err  error
	// headerLen is the length of the encrypted file key.
	headerLen int
}

// NewReader reads the header from r and opens the file key with the
// certificate's private key.
func (k *Keys) NewReader(r io.Reader) (*Reader, error) {
	br := bufio.NewReaderSize(r, chunkSize+tagSize)
	head := make([]byte, len(magic)+4)
	if _, err := io.ReadFull(br, head); err != nil || string(head[:len(magic)]) != magic {
		return nil, ErrDamaged
	}
	n := binary.BigEndian.Uint32(head[len(magic):])
	if n > maxHeader {
		return nil, ErrDamaged
	}
	header := make([]byte, n)
	if _, err := io.ReadFull(br, header); err != nil {
		return nil, ErrDamaged
	}
	key, err := k.fileKey(header)
	if err != nil {
		return nil, err
	}
	aead, err := newAEAD(key)
	if err != nil {
		return nil, err
	}
	return &Reader{r: br, aead: aead, in: make([]byte, chunkSize+tagSize), out: make([]byte, 0, chunkSize), headerLen: int(n)}, nil
}

// Read returns opened data. It fails with ErrDamaged at the first chunk
// that does not open, and at a stream without its last chunk.
func (r *Reader) Read(p []byte) (int, error) {
	for len(r.buf) == 0 {
		if r.err != nil {
			return 0, r.err
		}
		if r.done {
			return 0, io.EOF
		}
		r.err = r.next()
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}

// next opens the next chunk. A chunk shorter than a full one, or a full
// one at the end of the stream, must be the last.
func (r *Reader) next() error {
	k, err := io.ReadFull(r.r, r.in)
	switch {
	case err == io.ErrUnexpectedEOF || err == io.EOF:
		if k < tagSize {
			return ErrDamaged
		}
		r.done = true
	case err != nil:
		return err
	default:
		if _, err := r.r.Peek(1); err == io.EOF {
			r.done = true
		} else if err != nil {
			return err
		}
	}
	out, err := r.aead.Open(r.out[:0], nonce(r.n, r.done), r.in[:k], nil)
	if err != nil {
		return ErrDamaged
	}
	r.n++
	r.buf = out
	return nil
}

// overhead is what sealing adds to n bytes besides the header: a tag per
// chunk, and one chunk at least.
func overhead(n int64) int64 {
	chunks := max(1, (n+chunkSize-1)/chunkSize)
	if n > 0 && n%chunkSize == 0 {
		// A full last chunk is written as such; no empty one follows.
		chunks = n / chunkSize
	}
	return chunks * tagSize
}

// plainSize is the size of the data in a sealed stream of size bytes
// whose header is headerLen bytes, or -1 when no data size fits.
func plainSize(size, headerLen int64) int64 {
	enc := size - headerLen
	if enc < tagSize {
		return -1
	}
	chunks := (enc + chunkSize + tagSize - 1) / (chunkSize + tagSize)
	n := enc - chunks*tagSize
	if n < 0 || overhead(n) != chunks*tagSize {
		return -1
	}
	return n
}

// Sink is where a sealed file is written: what it is given is kept only
// when Commit succeeds, and nothing of it after Abort.
type Sink interface {
	io.Writer
	Commit() error
	Abort()
}

// File is a sealed file being written: it is there, whole, only when
// Close succeeds.
type File struct {
	*Writer
	buf  *bufio.Writer
	sink Sink
}

// Create starts a sealed file at path (readable by the user alone) for
// the holder of the certificate's key. Until Close it is written beside
// the path; Abort removes it.
func (k *Keys) Create(path string) (*File, error) {
	f, err := os.OpenFile(path+".part", os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, err
	}
	return k.CreateIn(&fileSink{f: f, path: path})
}

// CreateIn starts a sealed file in s for the holder of the certificate's
// key.
func (k *Keys) CreateIn(s Sink) (*File, error) {
	buf := bufio.NewWriterSize(s, chunkSize+tagSize)
	w, err := k.NewWriter(buf)
	if err != nil {
		s.Abort()
		return nil, err
	}
	return &File{Writer: w, buf: buf, sink: s}, nil
}

// Close seals the last chunk and commits the file. On failure nothing of
// it is kept.
func (f *File) Close() error {
	err := f.Writer.Close()
	if err == nil {
		err = f.buf.Flush()
	}
	if err == nil {
		return f.sink.Commit()
	}
	f.sink.Abort()
	return err
}

// Abort gives the file up.
func (f *File) Abort() { f.sink.Abort() }

// fileSink is a file written beside its path, put in place, durable, on
// Commit.
type fileSink struct {
	f    *os.File
	path string
}

func (s *fileSink) Write(p []byte) (int, error) { return s.f.Write(p) }

func (s *fileSink) Commit() error {
	err := s.f.Sync()
	if cerr := s.f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(s.f.Name(), s.path)
	}
	if err == nil {
		err = syncDir(filepath.Dir(s.path))
	}
	if err != nil {
		os.Remove(s.f.Name())
	}
	return err
}

func (s *fileSink) Abort() {
	s.f.Close()
	os.Remove(s.f.Name())
}

// syncDir makes a rename in dir durable (Windows has no such call: its
// renames are journalled).
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Opened is a sealed file open for reading.
type Opened struct {
	*Reader
	c    io.Closer
	size int64
}

// Open opens the sealed file at path.
func (k *Keys) Open(path string) (*Opened, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err == nil {
		var o *Opened
		if o, err = k.OpenFrom(f, st.Size(), f); err == nil {
			return o, nil
		}
	}
	f.Close()
	return nil, err
}

// OpenFrom opens the sealed file that r reads, length bytes long; closing
// it closes c. On failure the caller closes c.
func (k *Keys) OpenFrom(r io.Reader, length int64, c io.Closer) (*Opened, error) {
	sr, err := k.NewReader(r)
	if err != nil {
		return nil, err
	}
	size := plainSize(length, int64(len(magic)+4+sr.headerLen))
	if size < 0 {
		return nil, ErrDamaged
	}
	return &Opened{Reader: sr, c: c, size: size}, nil
}

// Size is how many bytes of data the file holds (known from its length;
// reading it to the end proves them).
func (o *Opened) Size() int64 { return o.size }

// Close closes the file.
func (o *Opened) Close() error { return o.c.Close() }
