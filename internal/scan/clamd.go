// Package scan asks ClamAV's daemon, clamd, whether content carries
// malware: the gateway scans each inbound mail once it is decrypted,
// where no scanner before it could read it. It speaks clamd's own
// protocol over its socket (a Unix socket, or TCP on a trusted host):
// zINSTREAM, the content in length-prefixed chunks, and one answer. A
// scanner that cannot be asked, or that fails, is an error, never a
// pass.
package scan

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"sikkermail/internal/i18n"
)

// Clamd is a clamd to ask.
type Clamd struct {
	// Network is "unix" or "tcp"; Address the socket's path or host:port.
	Network, Address string
	// Timeout bounds one scan (default 2 minutes).
	Timeout time.Duration
}

// Parse reads a scanner's setting: "unix:/run/clamav/clamd.ctl" or
// "tcp:host:3310".
func Parse(setting string) (*Clamd, error) {
	network, addr, err := socket("clamd", setting)
	if err != nil {
		return nil, err
	}
	return &Clamd{Network: network, Address: addr}, nil
}

// socket reads a daemon's socket setting: "unix:/path" or
// "tcp:host:port".
func socket(daemon, setting string) (network, addr string, err error) {
	network, addr, ok := strings.Cut(setting, ":")
	if !ok || addr == "" || (network != "unix" && network != "tcp") {
		return "", "", fmt.Errorf("scan: %q is no %s socket (unix:/path or tcp:host:port)", setting, daemon)
	}
	return network, addr, nil
}

// Verdict is what the scanner found.
type Verdict struct {
	// Clean is true when nothing was found.
	Clean bool
	// Found names what was found when not clean, as clamd calls it.
	Found string
}

// chunk is the size of the pieces sent; clamd's StreamMaxLength bounds
// their sum.
const chunk = 64 << 10

// Scan streams what r reads to clamd and returns its verdict.
func (c *Clamd) Scan(ctx context.Context, r io.Reader) (Verdict, error) {
	conn, err := c.dial(ctx)
	if err != nil {
		return Verdict{}, err
	}
	defer conn.Close()
	w := bufio.NewWriterSize(conn, chunk+4)
	w.WriteString("zINSTREAM\x00")
	buf := make([]byte, chunk)
	var size [4]byte
	for {
		n, rerr := io.ReadFull(r, buf)
		if n > 0 {
			binary.BigEndian.PutUint32(size[:], uint32(n))
			w.Write(size[:])
			if _, err := w.Write(buf[:n]); err != nil {
				// clamd stops reading past its limit, and says so.
				return c.answer(conn, err)
			}
		}
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			break
		}
		if rerr != nil {
			return Verdict{}, rerr // the content's own error: not the scanner's
		}
	}
	binary.BigEndian.PutUint32(size[:], 0)
	w.Write(size[:])
	return c.answer(conn, w.Flush())
}

// Ping asks whether clamd answers.
func (c *Clamd) Ping(ctx context.Context) error {
	conn, err := c.dial(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.Write([]byte("zPING\x00")); err != nil {
		return c.fail(err)
	}
	reply, err := readReply(conn)
	if err != nil {
		return c.fail(err)
	}
	if reply != "PONG" {
		return c.fail(fmt.Errorf("answered %q", reply))
	}
	return nil
}

func (c *Clamd) dial(ctx context.Context) (net.Conn, error) {
	conn, err := dial(ctx, c.Network, c.Address, c.Timeout)
	if err != nil {
		return nil, c.fail(err)
	}
	return conn, nil
}

// dial connects to a daemon, the connection bounded by timeout (default
// 2 minutes) or ctx's deadline, whichever comes first.
func dial(ctx context.Context, network, address string, timeout time.Duration) (net.Conn, error) {
	if timeout <= 0 {
		timeout = 2 * time.Minute
	}
	d := net.Dialer{Timeout: 10 * time.Second}
	conn, err := d.DialContext(ctx, network, address)
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(timeout)
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline = dl
	}
	conn.SetDeadline(deadline)
	return conn, nil
}

// answer reads clamd's answer to a scan; werr is what sending gave.
func (c *Clamd) answer(conn net.Conn, werr error) (Verdict, error) {
	reply, err := readReply(conn)
	if err != nil {
		return Verdict{}, c.fail(cmpErr(werr, err))
	}
	rest, ok := strings.CutPrefix(reply, "stream: ")
	switch {
	case ok && rest == "OK":
		return Verdict{Clean: true}, nil
	case ok && strings.HasSuffix(rest, " FOUND"):
		return Verdict{Found: strings.TrimSuffix(rest, " FOUND")}, nil
	case strings.Contains(reply, "size limit exceeded"):
		return Verdict{}, &Error{Reason: TooLarge, Scanner: c.Address, Err: errors.New(reply)}
	}
	return Verdict{}, c.fail(fmt.Errorf("answered %q", reply))
}

func cmpErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// readReply reads one answer, up to its NUL, of at most 4 KiB.
func readReply(conn net.Conn) (string, error) {
	b, err := bufio.NewReader(io.LimitReader(conn, 4096)).ReadBytes(0)
	if err != nil {
		return "", err
	}
	return string(bytes.TrimSpace(bytes.TrimSuffix(b, []byte{0}))), nil
}

func (c *Clamd) fail(err error) error {
	return &Error{Reason: Unavailable, Scanner: c.Address, Err: err}
}

// Reason says why a scan gave no verdict.
type Reason string

// The reasons.
const (
	// Unavailable: clamd could not be asked, or failed.
	Unavailable Reason = "unavailable"
	// TooLarge: the content is larger than clamd takes (StreamMaxLength).
	TooLarge Reason = "too_large"
	// SpamUnavailable: spamd could not be asked, or failed.
	SpamUnavailable Reason = "spam_unavailable"
)

// Reasons are every Reason, for the tests of their sentences.
var Reasons = []Reason{Unavailable, TooLarge, SpamUnavailable}

// Error is a scan that gave no verdict: never a pass.
type Error struct {
	Reason  Reason
	Scanner string
	Err     error
}

func (e *Error) Error() string {
	return fmt.Sprintf("scan: %s: %s: %v", e.Scanner, e.Reason, e.Err)
}
func (e *Error) Unwrap() error { return e.Err }

// IsTemporary: a scanner that is down may answer later; a mail too large
// for it stays too large.
func (e *Error) IsTemporary() bool { return e.Reason != TooLarge }

// Localize names the sentence.
func (e *Error) Localize() i18n.Message {
	return i18n.Message{Key: "scan." + string(e.Reason), Args: map[string]any{"Scanner": e.Scanner}}
}
