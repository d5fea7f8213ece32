package core

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"time"

	"sikkermail/internal/config"
	"sikkermail/internal/keystore"
	"sikkermail/internal/mailtest"
	"sikkermail/internal/message"
	"sikkermail/internal/policy"
	"sikkermail/internal/smime"
)

// MailboxChoice is one secure mailbox as the secure-send pane shows it:
// every mailbox is listed; those the user may not send from are disabled,
// with the reason.
type MailboxChoice struct {
	policy.Mailbox
	// CanSend and CanRead are the user's rights to it.
	CanSend, CanRead bool
	// Why is set when the user may not send from it: a sentence that says
	// whom to ask (helpdesk).
	Why error
}

// User returns the address of the person using the client.
func (c *Core) User() string { return c.Actor().User }

// Actor returns who the user is, and from which machine, for the audit log.
func (c *Core) Actor() policy.Actor { return *c.actor.Load() }

// Mailboxes lists every secure mailbox with the user's rights to it.
func (c *Core) Mailboxes(ctx context.Context) ([]MailboxChoice, error) {
	mbs, err := c.policy.Mailboxes(ctx)
	if err != nil {
		return nil, err
	}
	rights, err := c.policy.Rights(ctx, c.User())
	if err != nil {
		return nil, err
	}
	out := make([]MailboxChoice, len(mbs))
	for i, m := range mbs {
		out[i] = MailboxChoice{Mailbox: m}
		for _, r := range rights[m.Address] {
			out[i].CanSend = out[i].CanSend || r == policy.Send
			out[i].CanRead = out[i].CanRead || r == policy.Read
		}
		if !out[i].CanSend {
			out[i].Why = &policy.Error{Reason: policy.NoRight, User: c.User(), Mailbox: m.Address, Right: policy.Send}
		}
	}
	return out, nil
}

// MaySend returns nil when the user may send from mailbox, else an error
// whose sentence names the mailbox and says to ask helpdesk. Send calls it
// before anything else.
func (c *Core) MaySend(ctx context.Context, mailbox string) error {
	return c.may(ctx, c.User(), mailbox, policy.Send)
}

// MayRead is MaySend for reading a mailbox's inbox.
func (c *Core) MayRead(ctx context.Context, mailbox string) error {
	return c.may(ctx, c.User(), mailbox, policy.Read)
}

func (c *Core) may(ctx context.Context, user, mailbox string, r policy.Right) error {
	if _, err := c.policy.Mailbox(ctx, mailbox); err != nil {
		return err
	}
	ok, err := policy.Has(ctx, c.policy, user, mailbox, r)
	if err != nil {
		return err
	}
	if !ok {
		return &policy.Error{Reason: policy.NoRight, User: user, Mailbox: mailbox, Right: r}
	}
	return nil
}

// demoHelpdesk is who set up the demo's mailboxes, in the audit log.
var demoHelpdesk = policy.Actor{User: "helpdesk@hoejskole.example", Machine: "demo"}

// DemoMailboxes are the demo institution's four secure mailboxes, one per
// department, as the reference institution has.
var DemoMailboxes = []policy.Mailbox{
	{Address: "sikkerpost-uddservice@hoejskole.example", Name: "Sikkerpost-uddservice", Department: "Uddannelsesservice", SentFolder: "Sendt post"},
	{Address: "sikkerpost-hr@hoejskole.example", Name: "Sikkerpost-hr", Department: "HR", SentFolder: "Sendt post"},
	{Address: "sikkerpost-studievejledning@hoejskole.example", Name: "Sikkerpost-studievejledning", Department: "Studievejledning", SentFolder: "Sendt post"},
	{Address: "sikkerpost-ledelse@hoejskole.example", Name: "Sikkerpost-ledelse", Department: "Ledelsessekretariatet", SentFolder: "Sendt post"},
}

// DemoUser is one of the people the demo can be used as.
type DemoUser struct {
	// Role is "staff" (sends from two mailboxes, reads one), "reader"
	// (a designated reader of two mailboxes, who sends from none) or
	// "helpdesk" (grants and revokes rights).
	Role, Address, Name string
}

// DemoUsers are the demo's people, the one it starts as first.
var DemoUsers = []DemoUser{
	{"staff", "medarbejder@hoejskole.example", "Demo Medarbejder"},
	{"reader", "laeser@hoejskole.example", "Demo Læser"},
	{"helpdesk", "helpdesk@hoejskole.example", "Demo Helpdesk"},
}

