package mailtest

import "bytes"

// FailingReader gives the first N bytes of a message and then fails with
// Err, as a damaged file does midway; Size is the whole message's, as
// its sender announced it.
type FailingReader struct {
	r   *bytes.Reader
	n   int
	err error
}

// Failing returns a FailingReader of msg that fails after n bytes.
func Failing(msg []byte, n int, err error) *FailingReader {
	return &FailingReader{r: bytes.NewReader(msg), n: n, err: err}
}

func (f *FailingReader) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, f.err
	}
	k, _ := f.r.Read(p[:min(len(p), f.n)])
	f.n -= k
	return k, nil
}

// Size is the whole message's size.
func (f *FailingReader) Size() int64 { return f.r.Size() }
