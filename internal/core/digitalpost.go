package core

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"sikkermail/internal/digitalpost"
	"sikkermail/internal/directory"
	"sikkermail/internal/i18n"
	"sikkermail/internal/outbox"
	"sikkermail/internal/policy"
)

// How letters to Digital Post go, as the published API allows and no
// more: a letter is recorded as posted before its POST, so that an
// answer lost (or a crash) between leaves a letter whose fate is
// unknown, never one posted again blindly; the API documents no answer
// for a second POST of the same messageUUID. The service's receipts
// (receipts/) are fetched without deleting them, kept, then deleted
// there, and settle each letter by its messageUUID: RECEIVED (taken for
// delivery) to COMPLETED (delivered), INVALID or NOT_ALLOWED.
// The tables are in schema/: dp_letter (each letter and what is known
// of it) and dp_receipt (each receipt fetched, kept until deleted at the
// service).

// Defaults for how long Digital Post's answers are waited for.
const (
	// DefaultLostAnswerWait is how long a letter whose answer was lost
	// waits for its receipt before it is posted again.
	DefaultLostAnswerWait = 15 * time.Minute
	// DefaultReceiptWait is how long a letter taken for delivery
	// (RECEIVED) waits for its final receipt before the user's receipt
	// goes without it.
	DefaultReceiptWait = 15 * time.Minute
	// receiptPoll is how often receipts are asked for while waiting.
	receiptPoll = 30 * time.Second
)

// dpLetter is a letter's record.
type dpLetter struct {
	UUID, Recipient string
	// Posted is when it was last posted without a known answer (zero:
	// not since its last known state).
	Posted       time.Time
	Status       string
	Transmission string
	Code, Text   string
	Updated      time.Time
	// Reported: its refusal has stopped the mail once, so meeting it
	// again means the user pressed Prøv igen: it is posted again.
	Reported bool
}

func (c *Core) dpLetter(ctx context.Context, m *outbox.Mail, l letter) (dpLetter, error) {
	if err := c.exec(ctx, `INSERT INTO dp_letter (uuid, mail, recipient) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`, l.UUID, m.ID, l.Recipient); err != nil {
		return dpLetter{}, err
	}
	var out dpLetter
	var posted sql.NullInt64
	var updated int64
	err := c.store.QueryRowContext(ctx, c.store.Q(`SELECT uuid, recipient, posted, status, transmission, error_code, error_message, updated, reported FROM dp_letter WHERE uuid = ?`), l.UUID).
		Scan(&out.UUID, &out.Recipient, &posted, &out.Status, &out.Transmission, &out.Code, &out.Text, &updated, &out.Reported)
	if posted.Valid {
		out.Posted = time.UnixMilli(posted.Int64)
	}
	out.Updated = time.UnixMilli(updated)
	return out, err
}

// setPosted records that the letter is being posted (at) — what was
// known of an earlier posting (a refusal retried) no longer holds — or,
// zero, that no POST of it can have reached the service since.
func (c *Core) setPosted(ctx context.Context, uuid string, at time.Time) error {
	q, args := `UPDATE dp_letter SET posted = NULL WHERE uuid = ?`, []any{uuid}
	if !at.IsZero() {
		q = `UPDATE dp_letter SET posted = ?, status = '', error_code = '', error_message = '', reported = 0 WHERE uuid = ?`
		args = []any{at.UnixMilli(), uuid}
	}
	return c.exec(ctx, q, args...)
}

// settle records a receipt for its letter. A final status is not taken
// back by a later RECEIVED.
func (c *Core) settle(ctx context.Context, r digitalpost.Receipt) error {
	if r.ReceiptStatus == "" {
		return nil
	}
	return c.exec(ctx, `UPDATE dp_letter SET status = ?, transmission = ?, error_code = ?, error_message = ?, updated = ?, posted = NULL, reported = 0
		WHERE uuid = ? AND NOT (status NOT IN ('', ?) AND ?)`,
		r.ReceiptStatus, r.TransmissionID, r.ErrorCode, digitalpost.Redact(r.ErrorMessage, nil), c.now().UnixMilli(),
		r.MessageUUID, digitalpost.StatusReceived, r.ReceiptStatus == digitalpost.StatusReceived)
}

