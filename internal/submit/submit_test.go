package submit_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"sikkermail/internal/i18n"
	"sikkermail/internal/mailtest"
	"sikkermail/internal/submit"
)

const (
	user    = "medarbejder@hoejskole.example"
	mailbox = "sikkerpost-uddservice@hoejskole.example"
)

var msg = []byte("From: " + mailbox + "\r\nSender: " + user + "\r\nTo: a@b.example\r\nMessage-ID: <1@hoejskole.example>\r\nSubject: x\r\n\r\nbody\r\n")

func start(t *testing.T, implicit bool) (*mailtest.SMTP, submit.Server) {
	users := map[string]string{user: "pw"}
	may := func(u, m string) bool { return u == user && m == mailbox }
	var srv *mailtest.SMTP
	sec := submit.StartTLS
	if implicit {
		srv, sec = mailtest.StartSMTPS(t, users, may), submit.ImplicitTLS
	} else {
		srv = mailtest.StartSMTP(t, users, may)
	}
	return srv, submit.Server{Addr: srv.Addr, Security: sec, TLS: &tls.Config{RootCAs: srv.TLS.Roots},
		Username: user, Secret: "pw", Timeout: 5 * time.Second}
}

func TestSendEachWayAndMechanism(t *testing.T) {
	for _, implicit := range []bool{false, true} {
		for _, mech := range []submit.Mechanism{"", submit.Plain, submit.Login, submit.XOAuth2} {
			srv, s := start(t, implicit)
			s.Mechanism = mech
			to := []string{"a@b.example", "c@d.example"}
			if err := submit.Send(context.Background(), s, mailbox, to, bytes.NewReader(msg)); err != nil {
				t.Fatalf("implicit=%v %q: %v", implicit, mech, err)
			}
			got := srv.Received()
			if len(got) != 1 || got[0].User != user || got[0].From != mailbox || strings.Join(got[0].To, ",") != strings.Join(to, ",") ||
				string(got[0].Data) != string(msg) {
				t.Fatalf("implicit=%v %q: server got %+v", implicit, mech, got)
			}
		}
	}
}

func asError(t *testing.T, err error) *submit.Error {
	t.Helper()
	var e *submit.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not a *submit.Error", err, err)
	}
	return e
}

func TestFaults(t *testing.T) {
	cases := []struct {
		name      string
		fault     func(mailtest.Stage, string) error
		stage     submit.Stage
		temporary bool
		code      int
		recipient string
		delivered bool
		key       string
	}{
		{"4xx at MAIL", func(st mailtest.Stage, _ string) error {
			if st == mailtest.StageMail {
				return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Try again later"}
			}
			return nil
		}, submit.StageMail, true, 451, "", false, "submit.temporary"},
		{"5xx for one recipient", func(st mailtest.Stage, arg string) error {
			if st == mailtest.StageRcpt && arg == "c@d.example" {
				return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such user"}
			}
			return nil
		}, submit.StageRcpt, false, 550, "c@d.example", false, "submit.recipient"},
		{"5xx after DATA", func(st mailtest.Stage, _ string) error {
			if st == mailtest.StageData {
				return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "Message refused"}
			}
			return nil
		}, submit.StageData, false, 554, "", false, "submit.rejected"},
		{"dropped connection at RCPT", func(st mailtest.Stage, _ string) error {
			if st == mailtest.StageRcpt {
				return mailtest.ErrDrop
			}
			return nil
		}, submit.StageRcpt, true, 0, "a@b.example", false, "submit.temporary"},
		{"dropped after the message was accepted", func(st mailtest.Stage, _ string) error {
			if st == mailtest.StageAccepted {
				return mailtest.ErrDrop
			}
			return nil
		}, submit.StageData, true, 0, "", true, "submit.temporary"},
		{"slow reply", func(st mailtest.Stage, _ string) error {
			if st == mailtest.StageData {
				return mailtest.ErrStall
			}
			return nil
		}, submit.StageData, true, 0, "", false, "submit.temporary"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv, s := start(t, false)
			s.Timeout = 300 * time.Millisecond
			srv.SetFault(c.fault)
			err := submit.Send(context.Background(), s, mailbox, []string{"a@b.example", "c@d.example"}, bytes.NewReader(msg))
			e := asError(t, err)
			if e.Stage != c.stage || e.Temporary != c.temporary || e.Code != c.code || e.Recipient != c.recipient {
				t.Fatalf("got %+v", e)
			}
			if n := len(srv.Received()); (n == 1) != c.delivered {
				t.Fatalf("server holds %d messages", n)
			}
			if m := e.Localize(); m.Key != c.key {
				t.Fatalf("key %s, want %s", m.Key, c.key)
			}
			text := i18n.Danish.Error(err)
			if c.recipient != "" && !c.temporary && !strings.Contains(text, c.recipient) || !strings.Contains(text, srv.Addr) {
				t.Fatalf("sentence does not name the server and recipient: %s", text)
			}
		})
	}
}

