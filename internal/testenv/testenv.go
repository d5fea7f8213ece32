// Package testenv gives tests the outside tools they talk to (openssl,
// gpgsm, slapd, dovecot, ...). A missing tool skips the test with a reason
// on a developer's machine, and fails it when SIKKERMAIL_STRICT is set, as
// `make test` does after installing every tool.
package testenv

import (
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