// exec runs a statement that writes the database; a write that fails is
// an *outbox.WriteError, so the mail waits at its step instead of failing.
func (c *Core) exec(ctx context.Context, q string, args ...any) error {
	if _, err := c.store.ExecContext(ctx, c.store.Q(q), args...); err != nil {
		return &outbox.WriteError{File: c.storeName(), Err: err}
	}
	return nil
}

// collectReceipts fetches the receipts waiting at Digital Post, keeps
// each, settles its letter, and only then deletes it at the service: a
// receipt fetched is never lost, and one kept but not yet deleted is
// deleted the next time.
func (c *Core) collectReceipts(ctx context.Context) error {
	ids, err := c.dp.ReceiptIDs(ctx)
	if err != nil {
		return err
	}
	for _, id := range ids {
		var n int
		if err := c.store.QueryRowContext(ctx, c.store.Q(`SELECT COUNT(*) FROM dp_receipt WHERE id = ?`), id).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			r, err := c.dp.FetchReceipt(ctx, id)
			if errors.Is(err, digitalpost.ErrReceiptGone) {
				continue // another worker kept it, and settled its letter
			}
			if err != nil {
				return err
			}
			if err := c.exec(ctx, `INSERT INTO dp_receipt (id, uuid, status, transmission, error_code, error_message, time, fetched)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`, id, r.MessageUUID, r.ReceiptStatus, r.TransmissionID, r.ErrorCode,
				digitalpost.Redact(r.ErrorMessage, nil), r.TimeStamp, c.now().UnixMilli()); err != nil {
				return err
			}
			if err := c.settle(ctx, r); err != nil {
				return err
			}
		}
		if err := c.dp.DeleteReceipt(ctx, id); err != nil {
			return err
		}
	}
	return nil
}

// report records that the letter's refusal stops the mail, and returns
// it as the error that does.
func (c *Core) report(ctx context.Context, l dpLetter) error {
	if err := c.markReported(ctx, l.UUID); err != nil {
		return err
	}
	return l.refusal()
}

// markReported records that the letter's refusal stops the mail: a
// Prøv igen then posts it again.
func (c *Core) markReported(ctx context.Context, uuid string) error {
	return c.exec(ctx, `UPDATE dp_letter SET reported = 1 WHERE uuid = ?`, uuid)
}

// refusal is a settled letter's refusal as an error, nil when it was
// taken.
func (l dpLetter) refusal() error {
	switch l.Status {
	case digitalpost.StatusInvalid, digitalpost.StatusNotAllowed, digitalpost.StatusBadRequest:
		return &digitalpost.RejectedError{Recipient: l.Recipient, Status: l.Status, Code: l.Code, Detail: l.Text}
	}
	return nil
}

func (l dpLetter) accepted() bool {
	return l.Status == digitalpost.StatusReceived || l.Status == digitalpost.StatusCompleted
}

// WaitingError is a letter whose fate Digital Post has not told yet: its
// answer was lost, or its final receipt has not come. The mail waits and
// asks again; nothing is posted twice meanwhile.
type WaitingError struct {
	Recipient string
	// Received: the letter was taken for delivery, and its final receipt
	// is awaited; else its answer was lost.
	Received bool
}

func (e *WaitingError) Error() string {
	return fmt.Sprintf("core: %s: waiting for Digital Post's receipt (received %v)", e.Recipient, e.Received)
}

// IsTemporary implements the outbox's temporary errors.
func (e *WaitingError) IsTemporary() bool { return true }

// RetryAfter is when to ask again: receipts are looked for often, not
// by the growing delays of a failure.
func (e *WaitingError) RetryAfter() time.Duration { return receiptPoll }

// Localize names the sentence for a user.
func (e *WaitingError) Localize() i18n.Message {
	key := "digitalpost.waiting_lost"
	if e.Received {
		key = "digitalpost.waiting_final"
	}
	return i18n.Message{Key: key, Args: map[string]any{"Input": e.Recipient}}
}

