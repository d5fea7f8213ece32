package core

// The outbox steps of a send: build, submit, Digital Post (see
// digitalpost.go), audit, the Sent copies and the receipt, each recorded
// before the next.

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"io"
	"os"
	"slices"
	"strings"

	"sikkermail/internal/digitalpost"
	"sikkermail/internal/directory"
	"sikkermail/internal/i18n"
	"sikkermail/internal/keystore"
	"sikkermail/internal/mailstore"
	"sikkermail/internal/message"
	"sikkermail/internal/outbox"
	"sikkermail/internal/policy"
	"sikkermail/internal/recipient"
	"sikkermail/internal/smime"
)

// The steps of a send, in order. Each is recorded before the next runs.
const (
	stepBuild          = "build"
	stepSubmit         = "submit"
	stepSubmitInternal = "submit-internal"
	stepDigitalPost    = "digitalpost"
	stepDigitalPostEnd = "digitalpost-final"
	stepAudit          = "audit"
	stepCopyMailbox    = "copy-mailbox"
	stepCopyUser       = "copy-user"
	stepReceipt        = "receipt"
)

// Run is the outbox's worker: it sends what is queued until ctx ends.
func (c *Core) Run(ctx context.Context) error { return c.outbox.Run(ctx) }

// built is the outcome of the build step: the message as it goes out to
// external recipients (signed and encrypted) and to internal ones
// (signed), with who gets which.
type built struct {
	// External and Internal are the messages of mails built before the
	// files; now they are the mail's fileExternal and fileInternal, and
	// Encrypted says the first is there.
	External, Internal     []byte
	Files, Encrypted       bool
	ExternalTo, InternalTo []string
	// Letters go through Digital Post, one per CPR or CVR recipient.
	Letters []letter
}

// letter is one Digital Post message, built once: its UUID stays the
// same however often delivery is tried.
type letter struct {
	// Recipient names it for the user (a CPR number masked), Name as
	// Digital Post registered it.
	Recipient, Name string
	Kind            digitalpost.Kind
	UUID            string
	MeMo            []byte
}

// encrypted reports whether the mail has its encrypted form.
func (b *built) encrypted() bool { return b.External != nil || b.Encrypted }

// builtMessage opens one of the mail's messages: external (signed and
// encrypted) or internal (signed). The caller closes it.
func (c *Core) builtMessage(ctx context.Context, m *outbox.Mail, b *built, external bool) (interface {
	io.Reader
	Size() int64
	Close() error
}, error) {
	if !b.Files {
		msg := b.Internal
		if external {
			msg = b.External
		}
		return struct {
			*bytes.Reader
			io.Closer
		}{bytes.NewReader(msg), io.NopCloser(nil)}, nil
	}
	id, err := c.identity(ctx, m.Mailbox)
	if err != nil {
		return nil, err
	}
	name := fileInternal
	if external {
		name = fileExternal
	}
	return c.openMailFile(ctx, m, name, c.keys(id))
}

func (c *Core) steps() []outbox.Step {
	return []outbox.Step{
		{Name: stepBuild, Run: c.build},
		{Name: stepSubmit, Run: func(ctx context.Context, m *outbox.Mail) ([]byte, error) {
			return nil, c.partly(ctx, m, nil, c.submitStep(ctx, m, true))
		}},
		{Name: stepSubmitInternal, Run: func(ctx context.Context, m *outbox.Mail) ([]byte, error) {
			return nil, c.partly(ctx, m, nil, c.submitStep(ctx, m, false))
		}},
		{Name: stepDigitalPost, Run: c.digitalPostStep},
		{Name: stepDigitalPostEnd, Run: c.digitalPostFinalStep},
		{Name: stepAudit, Run: c.audit},
		{Name: stepCopyMailbox, Run: func(ctx context.Context, m *outbox.Mail) ([]byte, error) {
			if c.cfg.IMAP.SentCopies == "server" {
				return nil, nil // Exchange files it
			}
			mb, err := c.policy.Mailbox(ctx, m.Mailbox)
			if err != nil {
				return nil, err
			}
			return nil, c.appendSent(ctx, m, m.Mailbox, mb.SentFolder)
		}},
		{Name: stepCopyUser, Run: func(ctx context.Context, m *outbox.Mail) ([]byte, error) {
			if c.cfg.IMAP.SentCopies == "server" {
				return nil, nil // Exchange files it on submission
			}
			return nil, c.appendSent(ctx, m, "", c.cfg.IMAP.SentFolder)
		}},
		{Name: stepReceipt, Run: c.receiptStep},
	}
}