// demoUsers are the demo's people's addresses: their mail accounts.
func demoUsers() []string {
	var out []string
	for _, u := range DemoUsers {
		out = append(out, u.Address)
	}
	return out
}

// SwitchDemoUser makes the demo's user the one at address (one of
// DemoUsers), so that every role can be tried with no settings file.
// What the outbox holds goes on as whoever queued it. Outside the demo
// the user is the settings file's, and this refuses.
func (c *Core) SwitchDemoUser(address string) error {
	if !c.cfg.Demo {
		return errors.New("core: only the demo switches its user")
	}
	i := slices.IndexFunc(DemoUsers, func(u DemoUser) bool { return u.Address == address })
	if i < 0 {
		return fmt.Errorf("core: %s is none of the demo's users", address)
	}
	a := c.Actor()
	a.User = address
	c.actor.Store(&a)
	c.userName.Store(&DemoUsers[i].Name)
	return nil
}

// UserName is the user's name, as the settings (or the demo) give it.
func (c *Core) UserName() string { return *c.userName.Load() }

// startDemo starts the demo's servers and PKI (kept beside the database)
// and returns the settings that point at them.
func startDemo(cfg *config.Config, may func(user, mailbox string) bool) (*config.Config, *mailtest.Demo, error) {
	path, err := cfg.DatabasePath()
	if err != nil {
		return nil, nil, err
	}
	names := map[string]string{}
	for _, m := range DemoMailboxes {
		names[m.Address] = m.Name
	}
	d, err := mailtest.StartDemo(filepath.Join(filepath.Dir(path), "demo"), demoUsers(), names, may)
	if err != nil {
		return nil, nil, err
	}
	out := *cfg
	out.SMTP.MailServer = config.MailServer{Server: d.SMTP.Addr, CA: d.SMTP.TLS.CAFile, Password: d.Password}
	out.IMAP.MailServer = config.MailServer{Server: d.IMAP.Addr, CA: d.IMAP.TLS.CAFile, Password: d.Password}
	// What the settings name themselves stays.
	if out.SMIME.TrustAnchors == nil {
		out.SMIME.TrustAnchors = []string{d.CAFile}
	}
	if out.Directory.Store == "" {
		out.Directory.Store = d.Store
	}
	if out.DigitalPost.URL == "" {
		dp := d.DigitalPost
		out.DigitalPost = config.DigitalPost{URL: dp.URL, Identity: dp.Identity, Password: dp.Password, CA: dp.TLS.CAFile}
	}
	return &out, d, nil
}

// demoMailboxes are DemoMailboxes with this run's identities.
func (c *Core) demoMailboxes() []policy.Mailbox {
	out := slices.Clone(DemoMailboxes)
	if c.demo != nil {
		for i := range out {
			out[i].Identity, out[i].Password = c.demo.Identities[out[i].Address], c.demo.Password
			out[i].ContactPoint = mailtest.DemoContactPoint(out[i].Address)
		}
	}
	return out
}

// seedDemo sets up the demo's mailboxes and the demo user's rights the
// first time (send from two mailboxes, read one; the others shown
// disabled), and points the mailboxes at this run's identities.
func seedDemo(ctx context.Context, p *policy.SQLite, mailboxes []policy.Mailbox) error {
	mbs, err := p.Mailboxes(ctx)
	if err != nil {
		return err
	}
	for _, m := range mailboxes {
		// Set up once; later only pointed at this run's identities (a
		// second client on the demo database has none to give).
		if i := slices.IndexFunc(mbs, func(x policy.Mailbox) bool { return x.Address == m.Address }); i >= 0 &&
			(m.Identity == "" || mbs[i].Identity == m.Identity && mbs[i].Password == m.Password && mbs[i].ContactPoint == m.ContactPoint) {
			continue
		}
		if err := p.AddMailbox(ctx, demoHelpdesk, m); err != nil {
			return err
		}
	}
	if len(mbs) > 0 {
		return nil
	}
	staff, reader := DemoUsers[0].Address, DemoUsers[1].Address
	for _, g := range []struct {
		user, mailbox string
		right         policy.Right
	}{
		{staff, DemoMailboxes[0].Address, policy.Send},
		{staff, DemoMailboxes[2].Address, policy.Send},
		{staff, DemoMailboxes[0].Address, policy.Read},
		{reader, DemoMailboxes[0].Address, policy.Read},
		{reader, DemoMailboxes[1].Address, policy.Read},
	} {
		if err := p.Grant(ctx, demoHelpdesk, g.user, g.mailbox, g.right); err != nil && !isAlready(err) {
			return err
		}
	}
	return nil
}

