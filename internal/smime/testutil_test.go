package smime

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"os"
	"os/exec"
	"testing"

	"sikkermail/internal/testenv"
)

// testCert loads testdata/certs/NAME.pem and NAME.key.
func testCert(t testing.TB, name string) (*x509.Certificate, crypto.Signer) {
	t.Helper()
	certPEM, err := os.ReadFile(testenv.Path("testdata", "certs", name+".pem"))
	if err != nil {
		t.Fatal(err)
	}
	keyPEM, err := os.ReadFile(testenv.Path("testdata", "certs", name+".key"))
	if err != nil {
		t.Fatal(err)
	}
	cb, _ := pem.Decode(certPEM)
	kb, _ := pem.Decode(keyPEM)
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	key, err := x509.ParsePKCS8PrivateKey(kb.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key.(crypto.Signer)
}

func certPath(name string) string { return testenv.Path("testdata", "certs", name+".pem") }
func keyPath(name string) string  { return testenv.Path("testdata", "certs", name+".key") }

// openssl runs openssl with args and stdin, and returns its output; a
// failure ends the test with openssl's own words.
func openssl(t testing.TB, stdin []byte, args ...string) []byte {
	t.Helper()
	out, err := runOpenSSL(t, stdin, args...)
	if err != nil {
		t.Fatalf("openssl %v: %v", args, err)
	}
	return out
}

func runOpenSSL(t testing.TB, stdin []byte, args ...string) ([]byte, error) {
	t.Helper()
	bin := testenv.Need(t, "openssl")
	cmd := exec.Command(bin, args...)
	cmd.Stdin = bytes.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, &opensslError{err: err, stderr: stderr.String()}
	}
	return out, nil
}

type opensslError struct {
	err    error
	stderr string
}

func (e *opensslError) Error() string { return e.err.Error() + ": " + e.stderr }
