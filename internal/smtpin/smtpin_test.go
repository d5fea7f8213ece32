package smtpin

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/emersion/go-smtp"

	"sikkermail/internal/mailtest"
)

// kept records what the listener handed on.
type kept struct {
	mu   sync.Mutex
	by   map[string][]string
	fail error
}

func (k *kept) ReceiveTraced(_ context.Context, mailbox, trace string, body []byte) (int64, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.fail != nil {
		return 0, k.fail
	}
	k.by[mailbox] = append(k.by[mailbox], trace+string(body))
	return int64(len(k.by)), nil
}

func start(t *testing.T, k *kept) (string, *mailtest.TLS) {
	t.Helper()
	x := mailtest.NewTLS(t)
	known := func(_ context.Context, a string) bool { return strings.HasPrefix(a, "sikkerpost") }
	s := New("gateway.hoejskole.example", k, known, 1<<20)
	s.TLSConfig = x.Server
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(l)
	t.Cleanup(func() { s.Close() })
	return l.Addr().String(), x
}

func code(err error) int {
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		return se.Code
	}
	return 0
}

// A real SMTP client: no mail without STARTTLS, none for a mailbox the
// gateway does not hold, 250 once every recipient's copy is kept (with
// the listener's Received line on top), 451 when it cannot be kept, and
// a mail over the limit refused.
func TestListener(t *testing.T) {
	k := &kept{by: map[string][]string{}}
	addr, x := start(t, k)
	plain, err := smtp.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	if err := plain.Mail("jens.hansen@kommune.example", nil); code(err) != 530 {
		t.Fatalf("MAIL before STARTTLS: %v", err)
	}
	plain.Close()
	c, err := smtp.DialStartTLS(addr, x.Client())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	msg := "From: jens.hansen@kommune.example\r\nTo: sikkerpost-hr@hoejskole.example\r\nSubject: Hej\r\n\r\nKrypteret indhold.\r\n"
	if err := c.Mail("jens.hansen@kommune.example", nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt("ukendt@hoejskole.example", nil); code(err) != 550 {
		t.Errorf("an unknown mailbox: %v", err)
	}
	for _, to := range []string{"sikkerpost-hr@hoejskole.example", "Sikkerpost-Ledelse@hoejskole.example"} {
		if err := c.Rcpt(to, nil); err != nil {
			t.Fatal(err)
		}
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte(msg))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	for _, mb := range []string{"sikkerpost-hr@hoejskole.example", "sikkerpost-ledelse@hoejskole.example"} {
		got := k.by[mb]
		if len(got) != 1 || !strings.HasPrefix(got[0], "Received: from ") || !strings.Contains(got[0], "by gateway.hoejskole.example (sikkermail-gateway) with ESMTPS (TLS1_3)") ||
			!strings.HasSuffix(got[0], msg) {
			t.Errorf("%s kept %q", mb, got)
		}
	}

	// Not kept: the sender's server is told to try again.
	k.fail = errors.New("the database is down")
	c.Mail("jens.hansen@kommune.example", nil)
	c.Rcpt("sikkerpost-hr@hoejskole.example", nil)
	w, _ = c.Data()
	w.Write([]byte(msg))
	if err := w.Close(); code(err) != 451 {
		t.Errorf("not kept: %v", err)
	}
	// Over the limit: refused (552, or the connection cut while it is
	// written), and nothing kept.
	k.fail = nil
	c.Mail("jens.hansen@kommune.example", nil)
	c.Rcpt("sikkerpost-hr@hoejskole.example", nil)
	w, _ = c.Data()
	_, werr := w.Write([]byte(strings.Repeat("x", 2<<20)))
	if err := w.Close(); werr == nil && code(err) != 552 {
		t.Errorf("over the limit: %v", err)
	}
	if len(k.by["sikkerpost-hr@hoejskole.example"]) != 1 {
		t.Errorf("kept %d", len(k.by["sikkerpost-hr@hoejskole.example"]))
	}
}
