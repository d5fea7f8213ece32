package core

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"sikkermail/internal/config"
	"sikkermail/internal/i18n"
	"sikkermail/internal/mailtest"
	"sikkermail/internal/mailtest/daemon"
	"sikkermail/internal/msauth"
	"sikkermail/internal/outbox"
	"sikkermail/internal/testenv"
)

const msClient = "9d2c6b1e-4f3a-4e5b-8c7d-6a5b4c3d2e1f"

// sendNow sends the draft to to, lets the worker round once, and
// returns the mail as it then stands, with its receipt once it has one.
func sendNow(t *testing.T, ctx context.Context, c *Core, to ...string) (*outbox.Mail, *Receipt) {
	t.Helper()
	q, err := c.Send(ctx, draft, sendMailbox, to, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.outbox.Process(ctx)
	m, r, err := c.ReceiptOf(ctx, q.ID)
	if err != nil {
		t.Fatal(err)
	}
	return m, r
}

// withEntra signs the environment in with Microsoft: a test
// authorization server that knows the user, the SMTP server checking
// tokens by introspection at it, and auth = "microsoft" for both
// servers.
func (e *sendEnv) withEntra(t *testing.T) *mailtest.Entra {
	t.Helper()
	entra := mailtest.StartEntra(t, msClient)
	entra.AddUser(sendUser, "entra-password", "Demo Medarbejder")
	e.smtp.Tokens = mailtest.Introspect(entra.Introspection, entra.TLS.Roots)
	e.cfg.SMTP.Auth, e.cfg.IMAP.Auth = "microsoft", "microsoft"
	e.cfg.Microsoft = config.Microsoft{Tenant: mailtest.EntraTenant, ClientID: msClient,
		Authority: strings.TrimSuffix(entra.Authority, "/"+mailtest.EntraTenant), CA: entra.TLS.CAFile}
	return entra
}

// With auth = "microsoft" the mail servers take the Microsoft session's
// token (XOAUTH2, checked by introspection at the authorization
// server): a send without a session asks for a sign-in; once signed in,
// the mail goes with Sent copies and receipt; a session revoked makes
// the next mail wait, "Log ind igen for at sende", and a new sign-in
// sends it.
func TestMicrosoftSession(t *testing.T) {
	if !testenv.InSecretService(t) {
		return
	}
	e := newSendEnv(t)
	entra := e.withEntra(t)
	e.imap.Tokens = e.smtp.Tokens
	c := e.core(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	if on, who := c.Microsoft(ctx); !on || who != "" {
		t.Fatalf("before sign-in: %v %q", on, who)
	}
	_, err := c.Send(ctx, draft, sendMailbox, []string{colleague}, nil)
	var me *msauth.Error
	if !errors.As(err, &me) || me.Reason != "sign_in_needed" {
		t.Fatalf("send without a session: %v", err)
	}
	if who, err := c.SignIn(ctx, entra.Browser(sendUser, "entra-password")); err != nil || who != sendUser {
		t.Fatalf("sign-in: %q %v", who, err)
	}
	if m, r := sendNow(t, ctx, c, colleague); m.State != outbox.Done || r == nil {
		t.Fatalf("%s %v", m.State, m.Err)
	}
	if got := e.smtp.Received(); len(got) != 1 || got[0].User != sendUser {
		t.Fatalf("%d submissions", len(got))
	}

	// Revoked: the next mail waits for a new sign-in, and is not failed.
	entra.Revoke(sendUser)
	m, _ := sendNow(t, ctx, c, colleague)
	if m.State != outbox.Queued || m.Err == nil || m.Err.Message.Key != "msauth.sign_in_needed" ||
		!strings.HasPrefix(i18n.Danish.M(m.Err.Message), "Log ind igen for at sende") {
		t.Fatalf("after the revocation: %s %v", m.State, m.Err)
	}
	if _, err := c.SignIn(ctx, entra.Browser(sendUser, "entra-password")); err != nil {
		t.Fatal(err)
	}
	c.outbox.Process(ctx) // woken by the sign-in, whatever its wait
	if m, _, err = c.ReceiptOf(ctx, m.ID); err != nil || m.State != outbox.Done || len(e.smtp.Received()) != 2 {
		t.Fatalf("after signing in again: %s %v, %d submissions", m.State, m.Err, len(e.smtp.Received()))
	}

	if err := c.SignOut(ctx); err != nil {
		t.Fatal(err)
	}
	if _, who := c.Microsoft(ctx); who != "" {
		t.Fatalf("signed in as %q after signing out", who)
	}
}

// With sent_copies = "server" (Exchange files the copies itself), the
// client appends none: no copy is doubled, and the receipt still comes.
func TestSentCopiesByServer(t *testing.T) {
	e := newSendEnv(t)
	e.cfg.IMAP.SentCopies = "server"
	c := e.core(t)
	ctx := context.Background()
	m, r := sendNow(t, ctx, c, colleague)
	if m.State != outbox.Done || r == nil {
		t.Fatalf("%s %v", m.State, m.Err)
	}
	srv, _ := c.imapServer()
	for _, acc := range []struct{ mailbox, folder string }{{sendMailbox, "Sendt post"}, {"", "Sendte elementer"}} {
		a, _ := c.account(ctx, c.User(), acc.mailbox)
		if copies, err := srv.Fetch(ctx, a, acc.folder, m.MessageID); err != nil || len(copies) != 0 {
			t.Fatalf("%s %s: %d copies the client made, %v", a.Username, acc.folder, len(copies), err)
		}
	}
}

// A real Dovecot checks the Microsoft session's tokens by introspection
// at the authorization server: the receipt goes to the user's INBOX by
// XOAUTH2; tokens that expire are refreshed for the next mail; a revoked
// session's token is refused, and the mail waits for a new sign-in.
func TestMicrosoftDovecot(t *testing.T) {
	if !testenv.InSecretService(t) {
		return
	}
	e := newSendEnv(t)
	entra := e.withEntra(t)
	entra.Lifetime = time.Minute // within MSAL's margin: each session refreshes
	d := daemon.StartDovecotOAuth(t, map[string]string{sendUser: userPassword}, nil, entra.Introspection, entra.TLS.CAFile)
	e.cfg.IMAP.Server, e.cfg.IMAP.CA, e.cfg.IMAP.Security = d.Addr, d.TLS.CAFile, "starttls"
	e.cfg.IMAP.SentCopies = "server" // a shared mailbox is Exchange's business, not Dovecot's
	c := e.core(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := c.SignIn(ctx, entra.Browser(sendUser, "entra-password")); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if m, _ := sendNow(t, ctx, c, colleague); m.State != outbox.Done {
			t.Fatalf("mail %d: %s %v", i+1, m.State, m.Err)
		}
	}
	if _, refreshed := entra.Counts(); refreshed < 2 {
		t.Errorf("%d refreshes for two mails with tokens of a minute", refreshed)
	}
	srv, _ := c.imapServer()
	a, err := c.account(ctx, c.User(), "")
	if err != nil {
		t.Fatal(err)
	}
	if list, err := srv.List(ctx, a, "INBOX"); err != nil || len(list) != 2 {
		t.Fatalf("%d receipts in the INBOX over XOAUTH2, %v", len(list), err)
	}
	// A token Dovecot is shown after the session was revoked is refused.
	token := a.Secret
	entra.Revoke(sendUser)
	a.Secret = token
	if _, err := srv.List(ctx, a, "INBOX"); err == nil {
		t.Fatal("Dovecot took a revoked token")
	}
	if m, _ := sendNow(t, ctx, c, colleague); m.State != outbox.Queued || m.Err == nil || m.Err.Message.Key != "msauth.sign_in_needed" {
		t.Fatalf("after the revocation: %s %v", m.State, m.Err)
	}
}
