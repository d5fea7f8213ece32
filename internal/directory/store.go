package directory

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"sikkermail/internal/smime"
)

// Store is the local certificate store: a folder of certificate files
// (PEM, DER, .p7c/.p7b) that helpdesk can fill, and where certificates
// learnt from verified signed mail are kept, so that a certificate
// received once is reused. It is read when opened; Add writes through.
type Store struct {
	dir string

	mu     sync.RWMutex
	byAddr map[string][]*x509.Certificate
	seen   map[[32]byte]bool
	// caps holds the content encryptions a certificate's holder announced
	// in a verified signature (SMIMECapabilities), by certificate.
	caps map[[32]byte][]string
	// Skipped lists files that could not be read as certificates.
	Skipped []string
}

// storeExts are the file endings the store reads.
var storeExts = map[string]bool{".pem": true, ".crt": true, ".cer": true, ".der": true, ".p7c": true, ".p7b": true}

// OpenStore reads every certificate file in dir (created if missing).
// Files that are not certificates are skipped and listed in Skipped.
func OpenStore(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, &StoreError{Dir: dir, Err: err}
	}
	s := &Store{dir: dir, byAddr: map[string][]*x509.Certificate{}, seen: map[[32]byte]bool{}, caps: map[[32]byte][]string{}}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(path, capsExt) {
			s.readCaps(path)
			return nil
		}
		if d.IsDir() || !storeExts[strings.ToLower(filepath.Ext(path))] {
			return nil
		}
		certs, err := smime.ReadCertificates(path)
		if err != nil {
			s.Skipped = append(s.Skipped, path)
			return nil
		}
		for _, c := range certs {
			s.index(c)
		}
		return nil
	})
	if err != nil {
		return nil, &StoreError{Dir: dir, Err: err}
	}
	return s, nil
}

// index adds c under every address it is for; it reports whether c was new.
func (s *Store) index(c *x509.Certificate) bool {
	fp := sha256.Sum256(c.Raw)
	if s.seen[fp] {
		return false
	}
	s.seen[fp] = true
	for _, a := range smime.Addresses(c) {
		k := strings.ToLower(a)
		s.byAddr[k] = append(s.byAddr[k], c)
	}
	return true
}

// Add keeps a certificate, e.g. one learnt from a verified signed mail, in
// the store's folder as <sha-256 of the certificate>.pem. Only certificates
// for an e-mail address are kept.
func (s *Store) Add(c *x509.Certificate) error {
	if len(smime.Addresses(c)) == 0 {
		return errors.New("directory: certificate has no e-mail address")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	fp := sha256.Sum256(c.Raw)
	if s.seen[fp] {
		return nil
	}
	path := filepath.Join(s.dir, hex.EncodeToString(fp[:])+".pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}), 0o644); err != nil {
		return &StoreError{Dir: s.dir, Err: err}
	}
	s.index(c)
	return nil
}

// capsExt ends the file beside a learnt certificate that lists the
// capabilities its holder announced, one per line.
const capsExt = ".caps"

func (s *Store) readCaps(path string) {
	b, err := os.ReadFile(path)
	if err != nil {
		return
	}
	var fp [32]byte
	if h, err := hex.DecodeString(strings.TrimSuffix(filepath.Base(path), capsExt)); err == nil && len(h) == 32 {
		copy(fp[:], h)
		s.caps[fp] = strings.Fields(string(b))
	}
}

// Learn keeps what a verified signature taught: the signer's certificate
// and the content encryptions it announced it reads, so that a reply can
// be encrypted to it without asking a directory, with a cipher it reads.
func (s *Store) Learn(signer smime.Signer) error {
	if signer.Err != nil || signer.Cert == nil {
		return errors.New("directory: only a valid signer is learnt")
	}
	if err := s.Add(signer.Cert); err != nil {
		return err
	}
	if signer.Capabilities == nil {
		return nil
	}
	fp := sha256.Sum256(signer.Cert.Raw)
	path := filepath.Join(s.dir, hex.EncodeToString(fp[:])+capsExt)
	if err := os.WriteFile(path, []byte(strings.Join(signer.Capabilities, "\n")+"\n"), 0o644); err != nil {
		return &StoreError{Dir: s.dir, Err: err}
	}
	s.mu.Lock()
	s.caps[fp] = signer.Capabilities
	s.mu.Unlock()
	return nil
}

// Capabilities returns what the holder of c announced it reads, nil if
// unknown.
func (s *Store) Capabilities(c *x509.Certificate) []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.caps[sha256.Sum256(c.Raw)]
}

// Name implements Source.
func (s *Store) Name() string { return s.dir }

// Lookup implements Source: the stored certificates for each address.
func (s *Store) Lookup(_ context.Context, addrs []string) (map[string][]*x509.Certificate, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make(map[string][]*x509.Certificate)
	for _, a := range addrs {
		if cs := s.byAddr[strings.ToLower(a)]; len(cs) > 0 {
			out[a] = append([]*x509.Certificate(nil), cs...)
		}
	}
	return out, nil
}

// Suggestion is a recipient known here, offered as the user types.
type Suggestion struct {
	Address, Name string
}

// matches reports whether a recipient's address or name holds what is
// typed (case folded).
func matches(typed, address, name string) bool {
	typed = strings.ToLower(typed)
	return strings.Contains(strings.ToLower(address), typed) || strings.Contains(strings.ToLower(name), typed)
}

// Suggest returns the store's recipients whose address or certificate
// holder's name holds typed.
func (s *Store) Suggest(typed string) []Suggestion {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []Suggestion
	for addr, certs := range s.byAddr {
		if name := certs[0].Subject.CommonName; matches(typed, addr, name) {
			out = append(out, Suggestion{Address: addr, Name: name})
		}
	}
	return out
}
