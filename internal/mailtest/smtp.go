package mailtest

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/mail"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// SMTP is a real submission server (RFC 6409) on loopback, built on
// go-smtp: AUTH PLAIN only after STARTTLS, and — as a correctly configured
// Exchange (Send on Behalf) or Postfix (smtpd_sender_login_maps) does — a
// message is accepted only if the authenticated user may send as the
// envelope sender and as the From: mailbox, and Sender: names the user.
// So a modified client cannot bypass rights here either.
type SMTP struct {
	Addr string
	TLS  *TLS
	// Users maps logins to passwords.
	Users map[string]string
	// Tokens, when set, checks XOAUTH2 bearer tokens instead of Users:
	// whose the token is, and whether it is active (Introspect asks an
	// authorization server, as Exchange Online asks Entra ID).
	Tokens func(token string) (user string, active bool)
	// MaySend says whether user may send on behalf of mailbox.
	MaySend func(user, mailbox string) bool
	// MayLogin says whether an app-only token's owner (AppOwner) may log
	// in as user: Exchange Online's FullAccess on the user's mailbox,
	// granted to the app's service principal.
	MayLogin func(app, user string) bool
	// fault, when set (SetFault), is asked at each stage of a transaction and may
	// fail it: with an *smtp.SMTPError (4xx or 5xx), ErrDrop (the
	// connection is cut without a reply) or ErrStall (no reply until the
	// client gives up). arg is the address (StageMail, StageRcpt) or the
	// Message-ID (StageData, StageAccepted).
	fault func(stage Stage, arg string) error

	lifecycle
	connections atomic.Int64
	server      *smtp.Server
	stall       chan struct{}
	maxSize     int64
	mu          sync.Mutex
	received    []Message
}

// Stage is a point in an SMTP transaction where a fault can be injected.
type Stage string

// The stages.
const (
	StageMail Stage = "MAIL"
	StageRcpt Stage = "RCPT"
	// StageData is after the message is read, before it is accepted.
	StageData Stage = "DATA"
	// StageAccepted is after the message is accepted and recorded, before
	// the reply: ErrDrop here is the one case where a client cannot know
	// that its message went.
	StageAccepted Stage = "ACCEPTED"
)

// Faults a Fault function may return besides an *smtp.SMTPError.
var (
	ErrDrop  = errors.New("mailtest: drop the connection")
	ErrStall = errors.New("mailtest: stall until the client gives up")
)

// Message is a message the server accepted.
type Message struct {
	User string
	From string
	To   []string
	Data []byte
}

// NewSMTP starts a submission server with STARTTLS (as on port 587);
// Close stops it. users maps logins to passwords (for XOAUTH2: to the
// bearer token).
func NewSMTP(users map[string]string, maySend func(user, mailbox string) bool) (*SMTP, error) {
	return newSMTP(false, users, maySend)
}

// StartSMTP is NewSMTP for a test, stopped when the test ends.
func StartSMTP(t T, users map[string]string, maySend func(user, mailbox string) bool) *SMTP {
	t.Helper()
	s, err := newSMTP(false, users, maySend)
	return started(t, s, err)
}

// StartSMTPS is StartSMTP with implicit TLS (as on port 465).
func StartSMTPS(t T, users map[string]string, maySend func(user, mailbox string) bool) *SMTP {
	t.Helper()
	s, err := newSMTP(true, users, maySend)
	return started(t, s, err)
}

func newSMTP(implicit bool, users map[string]string, maySend func(user, mailbox string) bool) (*SMTP, error) {
	s := &SMTP{Users: users, MaySend: maySend, stall: make(chan struct{})}
	var err error
	if s.TLS, err = s.tempTLS(); err != nil {
		return nil, err
	}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) { return &session{srv: s, conn: c}, nil }))
	srv.Domain = "localhost"
	srv.ErrorLog = log.New(io.Discard, "", 0)
	srv.TLSConfig = s.TLS.Server
	srv.AllowInsecureAuth = false
	srv.MaxMessageBytes = 64 << 20
	s.server = srv
	l, err := listen(implicit, s.TLS)
	if err != nil {
		s.Close()
		return nil, err
	}
	l = countingListener{l, &s.connections}
	s.Addr = s.serve(l, srv.Serve, func() {
		close(s.stall)
		srv.Close()
	})
	return s, nil
}

