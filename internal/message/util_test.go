package message

import (
	"crypto/x509"
	"os/exec"
	"testing"

	"sikkermail/internal/smime"
)

func rootsOf(t *testing.T, id *smime.Identity) *x509.CertPool {
	t.Helper()
	p := x509.NewCertPool()
	for _, c := range id.Chain {
		p.AddCert(c)
	}
	return p
}

func runOut(bin string, args ...string) ([]byte, error) { return exec.Command(bin, args...).Output() }
