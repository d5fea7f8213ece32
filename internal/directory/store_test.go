package directory

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"sikkermail/internal/smime"
)

func runCmd(bin string, args ...string) ([]byte, error) {
	return exec.Command(bin, args...).CombinedOutput()
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestStore(t *testing.T) {
	dir := t.TempDir()
	copyFile(t, certFile("recipient-rsa"), filepath.Join(dir, "jens.pem"))
	copyFile(t, certFile("recipient-rsa"), filepath.Join(dir, "jens-again.crt")) // the same certificate twice
	os.WriteFile(filepath.Join(dir, "firma.p7c"), p7c(t, loadCert(t, "recipient-ec"), loadCert(t, "recipient-rsa-2")), 0o644)
	os.WriteFile(filepath.Join(dir, "junk.pem"), []byte("not a certificate"), 0o644)
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("ignored"), 0o644)
	s, err := OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Skipped) != 1 || filepath.Base(s.Skipped[0]) != "junk.pem" {
		t.Errorf("skipped %v", s.Skipped)
	}
	got, _ := s.Lookup(context.Background(), []string{"Jens.Hansen@kommune.example", "post@firma.example", "nobody@x.example"})
	if len(got["Jens.Hansen@kommune.example"]) != 2 || len(got["post@firma.example"]) != 1 || got["nobody@x.example"] != nil {
		t.Errorf("lookup %v", got)
	}
	// A certificate learnt from signed mail is kept, and found after a restart.
	if err := s.Add(loadCert(t, "oces2")); err != nil {
		t.Fatal(err)
	}
	again, err := OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := again.Lookup(context.Background(), []string{"sikkermail@region.example"}); len(got["sikkermail@region.example"]) != 1 {
		t.Errorf("learnt certificate lost: %v", got)
	}
	if err := s.Add(loadCert(t, "oces2")); err != nil {
		t.Errorf("adding a known certificate again: %v", err)
	}
}

// TestLearn: a valid signer's certificate and capabilities are kept, and a
// recipient whose signature announced no GCM gets CBC.
func TestLearn(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	cert := loadCert(t, "recipient-ec")
	if err := s.Learn(smime.Signer{Cert: cert, Capabilities: []string{"AES-256-CBC", "AES-128-CBC"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Learn(smime.Signer{Cert: loadCert(t, "expired"), Err: errors.New("expired")}); err == nil {
		t.Error("an invalid signer was learnt")
	}
	again, err := OpenStore(dir) // as after a restart
	if err != nil {
		t.Fatal(err)
	}
	d := &Directory{Sources: []Source{again}, Trust: policy(t)}
	v := d.Check(context.Background(), parse(t, "post@firma.example"))
	if !v[0].OK() || v[0].Cipher != smime.AES256CBC {
		t.Errorf("learnt recipient: %+v", v[0])
	}
	// One that announced GCM gets GCM.
	again.Learn(smime.Signer{Cert: cert, Capabilities: []string{"AES-256-GCM"}})
	if v := d.Check(context.Background(), parse(t, "post@firma.example")); v[0].Cipher != smime.AES256GCM {
		t.Errorf("after a GCM signature: %s", v[0].Cipher)
	}
}
