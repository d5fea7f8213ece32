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
	// Code and Enhanced are the server's reply codes, when it gave one
	// (Enhanced as "5.7.1", RFC 3463). Its words are not kept: a server
	// may quote the mail in them, and what is kept goes into the outbox's
	// database and in front of the user. They go to the debug trace only
	// (SIKKERMAIL_DEBUG=smtp).
	Code     int
	Enhanced string
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
		fmt.Fprintf(&b, ": %s", e.Detail())
	} else if e.Err != nil {
		fmt.Fprintf(&b, ": %v", e.Err)
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// IsTemporary reports whether the outbox should try again by itself.
func (e *Error) IsTemporary() bool { return e.Temporary }

// Detail is the server's reply codes, or what went wrong on the way.
func (e *Error) Detail() string {
	if e.Code != 0 {
		return strings.TrimSpace(fmt.Sprintf("%d %s", e.Code, e.Enhanced))
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
	args := map[string]any{"Server": e.Server, "Recipient": e.Recipient, "User": e.User, "Detail": e.Detail(), "Meaning": ""}
	if m := meaning(e.Enhanced); m != "" {
		key := "submit.meaning." + m
		args["Meaning"] = i18n.Message{Key: key}
	}
	return i18n.Message{Key: key, Args: args}
}

// meanings name the enhanced status codes (RFC 3463) a user meets, by
// subject and detail, for the sentence; the server's own words are not
// shown. Each has a text submit.meaning.NAME (TestMeanings).
var meanings = map[string]string{
	"1.1": "no_such_user", "1.2": "no_such_domain", "1.3": "bad_address", "1.6": "moved",
	"2.1": "disabled", "2.2": "mailbox_full", "2.3": "too_big", "3.4": "too_big",
	"5.3": "too_many_recipients", "7.0": "policy", "7.1": "policy", "7.8": "auth", "7.9": "auth",
	"4.4": "unreachable", "4.7": "expired",
}

func meaning(enhanced string) string {
	parts := strings.SplitN(enhanced, ".", 2)
	if len(parts) != 2 {
		return ""
	}
	return meanings[parts[1]]
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
		e.Code = se.Code
		if c := se.EnhancedCode; c != smtp.NoEnhancedCode && c != (smtp.EnhancedCode{}) {
			e.Enhanced = fmt.Sprintf("%d.%d.%d", c[0], c[1], c[2])
		}
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
