package keystore

import (
	"bytes"
	"os"
	"os/exec"
	"testing"

	"sikkermail/internal/testenv"
)

// TestKeyringSecretService stores and reads a PKCS #12 password through
// the real OS keyring on Linux: a gnome-keyring Secret Service on a private
// D-Bus session bus, with its own home, so no developer's keyring is
// touched. The test runs itself again inside that session.
func TestKeyringSecretService(t *testing.T) {
	if os.Getenv("SIKKERMAIL_KEYRING_CHILD") != "" {
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
		return
	}
	testenv.Need(t, "dbus-run-session")
	testenv.Need(t, "gnome-keyring-daemon")
	home := t.TempDir()
	cmd := exec.Command("dbus-run-session", "--", "sh", "-c",
		`printf unlock-me | gnome-keyring-daemon --unlock --components=secrets >/dev/null && exec "$0" -test.run='^TestKeyringSecretService$' -test.v`,
		os.Args[0])
	cmd.Env = append(os.Environ(), "SIKKERMAIL_KEYRING_CHILD=1", "HOME="+home,
		"XDG_DATA_HOME="+home+"/data", "XDG_RUNTIME_DIR="+home, "XDG_CONFIG_HOME="+home+"/config")
	out, err := cmd.CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte("--- PASS: TestKeyringSecretService")) {
		t.Fatalf("in a Secret Service session: %v\n%s", err, out)
	}
}
