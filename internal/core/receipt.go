package core

// The receipt: the audit entry a send ends with, the receipt mail in the
// user's INBOX, and watching a mail until it has its receipt.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"sikkermail/internal/digitalpost"
	"sikkermail/internal/directory"
	"sikkermail/internal/i18n"
	"sikkermail/internal/message"
	"sikkermail/internal/outbox"
	"sikkermail/internal/policy"
)

// audit records the receipt in the append-only audit log the moment the
// server has the mail.
func (c *Core) audit(ctx context.Context, m *outbox.Mail) ([]byte, error) {
	// Once: a crash after the entry was committed runs this step again.
	if prev, err := c.auditReceipt(ctx, m.MessageID); err != nil || prev != nil {
		if err != nil {
			return nil, err
		}
		return json.Marshal(prev)
	}
	b, err := c.builtOf(ctx, m)
	if err != nil {
		return nil, err
	}
	r := Receipt{MessageID: m.MessageID, Mailbox: m.Mailbox, User: m.User, Time: c.now().UTC(), CopyInClear: !b.encrypted()}
	all := append(slices.Clone(b.ExternalTo), b.InternalTo...)
	if len(all) > 0 {
		r.Server = c.cfg.SMTP.Server
	}
	for i, to := range all {
		ch := string(directory.SMIME)
		if i >= len(b.ExternalTo) {
			ch = string(directory.Internal)
		}
		r.Recipients = append(r.Recipients, ReceiptRecipient{Address: to, Channel: ch})
	}
	rows, err := c.letterRows(ctx, m, b)
	if err != nil {
		return nil, err
	}
	for i, l := range b.Letters {
		rr := ReceiptRecipient{Address: l.Recipient, Channel: string(directory.DigitalPost), Name: l.Name, Reference: l.UUID, Status: rows[i].Status}
		r.Recipients = append(r.Recipients, rr)
		all = append(all, l.Recipient)
	}
	out, err := json.Marshal(r)
	if err != nil {
		return nil, err
	}
	err = c.local.Log(ctx, policy.Entry{Time: r.Time, Actor: c.actorOf(m), Action: "send", Mailbox: m.Mailbox,
		Subject: strings.Join(all, ", "), MessageID: m.MessageID, Receipt: string(out)})
	return out, err
}

// receiptStep delivers the receipt as a plain internal mail to the
// user's INBOX: who, from which mailbox, to whom, when, by which channel,
// the Message-ID — never the content.
func (c *Core) receiptStep(ctx context.Context, m *outbox.Mail) ([]byte, error) {
	var r Receipt
	if err := json.Unmarshal(m.Steps[stepAudit], &r); err != nil {
		return nil, err
	}
	srv, err := c.imapServer()
	if err != nil {
		return nil, err
	}
	acc, err := c.account(ctx, c.actorOf(m).User, "")
	if err != nil {
		return nil, err
	}
	msg, id, err := c.receiptMail(ctx, r)
	if err != nil {
		return nil, err
	}
	return nil, c.tokenRefused(c.cfg.IMAP.MailServer, srv.Addr, acc.Username, srv.AppendInbox(ctx, acc, id, bytes.NewReader(msg)))
}

// Receipt (kvittering) is the proof that a mail was handed to the
// server: recorded in the audit log and delivered to the user's INBOX.
type Receipt struct {
	MessageID string    `json:"message_id"`
	Mailbox   string    `json:"mailbox"`
	User      string    `json:"user"`
	Time      time.Time `json:"time"`
	// Server is the mail server that took the mail ("" when it went by
	// Digital Post only).
	Server     string             `json:"server"`
	Recipients []ReceiptRecipient `json:"recipients"`
	// CopyInClear: the Sent copies are signed but not encrypted (a mail
	// to the institution's own addresses only).
	CopyInClear bool `json:"copy_in_clear,omitempty"`
}

// ReceiptRecipient is one recipient and the channel that carried it.
type ReceiptRecipient struct {
	// Address is the e-mail address, CVR number, or CPR number masked
	// (DDMMYY-xxxx).
	Address string `json:"address"`
	Channel string `json:"channel"`
	// For Digital Post: the registered name, the letter's messageUUID
	// and the service's receipt status (RECEIVED, COMPLETED).
	Name      string `json:"name,omitempty"`
	Reference string `json:"reference,omitempty"`
	Status    string `json:"status,omitempty"`
}

// Text is the receipt as a user reads it.
func (r Receipt) Text(l i18n.Lang) string {
	var lines []string
	for _, rc := range r.Recipients {
		line := fmt.Sprintf("  %s (%s)", rc.Address, l.M(directory.Channel(rc.Channel).Localize()))
		if rc.Reference != "" {
			line = fmt.Sprintf("  %s (%s, %s)", rc.Address, l.M(directory.Channel(rc.Channel).Localize()),
				l.T("receipt.letter", map[string]any{"Name": rc.Name, "Reference": rc.Reference, "Status": letterStatus(l, rc.Status)}))
		}
		lines = append(lines, line)
	}
	return l.T("receipt.body", map[string]any{"Mailbox": r.Mailbox, "User": r.User, "Time": r.Time.Local().Format("2006-01-02 15:04:05"),
		"MessageID": r.MessageID, "Recipients": strings.Join(lines, "\n"), "Server": r.Server, "CopyInClear": r.CopyInClear})
}

