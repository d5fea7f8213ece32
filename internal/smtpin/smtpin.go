// Package smtpin is the gateway's SMTP listener for the secure
// mailboxes: the target of a connector from Exchange Online (or of the
// MX), so that what arrives for a secure mailbox passes the boundary
// before any reader sees it. It takes mail over TLS only (STARTTLS
// before MAIL), for the mailboxes the gateway holds alone, and answers
// 250 only once the mail is durable in the boundary's queue.
package smtpin

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/emersion/go-smtp"

	"sikkermail/internal/message"
)

// Receiver keeps a mail that arrived for a mailbox, the listener's
// trace on top of its body (core.Boundary): one sent again, its
// acknowledgement lost, is the same body under another trace.
type Receiver interface {
	ReceiveTraced(ctx context.Context, mailbox, trace string, body []byte) (int64, error)
}

// Mailboxes says whether the gateway holds a secure mailbox.
type Mailboxes func(ctx context.Context, address string) bool

// New returns the listener: its mail kept by r, for the mailboxes known
// says it holds, at most max bytes a mail; domain is the name it greets
// with.
func New(domain string, r Receiver, known Mailboxes, max int64) *smtp.Server {
	s := smtp.NewServer(&backend{r: r, known: known, domain: domain})
	s.Domain = domain
	s.MaxMessageBytes = max
	s.MaxRecipients = 100
	s.ReadTimeout, s.WriteTimeout = 5*time.Minute, 5*time.Minute
	return s
}

type backend struct {
	r      Receiver
	known  Mailboxes
	domain string
}

func (b *backend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	return &session{b: b, c: c}, nil
}

type session struct {
	b    *backend
	c    *smtp.Conn
	from string
	to   []string
}

var (
	errNeedsTLS = &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0},
		Message: "Must issue a STARTTLS command first: secure mail is taken over TLS only"}
	errUnknown = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1},
		Message: "No such secure mailbox here"}
	errNoRcpt = &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 5, 1}, Message: "No valid recipients"}
	errKeep   = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0},
		Message: "The mail could not be kept just now: try again later"}
)

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if _, ok := s.c.TLSConnectionState(); !ok {
		return errNeedsTLS
	}
	s.from = from
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	to = strings.ToLower(strings.TrimSpace(to))
	if !s.b.known(context.Background(), to) {
		return errUnknown
	}
	s.to = append(s.to, to)
	return nil
}

// Data reads the mail whole and keeps it for every recipient before
// the answer: 250 means it is durable.
func (s *session) Data(r io.Reader) error {
	if len(s.to) == 0 {
		return errNoRcpt
	}
	body, err := io.ReadAll(r)
	if err != nil {
		return err // too large, or the connection went
	}
	trace := s.received()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, to := range s.to {
		if _, err := s.b.r.ReceiveTraced(ctx, to, trace, body); err != nil {
			var se *smtp.SMTPError
			if errors.As(err, &se) {
				return se
			}
			return errKeep // the sender's server tries again; what was kept is kept once
		}
	}
	return nil
}

// received is the Received line the listener puts on top.
func (s *session) received() string {
	host, _, _ := net.SplitHostPort(s.c.Conn().RemoteAddr().String())
	with := "ESMTPS"
	if st, ok := s.c.TLSConnectionState(); ok {
		with = fmt.Sprintf("ESMTPS (%s)", tlsVersion(st.Version))
	}
	return fmt.Sprintf("Received: from %s ([%s])\r\n\tby %s (sikkermail-gateway) with %s;\r\n\t%s\r\n",
		message.Printable(s.c.Hostname(), false), host, s.b.domain, with, time.Now().Format(time.RFC1123Z))
}

// tlsVersion names a TLS version as Received lines do ("TLS1_3").
func tlsVersion(v uint16) string {
	return strings.NewReplacer(" ", "", ".", "_").Replace(tls.VersionName(v))
}

func (s *session) Reset() { s.from, s.to = "", nil }

func (s *session) Logout() error { return nil }