// build checks rights and recipients again (a verdict older than the
// cache allows is looked up again), then builds the MIME message, signs
// it with the mailbox's key and encrypts it for every S/MIME recipient
// and the mailbox itself. It streams: the entity and the messages are
// written to the mail's files, sealed, and never whole in memory.
func (c *Core) build(ctx context.Context, m *outbox.Mail) ([]byte, error) {
	if err := c.may(ctx, c.actorOf(m).User, m.Mailbox, policy.Send); err != nil {
		return nil, err
	}
	id, err := c.identity(ctx, m.Mailbox)
	if err != nil {
		return nil, err
	}
	sd, closeDraft, err := c.unsealDraft(ctx, id, m)
	if err != nil {
		return nil, err
	}
	defer closeDraft()
	d := sd.Draft
	vs, err := c.green(ctx, append(slices.Clone(sd.To), sd.Cc...))
	if err != nil {
		return nil, err
	}
	if err := checkLetters(vs, d, sd.Attention); err != nil {
		return nil, err
	}
	mb, err := c.policy.Mailbox(ctx, m.Mailbox)
	if err != nil {
		return nil, err
	}
	h := message.Header{From: message.Address{Name: mb.Name, Address: mb.Address}, Sender: message.Address{Name: c.cfg.User.Name, Address: m.User},
		Subject: d.Subject, Date: m.Created, MessageID: m.MessageID}
	b := &built{Files: true}
	rcpts := []smime.Recipient{{Cert: id.Cert}}
	cipher := smime.AES256GCM
	for i, v := range vs {
		if v.Channel == directory.DigitalPost {
			if err := loadAttachments(&d); err != nil {
				return nil, err
			}
			l, err := c.letter(m, mb, d, v, sd.Attention[v.Recipient.Number])
			if err != nil {
				return nil, err
			}
			b.Letters = append(b.Letters, l)
			continue
		}
		a := message.Address{Name: v.Recipient.Name, Address: v.Recipient.Address}
		if i < len(sd.To) {
			h.To = append(h.To, a)
		} else {
			h.Cc = append(h.Cc, a)
		}
		if v.Channel == directory.Internal {
			b.InternalTo = append(b.InternalTo, v.Recipient.Address)
			continue
		}
		b.ExternalTo = append(b.ExternalTo, v.Recipient.Address)
		for _, cert := range v.Certs {
			rcpts = append(rcpts, smime.Recipient{Cert: cert})
		}
		if v.Cipher == smime.AES256CBC {
			// Chosen by the check for this recipient: the whole mail
			// goes the way every recipient reads.
			cipher = smime.AES256CBC
		}
	}
	// The Sent copies are encrypted (to the mailbox at least) whenever
	// anyone outside gets the mail.
	b.Encrypted = b.ExternalTo != nil || b.Letters != nil
	// The entity once, sealed, for the messages to read (SignEncrypt
	// reads it twice).
	entity, err := c.spoolFile(m, fileEntity)
	if err != nil {
		return nil, err
	}
	defer os.Remove(entity)
	keys := c.keys(id)
	if err := writeSealed(entity, keys, func(w io.Writer) error { return message.WriteEntity(w, d) }); err != nil {
		return nil, err
	}
	source := func() (io.ReadCloser, error) { return openSealed(entity, keys) }
	if b.InternalTo != nil {
		err := c.writeMessage(ctx, m, id, fileInternal, h, func(w io.Writer) error {
			r, err := source()
			if err != nil {
				return err
			}
			defer r.Close()
			return smime.ClearSign(w, r, *id, smime.SignOptions{})
		})
		if err != nil {
			return nil, err
		}
	}
	if b.Encrypted {
		err := c.writeMessage(ctx, m, id, fileExternal, h, func(w io.Writer) error {
			return smime.SignEncrypt(w, source, *id, rcpts, cipher)
		})
		if err != nil {
			return nil, err
		}
	}
	c.remember(m, b)
	return seal(id, b)
}

