// Package submit hands a finished message to the institution's submission
// server (RFC 6409) with github.com/emersion/go-smtp: port 587 with
// STARTTLS required, or port 465 with implicit TLS; the server's
// certificate is always verified and nothing, not even the login, is sent
// before TLS is up. AUTH is PLAIN, LOGIN or XOAUTH2 (Microsoft 365).
//
// All recipients go in one transaction: if the server refuses any of
// them, the transaction is abandoned and nobody gets the message.
// Failures are classified: 4xx replies and network trouble are temporary
// (the outbox tries again later), 5xx replies are permanent.
package submit

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"strings"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"sikkermail/internal/xoauth2"
)

// Security is how the connection is protected.
type Security string

// The two ways; there is no third: plaintext submission is not possible.
const (
	// StartTLS upgrades a plain connection (port 587) and refuses to go on
	// when the server does not offer it.
	StartTLS Security = "starttls"
	// ImplicitTLS speaks TLS from the first byte (port 465).
	ImplicitTLS Security = "tls"
)

// Mechanism is the SASL mechanism used to log in.
type Mechanism string

// The mechanisms.
const (
	Plain   Mechanism = "plain"
	Login   Mechanism = "login"
	XOAuth2 Mechanism = "xoauth2"
)

// Server is where and how to submit.
type Server struct {
	// Addr is host:port.
	Addr     string
	Security Security
	// TLS holds the roots the server's certificate must chain to (nil:
	// the system's). Verification cannot be turned off here.
	TLS *tls.Config
	// Mechanism is "" for PLAIN when offered, else LOGIN.
	Mechanism Mechanism
	// Username and Secret log in; Secret is the password, or the OAuth
	// 2.0 access token for XOAUTH2.
	Username string
	Secret   string
	// Service: the token is the service's own (app-only), not a user's
	// sign-in, so a Pool may keep its sessions like a password's.
	Service bool
	// Timeout bounds each command and the reply to the message; 0 means
	// one minute.
	Timeout time.Duration
	// Debug, when set, receives the protocol trace once TLS is up (give
	// it a *protolog.Writer: credentials and the message left out).
	Debug io.Writer
}

// Message is a message to submit: read once, of a known size.
// *bytes.Reader is one; so is a sealed file of the outbox.
type Message interface {
	io.Reader
	Size() int64
}

// Send submits msg from the envelope sender from to every address in to,
// in one transaction. The error, if any, is an *Error — or, when msg
// could not be read to its end, msg's own error: the transaction is then
// cut off before the end of the data, so that the server takes nothing.
func Send(ctx context.Context, s Server, from string, to []string, msg Message) error {
	sess, err := s.open(ctx)
	if err != nil {
		return err
	}
	defer sess.close()
	if err := s.transact(sess.c, from, to, msg); err != nil {
		return err
	}
	sess.c.Quit() // the message is accepted; a failed goodbye changes nothing
	return nil
}

// session is a connection up, TLS verified and logged in; unbind
// detaches it from the context it was opened or taken with (a Pool
// binds it to the next one through conn).
type session struct {
	c      *smtp.Client
	conn   net.Conn
	unbind func() bool
}

func (sess *session) close() {
	sess.unbind()
	sess.c.Close()
}