// letterStatus names Digital Post's receipt status for a user.
func letterStatus(l i18n.Lang, status string) string {
	switch status {
	case digitalpost.StatusReceived:
		return l.T("digitalpost.status.received", nil)
	case digitalpost.StatusCompleted:
		return l.T("digitalpost.status.completed", nil)
	}
	return status
}

func (c *Core) receiptMail(ctx context.Context, r Receipt) ([]byte, string, error) {
	l := c.Lang()
	entity, err := message.Entity(message.Draft{Body: r.Text(l)})
	if err != nil {
		return nil, "", err
	}
	name := r.Mailbox
	if mb, err := c.policy.Mailbox(ctx, r.Mailbox); err == nil {
		name = mb.Name
	}
	id := "<receipt." + strings.Trim(r.MessageID, "<>") + ">"
	msg, err := message.Compose(message.Header{From: message.Address{Name: name, Address: r.Mailbox},
		To: []message.Address{{Name: c.cfg.User.Name, Address: r.User}}, Subject: l.T("receipt.subject", map[string]any{"Mailbox": name}),
		Date: r.Time, MessageID: id}, entity)
	return msg, id, err
}

// OutboxList lists the mails in the outbox, oldest first.
func (c *Core) OutboxList(ctx context.Context) ([]outbox.Mail, error) { return c.outbox.List(ctx) }

// ReceiptOf returns the receipt of a mail once the server has it, nil
// before.
func (c *Core) ReceiptOf(ctx context.Context, id int64) (*outbox.Mail, *Receipt, error) {
	m, err := c.outbox.Get(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	var r *Receipt
	if out, ok := m.Steps[stepAudit]; ok && out != nil {
		r = new(Receipt)
		if err := json.Unmarshal(out, r); err != nil {
			return nil, nil, err
		}
	}
	if r == nil && m.Did(stepAudit) {
		// Done: outputs are erased; the audit log keeps the receipt.
		r, err = c.auditReceipt(ctx, m.MessageID)
	}
	return m, r, err
}

func (c *Core) auditReceipt(ctx context.Context, messageID string) (*Receipt, error) {
	entries, err := c.local.Sends(ctx, messageID)
	if err != nil || len(entries) == 0 {
		return nil, err
	}
	var r Receipt
	return &r, json.Unmarshal([]byte(entries[0].Receipt), &r)
}

// Progress tells how many of a mail's steps are done, of how many.
func (c *Core) Progress(m *outbox.Mail) (done, total int) {
	total = c.outbox.StepCount()
	if m.State == outbox.Done {
		return total, total
	}
	return min(len(m.Steps), total), total
}

// Await waits until mail id has its receipt (the server has it), has
// failed or waits for the user to sign in, or ctx ends, and returns it. The worker (Run, or another
// process's) does the sending; Await only watches, telling progress
// (when not nil) how many of the mail's steps are done.
func (c *Core) Await(ctx context.Context, id int64, progress func(done, total int)) (*outbox.Mail, *Receipt, error) {
	return Watch(ctx, c, id, 100*time.Millisecond, c.outbox.Stalled, progress)
}

// Watched is what Watch asks: a core here, or a gateway's client.
type Watched interface {
	ReceiptOf(ctx context.Context, id int64) (*outbox.Mail, *Receipt, error)
	Progress(m *outbox.Mail) (done, total int)
}

// Watch is Await for w: it asks w every so often until mail id has its
// receipt, has failed, waits for the user to sign in, or stalled (when
// not nil) says why it waits, or ctx ends.
func Watch(ctx context.Context, w Watched, id int64, every time.Duration, stalled func() error, progress func(done, total int)) (*outbox.Mail, *Receipt, error) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		m, r, err := w.ReceiptOf(ctx, id)
		if err == nil && progress != nil {
			progress(w.Progress(m))
		}
		if err != nil || r != nil || m.State != outbox.Queued {
			return m, r, err
		}
		if m.Err != nil && m.Err.Message.Key == "msauth.sign_in_needed" {
			return m, nil, nil // it waits for the user to sign in: say so now
		}
		if stalled != nil {
			if err := stalled(); err != nil {
				return m, nil, err // the mail waits; the user is told why
			}
		}
		select {
		case <-ctx.Done():
			return m, nil, ctx.Err()
		case <-tick.C:
		}
	}
}

// OnStep has f told each step a mail has finished (its name) as the
// worker records it: for what watches the outbox from beside (tests, a
// progress display). Set it before Run.
func (c *Core) OnStep(f func(step string, mailID int64)) {
	c.outbox.Hook = func(point string, m *outbox.Mail) {
		if step, ok := strings.CutPrefix(point, "after:"); ok {
			f(step, m.ID)
		}
	}
}
