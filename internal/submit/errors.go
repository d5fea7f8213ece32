package submit

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"

	"github.com/emersion/go-smtp"

	"sikkermail/internal/i18n"
)

// Stage is where in the session a submission failed.
type Stage string

// The stages.
const (
	StageConnect  Stage = "connect"
	StageStartTLS Stage = "starttls"
	StageTLS      Stage = "tls"
	StageAuth     Stage = "auth"
	StageMail     Stage = "mail"
	StageRcpt     Stage = "rcpt"
	StageData     Stage = "data"
)

// Error is a failed submission.
type Error struct {
	Server string
	Stage  Stage
	// Recipient is the address the server refused (StageRcpt).
	Recipient string
	// User is who tried to log in (StageAuth).
	User string
	// Code and Text are the server's reply, when it gave one.
	Code int
	Text string
	// Temporary is true when trying again later may succeed: a 4xx reply
	// or a network failure. Everything else needs a person.
	Temporary bool
	Err       error
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "submit: %s: %s", e.Server, e.Stage)
	if e.Recipient != "" {
		fmt.Fprintf(&b, " <%s>", e.Recipient)
	}
	if e.Code != 0 {
		fmt.Fprintf(&b, ": %d %s", e.Code, e.Text)
	} else if e.Err != nil {
		fmt.Fprintf(&b, ": %v", e.Err)
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// IsTemporary reports whether the outbox should try again by itself.
func (e *Error) IsTemporary() bool { return e.Temporary }

// Detail is the server's words, or what went wrong on the way.
func (e *Error) Detail() string {
	if e.Code != 0 {
		return fmt.Sprintf("%d %s", e.Code, e.Text)
	}
	if e.Err != nil {
		return e.Err.Error()
	}
	return ""
}

// Localize names the sentence for a user.
func (e *Error) Localize() i18n.Message {
	key := "submit.rejected"
	switch {
	case e.Temporary:
		key = "submit.temporary"
	case e.Stage == StageRcpt:
		key = "submit.recipient"
	case e.Stage == StageAuth:
		key = "submit.auth"
	case e.Stage == StageTLS:
		key = "submit.tls"
	case e.Stage == StageStartTLS:
		key = "submit.starttls"
	}
	return i18n.Message{Key: key, Args: map[string]any{"Server": e.Server, "Recipient": e.Recipient, "User": e.User, "Detail": e.Detail()}}
}

// fail classifies err at stage.
func (s Server) fail(stage Stage, addr string, err error) *Error {
	e := &Error{Server: s.Addr, Stage: stage, Err: err}
	if stage == StageRcpt {
		e.Recipient = addr
	}
	var se *smtp.SMTPError
	var verr *tls.CertificateVerificationError
	var herr x509.HostnameError
	var uerr x509.UnknownAuthorityError
	var cerr x509.CertificateInvalidError
	switch {
	case errors.As(err, &se):
		e.Code, e.Text = se.Code, se.Message
		e.Temporary = se.Code >= 400 && se.Code < 500
	case errors.As(err, &verr), errors.As(err, &herr), errors.As(err, &uerr), errors.As(err, &cerr):
		e.Stage = StageTLS
	default:
		// The network, a timeout, a connection the server cut: the
		// server may simply be away.
		e.Temporary = true
	}
	return e
}
