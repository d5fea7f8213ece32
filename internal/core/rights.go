package core

// Rights: the secure mailboxes, who may send from and read which, and
// the audit log — always as the core's acting user, never a caller's.

import (
	"context"
	"crypto/x509"
	"maps"
	"slices"
	"time"

	"sikkermail/internal/policy"
)

// IsHelpdesk reports whether the user may manage mailboxes and rights.
func (c *Core) IsHelpdesk(ctx context.Context) (bool, error) {
	if c.Actor().Helpdesk {
		return true, nil
	}
	return c.policy.IsHelpdesk(ctx, c.User())
}

// ListMailboxes lists every secure mailbox with its settings.
func (c *Core) ListMailboxes(ctx context.Context) ([]policy.Mailbox, error) {
	return c.policy.Mailboxes(ctx)
}

// Mailbox returns one secure mailbox's settings.
func (c *Core) Mailbox(ctx context.Context, address string) (*policy.Mailbox, error) {
	return c.policy.Mailbox(ctx, address)
}

// AddMailbox adds or changes a secure mailbox, as the user (helpdesk).
func (c *Core) AddMailbox(ctx context.Context, m policy.Mailbox) error {
	return c.policy.AddMailbox(ctx, c.Actor(), m)
}

// Grant gives user the right to mailbox, as the user (helpdesk).
func (c *Core) Grant(ctx context.Context, user, mailbox string, r policy.Right) error {
	return c.policy.Grant(ctx, c.Actor(), user, mailbox, r)
}

// Revoke takes user's right to mailbox away, as the user (helpdesk).
func (c *Core) Revoke(ctx context.Context, user, mailbox string, r policy.Right) error {
	return c.policy.Revoke(ctx, c.Actor(), user, mailbox, r)
}

// Rights returns a person's rights, by mailbox.
func (c *Core) Rights(ctx context.Context, user string) (map[string][]policy.Right, error) {
	return c.policy.Rights(ctx, user)
}

// Holders returns who holds which rights to a mailbox.
func (c *Core) Holders(ctx context.Context, mailbox string) (map[string][]policy.Right, error) {
	return c.policy.Holders(ctx, mailbox)
}

// MailboxHolders is one mailbox as helpdesk sees it: who holds which
// right to it, and the certificate it signs and decrypts with.
type MailboxHolders struct {
	Mailbox policy.Mailbox
	// Holders are the people with rights, in order, each with theirs.
	Holders []Holder
	// Certificate is the mailbox's, nil when it has none (NoIdentity)
	// or it cannot be read (CertErr says why).
	Certificate *x509.Certificate
	NoIdentity  bool
	CertErr     error
}

// Holder is a person's rights to a mailbox.
type Holder struct {
	User   string
	Rights []policy.Right
}

// AllHolders lists every mailbox with its holders and its certificate:
// the helpdesk's overview (the CLI's mailbox list and show, the settings
// pane's Rettigheder).
func (c *Core) AllHolders(ctx context.Context) ([]MailboxHolders, error) {
	mbs, err := c.policy.Mailboxes(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]MailboxHolders, 0, len(mbs))
	for _, m := range mbs {
		h, err := c.mailboxHolders(ctx, m)
		if err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	return out, nil
}

func (c *Core) mailboxHolders(ctx context.Context, m policy.Mailbox) (MailboxHolders, error) {
	holders, err := c.policy.Holders(ctx, m.Address)
	if err != nil {
		return MailboxHolders{}, err
	}
	out := MailboxHolders{Mailbox: m, NoIdentity: m.Identity == ""}
	for _, who := range slices.Sorted(maps.Keys(holders)) {
		out.Holders = append(out.Holders, Holder{User: who, Rights: holders[who]})
	}
	if !out.NoIdentity {
		out.Certificate, out.CertErr = c.MailboxCertificate(ctx, m.Address)
	}
	return out, nil
}

// MailboxOverview is AllHolders for one mailbox.
func (c *Core) MailboxOverview(ctx context.Context, address string) (MailboxHolders, error) {
	m, err := c.policy.Mailbox(ctx, address)
	if err != nil {
		return MailboxHolders{}, err
	}
	return c.mailboxHolders(ctx, *m)
}

// AuditLog returns the audit log's entries since a time, oldest first.
func (c *Core) AuditLog(ctx context.Context, since time.Time) ([]policy.Entry, error) {
	return c.local.Audit(ctx, since)
}

// VerifyAudit checks the audit log's hash chain.
func (c *Core) VerifyAudit(ctx context.Context) (*policy.AuditCheck, error) {
	return c.local.VerifyAudit(ctx)
}

// Retry sends a mail of the outbox again at once.
func (c *Core) Retry(ctx context.Context, id int64) error { return c.outbox.Retry(ctx, id) }

// Remove takes a mail out of the outbox.
func (c *Core) Remove(ctx context.Context, id int64) error { return c.outbox.Remove(ctx, id) }

// Process sends what is due in the outbox now, and returns how many
// mails it finished (the CLI's worker, while it waits).
func (c *Core) Process(ctx context.Context) (int, error) { return c.outbox.Process(ctx) }

// Permits reports whether user holds right r to mailbox: the question a
// mail server that enforces Send on Behalf asks (the demo's do).
func (c *Core) Permits(ctx context.Context, user, mailbox string, r policy.Right) bool {
	return c.may(ctx, user, mailbox, r) == nil
}

// Refused writes to the audit log that a caller was turned away at the
// gateway: what they asked (the request) and why (the refusal's code).
// who is as much as is known of them: a token that proves no one
// names no one.
func (c *Core) Refused(ctx context.Context, who policy.Actor, what, why string) error {
	if who.User == "" {
		who.User = "(ukendt)"
	}
	return c.local.Log(ctx, policy.Entry{Actor: who, Action: "refused", Subject: what + ": " + why})
}
