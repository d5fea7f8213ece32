package smime

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"sikkermail/internal/testenv"
)

// gpgsm is a throw-away gpgsm home with the test CA trusted and the
// recipient-rsa identity imported. Debian's gpgsm 2.2 reads only legacy
// (3DES) PKCS#12 and does RSA with AES-CBC: no AuthEnvelopedData, no
// RSA-OAEP, no ECDH. Those are proven against openssl alone.
type gpgsm struct {
	t    *testing.T
	bin  string
	home string
}

func newGPGSM(t *testing.T) *gpgsm {
	t.Helper()
	g := &gpgsm{t: t, bin: testenv.Need(t, "gpgsm"), home: t.TempDir()}
	os.Chmod(g.home, 0o700)
	os.WriteFile(filepath.Join(g.home, "gpgsm.conf"), []byte("disable-crl-checks\ndisable-policy-checks\n"), 0o600)
	os.WriteFile(filepath.Join(g.home, "gpg-agent.conf"), []byte("allow-loopback-pinentry\n"), 0o600)
	t.Cleanup(func() {
		if gpgconf, err := exec.LookPath("gpgconf"); err == nil {
			cmd := exec.Command(gpgconf, "--homedir", g.home, "--kill", "all")
			cmd.Run()
		}
	})
	fp := strings.ToUpper(strings.TrimPrefix(strings.TrimSpace(string(openssl(t, nil, "x509", "-in", certPath("ca"), "-noout", "-fingerprint", "-sha1"))), "sha1 Fingerprint="))
	os.WriteFile(filepath.Join(g.home, "trustlist.txt"), []byte(fp+" S relax\n"), 0o600)
	g.run([]byte("test\n"), "--import", testenv.Path("testdata", "certs", "recipient-rsa-legacy.p12"))
	g.run(nil, "--import", certPath("mailbox-rsa"))
	return g
}

func (g *gpgsm) run(stdin []byte, args ...string) []byte {
	g.t.Helper()
	full := append([]string{"--homedir", g.home, "--batch", "--pinentry-mode", "loopback", "--passphrase-fd", "0"}, args...)
	cmd := exec.Command(g.bin, full...)
	cmd.Stdin = bytes.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		g.t.Fatalf("gpgsm %v: %v\n%s", args, err, stderr.String())
	}
	return out
}

func TestGPGSMReadsOurs(t *testing.T) {
	g := newGPGSM(t)
	dir := t.TempDir()
	rsa, _ := testCert(t, "recipient-rsa")
	der, err := Encrypt(mimeEntity, []Recipient{{Cert: rsa, RSAPadding: PKCS1v15}}, AES256CBC)
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(dir, "enc.der")
	os.WriteFile(f, der, 0o600)
	if out := g.run([]byte("test\n"), "--decrypt", f); !bytes.Equal(out, mimeEntity) {
		t.Errorf("gpgsm decrypted %q", out)
	}
	for _, detached := range []bool{false, true} {
		sig, err := Sign(mimeEntity, testIdentity(t, "mailbox-rsa"), SignOptions{Detached: detached})
		if err != nil {
			t.Fatal(err)
		}
		sf := filepath.Join(dir, "sig.der")
		os.WriteFile(sf, sig, 0o600)
		args := []string{"--verify", sf}
		if detached {
			cf := filepath.Join(dir, "content")
			os.WriteFile(cf, mimeEntity, 0o600)
			args = append(args, cf)
		}
		cmd := exec.Command(g.bin, append([]string{"--homedir", g.home, "--batch", "--status-fd", "1"}, args...)...)
		out, err := cmd.Output()
		if err != nil || !bytes.Contains(out, []byte("[GNUPG:] GOODSIG")) || !bytes.Contains(out, []byte("[GNUPG:] TRUST_FULLY")) {
			t.Errorf("gpgsm --verify (detached=%v): %v\n%s", detached, err, out)
		}
	}
}

func TestGPGSMWritesForUs(t *testing.T) {
	g := newGPGSM(t)
	dir := t.TempDir()
	in := filepath.Join(dir, "entity")
	os.WriteFile(in, mimeEntity, 0o600)
	p := testPolicy(t)
	cert, key := testCert(t, "recipient-rsa")
	for _, algo := range []string{"AES", "AES256"} {
		der := g.run(nil, "--cipher-algo", algo, "-r", "jens.hansen@kommune.example", "--encrypt", in)
		d, err := Decrypt(der, cert, key)
		if err != nil {
			t.Fatalf("%s: %v", algo, err)
		}
		if !bytes.Equal(d.Content, mimeEntity) {
			t.Errorf("%s: content %q", algo, d.Content)
		}
	}
	opaque := g.run([]byte("test\n"), "-u", "jens.hansen@kommune.example", "--sign", in)
	if v, err := Verify(opaque, nil, p); err != nil || !bytes.Equal(v.Content, mimeEntity) {
		t.Errorf("gpgsm --sign: %v", err)
	}
	detached := g.run([]byte("test\n"), "-u", "jens.hansen@kommune.example", "--detach-sign", in)
	if _, err := Verify(detached, mimeEntity, p); err != nil {
		t.Errorf("gpgsm --detach-sign: %v", err)
	}
}
