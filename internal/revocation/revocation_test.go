package revocation

import (
	"bufio"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"sikkermail/internal/smime"
	"sikkermail/internal/testenv"
)

// pki is the test CA (testdata/certs) with an openssl ca database, so
// that openssl itself revokes, writes the CRLs and answers OCSP.
type pki struct {
	t       *testing.T
	openssl string
	dir     string
	ca      *x509.Certificate
	caKey   crypto.Signer
	serial  int64
}

func newPKI(t *testing.T) *pki {
	t.Helper()
	p := &pki{t: t, openssl: testenv.Need(t, "openssl"), dir: t.TempDir(), serial: time.Now().UnixNano()}
	p.ca, p.caKey = readPair(t, "ca")
	os.WriteFile(filepath.Join(p.dir, "index.txt"), nil, 0o600)
	os.WriteFile(filepath.Join(p.dir, "crlnumber"), []byte("01\n"), 0o600)
	os.WriteFile(filepath.Join(p.dir, "ca.cnf"), []byte("[ca]\ndefault_ca = d\n[d]\ndatabase = index.txt\ncrlnumber = crlnumber\ndefault_md = sha256\n"), 0o600)
	return p
}

func readPair(t *testing.T, name string) (*x509.Certificate, crypto.Signer) {
	t.Helper()
	cb, err := os.ReadFile(testenv.Path("testdata", "certs", name+".pem"))
	if err != nil {
		t.Fatal(err)
	}
	kb, err := os.ReadFile(testenv.Path("testdata", "certs", name+".key"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := pem.Decode(cb)
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	k, _ := pem.Decode(kb)
	key, err := x509.ParsePKCS8PrivateKey(k.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c, key.(crypto.Signer)
}

func (p *pki) run(args ...string) {
	p.t.Helper()
	cmd := exec.Command(p.openssl, args...)
	cmd.Dir = p.dir
	if out, err := cmd.CombinedOutput(); err != nil {
		p.t.Fatalf("openssl %v: %v\n%s", args, err, out)
	}
}

// issue makes an e-mail certificate for addr naming the CRL at crlURL
// and the responder at ocspURL (either may be ""), and writes it to
// NAME.pem for openssl ca.
func (p *pki) issue(name, addr, crlURL, ocspURL string) smime.Identity {
	p.t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		p.t.Fatal(err)
	}
	p.serial++
	tmpl := &x509.Certificate{
		SerialNumber:   big.NewInt(p.serial),
		Subject:        pkix.Name{CommonName: addr},
		NotBefore:      time.Now().Add(-time.Hour),
		NotAfter:       time.Now().Add(24 * time.Hour),
		KeyUsage:       x509.KeyUsageDigitalSignature,
		ExtKeyUsage:    []x509.ExtKeyUsage{x509.ExtKeyUsageEmailProtection},
		EmailAddresses: []string{addr},
	}
	if crlURL != "" {
		tmpl.CRLDistributionPoints = []string{crlURL}
	}
	if ocspURL != "" {
		tmpl.OCSPServer = []string{ocspURL}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.ca, key.Public(), p.caKey)
	if err != nil {
		p.t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	os.WriteFile(filepath.Join(p.dir, name+".pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	return smime.Identity{Cert: c, Key: key}
}

func (p *pki) openCA(args ...string) {
	p.t.Helper()
	base := []string{"ca", "-config", "ca.cnf", "-cert", testenv.Path("testdata", "certs", "ca.pem"), "-keyfile", testenv.Path("testdata", "certs", "ca.key")}
	p.run(append(base, args...)...)
}

// crl writes openssl's CRL to file, valid from last to next.
func (p *pki) crl(file string, last, next time.Time) []byte {
	p.t.Helper()
	const layout = "20060102150405Z"
	p.openCA("-gencrl", "-crl_lastupdate", last.UTC().Format(layout), "-crl_nextupdate", next.UTC().Format(layout), "-out", file)
	b, err := os.ReadFile(filepath.Join(p.dir, file))
	if err != nil {
		p.t.Fatal(err)
	}
	return b
}

// responder is openssl's OCSP responder over the database, behind a
// loopback proxy whose URL is known before openssl starts: openssl reads
// the database when it starts, so it starts once the certificates are in.
type responder struct {
	p      *pki
	url    string
	target atomic.Pointer[url.URL]
}

func (p *pki) responder() *responder {
	r := &responder{p: p}
	s := httptest.NewServer(&httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		pr.SetURL(r.target.Load())
	}})
	p.t.Cleanup(s.Close)
	r.url = s.URL + "/"
	return r
}

func (r *responder) start() {
	p := r.p
	p.t.Helper()
	cmd := exec.Command(p.openssl, "ocsp", "-index", "index.txt", "-port", "0", "-CA", testenv.Path("testdata", "certs", "ca.pem"),
		"-rsigner", testenv.Path("testdata", "certs", "ca.pem"), "-rkey", testenv.Path("testdata", "certs", "ca.key"), "-ndays", "1", "-ignore_err")
	cmd.Dir = p.dir
	out, err := cmd.StdoutPipe()
	if err != nil {
		p.t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	p.t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	// openssl says where it listens before it accepts ("ACCEPT [::]:PORT").
	accept := regexp.MustCompile(`ACCEPT .*:(\d+)`)
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if m := accept.FindStringSubmatch(sc.Text()); m != nil {
			go func() {
				for sc.Scan() {
				}
			}()
			r.target.Store(&url.URL{Scheme: "http", Host: "127.0.0.1:" + m[1]})
			return
		}
	}
	p.t.Fatal("openssl ocsp did not say where it listens")
}

// server serves a file of the pki's folder and counts the requests.
func (p *pki) server(file string) (string, *atomic.Int32) {
	var n atomic.Int32
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		http.ServeFile(w, r, filepath.Join(p.dir, file))
	}))
	p.t.Cleanup(s.Close)
	return s.URL + "/" + file, &n
}

