package core

// The mail servers as the settings name them: addresses, TLS, and the
// logins (passwords, or the Microsoft session's token).

import (
	"cmp"
	"context"
	"io"
	"os"
	"strings"

	"sikkermail/internal/config"
	"sikkermail/internal/keystore"
	"sikkermail/internal/mailstore"
	"sikkermail/internal/msauth"
	"sikkermail/internal/protolog"
	"sikkermail/internal/submit"
)

// traceOut is where protocol traces go (SIKKERMAIL_DEBUG): standard
// error, never a file of ours.
func (c *Core) traceOut() io.Writer {
	if c.trace != nil {
		return c.trace
	}
	return os.Stderr
}

// smtpServer is the submission server, logged in to as user unless the
// settings name the login. The mail goes from the mailbox on behalf of
// user (Sender), whichever way the login is proven: the server checks
// the user's right to send on the mailbox's behalf.
func (c *Core) smtpServer(ctx context.Context, user string) (submit.Server, error) {
	s := c.cfg.SMTP
	if s.Server == "" {
		return submit.Server{}, &SendError{Reason: NoSMTP}
	}
	srv := submit.Server{Addr: s.Server, Security: submit.Security(s.Security), Mechanism: submit.Mechanism(s.Auth), Timeout: s.Timeout.Duration}
	if srv.Security == "" {
		srv.Security = submit.StartTLS
	}
	var err error
	if srv.TLS, err = tlsConfig(s.CA); err != nil {
		return srv, err
	}
	if protolog.Enabled("smtp") {
		srv.Debug = protolog.New(c.traceOut(), "smtp "+s.Server+" ")
	}
	var xoauth bool
	srv.Username, srv.Secret, xoauth, err = c.login(ctx, s.MailServer, user, "")
	if xoauth {
		srv.Mechanism, srv.Service = submit.XOAuth2, s.Auth == "app"
	}
	return srv, err
}

// login is the login to a mail server for user acting in mailbox ("":
// the user's own): the settings' username, else user's; the password
// from where the settings say, or — for auth "microsoft" — the access
// token of the Microsoft session, refreshed as needed, for the account
// signed in (xoauth: log in with XOAUTH2). For auth "app" it is the
// service's app-only token, and the login is the mailbox itself (else
// the user's own), as Exchange Online lets an app in that has
// FullAccess on it.
func (c *Core) login(ctx context.Context, s config.MailServer, user, mailbox string) (username, secret string, xoauth bool, err error) {
	username = s.Username
	if s.Auth == "app" {
		username = cmp.Or(mailbox, user)
		if c.app == nil {
			return username, "", true, &msauth.Error{Reason: "app_refused"}
		}
		token, err := c.app.Token(ctx)
		return username, token, true, err
	}
	if s.Auth == "microsoft" {
		if c.ms == nil {
			return "", "", true, &msauth.Error{Reason: "sign_in_needed"}
		}
		token, who, err := c.ms.Token(ctx)
		if e, ok := err.(*msauth.Error); ok && e.Claims != "" {
			c.lastClaims.Store(e.Claims)
		}
		if username == "" {
			username = who
		}
		return username, token, true, err
	}
	if username == "" {
		username = user
	}
	pw, err := keystore.Secret(s.Password, username)
	return username, string(pw), s.Auth == "xoauth2", err
}

func (c *Core) imapServer() (mailstore.Server, error) {
	s := c.cfg.IMAP
	if s.Server == "" {
		return mailstore.Server{}, &SendError{Reason: NoIMAP}
	}
	srv := mailstore.Server{Addr: s.Server, Security: mailstore.Security(s.Security), Timeout: s.Timeout.Duration, Pool: &c.imapPool}
	if srv.Security == "" {
		srv.Security = mailstore.ImplicitTLS
	}
	if protolog.Enabled("imap") {
		srv.Debug = protolog.New(c.traceOut(), "imap "+s.Server+" ")
	}
	var err error
	srv.TLS, err = tlsConfig(s.CA)
	return srv, err
}

// account is the user's own IMAP login, or — for a shared mailbox — the
// login that opens it with the user's own secret.
func (c *Core) account(ctx context.Context, user, mailbox string) (mailstore.Account, error) {
	s := c.cfg.IMAP
	var acc mailstore.Account
	var err error
	if acc.Username, acc.Secret, acc.XOAuth2, err = c.login(ctx, s.MailServer, user, mailbox); err != nil {
		return acc, err
	}
	acc.Service = s.Auth == "app"
	if mailbox != "" && s.Auth != "app" {
		tmpl := s.SharedLogin
		switch {
		case tmpl != "":
		case s.Auth == "microsoft":
			// Exchange Online opens a shared mailbox with the user's
			// token and the mailbox's address as user=.
			tmpl = "{mailbox}"
		default:
			tmpl = "{mailbox}*{user}"
		}
		acc.Username = strings.NewReplacer("{mailbox}", mailbox, "{user}", acc.Username).Replace(tmpl)
	}
	return acc, nil
}