// writeMessage writes one of the mail's messages to its file, sealed:
// the transport header h on the entity that entity writes.
func (c *Core) writeMessage(ctx context.Context, m *outbox.Mail, id *smime.Identity, name string, h message.Header, entity func(io.Writer) error) error {
	return c.writeMailFile(ctx, m, name, c.keys(id), func(w io.Writer) error {
		pr, pw := io.Pipe()
		done := make(chan struct{})
		go func() {
			pw.CloseWithError(entity(pw))
			close(done)
		}()
		err := message.ComposeTo(w, h, pr)
		pr.CloseWithError(errors.Join(err, io.ErrClosedPipe))
		<-done
		return err
	})
}

// builtOf opens the build step's output. The mail being worked on is
// kept open in memory, so its steps unseal it once.
func (c *Core) builtOf(ctx context.Context, m *outbox.Mail) (*built, error) {
	c.idMu.Lock()
	last := c.last
	c.idMu.Unlock()
	if last.b != nil && last.id == m.ID && last.messageID == m.MessageID {
		return last.b, nil
	}
	id, err := c.identity(ctx, m.Mailbox)
	if err != nil {
		return nil, err
	}
	var b built
	if err := unseal(id, m.Steps[stepBuild], &b); err != nil {
		return nil, err
	}
	c.remember(m, &b)
	return &b, nil
}

func (c *Core) remember(m *outbox.Mail, b *built) {
	c.idMu.Lock()
	c.last = lastBuilt{m.ID, m.MessageID, b}
	c.idMu.Unlock()
}

// lastBuilt is the unsealed build of the mail the worker is on.
type lastBuilt struct {
	id        int64
	messageID string
	b         *built
}

func (c *Core) submitStep(ctx context.Context, m *outbox.Mail, external bool) error {
	b, err := c.builtOf(ctx, m)
	if err != nil {
		return err
	}
	to := b.InternalTo
	if external {
		to = b.ExternalTo
	}
	if len(to) == 0 {
		return nil
	}
	if err := c.may(ctx, c.actorOf(m).User, m.Mailbox, policy.Send); err != nil {
		return err
	}
	srv, err := c.smtpServer(ctx, c.actorOf(m).User)
	if err != nil {
		return err
	}
	msg, err := c.builtMessage(ctx, m, b, external)
	if err != nil {
		return err
	}
	defer msg.Close()
	return c.tokenRefused(c.cfg.SMTP.MailServer, srv.Addr, srv.Username, c.smtpPool.Send(ctx, srv, m.Mailbox, to, msg))
}

// letter builds the Digital Post message for one CPR or CVR recipient.
func (c *Core) letter(m *outbox.Mail, mb *policy.Mailbox, d message.Draft, v directory.Verdict, att Attention) (letter, error) {
	cfg := c.cfg.Institution
	if len(cfg.CVR) != 8 {
		return letter{}, &SendError{Reason: NoInstitutionCVR}
	}
	l := letter{Recipient: v.Recipient.String(), Name: v.Name, Kind: digitalpost.CVR, UUID: digitalpost.NewUUID()}
	if v.Recipient.Kind == recipient.CPR {
		l.Kind, l.Recipient = digitalpost.CPR, MaskCPR(v.Recipient)
	}
	msg := digitalpost.Message{UUID: l.UUID, Created: m.Created, Label: d.Subject, SenderCVR: cfg.CVR, SenderName: cfg.Name,
		Mailbox: mb.Address, MailboxName: mb.Name, ContactPoint: mb.ContactPoint, Version: c.cfg.DigitalPost.MeMoVersion,
		Recipient: l.Kind, Number: v.Recipient.Number, Attention: att, Body: d.Body}
	for _, a := range d.Attachments {
		msg.Attachments = append(msg.Attachments, digitalpost.File{Name: a.Name, ContentType: a.ContentType, Data: a.Data})
	}
	var err error
	l.MeMo, err = digitalpost.Build(msg)
	return l, err
}