// closedURL is a loopback address nobody listens on.
func closedURL(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr + "/ca.crl"
}

var entity = []byte("Content-Type: text/plain\r\n\r\nHej.\r\n")

func (p *pki) verify(id smime.Identity, pol *smime.Trust) (*smime.Verified, error) {
	p.t.Helper()
	der, err := smime.Sign(entity, id, smime.SignOptions{})
	if err != nil {
		p.t.Fatal(err)
	}
	return smime.Verify(der, nil, pol)
}

func reason(err error) smime.Reason {
	var e *smime.Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return ""
}

// TestOnlineRevocation: CRLs from distribution points and OCSP answers
// from openssl's responder decide; a source that cannot be reached is
// said, never taken for good.
func TestOnlineRevocation(t *testing.T) {
	p := newPKI(t)
	crlURL, hits := p.server("ca.crl")
	ocsp := p.responder()
	ocspURL := ocsp.url
	good := p.issue("good", "god@kommune.example", crlURL, "")
	bad := p.issue("bad", "spaerret@kommune.example", crlURL, "")
	ocspGood := p.issue("ogood", "ocsp-god@kommune.example", "", ocspURL)
	ocspBad := p.issue("obad", "ocsp-spaerret@kommune.example", "", ocspURL)
	down := p.issue("down", "nede@kommune.example", closedURL(t), "")
	p.openCA("-valid", "good.pem")
	p.openCA("-valid", "ogood.pem")
	p.openCA("-revoke", "bad.pem", "-crl_reason", "keyCompromise")
	p.openCA("-revoke", "obad.pem", "-crl_reason", "keyCompromise")
	now := time.Now()
	p.crl("ca.crl", now.Add(-time.Hour), now.Add(7*24*time.Hour))
	ocsp.start() // now that the database holds every certificate

	roots := x509.NewCertPool()
	roots.AddCert(p.ca)
	cache := t.TempDir()
	f := &Fetcher{Dir: cache}
	pol := &smime.Trust{Roots: roots, Online: f}

	for _, tc := range []struct {
		name string
		id   smime.Identity
		want smime.Reason // of the error; "" valid
		warn bool         // revocation unknown, told
	}{
		{"good by CRL", good, "", false},
		{"revoked by CRL", bad, smime.CertRevoked, false},
		{"good by OCSP", ocspGood, "", false},
		{"revoked by OCSP", ocspBad, smime.CertRevoked, false},
		{"distribution point down", down, "", true},
	} {
		v, err := p.verify(tc.id, pol)
		if reason(err) != tc.want {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
			continue
		}
		if err == nil && (v.Signers[0].Revocation != nil) != tc.warn {
			t.Errorf("%s: revocation warning %v", tc.name, v.Signers[0].Revocation)
		}
	}
	// Required, an unknown status refuses.
	strict := *pol
	strict.Revocation = smime.RevocationRequire
	if _, err := p.verify(down, &strict); reason(err) != smime.RevocationUnknown {
		t.Errorf("required: %v", err)
	}
	// The CRL was fetched once; a new fetcher reads it from the folder.
	if n := hits.Load(); n != 1 {
		t.Errorf("the CRL was fetched %d times", n)
	}
	if _, err := p.verify(bad, &smime.Trust{Roots: roots, Online: &Fetcher{Dir: cache}}); reason(err) != smime.CertRevoked || hits.Load() != 1 {
		t.Errorf("from the cache: %v, %d fetches", err, hits.Load())
	}

	// A CRL past its nextUpdate is fetched again; when the new one is
	// stale too, the status is unknown, not good.
	p.crl("ca.crl", now.Add(-48*time.Hour), now.Add(-24*time.Hour))
	old := &Fetcher{Now: func() time.Time { return now.Add(8 * 24 * time.Hour) }}
	v, err := p.verify(good, &smime.Trust{Roots: roots, Online: old})
	if err != nil || v.Signers[0].Revocation == nil || reason(v.Signers[0].Revocation) != smime.RevocationUnknown {
		t.Errorf("stale CRL: %v, warning %v", err, v.Signers[0].Revocation)
	}
	// With fetching off, the CRL files of the settings still count.
	crl, err := x509.ParseRevocationList(mustPEM(t, p.crl("ca.crl", now.Add(-time.Hour), now.Add(time.Hour))))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.verify(bad, &smime.Trust{Roots: roots, CRLs: []*x509.RevocationList{crl}}); reason(err) != smime.CertRevoked {
		t.Errorf("offline, from the settings: %v", err)
	}
}

