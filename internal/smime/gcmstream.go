package smime

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"errors"
)

// Streaming AES-GCM. Go's cipher.AEAD seals a whole message at once; a
// CMS AuthEnvelopedData holds one GCM message however large the mail is,
// so here it is built from the parts GCM is made of (SP 800-38D): the
// counter-mode keystream is the standard library's CTR, started where
// GCM starts it (J0+1), and the tag's GHASH over the ciphertext is taken
// a chunk at a time from the standard library's GCM itself — sealing no
// plaintext with a chunk as additional data gives that chunk's GHASH,
// masked with E(K, J0), which is known — and the chunks' hashes are
// joined with a few multiplications in GF(2^128). Both heavy parts run
// in the standard library's AES-NI/PCLMULQDQ code; the output is
// byte for byte what cipher.NewGCM's Seal gives (gcmstream_test.go).

// gcmChunk is how much ciphertext is hashed at a time.
const gcmChunk = 64 << 10

// maxGCM is the most plaintext one GCM message may carry (2^32 - 2
// blocks): the counter's low 32 bits must not wrap.
const maxGCM = (1<<32 - 2) * aes.BlockSize

// gf is an element of GF(2^128) in GCM's bit order: hi holds bytes 0–7,
// big-endian, and the first bit is the most significant.
type gf struct{ hi, lo uint64 }

func gfOf(b []byte) gf { return gf{binary.BigEndian.Uint64(b), binary.BigEndian.Uint64(b[8:])} }

func (x gf) bytes() []byte {
	b := make([]byte, 16)
	binary.BigEndian.PutUint64(b, x.hi)
	binary.BigEndian.PutUint64(b[8:], x.lo)
	return b
}

func (x gf) xor(y gf) gf { return gf{x.hi ^ y.hi, x.lo ^ y.lo} }

// mul is multiplication in GCM's field (SP 800-38D, algorithm 1). It
// runs a few times per 64 KiB, so the plain bitwise form is enough.
func (x gf) mul(y gf) gf {
	var z gf
	v := y
	for i := 0; i < 128; i++ {
		word := x.hi
		if i >= 64 {
			word = x.lo
		}
		if word>>(63-uint(i%64))&1 == 1 {
			z = z.xor(v)
		}
		lsb := v.lo & 1
		v.lo = v.lo>>1 | v.hi<<63
		v.hi >>= 1
		if lsb == 1 {
			v.hi ^= 0xe1 << 56
		}
	}
	return z
}

// pow is x^n.
func (x gf) pow(n int) gf {
	r := gf{hi: 1 << 63} // the field's one
	for ; n > 0; n >>= 1 {
		if n&1 == 1 {
			r = r.mul(x)
		}
		x = x.mul(x)
	}
	return r
}

// lengths is GHASH's last block for no additional data and n bytes of
// ciphertext — also what a chunk of n bytes ends in when it is hashed as
// additional data with no ciphertext.
func lengths(aad, ct int) gf { return gf{uint64(aad) * 8, uint64(ct) * 8} }

// gcmSealer encrypts a stream as one AES-GCM message with a 12-byte
// nonce, or (opening) decrypts one: both hash the ciphertext.
type gcmSealer struct {
	// opening: what is written is ciphertext, what is emitted plaintext
	// (not yet authenticated: the caller holds it until sum's tag is
	// checked).
	opening bool
	gcm     cipher.AEAD
	ctr     cipher.Stream
	nonce   []byte
	ej0     gf // E(K, J0)
	h       gf
	hn      gf // H^(gcmChunk/16)
	lh      gf // lengths(gcmChunk, 0)·H
	z       gf // the running GHASH state times H
	buf     []byte
	n       int64
	emit    func([]byte) error
}

// newGCMSealer starts a GCM message under block with nonce; emit gets
// the ciphertext in pieces, in order.
func newGCMSealer(block cipher.Block, nonce []byte, emit func([]byte) error) (*gcmSealer, error) {
	if len(nonce) != 12 {
		return nil, errors.New("smime: GCM nonce must be 12 bytes")
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	var zero, h, j [16]byte
	block.Encrypt(h[:], zero[:])
	copy(j[:], nonce)
	j[15] = 1
	var ej0 [16]byte
	block.Encrypt(ej0[:], j[:])
	j[15] = 2
	s := &gcmSealer{gcm: gcm, ctr: cipher.NewCTR(block, j[:]), nonce: nonce, ej0: gfOf(ej0[:]), h: gfOf(h[:]),
		buf: make([]byte, 0, gcmChunk), emit: emit}
	s.hn = s.h.pow(gcmChunk / aes.BlockSize)
	s.lh = lengths(gcmChunk, 0).mul(s.h)
	return s, nil
}

// Write encrypts p.
func (s *gcmSealer) Write(p []byte) (int, error) {
	if s.n+int64(len(p)) > maxGCM {
		return 0, errors.New("smime: too much content for one GCM message")
	}
	n := len(p)
	for len(p) > 0 {
		k := min(gcmChunk-len(s.buf), len(p))
		at := len(s.buf)
		s.buf = s.buf[:at+k]
		if s.opening {
			copy(s.buf[at:], p[:k])
		} else {
			s.ctr.XORKeyStream(s.buf[at:], p[:k])
		}
		p = p[k:]
		if len(s.buf) == gcmChunk {
			if err := s.flush(); err != nil {
				return 0, err
			}
		}
	}
	s.n += int64(n)
	return n, nil
}

// flush hashes and emits the buffered ciphertext: S = GHASH(C‖L) is the
// tag of "no plaintext, C as additional data" unmasked, and the running
// state moves on as Z' = Z·H^blocks ⊕ S ⊕ L·H.
func (s *gcmSealer) flush() error {
	if len(s.buf) == 0 {
		return nil
	}
	tag := s.gcm.Seal(nil, s.nonce, nil, s.buf)
	chunk := gfOf(tag).xor(s.ej0)
	hn, lh := s.hn, s.lh
	if len(s.buf) != gcmChunk {
		blocks := (len(s.buf) + aes.BlockSize - 1) / aes.BlockSize
		hn, lh = s.h.pow(blocks), lengths(len(s.buf), 0).mul(s.h)
	}
	s.z = s.z.mul(hn).xor(chunk).xor(lh)
	if s.opening {
		s.ctr.XORKeyStream(s.buf, s.buf)
	}
	err := s.emit(s.buf)
	s.buf = s.buf[:0]
	return err
}

// Close emits the last of the output and returns the 16-byte tag.
func (s *gcmSealer) Close() ([]byte, error) { return s.sum(nil) }

// sum emits the last of the output and returns the 16-byte tag over aad
// and the ciphertext. The additional data comes last here (an
// AuthEnvelopedData carries it after the content), and GHASH is linear:
// the state over A‖C is A's state times H^blocks(C), plus C's.
func (s *gcmSealer) sum(aad []byte) ([]byte, error) {
	if err := s.flush(); err != nil {
		return nil, err
	}
	z := s.z
	if len(aad) > 0 {
		// A's state times H, from "no plaintext, A as additional data".
		za := gfOf(s.gcm.Seal(nil, s.nonce, nil, aad)).xor(s.ej0).xor(lengths(len(aad), 0).mul(s.h))
		blocks := int((s.n + aes.BlockSize - 1) / aes.BlockSize)
		z = za.mul(s.h.pow(blocks)).xor(z)
	}
	// T = E(K, J0) ⊕ GHASH(A‖C‖L) = E(K, J0) ⊕ Z ⊕ L·H.
	return s.ej0.xor(z).xor(lengths(len(aad), int(s.n)).mul(s.h)).bytes(), nil
}
