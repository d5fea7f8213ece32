package ui

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"

	"sikkermail/internal/config"
	"sikkermail/internal/core"
	"sikkermail/internal/mailtest"
	"sikkermail/internal/outbox"
	"sikkermail/internal/policy"
	"sikkermail/internal/testenv"
)

// The day of a user whose institution signs in with Microsoft: the
// first send asks to sign in (the browser step driven by the test) and
// then goes; the session ends (revoked), the next mail waits, "Log ind
// igen for at sende"; signing in again under Indstillinger › Konto
// sends it.
func TestMicrosoftSignInFlow(t *testing.T) {
	if !testenv.InSecretService(t) {
		return
	}
	const (
		user, mailbox, colleague = "medarbejder@hoejskole.example", "sikkerpost-uddservice@hoejskole.example", "kollega@hoejskole.example"
		clientID                 = "9d2c6b1e-4f3a-4e5b-8c7d-6a5b4c3d2e1f"
	)
	dir := t.TempDir()
	entra := mailtest.StartEntra(t, clientID)
	entra.AddUser(user, "entra-password", "Demo Medarbejder")
	var u *UI
	may := func(login, mb string) bool {
		return u.core.(*core.Core).Permits(context.Background(), login, mb, policy.Send)
	}
	smtp := mailtest.StartSMTP(t, nil, may)
	imap := mailtest.StartIMAPS(t)
	imap.AddAccount(user, "unused", "Sendte elementer")
	imap.AddAccount(mailbox, "unused", "Sendt post")
	imap.MayUse = may
	tokens := mailtest.Introspect(entra.Introspection, entra.TLS.Roots)
	smtp.Tokens, imap.Tokens = tokens, tokens

	cfg := config.Demo()
	cfg.Demo = false
	cfg.SMTP.MailServer = config.MailServer{Server: smtp.Addr, CA: smtp.TLS.CAFile, Auth: "microsoft", Timeout: config.Duration{Duration: 5 * time.Second}}
	cfg.IMAP.MailServer = config.MailServer{Server: imap.Addr, CA: imap.TLS.CAFile, Auth: "microsoft", Timeout: config.Duration{Duration: 5 * time.Second}}
	cfg.Microsoft = config.Microsoft{Tenant: mailtest.EntraTenant, ClientID: clientID,
		Authority: strings.TrimSuffix(entra.Authority, "/"+mailtest.EntraTenant), CA: entra.TLS.CAFile}
	u = newTestUI(t, cfg)
	u.openURL = entra.Browser(user, "entra-password")
	// The worker says when a mail has gone all its way.
	finished := make(chan int64, 4)
	u.core.(*core.Core).OnStep(func(step string, id int64) {
		if step == "receipt" {
			finished <- id
		}
	})
	runWorker(t, u)
	pw := filepath.Join(dir, "p12-password")
	os.WriteFile(pw, []byte("test"), 0o600)
	// Helpdesk sets the mailbox up, on the same database.
	ctx := context.Background()
	hcfg := *cfg
	hcfg.User.Address = cfg.Policy.Helpdesk[0]
	helpdesk, err := core.New(&hcfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := helpdesk.AddMailbox(ctx, policy.Mailbox{Address: mailbox, Name: "Sikkerpost-uddservice",
		Identity: testenv.Path("testdata", "certs", "mailbox-rsa.p12"), Password: "file:" + pw, SentFolder: "Sendt post"}); err != nil {
		t.Fatal(err)
	}
	if err := helpdesk.Grant(ctx, user, mailbox, policy.Send); err != nil {
		t.Fatal(err)
	}
	helpdesk.Close()

	write := func(subject string) *SendPane {
		u.Compose.Subject.SetText(subject)
		u.Compose.Body.SetText("Hej")
		test.Tap(u.Compose.SendSecure)
		p := u.Send
		p.Sender.SetSelected(p.Sender.Options[0])
		p.Emails.SetText(colleague)
		test.Tap(p.Check)
		p.Wait()
		return p
	}
	p := write("Første")
	test.Tap(p.SendMail)
	p.Wait()
	// Nobody is signed in: the pane asks, and the sign-in sends the mail.
	yes := findButton(p.Window.Canvas().Overlays().Top(), "Log ind med Microsoft")
	if yes == nil {
		t.Fatalf("no question to sign in; status %q", p.Status.Text)
	}
	test.Tap(yes)
	u.signing.Wait()
	p.Wait()
	if !strings.HasPrefix(p.Status.Text, "Din sikre mail er sendt.") || len(smtp.Received()) != 1 {
		t.Fatalf("after signing in: %q, %d submissions", p.Status.Text, len(smtp.Received()))
	}
	<-finished // its Sent copies and receipt too

	// The session ends: the next mail waits for a new sign-in.
	entra.Revoke(user)
	p = write("Anden")
	test.Tap(p.SendMail)
	p.Wait()
	if !strings.Contains(p.Status.Text, "Log ind igen for at sende") {
		t.Fatalf("revoked session: %q", p.Status.Text)
	}
	list, _ := u.core.OutboxList(ctx)
	var waiting int64
	for _, m := range list {
		if m.State == outbox.Queued {
			waiting = m.ID
		}
	}
	if waiting == 0 {
		t.Fatal("the mail is not waiting in the outbox")
	}
	test.Tap(u.Compose.SettingsButton)
	s := u.Settings
	if s.SignIn == nil || !s.SignIn.Visible() || s.SignIn.Text != "Log ind igen" || s.Microsoft.Text != "Logget ind som "+user {
		t.Fatalf("Konto: %v, %q", s.SignIn != nil && s.SignIn.Visible(), s.Microsoft.Text)
	}
	test.Tap(s.SignIn)
	u.signing.Wait()
	if id := <-finished; id != waiting || len(smtp.Received()) != 2 {
		t.Fatalf("after signing in again: mail %d went (the waiting one is %d), %d submissions", id, waiting, len(smtp.Received()))
	}
	test.Tap(s.SignOut)
	if s.Microsoft.Text != "Ikke logget ind" || s.SignOut.Visible() || s.SignIn.Text != "Log ind med Microsoft" {
		t.Fatalf("after signing out: %q", s.Microsoft.Text)
	}
}