func isAlready(err error) bool {
	var e *policy.Error
	return errors.As(err, &e) && e.Reason == policy.AlreadyGranted
}

// incomingMail builds a mail as it arrives from outside: signed (clear)
// by signer unless nil, encrypted for to unless nil, with the transport
// header and the Received lines the institution's mail server adds.
func incomingMail(h message.Header, d message.Draft, signer *smime.Identity, to *x509.Certificate, received ...string) ([]byte, error) {
	entity, err := message.Entity(d)
	if err != nil {
		return nil, err
	}
	if signer != nil {
		if entity, err = smime.SignEntity(entity, *signer, smime.SignOptions{Detached: true}); err != nil {
			return nil, err
		}
	}
	if to != nil {
		if entity, err = smime.EncryptEntity(entity, []smime.Recipient{{Cert: to}}, smime.AES256GCM); err != nil {
			return nil, err
		}
	}
	msg, err := message.Compose(h, entity)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	for _, r := range received {
		b.WriteString("Received: " + r + "\r\n")
	}
	b.Write(msg)
	return b.Bytes(), nil
}

// seedDemoInbox puts mail in the inbox of the demo's first mailbox (the
// one the demo user reads): one that came securely, one a citizen sent
// without encryption, and one whose signer is not its sender.
func (c *Core) seedDemoInbox(ctx context.Context) error {
	mb := DemoMailboxes[0]
	own, err := c.identity(ctx, mb.Address)
	if err != nil {
		return err
	}
	jens, err := keystore.Open(c.demo.People["jens.hansen@kommune.example"], c.demo.Password)
	if err != nil {
		return err
	}
	now := c.now()
	hop := func(from, with string, at time.Time) string {
		return "from " + from + " by mx." + config.DemoDomain + " with " + with + " id demo; " + at.Format(time.RFC1123Z)
	}
	to := []message.Address{{Name: mb.Name, Address: mb.Address}}
	mails := []struct {
		h      message.Header
		d      message.Draft
		signer *smime.Identity
		enc    bool
		hops   []string
	}{
		{message.Header{From: message.Address{Name: "Jens Hansen", Address: "jens.hansen@kommune.example"}, To: to, Subject: "Ansøgning om merit",
			Date: now.Add(-3 * time.Hour)},
			message.Draft{Body: "Kære Uddannelsesservice\n\nVedhæftet er min ansøgning om merit med eksamensbeviset.\n\nVenlig hilsen\nJens Hansen\n",
				Attachments: []message.Attachment{{Name: "Eksamensbevis.pdf", Data: []byte("%PDF-1.7\n% demo\n")}}},
			jens, true, []string{hop("mail.kommune.example", "ESMTPS", now.Add(-3*time.Hour))}},
		{message.Header{From: message.Address{Name: "Maria Nielsen", Address: "maria.nielsen@webmail.example"}, To: to, Subject: "Spørgsmål om optagelse",
			Date: now.Add(-2 * time.Hour)},
			message.Draft{Body: "Hej\n\nJeg har et spørgsmål om optagelse på pædagoguddannelsen.\n\nMvh Maria\n"},
			nil, false, []string{hop("webmail.example", "SMTP", now.Add(-2*time.Hour))}},
		{message.Header{From: message.Address{Name: "Kommunen", Address: "post@kommune-dk.example"}, To: to, Subject: "Vigtigt: bekræft jeres oplysninger",
			Date: now.Add(-time.Hour)},
			message.Draft{Body: "Klik her og bekræft jeres oplysninger.\n"},
			jens, true, []string{hop("kommune-dk.example", "ESMTPS", now.Add(-time.Hour))}},
	}
	for i, m := range mails {
		m.h.MessageID = fmt.Sprintf("<demo-%d@%s>", i+1, config.DemoDomain)
		var cert *x509.Certificate
		if m.enc {
			cert = own.Cert
		}
		raw, err := incomingMail(m.h, m.d, m.signer, cert, m.hops...)
		if err != nil {
			return err
		}
		if err := c.demo.IMAP.Deliver(mb.Address, raw); err != nil {
			return err
		}
	}
	return nil
}
