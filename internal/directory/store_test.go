package directory

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
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