// partly is what a delivery step's failure means for the mail as a
// whole. When the mail already reached somebody (an earlier step, or
// letters of this one: also), the failure that stops it is a
// DeliveryError saying who has it, and the audit log records that they
// do, so that nobody is told "nobody got it" and sends it again to those
// who did. A temporary failure is left as it is: the mail goes on by
// itself, and Prøv igen, resuming at the failed step, sends only to
// those who have not got it.
func (c *Core) partly(ctx context.Context, m *outbox.Mail, also []string, err error) error {
	if err == nil || outbox.Temporary(err) {
		return err
	}
	b, berr := c.builtOf(ctx, m)
	if berr != nil {
		return err
	}
	var got []string
	if m.Did(stepSubmit) {
		got = append(got, b.ExternalTo...)
	}
	if m.Did(stepSubmitInternal) {
		got = append(got, b.InternalTo...)
	}
	got = append(got, also...)
	if len(got) == 0 {
		return &DeliveryError{Err: err}
	}
	// The log must hold who got it even though the send stopped; an entry
	// that cannot be written is said in the sentence instead of lost.
	logErr := c.local.Log(ctx, policy.Entry{Time: c.now().UTC(), Actor: c.actorOf(m), Action: "send-partial", Mailbox: m.Mailbox,
		Subject: strings.Join(got, ", "), MessageID: m.MessageID, Receipt: i18n.Danish.Error(err)})
	return &DeliveryError{Delivered: got, Err: err, Unlogged: logErr != nil}
}

// DeliveryError is a send that stopped for good: who already has the
// mail (they do not get it again), or that nobody has.
type DeliveryError struct {
	Delivered []string
	Err       error
	// Unlogged: the audit entry saying who got it could not be written.
	Unlogged bool
}

func (e *DeliveryError) Error() string {
	return "core: delivered to " + strings.Join(e.Delivered, ", ") + " only: " + e.Err.Error()
}
func (e *DeliveryError) Unwrap() error { return e.Err }

// Localize names the sentence for a user: the reason, then who has it.
func (e *DeliveryError) Localize() i18n.Message {
	var reason i18n.Message
	var l i18n.Localizer
	if errors.As(e.Err, &l) {
		reason = l.Localize()
	} else {
		reason = i18n.Message{Key: "error.unexpected", Args: map[string]any{"Err": e.Err.Error()}}
	}
	return i18n.Message{Key: "send.partial", Args: map[string]any{"Reason": reason, "Delivered": strings.Join(e.Delivered, ", "), "Unlogged": e.Unlogged}}
}

// appendSent stores the sent message in the Sent folder of mailbox ("":
// the user's own).
func (c *Core) appendSent(ctx context.Context, m *outbox.Mail, mailbox, fallback string) error {
	b, err := c.builtOf(ctx, m)
	if err != nil {
		return err
	}
	srv, err := c.imapServer()
	if err != nil {
		return err
	}
	acc, err := c.account(ctx, c.actorOf(m).User, mailbox)
	if err != nil {
		return err
	}
	if fallback == "" {
		fallback = "Sent"
	}
	// The copy is the encrypted form whenever there is one.
	msg, err := c.builtMessage(ctx, m, b, b.encrypted())
	if err != nil {
		return err
	}
	defer msg.Close()
	_, err = srv.AppendSent(ctx, acc, fallback, m.MessageID, msg)
	err = c.tokenRefused(c.cfg.IMAP.MailServer, srv.Addr, acc.Username, err)
	var re *mailstore.ReadError
	if errors.As(err, &re) {
		return re.Err // the file, named
	}
	return err
}

// identity loads a mailbox's certificate and key (once per run).
func (c *Core) identity(ctx context.Context, mailbox string) (*smime.Identity, error) {
	c.idMu.Lock()
	defer c.idMu.Unlock()
	if id, ok := c.ids[mailbox]; ok {
		return id, nil
	}
	mb, err := c.policy.Mailbox(ctx, mailbox)
	if err != nil {
		return nil, err
	}
	if mb.Identity == "" {
		return nil, &SendError{Reason: NoIdentity, Mailbox: mailbox}
	}
	id, err := keystore.Open(mb.Identity, mb.Password)
	if err != nil {
		return nil, err
	}
	if c.ids == nil {
		c.ids = map[string]*smime.Identity{}
	}
	c.ids[mailbox] = id
	return id, nil
}

// MailboxCertificate returns a mailbox's own certificate, from its
// identity, for showing its subject, issuer and expiry.
func (c *Core) MailboxCertificate(ctx context.Context, mailbox string) (*x509.Certificate, error) {
	id, err := c.identity(ctx, strings.ToLower(mailbox))
	if err != nil {
		return nil, err
	}
	return id.Cert, nil
}

func domainOf(addr string) string { return addr[strings.LastIndexByte(addr, '@')+1:] }

// actorOf is who acts for a mail in the outbox: the user who queued it,
// on this machine.
func (c *Core) actorOf(m *outbox.Mail) policy.Actor {
	a := c.Actor()
	if m.User != "" {
		a.User = m.User
	}
	return a
}
