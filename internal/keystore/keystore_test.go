package keystore

import (
	"crypto/ecdsa"
	"crypto/rsa"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sikkermail/internal/i18n"
	"sikkermail/internal/smime"
	"sikkermail/internal/testenv"
)

func p12(name string) string { return testenv.Path("testdata", "certs", name+".p12") }

func reason(err error) Reason {
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return ""
}

func TestLoad(t *testing.T) {
	for _, tc := range []struct {
		name, email string
		rsa         bool
	}{
		{"mailbox-rsa", "sikkerpost-uddservice@hoejskole.example", true},        // PBES2, AES-256-CBC (openssl 3 default)
		{"mailbox-rsa-legacy", "sikkerpost-uddservice@hoejskole.example", true}, // 3DES, SHA-1 MAC
		{"mailbox-rsa-rc2", "sikkerpost-uddservice@hoejskole.example", true},    // RC2-40 certificates, 3DES key
		{"mailbox-ec", "sikkerpost-hr@hoejskole.example", false},
	} {
		id, err := Load(p12(tc.name), []byte("test"))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if !smime.HasAddress(id.Cert, tc.email) || len(id.Chain) != 1 || id.Chain[0].Subject.CommonName != "Sikkermail Test Root CA" {
			t.Errorf("%s: cert %v chain %d", tc.name, id.Cert.Subject, len(id.Chain))
		}
		switch id.Key.(type) {
		case *rsa.PrivateKey:
			if !tc.rsa {
				t.Errorf("%s: RSA key", tc.name)
			}
		case *ecdsa.PrivateKey:
			if tc.rsa {
				t.Errorf("%s: EC key", tc.name)
			}
		}
		// The key belongs to the certificate: a signature made with it verifies.
		if _, err := smime.Sign([]byte("x"), *id, smime.SignOptions{}); err != nil {
			t.Errorf("%s: sign: %v", tc.name, err)
		}
	}
}

func TestLoadErrors(t *testing.T) {
	if _, err := Load(p12("mailbox-rsa"), []byte("wrong")); reason(err) != WrongPassword {
		t.Errorf("wrong password: %v", err)
	}
	if _, err := Load(p12("mailbox-rsa-legacy"), []byte("wrong")); reason(err) != WrongPassword {
		t.Errorf("wrong password, legacy: %v", err)
	}
	if _, err := Load(filepath.Join(t.TempDir(), "nope.p12"), nil); reason(err) != FileUnreadable {
		t.Errorf("missing file: %v", err)
	}
	junk := filepath.Join(t.TempDir(), "junk.p12")
	os.WriteFile(junk, []byte("not a p12"), 0o600)
	_, err := Load(junk, []byte("test"))
	if reason(err) != NotPKCS12 {
		t.Errorf("junk: %v", err)
	}
	for _, l := range i18n.Langs {
		if s := l.Error(err); !strings.Contains(s, junk) {
			t.Errorf("%s: %q does not name the file", l, s)
		}
	}
}

func TestPasswordSources(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "pw")
	os.WriteFile(f, []byte("test\r\nsecond line\n"), 0o600)
	t.Setenv("SIKKERMAIL_TEST_PW", "test")
	for _, spec := range []string{"file:" + f, "env:SIKKERMAIL_TEST_PW"} {
		src, err := ParsePassword(spec)
		if err != nil {
			t.Fatal(err)
		}
		pw, err := src.Get(p12("mailbox-rsa"))
		if err != nil || string(pw) != "test" {
			t.Errorf("%s: %q, %v", spec, pw, err)
		}
		if _, err := Load(p12("mailbox-rsa"), pw); err != nil {
			t.Errorf("%s: %v", spec, err)
		}
	}
	if src, _ := ParsePassword("keyring"); src != (Keyring{}) {
		t.Errorf("keyring source %T", src)
	}
	for _, bad := range []string{"file:", "env:", "plain:secret", "secret"} {
		if _, err := ParsePassword(bad); reason(err) != BadPasswordSource {
			t.Errorf("%q: %v", bad, err)
		}
	}
	if _, err := Env("SIKKERMAIL_TEST_UNSET_PW").Get("x"); reason(err) != NoPassword {
		t.Errorf("unset variable: %v", err)
	}
}

func TestSentences(t *testing.T) {
	for _, r := range Reasons {
		e := &Error{Reason: r, File: "/srv/sikker.p12"}
		for _, l := range i18n.Langs {
			if s := l.Error(e); !strings.Contains(s, "/srv/sikker.p12") || !l.Has(e.Localize().Key) {
				t.Errorf("%s %s: %q", l, r, s)
			}
		}
	}
}
