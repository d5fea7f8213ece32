package smime

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"testing"
)

// The streamed GCM message is byte for byte the standard library's, for
// sizes around the block and the chunk, written in pieces of every kind.
func TestGCMSealerMatchesStandardLibrary(t *testing.T) {
	key, nonce := make([]byte, 32), make([]byte, 12)
	rand.Read(key)
	rand.Read(nonce)
	block, _ := aes.NewCipher(key)
	gcm, _ := cipher.NewGCM(block)
	for _, n := range []int{0, 1, 15, 16, 17, gcmChunk - 1, gcmChunk, gcmChunk + 1, 2*gcmChunk + 5, 5*gcmChunk + 4095} {
		for _, piece := range []int{1 << 30, 1000, gcmChunk} {
			if piece == 1000 && n > 3*gcmChunk {
				continue
			}
			plain := make([]byte, n)
			rand.Read(plain)
			var got bytes.Buffer
			s, err := newGCMSealer(block, nonce, func(b []byte) error { got.Write(b); return nil })
			if err != nil {
				t.Fatal(err)
			}
			for p := plain; len(p) > 0; {
				k := min(piece, len(p))
				if _, err := s.Write(p[:k]); err != nil {
					t.Fatal(err)
				}
				p = p[k:]
			}
			tag, err := s.Close()
			if err != nil {
				t.Fatal(err)
			}
			got.Write(tag)
			if want := gcm.Seal(nil, nonce, plain, nil); !bytes.Equal(got.Bytes(), want) {
				t.Fatalf("%d bytes in pieces of %d: differs from cipher.NewGCM", n, piece)
			}
		}
	}
}

func TestGFMul(t *testing.T) {
	one := gf{hi: 1 << 63}
	var x gf
	b := make([]byte, 16)
	rand.Read(b)
	x = gfOf(b)
	if x.mul(one) != x || one.mul(x) != x {
		t.Fatal("one is not the identity")
	}
	if x.pow(3) != x.mul(x).mul(x) {
		t.Fatal("pow")
	}
}

// Opened as a stream, with additional data that comes after the content
// (as an AuthEnvelopedData's authenticated attributes do), the standard
// library's message gives its plaintext and its tag.
func TestGCMOpenerMatchesStandardLibrary(t *testing.T) {
	key, nonce := make([]byte, 32), make([]byte, 12)
	rand.Read(key)
	rand.Read(nonce)
	block, _ := aes.NewCipher(key)
	gcm, _ := cipher.NewGCM(block)
	for _, n := range []int{0, 1, 17, gcmChunk, 2*gcmChunk + 5} {
		for _, aad := range [][]byte{nil, []byte("x"), bytes.Repeat([]byte("attrs"), 7)} {
			plain := make([]byte, n)
			rand.Read(plain)
			sealed := gcm.Seal(nil, nonce, plain, aad)
			var got bytes.Buffer
			s, _ := newGCMSealer(block, nonce, func(b []byte) error { got.Write(b); return nil })
			s.opening = true
			s.Write(sealed[:n])
			tag, err := s.sum(aad)
			if err != nil || !bytes.Equal(got.Bytes(), plain) || !bytes.Equal(tag, sealed[n:]) {
				t.Fatalf("%d bytes, %d of aad: plaintext %v, tag %v", n, len(aad), bytes.Equal(got.Bytes(), plain), bytes.Equal(tag, sealed[n:]))
			}
		}
	}
}
