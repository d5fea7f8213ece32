package mailtest

import (
	"net"
	"os"
	"slices"
)

// T is what the Start functions need of a test (testing.TB has it).
type T interface {
	Helper()
	Fatal(args ...any)
	Cleanup(func())
	TempDir() string
}

// lifecycle is what a server started here stops when it is closed, last
// first: its listener's goroutine, its temporary files.
type lifecycle struct{ stops []func() }

func (l *lifecycle) atClose(f func()) { l.stops = append(l.stops, f) }

// Close stops the server and removes its files.
func (l *lifecycle) Close() {
	for _, f := range slices.Backward(l.stops) {
		f()
	}
	l.stops = nil
}

// tempTLS makes the server's TLS in a folder of its own that Close
// removes.
func (l *lifecycle) tempTLS() (*TLS, error) {
	dir, err := l.tempDir()
	if err != nil {
		return nil, err
	}
	return newTLS(dir)
}

func (l *lifecycle) tempDir() (string, error) {
	dir, err := os.MkdirTemp("", "mailtest-")
	if err != nil {
		return "", err
	}
	l.atClose(func() { os.RemoveAll(dir) })
	return dir, nil
}

// serve runs a server on ln until Close, which calls stop and waits for
// the server to return. It returns the address.
func (l *lifecycle) serve(ln net.Listener, run func(net.Listener) error, stop func()) string {
	done := make(chan struct{})
	go func() {
		defer close(done)
		run(ln)
	}()
	l.atClose(func() {
		stop()
		<-done
	})
	return ln.Addr().String()
}

// started fails t with err, or stops s when t ends.
func started[S interface{ Close() }](t T, s S, err error) S {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}
