package core

// Admission: what Send checks before a mail goes into the outbox — the
// sender's right, the recipients' verdicts, sizes, file types, the CPR
// rules — and the errors that say why one does not.

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"sikkermail/internal/digitalpost"
	"sikkermail/internal/directory"
	"sikkermail/internal/i18n"
	"sikkermail/internal/message"
	"sikkermail/internal/outbox"
	"sikkermail/internal/recipient"
	"sikkermail/internal/store"
)

// Queued is a mail Send has put in the outbox.
type Queued struct {
	ID        int64
	MessageID string
}

// Send puts a mail to the recipients to and cc in the durable outbox:
// SendTo with no attention data.
func (c *Core) Send(ctx context.Context, d message.Draft, mailbox string, to, cc []string) (*Queued, error) {
	return c.SendTo(ctx, d, mailbox, Recipients{To: to, Cc: cc})
}

// Attention routes a letter to a CVR recipient to someone inside the
// company: a person, a production unit (P-nummer, 10 digits), a unit.
type Attention = digitalpost.Attention

// Recipients are whom a mail goes to: To and Cc as the user typed them
// (addresses, CPR, CVR), and attention data for CVR recipients, by CVR
// number.
type Recipients struct {
	To, Cc    []string
	Attention map[string]Attention
}

// SendTo puts a mail in the durable outbox and returns: the worker (Run)
// builds, signs, encrypts, submits, delivers through Digital Post and
// copies it from there, even after the program has been closed and
// started again.
//
// It refuses, and queues nothing, when the user may not send from the
// mailbox, when any recipient is not green (never some recipients and
// not others), when an attachment cannot go by a recipient's channel, or
// when the mailbox's certificate cannot be read.
func (c *Core) SendTo(ctx context.Context, d message.Draft, mailbox string, rs Recipients) (*Queued, error) {
	return c.submit(ctx, d, mailbox, rs, "")
}

// Submit is SendTo with the Message-ID the caller chose (the gateway's
// clients choose theirs, <unique@domain>): a submit that arrives twice,
// its first answer lost, is queued once, and the second answer is the
// first's. A Message-ID another user's mail has is refused.
func (c *Core) Submit(ctx context.Context, d message.Draft, mailbox string, rs Recipients, messageID string) (*Queued, error) {
	if !message.ValidMessageID(messageID) {
		return nil, &SendError{Reason: BadMessageID, MessageID: messageID}
	}
	if q, err := c.queuedAs(ctx, messageID); q != nil || err != nil {
		return q, err
	}
	q, err := c.submit(ctx, d, mailbox, rs, messageID)
	if err != nil && store.IsUniqueViolation(err) {
		// The same submit, at the same moment, on another instance.
		return c.queuedAs(ctx, messageID)
	}
	return q, err
}

// queuedAs returns the user's mail with messageID, nil when the outbox
// holds none.
func (c *Core) queuedAs(ctx context.Context, messageID string) (*Queued, error) {
	id, ok, err := c.outbox.ByMessageID(ctx, messageID)
	if err != nil || !ok {
		return nil, err
	}
	m, err := c.outbox.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if m.User != c.User() {
		return nil, &SendError{Reason: BadMessageID, MessageID: messageID}
	}
	return &Queued{ID: id, MessageID: messageID}, nil
}

