//go:build unix

package core

import (
	"syscall"
	"testing"
)

// fileSizeLimit makes every file of the process stop growing at n bytes
// (RLIMIT_FSIZE), as on a full disk: a write past it fails with EFBIG (Go
// ignores SIGXFSZ). n < 0 lifts the limit again.
func fileSizeLimit(t *testing.T, n int64) {
	t.Helper()
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
		t.Fatal(err)
	}
	lim := old
	lim.Cur = lim.Max
	if n >= 0 {
		lim.Cur = uint64(n)
	}
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &lim); err != nil {
		t.Fatal(err)
	}
}
