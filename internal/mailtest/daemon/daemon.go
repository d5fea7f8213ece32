// Package daemon starts real mail, directory and database servers
// (Dovecot, slapd, PostgreSQL, clamd) from the Debian packages for tests, each with its own
// configuration in a temporary folder, and stops them when the test ends.
// Only tests import it.
package daemon

import (
	"bytes"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"
)

// startDaemon starts cmd for the test, stops it with the signal stop when
// the test ends, and returns once ready reports true. It fails the test, with what the
// daemon said (its output and logFile, if any), when it exits first or
// is not ready within 10 s. The function it returns stops the daemon
// before the test ends (once: the end of the test does nothing more).
func startDaemon(t testing.TB, name string, cmd *exec.Cmd, stop os.Signal, logFile string, ready func() bool) func() {
	t.Helper()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	var once sync.Once
	halt := func() {
		once.Do(func() {
			cmd.Process.Signal(stop)
			<-exited
		})
	}
	t.Cleanup(halt)
	said := func() string {
		if logFile == "" {
			return out.String()
		}
		b, _ := os.ReadFile(logFile)
		return out.String() + string(b)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !ready() {
		select {
		case err := <-exited:
			t.Fatalf("%s exited: %v\n%s", name, err, said())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s was not ready within 10 s\n%s", name, said())
		}
		time.Sleep(20 * time.Millisecond) // polling a server that cannot signal readiness
	}
	return halt
}

// daemonDir is a new folder for a daemon, removed when the test ends.
// It is not t.TempDir: a Unix socket's path inside it must be short, and
// a daemon that runs as its own user must be let into it (0700 there).
func daemonDir(t testing.TB, prefix string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}