func (c *Core) submit(ctx context.Context, d message.Draft, mailbox string, rs Recipients, messageID string) (*Queued, error) {
	mailbox = strings.ToLower(strings.TrimSpace(mailbox))
	if err := c.MaySend(ctx, mailbox); err != nil {
		return nil, err
	}
	if err := c.needsSignIn(ctx); err != nil {
		return nil, err
	}
	rs.To, rs.Cc = c.merged(rs.To, rs.Cc)
	if len(rs.To)+len(rs.Cc) == 0 {
		return nil, &SendError{Reason: NoRecipients}
	}
	all := append(slices.Clone(rs.To), rs.Cc...)
	if max := c.Limits().Recipients; len(all) > max {
		return nil, &LimitError{Reason: TooManyRecipients, Count: len(all), Max: int64(max)}
	}
	vs, err := c.green(ctx, all)
	if err != nil {
		return nil, err
	}
	if err := checkLetters(vs, d, rs.Attention); err != nil {
		return nil, err
	}
	if err := c.checkSize(ctx, mailbox, vs, d); err != nil {
		return nil, err
	}
	id, err := c.identity(ctx, mailbox)
	if err != nil {
		return nil, err
	}
	// The outbox lists CPR numbers masked; the numbers themselves are
	// sealed with the draft.
	m := &outbox.Mail{User: c.User(), Mailbox: mailbox, Recipients: masked(rs.To, vs[:len(rs.To)]), Cc: masked(rs.Cc, vs[len(rs.To):]),
		Subject: d.Subject, MessageID: cmp.Or(messageID, message.NewMessageID(domainOf(mailbox)))}
	// The attachments go to the mail's files, sealed; the rest of the
	// draft, sealed too, to the database.
	sd := sealedDraft{Draft: d, To: rs.To, Cc: rs.Cc, Attention: rs.Attention}
	err = c.spoolAttachments(ctx, m, id, &sd)
	if err == nil {
		m.Content, err = seal(id, sd)
	}
	var n int64
	if err == nil {
		n, err = c.outbox.Add(ctx, m)
	}
	if err != nil {
		c.outbox.RemoveFiles(m.MessageID)
		return nil, err
	}
	return &Queued{ID: n, MessageID: m.MessageID}, nil
}

// Limits are how large a mail may be, by channel, and how many
// recipients it may have.
type Limits struct {
	// Email is the largest mail, signed and encrypted, the submission
	// server takes; DigitalPost the largest letter.
	Email, DigitalPost int64
	Recipients         int
}

// The limits when the settings name none.
const (
	DefaultMaxEmail       = 25 << 20
	DefaultMaxDigitalPost = 30 << 20
	DefaultMaxRecipients  = 500
)

// Limits returns the limits in force.
func (c *Core) Limits() Limits {
	l := Limits{Email: int64(c.cfg.SMTP.MaxMessageSize), DigitalPost: int64(c.cfg.DigitalPost.MaxMessageSize), Recipients: c.cfg.SMTP.MaxRecipients}
	if l.Email == 0 {
		l.Email = DefaultMaxEmail
	}
	if l.DigitalPost == 0 {
		l.DigitalPost = DefaultMaxDigitalPost
	}
	if l.Recipients == 0 {
		l.Recipients = DefaultMaxRecipients
	}
	return l
}

// EncryptedSize estimates a mail with attachments of n bytes on the wire:
// base64 for the attachments, and base64 again around the encryption.
func EncryptedSize(n int64) int64 { return n*4/3*4/3 + 16<<10 }

// DraftSize is what the draft's text and attachments weigh.
func DraftSize(d message.Draft) int64 {
	n := int64(len(d.Body))
	for _, a := range d.Attachments {
		n += a.Len()
	}
	return n
}

// checkSize refuses a mail too large for a channel one of its recipients
// needs: for Digital Post, by the sending mailbox's contact point's
// limits when it has one.
func (c *Core) checkSize(ctx context.Context, mailbox string, vs []directory.Verdict, d message.Draft) error {
	l, size := c.Limits(), DraftSize(d)
	dpMax, dpFiles := l.DigitalPost, 0
	for _, v := range vs {
		if v.Channel == directory.DigitalPost {
			dpMax, dpFiles = c.letterLimits(ctx, mailbox)
			break
		}
	}
	for _, v := range vs {
		switch {
		case v.Channel == directory.DigitalPost && dpFiles > 0 && len(d.Attachments) > dpFiles:
			return &LimitError{Reason: TooManyAttachmentsDigitalPost, Recipient: v.Recipient.String(), Count: len(d.Attachments), Max: int64(dpFiles)}
		case v.Channel == directory.DigitalPost && size*4/3 > dpMax:
			return &LimitError{Reason: TooLargeDigitalPost, Recipient: v.Recipient.String(), Size: size, Max: dpMax}
		case v.Channel != directory.DigitalPost && EncryptedSize(size) > l.Email:
			return &LimitError{Reason: TooLargeEmail, Recipient: v.Recipient.String(), Size: size, Max: l.Email}
		}
	}
	return nil
}

