package sealed

import (
	"bytes"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"sikkermail/internal/keystore"
	"sikkermail/internal/smime"
	"sikkermail/internal/testenv"
)

func identity(t *testing.T, name string) *smime.Identity {
	t.Helper()
	id, err := keystore.Load(testenv.Path("testdata", "certs", name), []byte("test"))
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func seal(t *testing.T, id *smime.Identity, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	w, err := (&Keys{Cert: id.Cert}).NewWriter(&b)
	if err != nil {
		t.Fatal(err)
	}
	// Odd write sizes, so that chunks are cut across writes.
	for p := data; len(p) > 0; {
		n := min(len(p), 7919)
		if _, err := w.Write(p[:n]); err != nil {
			t.Fatal(err)
		}
		p = p[n:]
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func open(id *smime.Identity, sealed []byte) ([]byte, error) {
	r, err := (&Keys{Cert: id.Cert, Key: id.Key}).NewReader(bytes.NewReader(sealed))
	if err != nil {
		return nil, err
	}
	return io.ReadAll(r)
}

var sizes = []int{0, 1, chunkSize - 1, chunkSize, chunkSize + 1, 3 * chunkSize, 3*chunkSize + 17}

func TestRoundTrip(t *testing.T) {
	for _, name := range []string{"mailbox-rsa.p12", "mailbox-ec.p12"} {
		id := identity(t, name)
		for _, n := range sizes {
			data := make([]byte, n)
			rand.Read(data)
			s := seal(t, id, data)
			got, err := open(id, s)
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("%s, %d bytes: %v (got %d bytes)", name, n, err, len(got))
			}
			header := len(magic) + 4 + int(s[len(magic)+3]) + int(s[len(magic)+2])<<8
			if size := plainSize(int64(len(s)), int64(header)); size != int64(n) {
				t.Errorf("%d bytes: plainSize says %d", n, size)
			}
		}
	}
}

// Every change to a sealed stream is found: a flipped bit in any chunk,
// the stream cut at or between chunks, a chunk dropped, repeated or
// moved, data added after the last chunk.
func TestTamper(t *testing.T) {
	id := identity(t, "mailbox-rsa.p12")
	data := make([]byte, 3*chunkSize+100)
	rand.Read(data)
	s := seal(t, id, data)
	header := len(s) - len(data) - int(overhead(int64(len(data))))
	enc := chunkSize + tagSize
	chunk := func(i int) []byte { return s[header+i*enc : min(len(s), header+(i+1)*enc)] }
	join := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	cases := map[string][]byte{
		"cut at a chunk":       s[:header+2*enc],
		"cut inside a chunk":   s[:header+enc+100],
		"cut to the header":    s[:header],
		"last chunk dropped":   s[:header+3*enc],
		"chunks swapped":       join(s[:header], chunk(1), chunk(0), chunk(2), chunk(3)),
		"chunk repeated":       join(s[:header], chunk(0), chunk(0), chunk(1), chunk(2), chunk(3)),
		"data after the last":  join(s, []byte("x")),
		"chunk after the last": join(s, chunk(1)),
	}
	for i := 0; i < 4; i++ {
		b := bytes.Clone(s)
		b[header+i*enc+5] ^= 1
		cases["bit flipped in chunk "+string(rune('0'+i))] = b
	}
	for name, b := range cases {
		if _, err := open(id, b); !errors.Is(err, ErrDamaged) {
			t.Errorf("%s: %v, want ErrDamaged", name, err)
		}
	}
	if _, err := open(id, []byte("not sealed at all")); !errors.Is(err, ErrDamaged) {
		t.Errorf("not sealed: %v", err)
	}
	// Another key does not open it.
	if _, err := open(identity(t, "recipient-rsa.p12"), s); err == nil {
		t.Error("another key opened the stream")
	}
}

func TestFile(t *testing.T) {
	id := identity(t, "mailbox-rsa.p12")
	dir := t.TempDir()
	path := filepath.Join(dir, "draft")
	secret := bytes.Repeat([]byte("CPR 010190-1009 "), chunkSize/8)
	keys := &Keys{Cert: id.Cert, Key: id.Key}
	f, err := keys.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(secret)
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("the file is in place before Close: %v", err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := st.Mode().Perm(); perm != 0o600 {
		t.Errorf("mode %o, want 600", perm)
	}
	raw, _ := os.ReadFile(path)
	if bytes.Contains(raw, []byte("010190")) {
		t.Error("plaintext on disk")
	}
	o, err := keys.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	if o.Size() != int64(len(secret)) {
		t.Errorf("Size %d, want %d", o.Size(), len(secret))
	}
	if got, err := io.ReadAll(o); err != nil || !bytes.Equal(got, secret) {
		t.Errorf("read back: %v", err)
	}

	// Aborted: nothing left behind.
	g, err := keys.Create(filepath.Join(dir, "other"))
	if err != nil {
		t.Fatal(err)
	}
	g.Write(secret)
	g.Abort()
	if names, _ := os.ReadDir(dir); len(names) != 1 {
		t.Errorf("after Abort the folder holds %v", names)
	}
	// A file whose length fits no sealed stream is damaged: its last
	// chunk is shorter than a tag.
	os.WriteFile(path, raw[:len(raw)-(chunkSize+tagSize)+tagSize-1], 0o600)
	if _, err := keys.Open(path); !errors.Is(err, ErrDamaged) {
		t.Errorf("short file: %v", err)
	}
}

// A Keys opens what it sealed without the private key, and what another
// sealed with it; without the key and unknown, it cannot.
func TestKeysRemember(t *testing.T) {
	id := identity(t, "mailbox-rsa.p12")
	sealer := &Keys{Cert: id.Cert}
	var b bytes.Buffer
	w, _ := sealer.NewWriter(&b)
	w.Write([]byte("journal"))
	w.Close()
	if r, err := sealer.NewReader(bytes.NewReader(b.Bytes())); err != nil {
		t.Fatalf("the sealer does not open its own stream: %v", err)
	} else if got, _ := io.ReadAll(r); string(got) != "journal" {
		t.Fatalf("%q", got)
	}
	if _, err := (&Keys{Cert: id.Cert}).NewReader(bytes.NewReader(b.Bytes())); err == nil {
		t.Fatal("opened without a key")
	}
	if got, err := open(id, b.Bytes()); err != nil || string(got) != "journal" {
		t.Fatalf("%q %v", got, err)
	}
}

// A stream sealed also for another certificate opens with either key.
func TestAlso(t *testing.T) {
	a, b := identity(t, "mailbox-rsa.p12"), identity(t, "mailbox-ec.p12")
	var buf bytes.Buffer
	w, err := (&Keys{Cert: a.Cert, Also: []*x509.Certificate{b.Cert}}).NewWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("kladde"))
	w.Close()
	for _, id := range []*smime.Identity{a, b} {
		if got, err := open(id, buf.Bytes()); err != nil || string(got) != "kladde" {
			t.Errorf("%s: %q %v", id.Cert.Subject, got, err)
		}
	}
	if _, err := open(identity(t, "recipient-rsa.p12"), buf.Bytes()); err == nil {
		t.Error("a third key opened it")
	}
}
