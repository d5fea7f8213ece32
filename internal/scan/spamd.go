package scan

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/textproto"
	"strconv"
	"strings"
	"time"
)

// Spamd is a SpamAssassin daemon to ask whether a mail is spam. The
// gateway asks it of each inbound mail once decrypted, where no filter
// before it could read the text. It speaks spamd's own protocol
// (SPAMC/1.5, command SYMBOLS) over its socket. A spamd that cannot be
// asked is an error, never a pass.
type Spamd struct {
	// Network is "unix" or "tcp"; Address the socket's path or host:port.
	Network, Address string
	// Timeout bounds one check (default 2 minutes).
	Timeout time.Duration
	// MaxSize is how much of a mail is checked (default MaxSpamSize):
	// a longer one is checked on its first MaxSize bytes, cut at a line.
	MaxSize int
}

// MaxSpamSize is how much of a mail spamd is given by default. Spam is
// told by its header and text; attachments are the virus scanner's.
// spamc skips a mail over 500 KB; the boundary checks such a mail's
// beginning instead, so no mail passes unchecked.
const MaxSpamSize = 512 << 10

// ParseSpamd reads spamd's setting: "unix:/run/spamd.sock" or
// "tcp:host:783".
func ParseSpamd(setting string) (*Spamd, error) {
	network, addr, err := socket("spamd", setting)
	if err != nil {
		return nil, err
	}
	return &Spamd{Network: network, Address: addr}, nil
}

// Spam is what spamd said of a mail.
type Spam struct {
	// Spam is true when the score reached the threshold.
	Spam             bool
	Score, Threshold float64
	// Rules are the names of the rules that matched.
	Rules []string
}

// Check asks spamd about msg, a whole mail (header and body).
func (s *Spamd) Check(ctx context.Context, msg []byte) (Spam, error) {
	conn, err := dial(ctx, s.Network, s.Address, s.Timeout)
	if err != nil {
		return Spam{}, s.fail(err)
	}
	defer conn.Close()
	msg = cutAt(msg, s.MaxSize)
	w := bufio.NewWriter(conn)
	fmt.Fprintf(w, "SYMBOLS SPAMC/1.5\r\nContent-length: %d\r\n\r\n", len(msg))
	w.Write(msg)
	if err := w.Flush(); err != nil {
		return Spam{}, s.fail(err)
	}
	if c, ok := conn.(interface{ CloseWrite() error }); ok {
		c.CloseWrite()
	}
	v, err := readSpamd(bufio.NewReader(io.LimitReader(conn, 64<<10)))
	if err != nil {
		return Spam{}, s.fail(err)
	}
	return v, nil
}

// Ping asks whether spamd answers.
func (s *Spamd) Ping(ctx context.Context) error {
	conn, err := dial(ctx, s.Network, s.Address, s.Timeout)
	if err != nil {
		return s.fail(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, "PING SPAMC/1.5\r\n\r\n"); err != nil {
		return s.fail(err)
	}
	line, err := bufio.NewReader(io.LimitReader(conn, 4096)).ReadString('\n')
	if err != nil {
		return s.fail(err)
	}
	if f := strings.Fields(line); len(f) != 3 || !strings.HasPrefix(f[0], "SPAMD/") || f[2] != "PONG" {
		return s.fail(fmt.Errorf("answered %q", strings.TrimSpace(line)))
	}
	return nil
}

// cutAt is msg, or its first max bytes (default MaxSpamSize) cut after
// a line's end.
func cutAt(msg []byte, max int) []byte {
	if max <= 0 {
		max = MaxSpamSize
	}
	if len(msg) <= max {
		return msg
	}
	msg = msg[:max]
	if i := bytes.LastIndexByte(msg, '\n'); i >= 0 {
		msg = msg[:i+1]
	}
	return msg
}

// readSpamd reads spamd's answer to SYMBOLS: a status line
// ("SPAMD/1.1 0 EX_OK"), header lines among which "Spam: True ; 7.5 /
// 5.0", and the matched rules, comma-separated.
func readSpamd(r *bufio.Reader) (Spam, error) {
	tp := textproto.NewReader(r)
	status, err := tp.ReadLine()
	if err != nil {
		return Spam{}, err
	}
	if f := strings.Fields(status); len(f) < 3 || !strings.HasPrefix(f[0], "SPAMD/") || f[1] != "0" {
		return Spam{}, fmt.Errorf("answered %q", status)
	}
	h, err := tp.ReadMIMEHeader()
	if err != nil && err != io.EOF {
		return Spam{}, err
	}
	verdict, score, ok := strings.Cut(h.Get("Spam"), ";")
	got, threshold, ok2 := strings.Cut(score, "/")
	var v Spam
	var err1, err2 error
	v.Score, err1 = strconv.ParseFloat(strings.TrimSpace(got), 64)
	v.Threshold, err2 = strconv.ParseFloat(strings.TrimSpace(threshold), 64)
	switch strings.ToLower(strings.TrimSpace(verdict)) {
	case "true", "yes":
		v.Spam = true
	case "false", "no":
	default:
		ok = false
	}
	if !ok || !ok2 || err1 != nil || err2 != nil {
		return Spam{}, fmt.Errorf("answered Spam: %q", h.Get("Spam"))
	}
	body, err := io.ReadAll(r)
	if err != nil {
		return Spam{}, err
	}
	for _, rule := range strings.Split(string(body), ",") {
		if rule = strings.TrimSpace(rule); rule != "" {
			v.Rules = append(v.Rules, rule)
		}
	}
	return v, nil
}

func (s *Spamd) fail(err error) error {
	return &Error{Reason: SpamUnavailable, Scanner: s.Address, Err: err}
}