func (c *Core) lostAnswerWait() time.Duration {
	if d := c.cfg.DigitalPost.LostAnswerWait.Duration; d > 0 {
		return d
	}
	return DefaultLostAnswerWait
}

func (c *Core) receiptWait() time.Duration {
	if d := c.cfg.DigitalPost.ReceiptWait.Duration; d > 0 {
		return d
	}
	return DefaultReceiptWait
}

// digitalPostStep posts each letter not taken yet. A letter posted before
// without a known answer is first looked for among the receipts; it is
// posted again only when none has come within lostAnswerWait (the README
// says what that risks). Its output is each letter's transport receipt.
func (c *Core) digitalPostStep(ctx context.Context, m *outbox.Mail) ([]byte, error) {
	b, err := c.builtOf(ctx, m)
	if err != nil || len(b.Letters) == 0 {
		return nil, err
	}
	if c.dp == nil {
		return nil, &directory.DigitalPostUnavailableError{Recipient: b.Letters[0].Recipient}
	}
	if err := c.may(ctx, c.actorOf(m).User, m.Mailbox, policy.Send); err != nil {
		return nil, err
	}
	var sent []string
	stop := func(err error) ([]byte, error) { return nil, c.partly(ctx, m, sent, err) }
	var out []digitalpost.Receipt
	for _, l := range b.Letters {
		row, err := c.dpLetter(ctx, m, l)
		if err != nil {
			return nil, err
		}
		if !row.Posted.IsZero() && !row.accepted() && row.refusal() == nil {
			// Posted, and what became of it is not known.
			if err := c.collectReceipts(ctx); err != nil {
				return stop(err)
			}
			if row, err = c.dpLetter(ctx, m, l); err != nil {
				return nil, err
			}
			if !row.accepted() && row.refusal() == nil && c.now().Before(row.Posted.Add(c.lostAnswerWait())) {
				return stop(&WaitingError{Recipient: l.Recipient})
			}
		}
		if err := row.refusal(); err != nil && !row.Reported {
			return stop(c.report(ctx, row))
		}
		if !row.accepted() { // new, refused before and retried, or long unanswered
			if row, err = c.post(ctx, l); err != nil {
				return stop(err)
			}
		}
		sent = append(sent, l.Recipient)
		out = append(out, digitalpost.Receipt{MessageUUID: row.UUID, TransmissionID: row.Transmission, ReceiptStatus: row.Status})
	}
	return json.Marshal(out)
}

// post posts one letter, recorded as posted first.
func (c *Core) post(ctx context.Context, l letter) (dpLetter, error) {
	if err := c.setPosted(ctx, l.UUID, c.now()); err != nil {
		return dpLetter{}, err
	}
	r, err := c.dp.Send(ctx, l.UUID, l.MeMo, l.Recipient)
	var lost *digitalpost.LostAnswerError
	var rej *digitalpost.RejectedError
	switch {
	case err == nil || errors.As(err, &rej) && r.ReceiptStatus != "":
		// Taken, or refused with a receipt.
	case errors.As(err, &rej):
		// A 400: refused before it was taken.
		r = digitalpost.Receipt{MessageUUID: l.UUID, ReceiptStatus: digitalpost.StatusBadRequest, ErrorCode: rej.Code, ErrorMessage: rej.Detail}
	case errors.As(err, &lost):
		return dpLetter{}, err // posted, fate unknown: looked for next time
	default:
		// Not taken (503, no connection, the system not let in): nothing
		// can have reached the service.
		if serr := c.setPosted(ctx, l.UUID, time.Time{}); serr != nil {
			return dpLetter{}, serr
		}
		return dpLetter{}, err
	}
	if serr := c.settle(ctx, r); serr != nil {
		return dpLetter{}, serr
	}
	if err != nil {
		// Refused: this refusal stops the mail.
		if werr := c.markReported(ctx, l.UUID); werr != nil {
			return dpLetter{}, werr
		}
		return dpLetter{}, err
	}
	return dpLetter{UUID: l.UUID, Recipient: l.Recipient, Status: r.ReceiptStatus, Transmission: r.TransmissionID, Updated: c.now()}, nil
}