func TestWrongPassword(t *testing.T) {
	srv, s := start(t, false)
	s.Secret = "wrong"
	e := asError(t, submit.Send(context.Background(), s, mailbox, []string{"a@b.example"}, bytes.NewReader(msg)))
	if e.Stage != submit.StageAuth || e.Temporary || e.Code != 535 || e.User != user {
		t.Fatalf("got %+v", e)
	}
	if len(srv.Received()) != 0 {
		t.Fatal("delivered without login")
	}
}

func TestRefusedSenderIsPermanent(t *testing.T) {
	_, s := start(t, false)
	e := asError(t, submit.Send(context.Background(), s, "sikkerpost-hr@hoejskole.example", []string{"a@b.example"}, bytes.NewReader(msg)))
	if e.Stage != submit.StageMail || e.Temporary || e.Code != 550 {
		t.Fatalf("got %+v", e)
	}
}

// An unverifiable certificate ends the session before AUTH: the password
// never crosses a connection the client cannot trust.
func TestUntrustedCertificate(t *testing.T) {
	for _, implicit := range []bool{false, true} {
		srv, s := start(t, implicit)
		s.TLS = &tls.Config{RootCAs: mailtest.NewTLS(t).Roots} // some other CA
		e := asError(t, submit.Send(context.Background(), s, mailbox, []string{"a@b.example"}, bytes.NewReader(msg)))
		if e.Stage != submit.StageTLS || e.Temporary {
			t.Fatalf("implicit=%v: got %+v", implicit, e)
		}
		if len(srv.Received()) != 0 {
			t.Fatal("delivered over an unverified connection")
		}
		if m := e.Localize(); m.Key != "submit.tls" {
			t.Fatal(m.Key)
		}
	}
}

// A server without STARTTLS gets nothing: no login, no message.
func TestNoStartTLS(t *testing.T) {
	var authed bool
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &plainSession{authed: &authed}, nil }))
	srv.AllowInsecureAuth = true
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	e := asError(t, submit.Send(context.Background(), submit.Server{Addr: l.Addr().String(), Security: submit.StartTLS, Username: user, Secret: "pw"},
		mailbox, []string{"a@b.example"}, bytes.NewReader(msg)))
	if e.Stage != submit.StageStartTLS || e.Temporary || authed {
		t.Fatalf("got %+v, authed %v", e, authed)
	}
}

type plainSession struct{ authed *bool }

func (s *plainSession) AuthMechanisms() []string { return []string{"PLAIN"} }
func (s *plainSession) Auth(string) (sasl.Server, error) {
	*s.authed = true
	return nil, errors.New("no")
}
func (s *plainSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *plainSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s *plainSession) Data(io.Reader) error                 { return nil }
func (s *plainSession) Reset()                               {}
func (s *plainSession) Logout() error                        { return nil }

func TestCancelled(t *testing.T) {
	srv, s := start(t, false)
	ctx, cancel := context.WithCancel(context.Background())
	srv.SetFault(func(st mailtest.Stage, _ string) error {
		if st == mailtest.StageData {
			cancel()
			return mailtest.ErrStall
		}
		return nil
	})
	e := asError(t, submit.Send(ctx, s, mailbox, []string{"a@b.example"}, bytes.NewReader(msg)))
	if !e.Temporary || len(srv.Received()) != 0 {
		t.Fatalf("got %+v", e)
	}
}

// A message that cannot be read to its end is not sent at all: the
// data is cut off without its final dot, and the reader's error comes
// back as it was.
func TestMessageUnreadable(t *testing.T) {
	srv, s := start(t, false)
	damaged := errors.New("damaged")
	err := submit.Send(context.Background(), s, mailbox, []string{"a@b.example"}, mailtest.Failing(msg, 40, damaged))
	if !errors.Is(err, damaged) {
		t.Fatalf("%v", err)
	}
	if got := srv.Received(); len(got) != 0 {
		t.Fatalf("the server took %q", got[0].Data)
	}
}
