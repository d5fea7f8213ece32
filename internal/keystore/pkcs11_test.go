//go:build cgo

package keystore

import (
	"bytes"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"sikkermail/internal/smime"
	"sikkermail/internal/testenv"
)

// softHSM makes a SoftHSM2 token, "sikkermail" with PIN 1234, holding
// the test mailbox's key (sensitive: it cannot be read back) and its
// certificate under the label "uddservice". It returns the module.
func softHSM(t *testing.T) string {
	t.Helper()
	util := testenv.Need(t, "softhsm2-util")
	tool := testenv.Need(t, "pkcs11-tool")
	modules, _ := filepath.Glob("/usr/lib/*/softhsm/libsofthsm2.so")
	if m, _ := filepath.Glob("/usr/lib/softhsm/libsofthsm2.so"); len(m) > 0 {
		modules = append(m, modules...)
	}
	if len(modules) == 0 {
		testenv.Need(t, "libsofthsm2.so") // skips, or fails when strict
	}
	module := modules[0]
	dir := t.TempDir()
	conf := filepath.Join(dir, "softhsm2.conf")
	os.Mkdir(filepath.Join(dir, "tokens"), 0o700)
	os.WriteFile(conf, []byte("directories.tokendir = "+filepath.Join(dir, "tokens")+"\nobjectstore.backend = file\nlog.level = ERROR\n"), 0o600)
	t.Setenv("SOFTHSM2_CONF", conf)
	id, err := Load(p12("mailbox-rsa"), []byte("test"))
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(id.Key)
	keyFile, certFile := filepath.Join(dir, "key.pem"), filepath.Join(dir, "cert.der")
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
	os.WriteFile(certFile, id.Cert.Raw, 0o600)
	for _, args := range [][]string{
		{util, "--init-token", "--free", "--label", "sikkermail", "--pin", "1234", "--so-pin", "5678"},
		{util, "--import", keyFile, "--token", "sikkermail", "--label", "uddservice", "--id", "01", "--pin", "1234"},
		{tool, "--module", module, "--token-label", "sikkermail", "--login", "--pin", "1234", "--write-object", certFile, "--type", "cert", "--label", "uddservice", "--id", "01"},
	} {
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", filepath.Base(args[0]), err, out)
		}
	}
	os.Remove(keyFile) // from here on the key is in the token alone
	return module
}

// A mailbox's identity on a PKCS #11 token: its key never enters the
// process, and signs and decrypts (PKCS #1 v1.5 and OAEP key transport,
// from openssl cms) in the token.
func TestToken(t *testing.T) {
	module := softHSM(t)
	openssl := testenv.Need(t, "openssl")
	t.Setenv("SIKKERMAIL_TEST_PIN", "1234")
	uri := "pkcs11:token=sikkermail;object=uddservice?module-path=" + module
	id, err := Open(uri, "env:SIKKERMAIL_TEST_PIN")
	if err != nil {
		t.Fatal(err)
	}
	if _, inProcess := id.Key.(*rsa.PrivateKey); inProcess || len(id.Cert.EmailAddresses) == 0 {
		t.Fatalf("key %T, certificate %s", id.Key, id.Cert.Subject)
	}
	// Signed in the token, verified by openssl.
	dir := t.TempDir()
	signed, err := smime.Sign([]byte("Afgørelse\r\n"), *id, smime.SignOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sigFile, certFile := filepath.Join(dir, "signed.der"), filepath.Join(dir, "cert.pem")
	os.WriteFile(sigFile, signed, 0o600)
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: id.Cert.Raw}), 0o600)
	if out, err := exec.Command(openssl, "cms", "-verify", "-inform", "DER", "-in", sigFile, "-noverify", "-certfile", certFile).CombinedOutput(); err != nil || !bytes.Contains(out, []byte("Afgørelse")) {
		t.Fatalf("openssl cms -verify: %v\n%s", err, out)
	}
	// Encrypted by openssl to the certificate, decrypted in the token.
	for _, padding := range []string{"pkcs1", "oaep"} {
		in, out := filepath.Join(dir, "in.txt"), filepath.Join(dir, padding+".der")
		os.WriteFile(in, []byte("Fortroligt "+padding), 0o600)
		args := []string{"cms", "-encrypt", "-binary", "-aes-256-cbc", "-outform", "DER", "-in", in, "-out", out, "-recip", certFile}
		if padding == "oaep" {
			args = append(args, "-keyopt", "rsa_padding_mode:oaep")
		}
		if b, err := exec.Command(openssl, args...).CombinedOutput(); err != nil {
			t.Fatalf("openssl cms -encrypt: %v\n%s", err, b)
		}
		msg, _ := os.ReadFile(out)
		d, err := smime.Decrypt(msg, id.Cert, id.Key)
		if err != nil {
			t.Errorf("%s: %v", padding, err)
		} else if string(d.Content) != "Fortroligt "+padding {
			t.Errorf("%s: %q", padding, d.Content)
		}
	}
	// A wrong PIN, and a label that is not there, are told as such.
	t.Setenv("SIKKERMAIL_TEST_PIN", "0000")
	for _, bad := range []string{"pkcs11:token=sikkermail;object=ingen?module-path=" + module, "pkcs11:object=uddservice"} {
		var ke *Error
		if _, err := Open(bad, "env:SIKKERMAIL_TEST_PIN"); !errors.As(err, &ke) || (ke.Reason != TokenUnreachable && ke.Reason != BadToken) {
			t.Errorf("%s: %v", bad, err)
		}
	}
}
