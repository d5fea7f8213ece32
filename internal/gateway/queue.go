package gateway

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"sikkermail/internal/core"
	"sikkermail/internal/message"
	"sikkermail/internal/outbox"
	"sikkermail/internal/recipient"
)

// The local queue holds the mails the gateway has not taken yet, each
// sealed to the gateway; once taken, the gateway's outbox has it. Mails
// still on the PC are told by negative numbers, so that they are never
// taken for one of the gateway's.

const stepGateway = "gateway"

func (c *Client) openQueue(path string) error {
	db, err := core.OpenDatabase(path)
	if err != nil {
		return err
	}
	q, err := outbox.Open(db, path+".lock", outbox.Step{Name: stepGateway, Run: c.submitQueued})
	if err == nil {
		// The gateway's number for each mail it took from here (a step's
		// output goes when the mail is done).
		_, err = db.Exec(`CREATE TABLE IF NOT EXISTS gateway_taken (local INTEGER PRIMARY KEY, remote INTEGER NOT NULL)`)
	}
	if err != nil {
		db.Close()
		return &core.FileError{File: path, Err: err}
	}
	c.queue, c.local = q, db
	return nil
}

// submitQueued hands a kept mail to the gateway, sealed as it is kept;
// the gateway's number for it is the step's output.
func (c *Client) submitQueued(ctx context.Context, m *outbox.Mail) ([]byte, error) {
	var s Submitted
	if err := c.do(ctx, "POST", "/v1/mails", bytes.NewReader(m.Content), "application/pkcs7-mime", &s); err != nil {
		return nil, err
	}
	// Lost before it is written, the step runs again, and the gateway
	// answers the same mail (its Message-ID) again.
	if _, err := c.local.ExecContext(ctx, `INSERT OR REPLACE INTO gateway_taken (local, remote) VALUES (?, ?)`, m.ID, s.ID); err != nil {
		return nil, &outbox.WriteError{File: "gateway_taken", Err: err}
	}
	return nil, nil
}

// taken is the gateway's number for the mail it took from here as
// local, 0 when it has not taken it.
func (c *Client) taken(ctx context.Context, local int64) int64 {
	var remote int64
	c.local.QueryRowContext(ctx, `SELECT remote FROM gateway_taken WHERE local = ?`, local).Scan(&remote)
	return remote
}

// SendTo keeps the mail sealed to the gateway, then hands it over at
// once. A refusal comes back as the gateway gave it, and nothing stays
// queued; a gateway that cannot be reached leaves the mail kept, and it
// goes when it can (Run).
func (c *Client) SendTo(ctx context.Context, d message.Draft, mailbox string, rs core.Recipients) (*core.Queued, error) {
	mailbox = strings.ToLower(strings.TrimSpace(mailbox))
	if recipient.ContainsCPR(d.Subject) {
		// The subject is kept in the list in the clear: the rule that
		// holds at the gateway holds here before it.
		return nil, &core.SendError{Reason: core.CPRInSubject, Mailbox: mailbox}
	}
	c.who(ctx) // what the gateway says of the user, when it can be reached
	cert, err := c.sealingCertificate(ctx)
	var away *UnreachableError
	if errors.As(err, &away) {
		// Never reached: nothing to seal the mail to, so it is not kept.
		return nil, &Error{Reason: NotKept, Detail: c.base}
	}
	if err != nil {
		return nil, err
	}
	id := message.NewMessageID(mailbox[strings.LastIndexByte(mailbox, '@')+1:])
	entity, err := multipartEntity("mail", SubmitMail{MessageID: id, Mailbox: mailbox, To: rs.To, Cc: rs.Cc, Subject: d.Subject, Body: d.Body, Attention: rs.Attention}, d.Attachments)
	if err != nil {
		return nil, err
	}
	sealed, err := sealTo(cert, entity)
	if err != nil {
		return nil, err
	}
	n, err := c.queue.Add(ctx, &outbox.Mail{MessageID: id, User: c.User(), Mailbox: mailbox,
		Recipients: c.masked(rs.To), Cc: c.masked(rs.Cc), Subject: d.Subject, Content: sealed})
	if err != nil {
		return nil, err
	}
	if _, err := c.queue.Process(ctx); err != nil && !errors.Is(err, outbox.ErrBusy) {
		return &core.Queued{ID: -n, MessageID: id}, nil // kept; the worker tries again
	}
	m, err := c.queue.Get(ctx, n)
	if err != nil {
		return nil, err
	}
	switch m.State {
	case outbox.Done:
		return &core.Queued{ID: c.taken(ctx, n), MessageID: id}, nil
	case outbox.Failed:
		c.queue.Remove(ctx, n)
		return nil, m.Err
	}
	return &core.Queued{ID: -n, MessageID: id}, nil
}

