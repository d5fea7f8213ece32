package core

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"sikkermail/internal/config"
	"sikkermail/internal/i18n"
	"sikkermail/internal/mailtest/daemon"
	"sikkermail/internal/message"
	"sikkermail/internal/outbox"
	"sikkermail/internal/policy"
)

func TestMailboxesAndRights(t *testing.T) {
	cfg := demo(t)
	c, err := newCore(t, cfg)
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
	c2, err := newCore(t, cfg)
	if err != nil {
		t.Fatal(err)
	}
	log, _ := c2.local.Audit(ctx, time.Time{})
	if len(log) != 4+5 {
		t.Errorf("%d audit entries after two starts, want 9 (four mailboxes, five rights)", len(log))
	}
}

// TestRightsInLDAP: with [policy.ldap] set, rights come from the directory.
func TestRightsInLDAP(t *testing.T) {
	s := daemon.StartSlapd(t)
	s.AddPerson(t, daemon.Person{CN: "Medarbejder", Mail: []string{"medarbejder@hoejskole.example"}})
	t.Setenv("SIKKERMAIL_TEST_BIND", s.AdminPassword)
	cfg := demo(t)
	cfg.Demo = false
	cfg.Policy.LDAP = config.PolicyLDAP{URL: s.URL, StartTLS: true, CA: s.TLS.CAFile, PeopleDN: s.PeopleDN(), GroupsDN: s.GroupsDN(),
		BindDN: s.AdminDN, Password: "env:SIKKERMAIL_TEST_BIND"}
	c, err := newCore(t, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c.policy.(*policy.LDAP); !ok {
		t.Fatalf("policy store %T, want LDAP", c.policy)
	}
	ctx := context.Background()
	hd := policy.Actor{User: "helpdesk@hoejskole.example", Machine: "test"}
	if err := c.policy.AddMailbox(ctx, hd, DemoMailboxes[1]); err != nil {
		t.Fatal(err)
	}
	if err := c.MaySend(ctx, DemoMailboxes[1].Address); err == nil {
		t.Fatal("may send before any grant")
	}
	if err := c.policy.Grant(ctx, hd, c.User(), DemoMailboxes[1].Address, policy.Send); err != nil {
		t.Fatal(err)
	}
	if err := c.MaySend(ctx, DemoMailboxes[1].Address); err != nil {
		t.Errorf("after a grant in the directory: %v", err)
	}
}

// The demo can be used as each of its people; a mail queued as staff
// goes on as staff (their login, their right, their name in the audit
// log) after the demo has switched to helpdesk. Outside the demo the
// user is the settings file's.
func TestSwitchDemoUser(t *testing.T) {
	c, err := newCore(t, demo(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	staff, reader, helpdesk := DemoUsers[0], DemoUsers[1], DemoUsers[2]
	q, err := c.SendTo(ctx, message.Draft{Subject: "Til kollega", Body: "Hej"}, DemoMailboxes[0].Address, Recipients{To: []string{"kollega@hoejskole.example"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SwitchDemoUser(reader.Address); err != nil || c.User() != reader.Address || c.UserName() != reader.Name {
		t.Fatalf("as reader: %v, %s, %s", err, c.User(), c.UserName())
	}
	if err := c.MayRead(ctx, DemoMailboxes[1].Address); err != nil {
		t.Errorf("the reader may not read %s: %v", DemoMailboxes[1].Address, err)
	}
	if err := c.MaySend(ctx, DemoMailboxes[0].Address); err == nil {
		t.Error("the reader may send")
	}
	if err := c.SwitchDemoUser(helpdesk.Address); err != nil {
		t.Fatal(err)
	}
	if n, err := c.outbox.Process(ctx); n != 1 || err != nil {
		m, _ := c.outbox.Get(ctx, q.ID)
		t.Fatalf("processed %d: %v %s %v", n, err, m.State, m.Err)
	}
	m, err := c.outbox.Get(ctx, q.ID)
	if err != nil || m.State != outbox.Done {
		t.Fatalf("staff's mail after the switch: %+v, %v", m, err)
	}
	entries, err := c.local.Audit(ctx, time.Time{})
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

	cfg := demo(t)
	cfg.Demo = false
	cfg.Institution.Domains = []string{"hoejskole.example"}
	plain, err := newCore(t, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := plain.SwitchDemoUser(helpdesk.Address); err == nil || plain.User() != staff.Address {
		t.Errorf("outside the demo: %v, user %s", err, plain.User())
	}
}
