// Package demo is the built-in demo institution, so that the whole flow
// can be walked with no settings: it starts on loopback the servers the
// client talks to (submission, IMAP, Digital Post) with a PKI of its own
// kept beside the database, completes the settings to point at them,
// sets up the secure mailboxes and the demo people's rights as the
// demo's helpdesk, and puts mail in a secure inbox. The front-ends'
// commands call it; the core knows nothing of it.
package demo

import (
	"context"
	"path/filepath"
	"slices"
	"sync/atomic"

	"sikkermail/internal/config"
	"sikkermail/internal/core"
	"sikkermail/internal/policy"
)

// Mailboxes are the demo institution's four secure mailboxes, one per
// department, as the reference institution has.
var Mailboxes = []policy.Mailbox{
	{Address: "sikkerpost-uddservice@hoejskole.example", Name: "Sikkerpost-uddservice", Department: "Uddannelsesservice", SentFolder: "Sendt post"},
	{Address: "sikkerpost-hr@hoejskole.example", Name: "Sikkerpost-hr", Department: "HR", SentFolder: "Sendt post"},
	{Address: "sikkerpost-studievejledning@hoejskole.example", Name: "Sikkerpost-studievejledning", Department: "Studievejledning", SentFolder: "Sendt post"},
	{Address: "sikkerpost-ledelse@hoejskole.example", Name: "Sikkerpost-ledelse", Department: "Ledelsessekretariatet", SentFolder: "Sendt post"},
}

// Core is the core on the demo's servers; Close stops them too.
type Core struct {
	*core.Core
	servers *servers
}

// Close closes the core, then stops the servers.
func (d *Core) Close() error {
	err := d.Core.Close()
	d.servers.Close()
	return err
}

// Open opens the core for cfg, as the front-ends' commands do: when cfg
// is the demo's (config.Demo, or settings that say demo = true), on the
// demo's servers, which it starts and sets up, and closing the core
// stops; otherwise as cfg says.
func Open(cfg *config.Config) (core.API, error) {
	if !cfg.Demo {
		c, err := core.New(cfg)
		if err != nil {
			return nil, err
		}
		return c, nil
	}
	d, err := start(cfg)
	if err != nil {
		return nil, err
	}
	return d, nil
}

// start starts the demo for cfg, opens the core on it, and sets the demo
// up the first time.
func start(cfg *config.Config) (*Core, error) {
	path, err := cfg.DatabasePath()
	if err != nil {
		return nil, err
	}
	// The servers ask the core's rights, as Exchange asks its own.
	var opened atomic.Pointer[core.Core]
	may := func(user, mailbox string) bool {
		c := opened.Load()
		return c != nil && c.Permits(context.Background(), user, mailbox, policy.Send)
	}
	var users []string
	for _, u := range config.DemoUsers {
		users = append(users, u.Address)
	}
	s, err := startServers(filepath.Join(filepath.Dir(path), "demo"), cfg.Institution.CVR, users, may)
	if err != nil {
		return nil, err
	}
	c, err := core.New(s.settings(cfg))
	if err != nil {
		s.Close()
		return nil, err
	}
	opened.Store(c)
	d := &Core{Core: c, servers: s}
	if err := d.setUp(context.Background()); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

// settings are cfg pointed at the servers. What cfg names itself stays.
func (s *servers) settings(cfg *config.Config) *config.Config {
	out := *cfg
	out.SMTP.MailServer = config.MailServer{Server: s.SMTP.Addr, CA: s.SMTP.TLS.CAFile, Password: s.Password}
	out.IMAP.MailServer = config.MailServer{Server: s.IMAP.Addr, CA: s.IMAP.TLS.CAFile, Password: s.Password}
	if out.SMIME.TrustAnchors == nil {
		out.SMIME.TrustAnchors = []string{s.CAFile}
	}
	if out.Directory.Store == "" {
		out.Directory.Store = s.Store
	}
	if out.DigitalPost.URL == "" {
		dp := s.DigitalPost
		out.DigitalPost = config.DigitalPost{URL: dp.URL, Identity: dp.Identity, Password: dp.Password, CA: dp.TLS.CAFile}
	}
	return &out
}

// setUp does, as the demo's helpdesk, what an institution's helpdesk does
// once: it sets up the mailboxes and the demo people's rights (staff
// sends from two mailboxes and reads one, the reader reads two, the
// others are shown disabled); at every start it points the mailboxes
// at this run's identities. Then the user is the settings' again, and
// mail waits in the inbox they read.
func (d *Core) setUp(ctx context.Context) error {
	user := d.User()
	if err := d.SwitchDemoUser(config.DemoUsers[2].Address); err != nil {
		return err
	}
	if err := d.setUpRights(ctx); err != nil {
		return err
	}
	if err := d.SwitchDemoUser(user); err != nil {
		return err
	}
	return d.fillInbox(Mailboxes[0])
}

func (d *Core) setUpRights(ctx context.Context) error {
	have, err := d.ListMailboxes(ctx)
	if err != nil {
		return err
	}
	for _, m := range Mailboxes {
		m.Identity, m.Password = d.servers.Identities[m.Address], d.servers.Password
		m.ContactPoint = ContactPoint(m.Address)
		i := slices.IndexFunc(have, func(x policy.Mailbox) bool { return x.Address == m.Address })
		if i >= 0 && have[i].Identity == m.Identity && have[i].Password == m.Password && have[i].ContactPoint == m.ContactPoint {
			continue
		}
		if err := d.AddMailbox(ctx, m); err != nil {
			return err
		}
	}
	if len(have) > 0 {
		return nil
	}
	staff, reader := config.DemoUsers[0].Address, config.DemoUsers[1].Address
	for _, g := range []struct {
		user    string
		mailbox policy.Mailbox
		right   policy.Right
	}{
		{staff, Mailboxes[0], policy.Send},
		{staff, Mailboxes[2], policy.Send},
		{staff, Mailboxes[0], policy.Read},
		{reader, Mailboxes[0], policy.Read},
		{reader, Mailboxes[1], policy.Read},
	} {
		if err := d.Grant(ctx, g.user, g.mailbox.Address, g.right); err != nil {
			return err
		}
	}
	return nil
}
