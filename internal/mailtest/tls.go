package mailtest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// TLS is a throw-away PKI for loopback servers: a CA and a server
// certificate for 127.0.0.1 and localhost. Clients trust Roots; a client
// that does not is refused, as TLS must be verified always.
type TLS struct {
	Server *tls.Config
	Roots  *x509.CertPool
	// CertFile and KeyFile hold the server certificate and key as PEM,
	// for servers configured by file (slapd, dovecot); CAFile the CA's
	// certificate, for clients configured by file.
	CertFile, KeyFile, CAFile string

	ca    *x509.Certificate
	caKey *ecdsa.PrivateKey
	mu    sync.Mutex
	cert  *tls.Certificate // what the server presents now
	good  tls.Certificate
}

// BadCert is a server certificate a client must refuse.
type BadCert string

// The bad certificates Present can switch a server to.
const (
	WrongName  BadCert = "wrong-name" // from the test CA, for another host
	Expired    BadCert = "expired"    // from the test CA, expired yesterday
	SelfSigned BadCert = "self-signed"
	Good       BadCert = ""
)

// Present makes the server present a bad certificate from its next
// handshake on (Good: the right one again).
func (x *TLS) Present(t T, bad BadCert) {
	t.Helper()
	now := time.Now()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(now.UnixNano()), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}}
	parent, parentKey := x.ca, x.caKey
	switch bad {
	case Good:
		x.mu.Lock()
		x.cert = &x.good
		x.mu.Unlock()
		return
	case WrongName:
		tmpl.Subject.CommonName, tmpl.DNSNames, tmpl.IPAddresses = "mail.other.example", []string{"mail.other.example"}, nil
	case Expired:
		tmpl.NotBefore, tmpl.NotAfter = now.AddDate(0, -1, 0), now.AddDate(0, 0, -1)
	case SelfSigned:
		parent = tmpl
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if parent == tmpl {
		parentKey = key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	x.mu.Lock()
	x.cert = &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	x.mu.Unlock()
}

func (x *TLS) getCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.cert, nil
}

// NewTLS makes a fresh CA and server certificate for the test.
func NewTLS(t T) *TLS {
	t.Helper()
	x, err := newTLS(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return x
}

// NewTLSIn makes a fresh CA and server certificate, their files in dir.
func NewTLSIn(dir string) (*TLS, error) { return newTLS(dir) }

// newTLS makes a fresh CA and server certificate, their files in dir.
func newTLS(dir string) (*TLS, error) {
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	now := time.Now()
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "mailtest CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:    []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	keyDER, _ := x509.MarshalPKCS8PrivateKey(key)
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, err
	}
	out := &TLS{Server: &tls.Config{}, Roots: x509.NewCertPool(),
		CertFile: filepath.Join(dir, "server.pem"), KeyFile: filepath.Join(dir, "server.key"), CAFile: filepath.Join(dir, "ca.pem"),
		ca: ca, caKey: caKey, good: pair}
	// Only GetCertificate: Go asks it on every handshake when there are no
	// Certificates (with them, only when the client sends a name).
	out.cert = &out.good
	out.Server.GetCertificate = out.getCertificate
	out.Roots.AddCert(ca)
	for _, f := range []struct {
		name string
		data []byte
		mode os.FileMode
	}{{out.CertFile, certPEM, 0o600}, {out.KeyFile, keyPEM, 0o600}, {out.CAFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o644}} {
		if err := os.WriteFile(f.name, f.data, f.mode); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Client returns a client configuration that trusts the test CA.
func (x *TLS) Client() *tls.Config { return &tls.Config{RootCAs: x.Roots} }
