package mailtest

import (
	"fmt"
	"os"
	"slices"
)

// T is what the servers need of whoever starts them: a test
// (testing.TB), or the demo environment (Runner).
type T interface {
	Helper()
	Fatal(args ...any)
	Cleanup(func())
	TempDir() string
}

// Runner starts servers outside a test, for the demo: Fatal stops Run
// with an error, and Close runs the cleanups, last first.
type Runner struct {
	cleanups []func()
}

type runnerFailure struct{ msg string }

func (*Runner) Helper() {}

// Fatal ends the function Run is running.
func (*Runner) Fatal(args ...any) { panic(runnerFailure{fmt.Sprint(args...)}) }

// Cleanup registers f for Close.
func (r *Runner) Cleanup(f func()) { r.cleanups = append(r.cleanups, f) }

// TempDir makes a folder that Close removes.
func (r *Runner) TempDir() string {
	d, err := os.MkdirTemp("", "sikkermail-demo-")
	if err != nil {
		r.Fatal(err)
	}
	r.Cleanup(func() { os.RemoveAll(d) })
	return d
}

// Run calls f and returns what it passed to Fatal as an error.
func (r *Runner) Run(f func()) (err error) {
	defer func() {
		if v := recover(); v != nil {
			fail, ok := v.(runnerFailure)
			if !ok {
				panic(v)
			}
			err = fmt.Errorf("demo: %s", fail.msg)
		}
	}()
	f()
	return nil
}

// Close stops what was started, last first.
func (r *Runner) Close() {
	for _, f := range slices.Backward(r.cleanups) {
		f()
	}
	r.cleanups = nil
}
