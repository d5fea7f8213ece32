// Package revocation fetches what the S/MIME layer needs to know whether
// a certificate is revoked: the CRL a certificate's distribution point
// serves, and its OCSP responder's answer (RFC 6960), over HTTP. It
// implements smime.Online; smime judges what it fetches (signatures,
// dates, scope), so nothing here is trusted for being fetched.
//
// CRLs are cached in memory and, when Dir is set, in files there (they
// are public and signed: no secret is written), and fetched again once
// their nextUpdate has passed. When a fetch fails, the last copy is
// returned however old it is, and smime reports it as out of date rather
// than as good. OCSP answers are cached in memory until their nextUpdate.
package revocation

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ocsp"
)

// Limits on what a server may send.
const (
	maxCRL  = 32 << 20
	maxOCSP = 1 << 20
	// DefaultTimeout bounds one fetch.
	DefaultTimeout = 10 * time.Second
	// ocspTTL is how long an OCSP answer without nextUpdate is kept.
	ocspTTL = time.Hour
)

// Fetcher fetches CRLs and OCSP answers. Its zero value works (no disk
// cache, DefaultTimeout).
type Fetcher struct {
	// Client makes the requests; nil uses one with DefaultTimeout.
	Client *http.Client
	// Dir keeps fetched CRLs across runs; "" keeps them in memory only.
	Dir string
	// Now is the clock; nil is time.Now.
	Now func() time.Time

	mu   sync.Mutex
	crls map[string]cached
	ocsp map[string]cached
}

type cached struct {
	der   []byte
	until time.Time
}

func (f *Fetcher) now() time.Time {
	if f.Now != nil {
		return f.Now()
	}
	return time.Now()
}

func (f *Fetcher) client() *http.Client {
	if f.Client != nil {
		return f.Client
	}
	return &http.Client{Timeout: DefaultTimeout}
}

// Error is a fetch that failed.
type Error struct {
	URL string
	Err error
}

func (e *Error) Error() string { return "revocation: " + e.URL + ": " + e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// CRL returns the DER of the CRL at url: from the cache while it is
// current, else fetched (PEM or DER), else the last copy there is.
func (f *Fetcher) CRL(url string) ([]byte, error) {
	f.mu.Lock()
	c, ok := f.crls[url]
	f.mu.Unlock()
	if !ok {
		if der, err := os.ReadFile(f.file(url)); err == nil {
			if until, err := crlUntil(der); err == nil {
				c, ok = cached{der, until}, true
			}
		}
	}
	if ok && f.now().Before(c.until) {
		return c.der, nil
	}
	der, err := f.get(url)
	if err == nil {
		var until time.Time
		if until, err = crlUntil(der); err == nil {
			f.keep(url, cached{der, until})
			return der, nil
		}
		err = &Error{URL: url, Err: err}
	}
	if ok {
		return c.der, nil // old, and smime will say so
	}
	return nil, err
}

// crlUntil parses der as a CRL and returns its nextUpdate (a CRL without
// one is fetched again at every use).
func crlUntil(der []byte) (time.Time, error) {
	crl, err := x509.ParseRevocationList(der)
	if err != nil {
		return time.Time{}, err
	}
	return crl.NextUpdate, nil
}

func (f *Fetcher) file(url string) string {
	if f.Dir == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(url))
	return filepath.Join(f.Dir, hex.EncodeToString(sum[:16])+".crl")
}

// keep caches a CRL in memory and, when there is a folder, on disk; a
// cache that cannot be written costs only a fetch next time.
func (f *Fetcher) keep(url string, c cached) {
	f.mu.Lock()
	if f.crls == nil {
		f.crls = map[string]cached{}
	}
	f.crls[url] = c
	f.mu.Unlock()
	if name := f.file(url); name != "" {
		if err := os.MkdirAll(f.Dir, 0o700); err == nil {
			tmp := name + ".tmp"
			if os.WriteFile(tmp, c.der, 0o600) == nil {
				_ = os.Rename(tmp, name)
			}
		}
	}
}

// get fetches a CRL over HTTP(S); PEM is decoded.
func (f *Fetcher) get(url string) ([]byte, error) {
	if !strings.HasPrefix(url, "http://") && !strings.HasPrefix(url, "https://") {
		return nil, &Error{URL: url, Err: errors.New("only http and https are fetched")}
	}
	body, err := f.do(url, maxCRL, func(c *http.Client) (*http.Response, error) { return c.Get(url) })
	if err != nil {
		return nil, err
	}
	if b, _ := pem.Decode(body); b != nil {
		body = b.Bytes
	}
	return body, nil
}

// OCSP posts request to the responder at url and returns its answer.
func (f *Fetcher) OCSP(url string, request []byte) ([]byte, error) {
	sum := sha256.Sum256(append([]byte(url+"\x00"), request...))
	key := string(sum[:])
	f.mu.Lock()
	c, ok := f.ocsp[key]
	f.mu.Unlock()
	if ok && f.now().Before(c.until) {
		return c.der, nil
	}
	body, err := f.do(url, maxOCSP, func(c *http.Client) (*http.Response, error) {
		return c.Post(url, "application/ocsp-request", bytes.NewReader(request))
	})
	if err != nil {
		return nil, err
	}
	if r, err := ocsp.ParseResponse(body, nil); err == nil {
		until := r.NextUpdate
		if until.IsZero() {
			until = f.now().Add(ocspTTL)
		}
		f.mu.Lock()
		if f.ocsp == nil {
			f.ocsp = map[string]cached{}
		}
		f.ocsp[key] = cached{body, until}
		f.mu.Unlock()
	}
	return body, nil
}

// do makes a request and reads its 200 answer, at most limit bytes.
func (f *Fetcher) do(url string, limit int64, request func(*http.Client) (*http.Response, error)) ([]byte, error) {
	resp, err := request(f.client())
	if err != nil {
		return nil, &Error{URL: url, Err: err}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, &Error{URL: url, Err: fmt.Errorf("HTTP %s", resp.Status)}
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, &Error{URL: url, Err: err}
	}
	if int64(len(body)) > limit {
		return nil, &Error{URL: url, Err: fmt.Errorf("larger than %d MB", limit>>20)}
	}
	return body, nil
}
