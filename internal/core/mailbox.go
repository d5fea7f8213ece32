package core

import (
	"context"
	"errors"
	"fmt"
	"os/user"
	"slices"
	"strings"

	"sikkermail/internal/config"
	"sikkermail/internal/policy"
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

// As is the core as another person uses it: at the gateway, one proven
// caller, whose helpdesk role the gateway has checked (a.Helpdesk). It
// shares the database, the outbox and its worker with c; only the acting
// user is its own.
func (c *Core) As(a policy.Actor, name string) *Core {
	u := &Core{engine: c.engine, caller: true}
	a.User = strings.ToLower(a.User)
	u.actor.Store(&a)
	u.userName.Store(&name)
	return u
}

// OnHost makes the core a tool on a gateway's host: the CLI (or GUI)
// opened with the gateway's own settings, on the institution's database.
// Whoever can reach that database from there can change it directly, so
// the host's operator acts as the service with the helpdesk role: it is
// where IT sets up the secure mailboxes, whose keys are on the host. The
// audit log names the host and the system account.
func (c *Core) OnHost() {
	a := c.Actor()
	a.Helpdesk = true
	if u, err := user.Current(); err == nil {
		a.Machine += " (" + u.Username + ")"
	}
	c.actor.Store(&a)
}

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

// SwitchDemoUser makes the user the demo's person at address (one of
// config.DemoUsers, or the settings' own user again), so that every role
// can be tried with no settings file. What the outbox holds goes on as
// whoever queued it. Outside the demo the user is the settings file's,
// and this refuses.
func (c *Core) SwitchDemoUser(address string) error {
	if !c.cfg.Demo {
		return errors.New("core: only the demo switches its user")
	}
	people := append([]config.DemoUser{{Address: c.cfg.User.Address, Name: c.cfg.User.Name}}, config.DemoUsers...)
	i := slices.IndexFunc(people, func(u config.DemoUser) bool { return strings.EqualFold(u.Address, address) })
	if i < 0 {
		return fmt.Errorf("core: %s is none of the demo's users", address)
	}
	a := c.Actor()
	a.User = strings.ToLower(address)
	c.actor.Store(&a)
	c.userName.Store(&people[i].Name)
	return nil
}

// UserName is the user's name, as the settings (or the demo) give it.
func (c *Core) UserName() string { return *c.userName.Load() }
