// Package testenv gives tests the outside tools they talk to (openssl,
// gpgsm, slapd, dovecot, ...). A missing tool skips the test with a reason
// on a developer's machine, and fails it when SIKKERMAIL_STRICT is set, as
// `make test` does after installing every tool.
package testenv

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// Strict reports whether missing tools are failures (SIKKERMAIL_STRICT set).
func Strict() bool { return os.Getenv("SIKKERMAIL_STRICT") != "" }

// Need returns the path of the named program, or skips (fails, when
// strict) the test if it is not installed.
func Need(t testing.TB, program string) string {
	t.Helper()
	p, err := exec.LookPath(program)
	if err != nil {
		if Strict() {
			t.Fatalf("%s is not installed, and SIKKERMAIL_STRICT is set: run .ci/install-deps", program)
		}
		t.Skipf("%s is not installed (.ci/install-deps installs it)", program)
	}
	return p
}

// Root returns the repository's root directory.
func Root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// Path returns a path below the repository root, such as
// Path("testdata", "certs", "ca.pem").
func Path(elem ...string) string {
	return filepath.Join(append([]string{Root()}, elem...)...)
}

// InSecretService reports whether the test is running inside a private
// Secret Service (gnome-keyring on its own D-Bus session bus, with its
// own home, so no developer's keyring is touched). When it is not, it
// runs the test again inside one, fails t unless that run passes, and
// returns false: the caller then returns. Use it as
//
//	if !testenv.InSecretService(t) { return }
//	... the test, against the real OS keyring ...
func InSecretService(t *testing.T) bool {
	t.Helper()
	if os.Getenv("SIKKERMAIL_KEYRING_CHILD") == t.Name() {
		return true
	}
	Need(t, "dbus-run-session")
	Need(t, "gnome-keyring-daemon")
	home := t.TempDir()
	cmd := exec.Command("dbus-run-session", "--", "sh", "-c",
		`printf unlock-me | gnome-keyring-daemon --unlock --components=secrets >/dev/null && exec "$0" -test.run="^$1\$" -test.v`,
		os.Args[0], t.Name())
	cmd.Env = append(os.Environ(), "SIKKERMAIL_KEYRING_CHILD="+t.Name(), "HOME="+home,
		"XDG_DATA_HOME="+home+"/data", "XDG_RUNTIME_DIR="+home, "XDG_CONFIG_HOME="+home+"/config")
	out, err := cmd.CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte("--- PASS: "+t.Name())) {
		t.Fatalf("in a Secret Service session: %v\n%s", err, out)
	}
	return false
}
