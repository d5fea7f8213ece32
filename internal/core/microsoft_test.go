package core

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"sikkermail/internal/config"
	"sikkermail/internal/i18n"
	"sikkermail/internal/keystore"
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

// The gateway's own login (auth = "app"): its app registration proves
// itself to Entra ID with a secret or with its certificate's key, gets
// one app-only token, and logs in as the user (SMTP: the mail goes from
// the mailbox on the user's behalf, as on one PC), the mailbox and the
// user whose Sent folders get copies, and the user whose INBOX gets the
// receipt (IMAP) — as far as Exchange grants the app (FullAccess). A
// permission IT withdraws makes the next mail wait, saying which
// mailbox IT must grant; granted again, it goes.
func TestServiceApp(t *testing.T) {
	const appID = "0c1d2e3f-4a5b-4c6d-8e7f-8091a2b3c4d5"
	id, err := keystore.Load(testenv.Path("testdata", "certs", "mailbox-rsa.p12"), []byte("test"))
	if err != nil {
		t.Fatal(err)
	}
	for _, proof := range []string{"secret", "certificate"} {
		t.Run(proof, func(t *testing.T) {
			e := newSendEnv(t)
			entra := mailtest.StartEntra(t, msClient)
			secretFile := filepath.Join(e.dir, "app-secret")
			os.WriteFile(secretFile, []byte("app-secret-value\n"), 0o600)
			e.cfg.Microsoft = config.Microsoft{Tenant: mailtest.EntraTenant, ClientID: appID,
				Authority: strings.TrimSuffix(entra.Authority, "/"+mailtest.EntraTenant), CA: entra.TLS.CAFile}
			if proof == "secret" {
				entra.AddApp(appID, "app-secret-value", nil)
				e.cfg.Microsoft.ClientSecret = "file:" + secretFile
			} else {
				entra.AddApp(appID, "", id.Cert)
				e.cfg.Microsoft.ClientCertificate = testenv.Path("testdata", "certs", "mailbox-rsa.p12")
				e.cfg.Microsoft.ClientCertificatePassword = "file:" + filepath.Join(e.dir, "p12-password")
			}
			app := mailtest.AppOwner(appID)
			e.cfg.SMTP.Auth, e.cfg.IMAP.Auth = "app", "app"
			c, err := newCore(t, e.cfg)
			if err != nil {
				t.Fatal(err)
			}
			// What Exchange grants the app's service principal:
			// FullAccess on the user's mailbox and the shared one. The
			// user's own right to send on the mailbox's behalf is checked
			// as on one PC.
			var granted atomic.Bool
			granted.Store(true)
			e.smtp.Users = nil // no password logs in
			e.smtp.Tokens = mailtest.Introspect(entra.Introspection, entra.TLS.Roots)
			e.smtp.MayLogin = func(owner, user string) bool { return owner == app && user == sendUser && granted.Load() }
			e.smtp.MaySend = func(user, mailbox string) bool {
				return c.MaySend(context.Background(), mailbox) == nil && user == sendUser
			}
			e.imap.Tokens = e.smtp.Tokens
			e.imap.MayUse = func(owner, account string) bool {
				return owner == app && (strings.EqualFold(account, sendMailbox) || account == sendUser)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()

			m, r := sendNow(t, ctx, c, colleague)
			if m.State != outbox.Done || r == nil {
				t.Fatalf("%s %v", m.State, m.Err)
			}
			if got := e.smtp.Received(); len(got) != 1 || got[0].User != sendUser {
				t.Fatalf("submissions: %+v", got)
			}
			for _, f := range [][2]string{{sendMailbox, "Sendt post"}, {sendUser, "Sendte elementer"}, {sendUser, "INBOX"}} {
				if got := e.imap.Appended(f[0], f[1]); len(got) != 1 {
					t.Errorf("%s %s: %d messages", f[0], f[1], len(got))
				}
			}

			// The service's sessions are kept between mails (a user's
			// token's are not): the next mail opens no connection.
			smtpConns, imapConns := e.smtp.Connections(), e.imap.Connections()
			if m, _ := sendNow(t, ctx, c, colleague); m.State != outbox.Done {
				t.Fatalf("second mail: %s %v", m.State, m.Err)
			}
			if e.smtp.Connections() != smtpConns || e.imap.Connections() != imapConns {
				t.Errorf("the second mail opened %d SMTP and %d IMAP connections", e.smtp.Connections()-smtpConns, e.imap.Connections()-imapConns)
			}

			// Exchange checks FullAccess at login: once the kept sessions
			// are gone, a withdrawn grant is refused.
			granted.Store(false)
			c.smtpPool.Close()
			m, _ = sendNow(t, ctx, c, colleague)
			if m.State != outbox.Queued || m.Err == nil || m.Err.Message.Key != "app.denied" ||
				!strings.Contains(i18n.Danish.M(m.Err.Message), sendUser) {
				t.Fatalf("without FullAccess: %s %v", m.State, m.Err)
			}
			granted.Store(true)
			c.outbox.Wake(ctx)
			c.outbox.Process(ctx)
			if m, _, err = c.ReceiptOf(ctx, m.ID); err != nil || m.State != outbox.Done || len(e.smtp.Received()) != 3 {
				t.Fatalf("granted again: %s %v, %d submissions", m.State, m.Err, len(e.smtp.Received()))
			}
			// Every mail with the one token MSAL keeps in memory.
			if issued, _ := entra.Counts(); issued != 1 {
				t.Errorf("%d app tokens issued", issued)
			}
		})
	}
}

// A wrong secret is told as what IT must mend, and the mail waits.
func TestServiceAppRefused(t *testing.T) {
	e := newSendEnv(t)
	entra := mailtest.StartEntra(t, msClient)
	entra.AddApp("app-id", "the-right-secret", nil)
	secretFile := filepath.Join(e.dir, "app-secret")
	os.WriteFile(secretFile, []byte("a-wrong-secret"), 0o600)
	e.cfg.Microsoft = config.Microsoft{Tenant: mailtest.EntraTenant, ClientID: "app-id", ClientSecret: "file:" + secretFile,
		Authority: strings.TrimSuffix(entra.Authority, "/"+mailtest.EntraTenant), CA: entra.TLS.CAFile}
	e.cfg.SMTP.Auth, e.cfg.IMAP.Auth = "app", "app"
	c := e.core(t)
	m, _ := sendNow(t, context.Background(), c, colleague)
	if m.State != outbox.Queued || m.Err == nil || m.Err.Message.Key != "msauth.app_refused" || len(e.smtp.Received()) != 0 {
		t.Fatalf("%s %v", m.State, m.Err)
	}
}