// masked is the recipients as the local list keeps them: CPR numbers
// masked.
func (c *Client) masked(in []string) []string {
	out := slices.Clone(in)
	for i, s := range out {
		if r, err := c.parser.Parse(s); err == nil && r.Kind == recipient.CPR {
			out[i] = core.MaskCPR(r)
		}
	}
	return out
}

// kept is the local queue's mails the gateway has not taken.
func (c *Client) kept(ctx context.Context) ([]outbox.Mail, error) {
	all, err := c.queue.List(ctx)
	var out []outbox.Mail
	for _, m := range all {
		if m.State != outbox.Done {
			m.ID = -m.ID
			out = append(out, m)
		}
	}
	return out, err
}

// OutboxList is the mails kept on this PC, then the gateway's.
func (c *Client) OutboxList(ctx context.Context) ([]outbox.Mail, error) {
	out, err := c.kept(ctx)
	if err != nil {
		return nil, err
	}
	var views []MailView
	if err := c.do(ctx, "GET", "/v1/outbox", nil, "", &views); err != nil {
		return out, err
	}
	for _, v := range views {
		out = append(out, c.mailOf(v))
	}
	return out, nil
}

// mailOf is a gateway's mail as the outbox tells it; its progress is
// kept for Progress.
func (c *Client) mailOf(v MailView) outbox.Mail {
	m := outbox.Mail{ID: v.ID, MessageID: v.MessageID, Created: v.Created, User: v.User, Mailbox: v.Mailbox, Recipients: v.Recipients,
		Cc: v.Cc, Subject: v.Subject, State: outbox.State(v.State), Attempts: v.Attempts, NextTry: v.NextTry}
	if v.Error != nil {
		e := (&RemoteError{Status: http.StatusOK, View: *v.Error}).Localize()
		m.Err = &outbox.StoredError{Message: e, Text: v.Error.Message}
	}
	if v.Finished != nil {
		m.Finished = *v.Finished
	}
	c.progress.Store(v.ID, [2]int{v.StepsDone, v.StepsTotal})
	return m
}

// ReceiptOf returns a mail with its receipt when it has one; a mail kept
// here that the gateway has since taken is the gateway's.
func (c *Client) ReceiptOf(ctx context.Context, id int64) (*outbox.Mail, *core.Receipt, error) {
	if id < 0 {
		m, err := c.queue.Get(ctx, -id)
		if err != nil {
			return nil, nil, err
		}
		if m.State != outbox.Done {
			m.ID = id
			return m, nil, nil
		}
		id = c.taken(ctx, -id)
	}
	var v MailView
	if err := c.do(ctx, "GET", fmt.Sprintf("/v1/outbox/%d", id), nil, "", &v); err != nil {
		return nil, nil, err
	}
	m := c.mailOf(v)
	return &m, v.Receipt, nil
}

// Await waits for the mail's receipt, its failure, a sign-in it waits
// for, or ctx's end, as the core's does; the gateway is asked, it does
// not tell.
func (c *Client) Await(ctx context.Context, id int64, report func(done, total int)) (*outbox.Mail, *core.Receipt, error) {
	return core.Watch(ctx, c, id, 500*time.Millisecond, c.queue.Stalled, report)
}

// Progress is how many of the mail's steps are done, as the gateway
// last said; a mail kept here has done none.
func (c *Client) Progress(m *outbox.Mail) (done, total int) {
	if p, ok := c.progress.Load(m.ID); ok && m.ID > 0 {
		v := p.([2]int)
		return v[0], v[1]
	}
	return 0, 1
}

// Retry sends a mail again now: kept here, or at the gateway.
func (c *Client) Retry(ctx context.Context, id int64) error {
	if id < 0 {
		return c.queue.Retry(ctx, -id)
	}
	return c.do(ctx, "POST", fmt.Sprintf("/v1/outbox/%d/retry", id), nil, "", nil)
}

// Remove takes a mail out: kept here, or at the gateway.
func (c *Client) Remove(ctx context.Context, id int64) error {
	if id < 0 {
		return c.queue.Remove(ctx, -id)
	}
	return c.do(ctx, "DELETE", fmt.Sprintf("/v1/outbox/%d", id), nil, "", nil)
}