// listen opens a loopback listener, speaking TLS from the start when
// implicit.
func listen(implicit bool, x *TLS) (net.Listener, error) {
	if implicit {
		return tls.Listen("tcp", "127.0.0.1:0", x.Server)
	}
	return net.Listen("tcp", "127.0.0.1:0")
}

// fault asks Fault about a stage. ErrDrop cuts the connection; ErrStall
// waits until the server stops (the client's deadline ends it first).
func (s *session) fault(stage Stage, arg string) error {
	s.srv.mu.Lock()
	f := s.srv.fault
	s.srv.mu.Unlock()
	if f == nil {
		return nil
	}
	err := f(stage, arg)
	switch err {
	case ErrDrop:
		s.conn.Conn().Close()
	case ErrStall:
		<-s.srv.stall
	}
	return err
}

// countingListener counts the connections it accepts.
type countingListener struct {
	net.Listener
	n *atomic.Int64
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.n.Add(1)
	}
	return c, err
}

// Connections is how many connections the server has taken.
func (s *SMTP) Connections() int64 { return s.connections.Load() }

// SetFault sets (nil: clears) the function asked at each stage.
func (s *SMTP) SetFault(f func(stage Stage, arg string) error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fault = f
}

// MaxSize makes the server refuse, at MAIL FROM, a message whose SIZE
// parameter (RFC 1870) is larger than n bytes (552), as a server with a
// smaller limit than the client's settings does.
func (s *SMTP) MaxSize(n int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.maxSize = n
}

// AcceptUpTo lets the server take messages of up to n bytes (64 MiB
// unless set), for measurements with large mails; call it before the
// first connection.
func (s *SMTP) AcceptUpTo(n int64) { s.server.MaxMessageBytes = n }

// Received returns the messages accepted so far.
func (s *SMTP) Received() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.received...)
}

type session struct {
	srv  *SMTP
	conn *smtp.Conn
	user string
	from string
	to   []string
}

var errAuthRequired = &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "Authentication required"}

func notAllowed(user, mailbox string) error {
	return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 1},
		Message: fmt.Sprintf("%s may not send on behalf of %s", user, mailbox)}
}

func (s *session) AuthMechanisms() []string { return []string{sasl.Plain, sasl.Login, XOAuth2} }

func (s *session) Auth(mech string) (sasl.Server, error) {
	return saslServer(mech, s.srv.Users, s.srv.Tokens, s.srv.MayLogin, func(user string) { s.user = user })
}

// may reports whether the user may use address as a sender.
func (s *session) may(address string) bool {
	return strings.EqualFold(address, s.user) || (s.srv.MaySend != nil && s.srv.MaySend(s.user, address))
}

func (s *session) Mail(from string, opts *smtp.MailOptions) error {
	if s.user == "" {
		return errAuthRequired
	}
	s.srv.mu.Lock()
	max := s.srv.maxSize
	s.srv.mu.Unlock()
	if max > 0 && opts != nil && opts.Size > max {
		return &smtp.SMTPError{Code: 552, EnhancedCode: smtp.EnhancedCode{5, 3, 4}, Message: fmt.Sprintf("message size exceeds fixed limit of %d bytes", max)}
	}
	if err := s.fault(StageMail, from); err != nil {
		return err
	}
	if !s.may(from) {
		return notAllowed(s.user, from)
	}
	s.from = from
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if s.user == "" {
		return errAuthRequired
	}
	if err := s.fault(StageRcpt, to); err != nil {
		return err
	}
	s.to = append(s.to, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	msg, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "Message header cannot be parsed"}
	}
	from, err := mail.ParseAddressList(msg.Header.Get("From"))
	if err != nil || len(from) != 1 {
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "From: must name one mailbox"}
	}
	if !s.may(from[0].Address) {
		return notAllowed(s.user, from[0].Address)
	}
	if sh := msg.Header.Get("Sender"); sh != "" {
		sender, err := mail.ParseAddress(sh)
		if err != nil || !strings.EqualFold(sender.Address, s.user) {
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "Sender: must be the authenticated user"}
		}
	}
	id := msg.Header.Get("Message-ID")
	if err := s.fault(StageData, id); err != nil {
		return err
	}
	s.srv.mu.Lock()
	s.srv.received = append(s.srv.received, Message{User: s.user, From: s.from, To: append([]string(nil), s.to...), Data: data})
	s.srv.mu.Unlock()
	return s.fault(StageAccepted, id)
}

func (s *session) Reset() { s.from, s.to = "", nil }

func (s *session) Logout() error { return nil }
