package demo

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"sikkermail/internal/config"
	"sikkermail/internal/core"
	"sikkermail/internal/digitalpost"
	"sikkermail/internal/directory"
	"sikkermail/internal/i18n"
	"sikkermail/internal/mailtest"
	"sikkermail/internal/mailtest/daemon"
	"sikkermail/internal/message"
	"sikkermail/internal/outbox"
	"sikkermail/internal/policy"
	"sikkermail/internal/recipient"
)

// testConfig is the demo's settings with a database of the test's own.
func testConfig(t *testing.T) *config.Config {
	cfg := config.Demo()
	cfg.Database = filepath.Join(t.TempDir(), "test.db")
	return cfg
}

// open starts the demo for the test, stopped when it ends.
func open(t *testing.T, cfg *config.Config) (*Core, error) {
	d, err := start(cfg)
	if err == nil {
		t.Cleanup(func() { d.Close() })
	}
	return d, err
}

// The demo's directory and Digital Post answer the check: in the order
// given, each red for its own reason.
func TestCheck(t *testing.T) {
	c, err := open(t, testConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	in := []string{"sikkerpost@hoejskole.example", "jens@kommune.example", "310290-1234", "29403473", "Sikkerpost@HOEJSKOLE.example", "010190-1009"}
	v := c.Check(context.Background(), in)
	if len(v) != len(in) {
		t.Fatalf("%d verdicts for %d inputs", len(v), len(in))
	}
	for i := range in {
		if v[i].Input != in[i] {
			t.Errorf("verdict %d is for %q, want %q (order kept)", i, v[i].Input, in[i])
		}
	}
	if !v[0].OK() || v[0].Channel != directory.Internal || !v[4].OK() {
		t.Errorf("internal address: %+v / %+v", v[0], v[4])
	}
	var nocert *directory.NoCertificateError
	if v[1].OK() || !errors.As(v[1].Err, &nocert) {
		t.Errorf("external address without a certificate in the demo directory is not red for that reason: %+v", v[1])
	}
	var perr *recipient.Error
	if v[2].OK() || v[2].Recipient != nil || !errors.As(v[2].Err, &perr) || perr.Reason != recipient.InvalidDate {
		t.Errorf("impossible CPR: %+v", v[2])
	}
	var dp *digitalpost.NotRegisteredError
	if v[3].OK() || !errors.As(v[3].Err, &dp) || dp.Status != digitalpost.Unknown {
		t.Errorf("a CVR number the demo's Digital Post does not know is not red for that reason: %+v", v[3])
	}
	if !v[5].OK() || v[5].Channel != directory.DigitalPost || v[5].Name != "" {
		t.Errorf("a CPR number registered in the demo's Digital Post: %+v", v[5])
	}
}

func TestMailboxesAndRights(t *testing.T) {
	cfg := testConfig(t)
	c, err := open(t, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	choices, err := c.Mailboxes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(choices) != 4 {
		t.Fatalf("%d mailboxes, want the demo's 4: every mailbox is listed", len(choices))
	}
	usable := map[string]bool{}
	for _, ch := range choices {
		usable[ch.Address] = ch.CanSend
		if !ch.CanSend {
			s := i18n.Danish.Error(ch.Why)
			if !strings.Contains(s, "Kontakt Helpdesk") || !strings.Contains(s, ch.Address) {
				t.Errorf("%s: reason %q", ch.Address, s)
			}
		}
	}
	if !usable["sikkerpost-uddservice@hoejskole.example"] || !usable["sikkerpost-studievejledning@hoejskole.example"] ||
		usable["sikkerpost-hr@hoejskole.example"] || usable["sikkerpost-ledelse@hoejskole.example"] {
		t.Errorf("usable %v", usable)
	}
	if err := c.MaySend(ctx, "Sikkerpost-Uddservice@hoejskole.example"); err != nil {
		t.Errorf("may send: %v", err)
	}
	var pe *policy.Error
	if err := c.MaySend(ctx, "sikkerpost-hr@hoejskole.example"); !errors.As(err, &pe) || pe.Reason != policy.NoRight {
		t.Errorf("refused send: %v", err)
	}
	if err := c.MayRead(ctx, "sikkerpost-uddservice@hoejskole.example"); err != nil {
		t.Errorf("may read: %v", err)
	}
	if err := c.MaySend(ctx, "nope@hoejskole.example"); !errors.As(err, &pe) || pe.Reason != policy.UnknownMailbox {
		t.Errorf("unknown mailbox: %v", err)
	}
	// The demo is set up once: a second start finds it and adds nothing.
	c.Close()
	c2, err := open(t, cfg)
	if err != nil {
		t.Fatal(err)
	}
	log, _ := c2.AuditLog(ctx, time.Time{})
	if len(log) != 4+5 {
		t.Errorf("%d audit entries after two starts, want 9 (four mailboxes, five rights)", len(log))
	}
}

// The demo's reader finds mail in the mailbox she reads: one that came
// securely, one that did not, one whose signer is not its sender.
func TestDemoInbox(t *testing.T) {
	c, err := open(t, testConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	readable, err := c.Readable(ctx)
	if err != nil || len(readable) != 1 || readable[0].Address != Mailboxes[0].Address {
		t.Fatalf("%+v %v", readable, err)
	}
	list, err := c.InboxList(ctx, readable[0].Address)
	if err != nil || len(list) != 3 {
		t.Fatalf("%d %v", len(list), err)
	}
	want := []string{"Ikke sendt sikkert: den er signeret af Jens Hansen", "Ikke sendt sikkert: mailen var ikke krypteret", "Sendt sikkert: krypteret (AES-256-GCM) og signeret af Jens Hansen"}
	for i, item := range list {
		m, err := c.InboxOpen(ctx, readable[0].Address, item.UID)
		if err != nil {
			t.Fatal(err)
		}
		if s := m.Report.Summary(i18n.Danish); !strings.HasPrefix(s, want[i]) {
			t.Errorf("%s: %s", item.Subject, s)
		}
	}
	if _, err := c.InboxList(ctx, Mailboxes[1].Address); err == nil {
		t.Error("the demo user reads a mailbox she has no right to")
	}
}

// TestRightsEnforcedTwice: a user without the send right is refused by
// core, and, bypassing core, by the submission server itself.
func TestRightsEnforcedTwice(t *testing.T) {
	c, err := open(t, testConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	user := c.User()
	srv := mailtest.StartSMTP(t, map[string]string{user: "demo-password"}, func(u, mailbox string) bool {
		return c.Permits(ctx, u, mailbox, policy.Send)
	})
	const allowed, forbidden = "sikkerpost-uddservice@hoejskole.example", "sikkerpost-hr@hoejskole.example"

	// Core refuses.
	var pe *policy.Error
	if err := c.MaySend(ctx, forbidden); !errors.As(err, &pe) || pe.Reason != policy.NoRight {
		t.Fatalf("core let %s send from %s: %v", user, forbidden, err)
	}

	// A client that bypasses core speaks SMTP itself.
	plain, err := smtp.Dial(srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	if err := plain.Auth(sasl.NewPlainClient("", user, "demo-password")); err == nil {
		t.Fatal("AUTH accepted without TLS")
	}
	plain.Close()
	// The server's certificate is verified: without its CA the first
	// command after STARTTLS (when go-smtp shakes hands) fails.
	if untrusted, err := smtp.DialStartTLS(srv.Addr, nil); err == nil {
		err = untrusted.Auth(sasl.NewPlainClient("", user, "demo-password"))
		untrusted.Close()
		if err == nil || !strings.Contains(err.Error(), "certificate") {
			t.Fatalf("an untrusted server certificate was accepted: %v", err)
		}
	}
	cl, err := smtp.DialStartTLS(srv.Addr, srv.TLS.Client())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.Auth(sasl.NewPlainClient("", user, "wrong")); err == nil {
		t.Fatal("AUTH accepted a wrong password")
	}
	if err := cl.Auth(sasl.NewPlainClient("", user, "demo-password")); err != nil {
		t.Fatal(err)
	}
	want550 := func(what string, err error) {
		t.Helper()
		var se *smtp.SMTPError
		if !errors.As(err, &se) || se.Code != 550 || !strings.Contains(se.Message, "may not send on behalf of "+forbidden) {
			t.Errorf("%s: %v, want 550 5.7.1", what, err)
		}
	}
	want550("MAIL FROM a forbidden mailbox", cl.Mail(forbidden, nil))

	send := func(envelope, header string) error {
		if err := cl.Mail(envelope, nil); err != nil {
			return err
		}
		if err := cl.Rcpt("jens.hansen@kommune.example", nil); err != nil {
			return err
		}
		w, err := cl.Data()
		if err != nil {
			return err
		}
		w.Write([]byte("From: " + header + "\r\nSender: " + user + "\r\nTo: jens.hansen@kommune.example\r\nSubject: x\r\n\r\nx\r\n"))
		return w.Close()
	}
	// An allowed envelope with a forged From: header is refused too.
	want550("From: header forged", send(allowed, "Sikkerpost-hr <"+forbidden+">"))
	// What the user may do goes through.
	if err := send(allowed, "Sikkerpost-uddservice <"+allowed+">"); err != nil {
		t.Fatalf("an allowed send was refused: %v", err)
	}
	got := srv.Received()
	if len(got) != 1 || got[0].From != allowed || got[0].User != user {
		t.Errorf("received %+v", got)
	}
}

// The demo needs no settings: its own servers, PKI and recipients carry
// a send from pressing Send to the receipt.
func TestDemoSend(t *testing.T) {
	c, err := open(t, testConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	q, err := c.Send(ctx, message.Draft{Subject: "Afgørelse om SU", Body: "Kære Jens\n\nHermed afgørelsen.\n",
		Attachments: []message.Attachment{{Name: "Afgørelse.pdf", Data: []byte("%PDF-1.7 demo")}}}, "sikkerpost-uddservice@hoejskole.example", []string{"jens.hansen@kommune.example"}, []string{"kollega@hoejskole.example"})
	if err != nil {
		t.Fatal(i18n.Danish.Error(err))
	}
	if n, err := c.Process(ctx); n != 1 || err != nil {
		t.Fatal(n, err)
	}
	m, r, err := c.ReceiptOf(ctx, q.ID)
	if err != nil || m.State != outbox.Done || r == nil || len(r.Recipients) != 2 {
		t.Fatalf("%+v %+v %v", m, r, err)
	}
	// The expired recipient is red.
	if v := c.Check(ctx, []string{"udloebet@kommune.example"}); v[0].OK() {
		t.Fatalf("%+v", v[0])
	}
}

// The demo can be used as each of its people; a mail queued as staff
// goes on as staff (their login, their right, their name in the audit
// log) after the demo has switched to helpdesk.
func TestSwitchKeepsWhoQueued(t *testing.T) {
	c, err := open(t, testConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	staff, reader, helpdesk := config.DemoUsers[0], config.DemoUsers[1], config.DemoUsers[2]
	q, err := c.SendTo(ctx, message.Draft{Subject: "Til kollega", Body: "Hej"}, Mailboxes[0].Address, core.Recipients{To: []string{"kollega@hoejskole.example"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SwitchDemoUser(reader.Address); err != nil || c.User() != reader.Address || c.UserName() != reader.Name {
		t.Fatalf("as reader: %v, %s, %s", err, c.User(), c.UserName())
	}
	if err := c.MayRead(ctx, Mailboxes[1].Address); err != nil {
		t.Errorf("the reader may not read %s: %v", Mailboxes[1].Address, err)
	}
	if err := c.MaySend(ctx, Mailboxes[0].Address); err == nil {
		t.Error("the reader may send")
	}
	if err := c.SwitchDemoUser(helpdesk.Address); err != nil {
		t.Fatal(err)
	}
	if n, err := c.Process(ctx); n != 1 || err != nil {
		t.Fatalf("processed %d: %v", n, err)
	}
	m, _, err := c.ReceiptOf(ctx, q.ID)
	if err != nil || m.State != outbox.Done {
		t.Fatalf("staff's mail after the switch: %+v, %v", m, err)
	}
	entries, err := c.AuditLog(ctx, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	sent := slices.IndexFunc(entries, func(e policy.Entry) bool { return e.Action == "send" })
	if sent < 0 || entries[sent].Actor.User != staff.Address {
		t.Fatalf("audit of the send: %+v", entries)
	}
	if err := c.SwitchDemoUser("someone@hoejskole.example"); err == nil {
		t.Error("switched to someone who is not in the demo")
	}

}

// The same core with its rights, audit log, outbox and Digital Post
// letters in PostgreSQL, as at the gateway: a send to an S/MIME
// recipient and a CPR number goes all the way to the receipt.
func TestDemoOnPostgres(t *testing.T) {
	cfg := testConfig(t)
	cfg.Store.URL = daemon.StartPostgres(t).URL
	c, err := open(t, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	q, err := c.Send(ctx, message.Draft{Subject: "Afgørelse", Body: "Hej"}, Mailboxes[0].Address, []string{"jens.hansen@kommune.example", "0101901009"}, nil)
	if err != nil {
		t.Fatal(i18n.Danish.Error(err))
	}
	if n, err := c.Process(ctx); n != 1 || err != nil {
		t.Fatal(n, err)
	}
	m, r, err := c.ReceiptOf(ctx, q.ID)
	if err != nil || m.State != outbox.Done || r == nil || len(r.Recipients) != 2 || r.Recipients[1].Channel != "digitalpost" {
		t.Fatalf("%+v %+v %v", m, r, err)
	}
	if check, err := c.VerifyAudit(ctx); err != nil || !check.OK() || check.Entries != 4+5+1 {
		t.Errorf("audit %+v %v", check, err)
	}
	if got := c.servers.DigitalPost.Received(); len(got) != 1 {
		t.Errorf("%d letters at Digital Post", len(got))
	}
}