// ReadAttachment reads the file at path as an attachment. Its size is
// looked at first: a file larger than any channel can take (a film, a
// disk image) is refused with the numbers before a byte is read, so
// that it can never exhaust memory.
func (c *Core) ReadAttachment(path string) (message.Attachment, error) {
	return ReadFile(path, c.Limits())
}

// ReadFile reads the file at path as an attachment when it is not too
// large for any channel under the limits l: ReadAttachment, for a core
// here or a gateway's.
func ReadFile(path string, l Limits) (message.Attachment, error) {
	st, err := os.Stat(path)
	if err != nil {
		return message.Attachment{}, &FileError{File: path, Err: err}
	}
	largest := max((l.Email-16<<10)*9/16, l.DigitalPost*3/4)
	if st.Size() > largest {
		return message.Attachment{}, &LimitError{Reason: TooLargeFile, File: path, Size: st.Size(), Max: largest}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return message.Attachment{}, &FileError{File: path, Err: err}
	}
	return message.Attachment{Name: filepath.Base(path), Data: data}, nil
}

// LimitError is a mail larger, or with more recipients, than a channel
// takes.
type LimitError struct {
	// Reason is too_large_email, too_large_digitalpost,
	// too_many_recipients or too_large_file.
	Reason    LimitReason
	Recipient string
	// File is the attachment too large for any channel.
	File      string
	Size, Max int64
	Count     int
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("core: %s: %s %d > %d (%d recipients)", e.Reason, e.Recipient, e.Size, e.Max, e.Count)
}

// Localize names the sentence for a user.
func (e *LimitError) Localize() i18n.Message {
	return i18n.Message{Key: "limit." + string(e.Reason), Args: map[string]any{"Recipient": e.Recipient, "File": e.File, "Size": e.Size, "Max": e.Max, "Count": e.Count}}
}

// masked returns the recipients as typed with CPR numbers shown as
// DDMMYY-xxxx; vs are their verdicts, in the same order (parsed once, by
// the check).
func masked(in []string, vs []directory.Verdict) []string {
	out := slices.Clone(in)
	for i, v := range vs {
		if v.Recipient != nil && v.Recipient.Kind == recipient.CPR {
			out[i] = MaskCPR(v.Recipient)
		}
	}
	return out
}

// MaskCPR is a CPR number as lists and receipts show it: DDMMYY-xxxx.
func MaskCPR(r *recipient.Recipient) string { return r.Number[:6] + "-xxxx" }

// CheckDraft says at the check what Send would refuse in the draft for
// these recipients' channels, sent from mailbox ("" while none is
// chosen): an attachment of a type Digital Post does not deliver, a mail
// larger, or with more attachments, than a channel takes. vs are the
// check's verdicts, all green.
func (c *Core) CheckDraft(ctx context.Context, d message.Draft, mailbox string, vs []directory.Verdict) error {
	if err := CheckLetters(vs, d); err != nil {
		return err
	}
	return c.checkSize(ctx, mailbox, vs, d)
}

// CheckLetters is the part of CheckDraft that needs no mailbox: what
// Digital Post would refuse of the draft for the verdicts' recipients.
func CheckLetters(vs []directory.Verdict, d message.Draft) error { return checkLetters(vs, d, nil) }

