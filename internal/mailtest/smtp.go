package mailtest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"

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
	// MaySend says whether user may send on behalf of mailbox.
	MaySend func(user, mailbox string) bool

	mu       sync.Mutex
	received []Message
}

// Message is a message the server accepted.
type Message struct {
	User string
	From string
	To   []string
	Data []byte
}

// StartSMTP starts the server for the test and stops it when the test ends.
func StartSMTP(t testing.TB, users map[string]string, maySend func(user, mailbox string) bool) *SMTP {
	t.Helper()
	s := &SMTP{TLS: NewTLS(t), Users: users, MaySend: maySend}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) { return &session{srv: s}, nil }))
	srv.Domain = "localhost"
	srv.TLSConfig = s.TLS.Server
	srv.AllowInsecureAuth = false
	srv.MaxMessageBytes = 64 << 20
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.Addr = l.Addr().String()
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Serve(l)
	}()
	t.Cleanup(func() {
		srv.Close()
		<-done
	})
	return s
}

// Received returns the messages accepted so far.
func (s *SMTP) Received() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.received...)
}

type session struct {
	srv  *SMTP
	user string
	from string
	to   []string
}

var errAuthRequired = &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "Authentication required"}

func notAllowed(user, mailbox string) error {
	return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 1},
		Message: fmt.Sprintf("%s may not send on behalf of %s", user, mailbox)}
}

func (s *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *session) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if identity != "" && identity != username {
			return errors.New("identity must be the username")
		}
		if pw, ok := s.srv.Users[username]; !ok || pw != password {
			return errors.New("invalid credentials")
		}
		s.user = username
		return nil
	}), nil
}

// may reports whether the user may use address as a sender.
func (s *session) may(address string) bool {
	return strings.EqualFold(address, s.user) || (s.srv.MaySend != nil && s.srv.MaySend(s.user, address))
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if s.user == "" {
		return errAuthRequired
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
	s.srv.mu.Lock()
	s.srv.received = append(s.srv.received, Message{User: s.user, From: s.from, To: append([]string(nil), s.to...), Data: data})
	s.srv.mu.Unlock()
	return nil
}

func (s *session) Reset() { s.from, s.to = "", nil }

func (s *session) Logout() error { return nil }
