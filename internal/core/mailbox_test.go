package core

import (
	"context"
	"testing"

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
