package core

import (
	"context"
	"testing"
	"time"

	"sikkermail/internal/config"
	"sikkermail/internal/mailtest/daemon"
	"sikkermail/internal/policy"
)

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
	if err := c.policy.AddMailbox(ctx, hd, testMailboxes[1]); err != nil {
		t.Fatal(err)
	}
	if err := c.MaySend(ctx, testMailboxes[1].Address); err == nil {
		t.Fatal("may send before any grant")
	}
	if err := c.policy.Grant(ctx, hd, c.User(), testMailboxes[1].Address, policy.Send); err != nil {
		t.Fatal(err)
	}
	if err := c.MaySend(ctx, testMailboxes[1].Address); err != nil {
		t.Errorf("after a grant in the directory: %v", err)
	}
}

// The demo can be used as each of its people, and as the settings' own
// user again; not as anyone else. Outside the demo the user is the
// settings file's.
func TestSwitchDemoUser(t *testing.T) {
	c, err := newCore(t, demo(t))
	if err != nil {
		t.Fatal(err)
	}
	staff, reader, helpdesk := config.DemoUsers[0], config.DemoUsers[1], config.DemoUsers[2]
	if err := c.SwitchDemoUser(reader.Address); err != nil || c.User() != reader.Address || c.UserName() != reader.Name {
		t.Fatalf("as reader: %v, %s, %s", err, c.User(), c.UserName())
	}
	if err := c.SwitchDemoUser("Helpdesk@HOEJSKOLE.example"); err != nil || c.User() != helpdesk.Address {
		t.Fatalf("as helpdesk: %v, %s", err, c.User())
	}
	if ok, err := c.IsHelpdesk(context.Background()); !ok || err != nil {
		t.Errorf("the demo's helpdesk is no helpdesk: %v", err)
	}
	if err := c.SwitchDemoUser("someone@hoejskole.example"); err == nil || c.User() != helpdesk.Address {
		t.Errorf("switched to someone who is not in the demo: %v, %s", err, c.User())
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

// At the gateway each caller is a view of one core: their own rights,
// their own name in the audit log, and helpdesk only when the gateway
// proved it; the settings' user is not theirs.
func TestAs(t *testing.T) {
	cfg := demo(t)
	cfg.Demo = false
	cfg.Policy.Helpdesk = nil // the role comes from the gateway only
	cfg.User.Address = "laeser@hoejskole.example"
	c, err := newCore(t, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	staff := c.As(policy.Actor{User: "Medarbejder@hoejskole.example", Machine: "gateway"}, "Demo Medarbejder")
	hd := c.As(policy.Actor{User: "it-vagt@hoejskole.example", Machine: "gateway", Helpdesk: true}, "IT-vagt")
	if staff.User() != "medarbejder@hoejskole.example" || hd.UserName() != "IT-vagt" || c.User() != cfg.User.Address {
		t.Fatalf("users %s %s %s", staff.User(), hd.UserName(), c.User())
	}
	if ok, _ := staff.IsHelpdesk(ctx); ok {
		t.Error("staff is helpdesk")
	}
	if err := staff.AddMailbox(ctx, testMailboxes[0]); err == nil {
		t.Error("staff set up a mailbox")
	}
	if ok, _ := hd.IsHelpdesk(ctx); !ok {
		t.Error("the proven helpdesk is not")
	}
	if err := hd.AddMailbox(ctx, testMailboxes[0]); err != nil {
		t.Fatal(err)
	}
	if err := hd.Grant(ctx, staff.User(), testMailboxes[0].Address, policy.Send); err != nil {
		t.Fatal(err)
	}
	if err := staff.MaySend(ctx, testMailboxes[0].Address); err != nil {
		t.Errorf("the grant does not apply at once: %v", err)
	}
	if err := c.MaySend(ctx, testMailboxes[0].Address); err == nil {
		t.Error("the settings' user may send with staff's grant")
	}
	log, err := c.AuditLog(ctx, time.Time{})
	if err != nil || len(log) != 2 || log[1].Actor.User != "it-vagt@hoejskole.example" || log[1].Subject != staff.User() {
		t.Errorf("audit %+v %v", log, err)
	}
}