// checkLetters refuses what Digital Post would: attachments of a type it
// does not deliver, and attention data that is not for a CVR recipient
// of this mail or whose P-nummer is not 10 digits.
func checkLetters(vs []directory.Verdict, d message.Draft, att map[string]Attention) error {
	letters := false
	cvr := map[string]bool{}
	for _, v := range vs {
		if v.Channel == directory.DigitalPost {
			letters = true
			cvr[v.Recipient.Number] = v.Recipient.Kind == recipient.CVR
		}
	}
	for number, a := range att {
		if !cvr[number] {
			return &SendError{Reason: AttentionNotCVR, Recipient: number}
		}
		if a.PNumber != "" && (len(a.PNumber) != 10 || strings.Trim(a.PNumber, "0123456789") != "") {
			return &SendError{Reason: AttentionPNumber, Recipient: number}
		}
	}
	if letters {
		for _, f := range d.Attachments {
			if err := digitalpost.CheckFile(f.Name); err != nil {
				return err
			}
		}
	}
	return nil
}

// SubjectWarning returns an error to show before sending when the subject
// holds what looks like a CPR number: the subject travels unencrypted.
func SubjectWarning(subject string) error {
	if recipient.ContainsCPR(subject) {
		return &SendError{Reason: CPRInSubject}
	}
	return nil
}

// SendWarning is what to ask the user before sending d to recipients
// checked as vs: a CPR number in the subject (never encrypted), or in
// the text of a mail that goes to internal addresses only (signed, not
// encrypted). Nil when there is nothing to ask.
func SendWarning(d message.Draft, vs []directory.Verdict) error {
	if err := SubjectWarning(d.Subject); err != nil {
		return err
	}
	internal := len(vs) > 0
	for _, v := range vs {
		internal = internal && v.Channel == directory.Internal
	}
	if internal && recipient.ContainsCPR(d.Body) {
		return &SendError{Reason: CPRInInternalBody}
	}
	return nil
}

// green checks every recipient and returns the verdicts when all are
// green, else the first red one's reason.
func (c *Core) green(ctx context.Context, recipients []string) ([]directory.Verdict, error) {
	vs := c.Check(ctx, recipients)
	for _, v := range vs {
		if !v.OK() {
			return nil, &RedError{Input: v.Input, Err: v.Err}
		}
	}
	return vs, nil
}

// merged drops recipients given twice (the same address in another
// case, the same CPR or CVR number written otherwise, or once in To and
// once in Cc: To wins), so that nobody gets the mail, or a paid letter,
// twice. What does not parse is kept, for the check to refuse.
func (c *Core) merged(to, cc []string) ([]string, []string) {
	seen := map[string]bool{}
	keep := func(in []string) []string {
		var out []string
		for _, s := range in {
			key := strings.TrimSpace(s)
			if r, err := c.parser.Parse(s); err == nil {
				key = strings.ToLower(r.String())
			}
			if !seen[key] {
				seen[key] = true
				out = append(out, s)
			}
		}
		return out
	}
	return keep(to), keep(cc)
}

// RedError is a send refused because a recipient cannot receive securely
// (red at Kontrollér adresser); its sentence is the recipient's reason.
type RedError struct {
	Input string
	Err   error
}

func (e *RedError) Error() string { return "core: red recipient " + e.Input + ": " + e.Err.Error() }
func (e *RedError) Unwrap() error { return e.Err }

// SendError is a send that cannot start.
type SendError struct {
	// Reason is no_recipients, cpr_in_subject, no_identity, no_smtp,
	// no_imap, no_institution_cvr, attention_not_cvr or attention_pnumber.
	Reason  SendReason
	Mailbox string
	// Recipient is the CVR number attention data was given for.
	Recipient string
	// MessageID is a submit's Message-ID that cannot be taken.
	MessageID string
}

func (e *SendError) Error() string { return "core: send: " + string(e.Reason) + " " + e.Mailbox }

// Localize names the sentence for a user.
func (e *SendError) Localize() i18n.Message {
	return i18n.Message{Key: "send." + string(e.Reason), Args: map[string]any{"Mailbox": e.Mailbox, "Recipient": e.Recipient, "MessageID": e.MessageID}}
}