func mustPEM(t *testing.T, b []byte) []byte {
	blk, _ := pem.Decode(b)
	if blk == nil {
		t.Fatalf("not PEM: %q", b)
	}
	return blk.Bytes
}

// withCRL puts crl into the crls field of a DER SignedData ContentInfo.
func withCRL(t *testing.T, ci, crl []byte) []byte {
	t.Helper()
	in := cryptobyte.String(ci)
	var outer, sd cryptobyte.String
	var typ asn1.ObjectIdentifier
	var explicit cryptobyte.String
	if !in.ReadASN1(&outer, cbasn1.SEQUENCE) || !outer.ReadASN1ObjectIdentifier(&typ) ||
		!outer.ReadASN1(&explicit, cbasn1.Tag(0).ContextSpecific().Constructed()) || !explicit.ReadASN1(&sd, cbasn1.SEQUENCE) {
		t.Fatal("not a SignedData ContentInfo")
	}
	var elems [][]byte
	for !sd.Empty() {
		var e cryptobyte.String
		if !sd.ReadAnyASN1Element(&e, nil) {
			t.Fatal("bad SignedData")
		}
		elems = append(elems, e)
	}
	b := cryptobyte.NewBuilder(nil)
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(typ)
		b.AddASN1(cbasn1.Tag(0).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				for i, e := range elems {
					if i == len(elems)-1 {
						b.AddASN1(cbasn1.Tag(1).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) { b.AddBytes(crl) })
					}
					b.AddBytes(e)
				}
			})
		})
	})
	return b.BytesOrPanic()
}

// TestCRLInTheMessage: a CRL the signer sent along in the SignedData is
// used like any other.
func TestCRLInTheMessage(t *testing.T) {
	p := newPKI(t)
	bad := p.issue("bad", "spaerret@kommune.example", "http://crl.invalid/ca.crl", "")
	p.openCA("-revoke", "bad.pem")
	now := time.Now()
	p.crl("ca.crl", now.Add(-time.Hour), now.Add(time.Hour))
	keyPEM, _ := x509.MarshalPKCS8PrivateKey(bad.Key)
	os.WriteFile(filepath.Join(p.dir, "bad.key"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyPEM}), 0o600)
	os.WriteFile(filepath.Join(p.dir, "in.txt"), entity, 0o600)
	p.run("cms", "-sign", "-binary", "-nodetach", "-in", "in.txt", "-signer", "bad.pem", "-inkey", "bad.key", "-outform", "DER", "-out", "signed.der")
	signed, err := os.ReadFile(filepath.Join(p.dir, "signed.der"))
	if err != nil {
		t.Fatal(err)
	}
	crlPEM, _ := os.ReadFile(filepath.Join(p.dir, "ca.crl"))
	// openssl 3.0's cms has no -crlfile: the CRL goes into the
	// SignedData's crls field here (it is outside the signature).
	der := withCRL(t, signed, mustPEM(t, crlPEM))
	roots := x509.NewCertPool()
	roots.AddCert(p.ca)
	if _, err := smime.Verify(der, nil, &smime.Trust{Roots: roots}); reason(err) != smime.CertRevoked {
		t.Errorf("a CRL in the message: %v", err)
	}
}