// open connects and logs in, the connection closed when ctx ends.
func (s Server) open(ctx context.Context) (*session, error) {
	c, conn, unbind, err := s.connect(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.auth(c); err != nil {
		unbind()
		c.Close()
		return nil, err
	}
	return &session{c: c, conn: conn, unbind: unbind}, nil
}

// transact is one mail's transaction on c.
func (s Server) transact(c *smtp.Client, from string, to []string, msg Message) error {
	// SIZE (RFC 1870): a server that takes less says so before the data.
	if err := c.Mail(from, &smtp.MailOptions{Size: msg.Size()}); err != nil {
		return s.fail(StageMail, from, err)
	}
	for _, r := range to {
		if err := c.Rcpt(r, nil); err != nil {
			return s.fail(StageRcpt, r, err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return s.fail(StageData, "", err)
	}
	r := &reader{r: msg}
	if _, err := io.Copy(w, r); r.err != nil {
		return r.err // no final dot: closing drops the connection
	} else if err != nil {
		return s.fail(StageData, "", err)
	}
	if err := w.Close(); err != nil {
		return s.fail(StageData, "", err)
	}
	return nil
}

// reader keeps the error of the reader it wraps apart from the
// connection's.
type reader struct {
	r   io.Reader
	err error
}

func (r *reader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err != nil && err != io.EOF {
		r.err = err
	}
	return n, err
}

// connect dials, brings TLS up and verifies it, and returns a client
// whose connection is closed when ctx ends, unless unbind is called.
func (s Server) connect(ctx context.Context) (_ *smtp.Client, _ net.Conn, unbind func() bool, _ error) {
	host, _, err := net.SplitHostPort(s.Addr)
	if err != nil {
		return nil, nil, nil, &Error{Server: s.Addr, Stage: StageConnect, Err: err}
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if s.TLS != nil {
		cfg = s.TLS.Clone()
		cfg.InsecureSkipVerify = false
	}
	cfg.ServerName = host
	timeout := s.Timeout
	if timeout == 0 {
		timeout = time.Minute
	}
	dialer := &net.Dialer{Timeout: timeout}
	var conn net.Conn
	if s.Security == ImplicitTLS {
		conn, err = (&tls.Dialer{NetDialer: dialer, Config: cfg}).DialContext(ctx, "tcp", s.Addr)
	} else {
		conn, err = dialer.DialContext(ctx, "tcp", s.Addr)
	}
	if err != nil {
		return nil, nil, nil, s.fail(StageConnect, "", err)
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	var c *smtp.Client
	if s.Security == ImplicitTLS {
		c = smtp.NewClient(conn)
	} else {
		if c, err = smtp.NewClientStartTLS(conn, cfg); err != nil {
			stop()
			conn.Close()
			if strings.Contains(err.Error(), "support STARTTLS") {
				return nil, nil, nil, &Error{Server: s.Addr, Stage: StageStartTLS, Err: err}
			}
			return nil, nil, nil, s.fail(StageConnect, "", err)
		}
		// The handshake happens on first use: say EHLO over it now, so
		// that a certificate that does not verify ends the session here.
		if err := c.Hello("localhost"); err != nil {
			stop()
			c.Close()
			return nil, nil, nil, s.fail(StageConnect, "", err)
		}
	}
	c.CommandTimeout, c.SubmissionTimeout = timeout, timeout
	c.DebugWriter = s.Debug
	if st, ok := c.TLSConnectionState(); !ok || !st.HandshakeComplete {
		stop()
		c.Close()
		return nil, nil, nil, &Error{Server: s.Addr, Stage: StageTLS, Err: errors.New("TLS is not up")}
	}
	return c, conn, stop, nil
}

func (s Server) auth(c *smtp.Client) error {
	mech := s.Mechanism
	if mech == "" {
		mech = Plain
		if !c.SupportsAuth("PLAIN") && c.SupportsAuth("LOGIN") {
			mech = Login
		}
	}
	var client sasl.Client
	switch mech {
	case Plain:
		client = sasl.NewPlainClient("", s.Username, s.Secret)
	case Login:
		client = sasl.NewLoginClient(s.Username, s.Secret)
	case XOAuth2:
		client = xoauth2.NewClient(s.Username, s.Secret)
	default:
		return &Error{Server: s.Addr, Stage: StageAuth, User: s.Username, Err: errors.New("unknown mechanism " + string(mech))}
	}
	name := strings.ToUpper(string(mech))
	if !c.SupportsAuth(name) {
		return &Error{Server: s.Addr, Stage: StageAuth, User: s.Username, Err: errors.New("the server does not offer AUTH " + name)}
	}
	if err := c.Auth(client); err != nil {
		e := s.fail(StageAuth, "", err)
		e.User = s.Username
		return e
	}
	return nil
}