// digitalPostFinalStep waits for each letter's final receipt: COMPLETED
// goes on, INVALID or NOT_ALLOWED stops the mail with the reason (the
// others have theirs), and a letter still only RECEIVED after
// receiptWait goes on as it is, and the user's receipt says so.
func (c *Core) digitalPostFinalStep(ctx context.Context, m *outbox.Mail) ([]byte, error) {
	b, err := c.builtOf(ctx, m)
	if err != nil || len(b.Letters) == 0 {
		return nil, err
	}
	rows, err := c.letterRows(ctx, m, b)
	if err != nil {
		return nil, err
	}
	if pending(rows) {
		if err := c.collectReceipts(ctx); err != nil && !outbox.Temporary(err) {
			return nil, err
		}
		if rows, err = c.letterRows(ctx, m, b); err != nil {
			return nil, err
		}
	}
	var delivered []string
	for _, r := range rows {
		if r.Status == digitalpost.StatusCompleted {
			delivered = append(delivered, r.Recipient)
		}
	}
	for i, r := range rows {
		if r.refusal() != nil && r.Reported {
			// Refused after it was taken, and retried by the user: it
			// goes again, and its final receipt is waited for anew.
			if r, err = c.post(ctx, b.Letters[i]); err != nil {
				return nil, c.partly(ctx, m, delivered, err)
			}
		}
		if r.refusal() != nil {
			return nil, c.partly(ctx, m, delivered, c.report(ctx, r))
		}
		if r.Status == digitalpost.StatusReceived && c.now().Before(r.Updated.Add(c.receiptWait())) {
			return nil, &WaitingError{Recipient: r.Recipient, Received: true}
		}
	}
	return nil, nil
}

func (c *Core) letterRows(ctx context.Context, m *outbox.Mail, b *built) ([]dpLetter, error) {
	var rows []dpLetter
	for _, l := range b.Letters {
		r, err := c.dpLetter(ctx, m, l)
		if err != nil {
			return nil, err
		}
		rows = append(rows, r)
	}
	return rows, nil
}

// pending reports whether a letter still waits for its final receipt.
func pending(rows []dpLetter) bool {
	for _, r := range rows {
		if r.Status == digitalpost.StatusReceived {
			return true
		}
	}
	return false
}

// contactPointTTL is how long a contact point's limits are kept before
// they are asked again.
const contactPointTTL = time.Hour

type contactPoint struct {
	digitalpost.ContactPoint
	at time.Time
}

// letterLimits are the largest letter and the most attachments a letter
// from mailbox may have: its contact point's, as Digital Post registers
// it (cached), else the settings' largest letter and no count. A service
// that cannot be asked is no reason to stop: it refuses what is too
// large itself, and says so.
func (c *Core) letterLimits(ctx context.Context, mailbox string) (maxSize int64, maxFiles int) {
	maxSize = c.Limits().DigitalPost
	if c.dp == nil || mailbox == "" {
		return maxSize, 0
	}
	mb, err := c.policy.Mailbox(ctx, mailbox)
	if err != nil || mb.ContactPoint == "" {
		return maxSize, 0
	}
	c.cpMu.Lock()
	cp, ok := c.contactPoints[mb.ContactPoint]
	c.cpMu.Unlock()
	if !ok || c.now().Sub(cp.at) > contactPointTTL {
		org, err := c.dp.Organisation(ctx, c.cfg.Institution.CVR)
		if err != nil {
			return maxSize, 0
		}
		got, err := c.dp.ContactPoint(ctx, org.ID, mb.ContactPoint)
		if err != nil {
			return maxSize, 0
		}
		cp = contactPoint{got, c.now()}
		c.cpMu.Lock()
		if c.contactPoints == nil {
			c.contactPoints = map[string]contactPoint{}
		}
		c.contactPoints[mb.ContactPoint] = cp
		c.cpMu.Unlock()
	}
	if cp.MaxSize > 0 {
		maxSize = cp.MaxSize
	}
	return maxSize, cp.MaxAttachments
}
