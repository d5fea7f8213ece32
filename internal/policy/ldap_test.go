package policy

import (
	"context"
	"path/filepath"
	"testing"

	"sikkermail/internal/mailtest/daemon"
)

func TestLDAPStore(t *testing.T) {
	s := daemon.StartSlapd(t)
	for _, p := range []string{"medarbejder", "anna", "helpdesk"} {
		s.AddPerson(t, daemon.Person{CN: p, Mail: []string{p + "@hoejskole.example"}})
	}
	local := openTestDB(t, filepath.Join(t.TempDir(), "p.db"))
	store := &LDAP{Local: local, URL: s.URL, StartTLS: true, TLS: s.TLS.Client(), PeopleDN: s.PeopleDN(), GroupsDN: s.GroupsDN(), BindDN: s.AdminDN, Password: s.AdminPassword}
	storeCases(t, store)

	// The directory, not the client, is the real guard: a client that skips
	// its own check and has no helpdesk bind is refused by slapd.
	anon := &LDAP{Local: local, URL: s.URL, StartTLS: true, TLS: s.TLS.Client(), PeopleDN: s.PeopleDN(), GroupsDN: s.GroupsDN()}
	err := anon.Grant(context.Background(), helpdesk, "anna@hoejskole.example", uddserv.Address, Send)
	if reason(err) != NotHelpdesk {
		t.Errorf("an anonymous write: %v", err)
	}
	// Another PC reading the same directory sees the same rights.
	other := &LDAP{Local: local, URL: s.URL, StartTLS: true, TLS: s.TLS.Client(), PeopleDN: s.PeopleDN(), GroupsDN: s.GroupsDN()}
	if ok, err := Has(context.Background(), other, "anna@hoejskole.example", uddserv.Address, Read); !ok || err != nil {
		t.Errorf("read right seen from another client: %v %v", ok, err)
	}
	// The changes are in the audit log.
	log, _ := local.Audit(context.Background(), local.now().AddDate(-1, 0, 0))
	if len(log) != 4 {
		t.Errorf("%d audit entries, want 4 (mailbox, 2 grants, revoke)", len(log))
	}
}
