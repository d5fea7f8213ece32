//go:build !unix && !windows

package outbox

import (
	"errors"
	"os"
	"time"
)

// lockFile takes an exclusive lock on path by creating it; a stale file
// from a crashed process is taken over after the process is gone, which
// this platform cannot tell us, so a lock older than a day is broken.
func lockFile(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		if st, serr := os.Stat(path); serr == nil && time.Since(st.ModTime()) > 24*time.Hour {
			os.Remove(path)
			return lockFile(path)
		}
		return nil, ErrBusy
	}
	if err != nil {
		return nil, err
	}
	f.Close()
	return func() { os.Remove(path) }, nil
}
