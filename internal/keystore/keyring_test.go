package keystore

import (
	"testing"

	"sikkermail/internal/testenv"
)

// TestKeyringSecretService stores and reads a PKCS #12 password through
// the real OS keyring on Linux: a gnome-keyring Secret Service on a private
// D-Bus session bus.
func TestKeyringSecretService(t *testing.T) {
	if !testenv.InSecretService(t) {
		return
	}
	ref := p12("mailbox-rsa")
	if _, err := (Keyring{}).Get(ref); reason(err) != NoPassword {
		t.Fatalf("a password no one saved: %v", err)
	}
	if err := (Keyring{}).Save(ref, []byte("test")); err != nil {
		t.Fatal(err)
	}
	pw, err := Keyring{}.Get(ref)
	if err != nil || string(pw) != "test" {
		t.Fatalf("got %q, %v", pw, err)
	}
	if _, err := Load(ref, pw); err != nil {
		t.Fatal(err)
	}
}
