package core

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/gob"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"sikkermail/internal/config"
	"sikkermail/internal/digitalpost"
	"sikkermail/internal/directory"
	"sikkermail/internal/i18n"
	"sikkermail/internal/keystore"
	"sikkermail/internal/mailstore"
	"sikkermail/internal/message"
	"sikkermail/internal/msauth"
	"sikkermail/internal/outbox"
	"sikkermail/internal/policy"
	"sikkermail/internal/protolog"
	"sikkermail/internal/recipient"
	"sikkermail/internal/sealed"
	"sikkermail/internal/smime"
	"sikkermail/internal/submit"
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
	mailbox = strings.ToLower(strings.TrimSpace(mailbox))
	if err := c.MaySend(ctx, mailbox); err != nil {
		return nil, err
	}
	if err := c.needsSignIn(ctx); err != nil {
		return nil, err
	}
	rs.To, rs.Cc = c.merged(rs.To, rs.Cc)
	if len(rs.To)+len(rs.Cc) == 0 {
		return nil, &SendError{Reason: "no_recipients"}
	}
	all := append(slices.Clone(rs.To), rs.Cc...)
	if max := c.Limits().Recipients; len(all) > max {
		return nil, &LimitError{Reason: "too_many_recipients", Count: len(all), Max: int64(max)}
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
		Subject: d.Subject, MessageID: message.NewMessageID(domainOf(mailbox))}
	// The attachments go to the mail's files, sealed; the rest of the
	// draft, sealed too, to the database.
	sd := sealedDraft{Draft: d, To: rs.To, Cc: rs.Cc, Attention: rs.Attention}
	err = c.spoolAttachments(m, id, &sd)
	if err == nil {
		m.Content, err = seal(id, sd)
	}
	var n int64
	if err == nil {
		n, err = c.Outbox.Add(ctx, m)
	}
	if err != nil {
		c.Outbox.RemoveFiles(m.MessageID)
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
			return &LimitError{Reason: "too_many_attachments_digitalpost", Recipient: v.Recipient.String(), Count: len(d.Attachments), Max: int64(dpFiles)}
		case v.Channel == directory.DigitalPost && size*4/3 > dpMax:
			return &LimitError{Reason: "too_large_digitalpost", Recipient: v.Recipient.String(), Size: size, Max: dpMax}
		case v.Channel != directory.DigitalPost && EncryptedSize(size) > l.Email:
			return &LimitError{Reason: "too_large_email", Recipient: v.Recipient.String(), Size: size, Max: l.Email}
		}
	}
	return nil
}

// ReadAttachment reads the file at path as an attachment. Its size is
// looked at first: a file larger than any channel can take (a film, a
// disk image) is refused with the numbers before a byte is read, so
// that it can never exhaust memory.
func (c *Core) ReadAttachment(path string) (message.Attachment, error) {
	st, err := os.Stat(path)
	if err != nil {
		return message.Attachment{}, &FileError{File: path, Err: err}
	}
	l := c.Limits()
	largest := max((l.Email-16<<10)*9/16, l.DigitalPost*3/4)
	if st.Size() > largest {
		return message.Attachment{}, &LimitError{Reason: "too_large_file", File: path, Size: st.Size(), Max: largest}
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
	Reason    string
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
	return i18n.Message{Key: "limit." + e.Reason, Args: map[string]any{"Recipient": e.Recipient, "File": e.File, "Size": e.Size, "Max": e.Max, "Count": e.Count}}
}

// sealedDraft is what SendTo seals in the outbox: the composed mail, the
// recipients as typed, and attention data.
type sealedDraft struct {
	Draft     message.Draft
	To, Cc    []string
	Attention map[string]Attention
	// Files: the attachments' bytes are in the mail's fileAttachments,
	// one after the other, not in Draft (mails queued before the files
	// hold them here).
	Files bool
}

// The files of a mail on its way, each sealed for the mailbox: the
// attachments as queued, the entity while it is built, and the two
// messages as they go out.
const (
	fileAttachments = "attachments"
	fileEntity      = "entity"
	fileExternal    = "external.eml"
	fileInternal    = "internal.eml"
)

// spoolFile is the path of one of the mail's files.
func (c *Core) spoolFile(m *outbox.Mail, name string) (string, error) {
	dir, err := c.Outbox.Files(m.MessageID)
	if err != nil {
		return "", &outbox.WriteError{File: dir, Err: err}
	}
	return filepath.Join(dir, name), nil
}

// spoolAttachments writes the draft's attachments, one after the other,
// sealed, to the mail's files, and leaves in sd only their names and
// sizes. A file that cannot be written is a mail not queued.
func (c *Core) spoolAttachments(m *outbox.Mail, id *smime.Identity, sd *sealedDraft) error {
	if len(sd.Draft.Attachments) == 0 {
		return nil
	}
	path, err := c.spoolFile(m, fileAttachments)
	if err == nil {
		err = writeSealed(path, c.keys(id), func(w io.Writer) error {
			for _, a := range sd.Draft.Attachments {
				if err := message.WriteContent(w, a); err != nil {
					return err
				}
			}
			return nil
		})
	}
	var we *outbox.WriteError
	if errors.As(err, &we) {
		we.NotQueued = true
		return we
	}
	if err != nil {
		return err
	}
	as := make([]message.Attachment, len(sd.Draft.Attachments))
	for i, a := range sd.Draft.Attachments {
		as[i] = message.Attachment{Name: a.Name, ContentType: a.ContentType, Size: a.Len()}
	}
	sd.Draft.Attachments, sd.Files = as, true
	return nil
}

// writeSealed writes the file at path, sealed for the mailbox, with
// what write gives it; the file is there, whole, only if all went well.
// An error of the file's own is a *outbox.WriteError.
func writeSealed(path string, keys *sealed.Keys, write func(io.Writer) error) error {
	f, err := keys.Create(path)
	if err != nil {
		return &outbox.WriteError{File: path, Err: err}
	}
	fw := &fileWriter{w: f, path: path}
	if err := write(fw); err != nil {
		f.Abort()
		if fw.err != nil {
			return fw.err
		}
		return err
	}
	if err := f.Close(); err != nil {
		return &outbox.WriteError{File: path, Err: err}
	}
	return nil
}

// fileWriter tells its own write errors from its source's.
type fileWriter struct {
	w    io.Writer
	path string
	err  error
}

func (f *fileWriter) Write(p []byte) (int, error) {
	n, err := f.w.Write(p)
	if err != nil {
		f.err = &outbox.WriteError{File: f.path, Err: err}
		return n, f.err
	}
	return n, nil
}

// openSealed opens one of the mail's files. What goes wrong while it is
// read is a *FileError that names it.
func openSealed(path string, keys *sealed.Keys) (*sealedFile, error) {
	o, err := keys.Open(path)
	if err != nil {
		return nil, &FileError{File: path, Err: err}
	}
	return &sealedFile{o, path}, nil
}

type sealedFile struct {
	*sealed.Opened
	path string
}

func (f *sealedFile) Read(p []byte) (int, error) {
	n, err := f.Opened.Read(p)
	if err != nil && err != io.EOF {
		err = &FileError{File: f.path, Err: err}
	}
	return n, err
}

// unsealDraft opens what SendTo sealed; a mail queued before recipients
// were sealed holds the draft alone, its recipients in the outbox. The
// attachments of a draft with files are streams, to be read once, in
// order, before close is called.
func (c *Core) unsealDraft(id *smime.Identity, m *outbox.Mail) (sd *sealedDraft, close func(), err error) {
	var s sealedDraft
	if err := unseal(id, m.Content, &s); err != nil || len(s.To)+len(s.Cc) == 0 {
		s = sealedDraft{To: m.Recipients, Cc: m.Cc}
		if err := unseal(id, m.Content, &s.Draft); err != nil {
			return nil, nil, err
		}
	}
	if !s.Files || len(s.Draft.Attachments) == 0 {
		return &s, func() {}, nil
	}
	path, err := c.spoolFile(m, fileAttachments)
	if err != nil {
		return nil, nil, err
	}
	f, err := openSealed(path, c.keys(id))
	if err != nil {
		return nil, nil, err
	}
	for i := range s.Draft.Attachments {
		s.Draft.Attachments[i].Open = func() (io.ReadCloser, error) { return io.NopCloser(f), nil }
	}
	return &s, func() { f.Close() }, nil
}

// loadAttachments reads a draft's streamed attachments into memory, for
// the Digital Post letters (which carry them whole, within that
// channel's smaller limit).
func loadAttachments(d *message.Draft) error {
	for i, a := range d.Attachments {
		if a.Data != nil || a.Open == nil {
			continue
		}
		var b bytes.Buffer
		b.Grow(int(a.Size))
		if err := message.WriteContent(&b, a); err != nil {
			return err
		}
		d.Attachments[i].Data, d.Attachments[i].Open = b.Bytes(), nil
	}
	return nil
}

// masked returns the recipients as typed with CPR numbers shown as
// DDMMYY-xxxx; vs are their verdicts, in the same order (parsed once, by
// the check).
func masked(in []string, vs []directory.Verdict) []string {
	out := slices.Clone(in)
	for i, v := range vs {
		if v.Recipient != nil && v.Recipient.Kind == recipient.CPR {
			out[i] = maskCPR(v.Recipient)
		}
	}
	return out
}

func maskCPR(r *recipient.Recipient) string { return r.Number[:6] + "-xxxx" }

// CheckDraft says at the check what Send would refuse in the draft for
// these recipients' channels, sent from mailbox ("" while none is
// chosen): an attachment of a type Digital Post does not deliver, a mail
// larger, or with more attachments, than a channel takes. vs are the
// check's verdicts, all green.
func (c *Core) CheckDraft(ctx context.Context, d message.Draft, mailbox string, vs []directory.Verdict) error {
	if err := checkLetters(vs, d, nil); err != nil {
		return err
	}
	return c.checkSize(ctx, mailbox, vs, d)
}

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
			return &SendError{Reason: "attention_not_cvr", Recipient: number}
		}
		if a.PNumber != "" && (len(a.PNumber) != 10 || strings.Trim(a.PNumber, "0123456789") != "") {
			return &SendError{Reason: "attention_pnumber", Recipient: number}
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
	if message.HasCPR(subject) {
		return &SendError{Reason: "cpr_in_subject"}
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
	if internal && message.HasCPR(d.Body) {
		return &SendError{Reason: "cpr_in_internal_body"}
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

// Run is the outbox's worker: it sends what is queued until ctx ends.
func (c *Core) Run(ctx context.Context) error { return c.Outbox.Run(ctx) }

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
	path, err := c.spoolFile(m, name)
	if err != nil {
		return nil, err
	}
	return openSealed(path, c.keys(id))
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
			mb, err := c.Policy.Mailbox(ctx, m.Mailbox)
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
	sd, closeDraft, err := c.unsealDraft(id, m)
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
	mb, err := c.Policy.Mailbox(ctx, m.Mailbox)
	if err != nil {
		return nil, err
	}
	h := message.Header{From: message.Address{Name: mb.Name, Address: mb.Address}, Sender: message.Address{Name: c.cfg.User.Name, Address: m.User},
		Subject: d.Subject, Date: m.Created, MessageID: m.MessageID}
	b := &built{Files: true}
	rcpts := []smime.Recipient{{Cert: id.Cert}}
	var known []smime.Known
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
		known = append(known, smime.Known{NeedsCBC: v.Cipher == smime.AES256CBC})
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
		err := c.writeMessage(m, id, fileInternal, h, func(w io.Writer) error {
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
		err := c.writeMessage(m, id, fileExternal, h, func(w io.Writer) error {
			return smime.SignEncrypt(w, source, *id, rcpts, smime.ChooseCipher(known...))
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
func (c *Core) writeMessage(m *outbox.Mail, id *smime.Identity, name string, h message.Header, entity func(io.Writer) error) error {
	path, err := c.spoolFile(m, name)
	if err != nil {
		return err
	}
	return writeSealed(path, c.keys(id), func(w io.Writer) error {
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
	return c.tokenRefused(c.cfg.SMTP.MailServer, submit.Send(ctx, srv, m.Mailbox, to, msg))
}

// letter builds the Digital Post message for one CPR or CVR recipient.
func (c *Core) letter(m *outbox.Mail, mb *policy.Mailbox, d message.Draft, v directory.Verdict, att Attention) (letter, error) {
	cfg := c.cfg.Institution
	if len(cfg.CVR) != 8 {
		return letter{}, &SendError{Reason: "no_institution_cvr"}
	}
	l := letter{Recipient: v.Recipient.String(), Name: v.Name, Kind: digitalpost.CVR, UUID: digitalpost.NewUUID()}
	if v.Recipient.Kind == recipient.CPR {
		l.Kind, l.Recipient = digitalpost.CPR, maskCPR(v.Recipient)
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
	logErr := c.Audit.Log(ctx, policy.Entry{Time: c.now().UTC(), Actor: c.actorOf(m), Action: "send-partial", Mailbox: m.Mailbox,
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
	err = c.Audit.Log(ctx, policy.Entry{Time: r.Time, Actor: c.actorOf(m), Action: "send", Mailbox: m.Mailbox,
		Subject: strings.Join(all, ", "), MessageID: m.MessageID, Receipt: string(out)})
	return out, err
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
	err = c.tokenRefused(c.cfg.IMAP.MailServer, err)
	var re *mailstore.ReadError
	if errors.As(err, &re) {
		return re.Err // the file, named
	}
	return err
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
	return nil, c.tokenRefused(c.cfg.IMAP.MailServer, srv.AppendInbox(ctx, acc, id, bytes.NewReader(msg)))
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
	if mb, err := c.Policy.Mailbox(ctx, r.Mailbox); err == nil {
		name = mb.Name
	}
	id := "<receipt." + strings.Trim(r.MessageID, "<>") + ">"
	msg, err := message.Compose(message.Header{From: message.Address{Name: name, Address: r.Mailbox},
		To: []message.Address{{Name: c.cfg.User.Name, Address: r.User}}, Subject: l.T("receipt.subject", map[string]any{"Mailbox": name}),
		Date: r.Time, MessageID: id}, entity)
	return msg, id, err
}

// OutboxList lists the mails in the outbox, oldest first.
func (c *Core) OutboxList(ctx context.Context) ([]outbox.Mail, error) { return c.Outbox.List(ctx) }

// ReceiptOf returns the receipt of a mail once the server has it, nil
// before.
func (c *Core) ReceiptOf(ctx context.Context, id int64) (*outbox.Mail, *Receipt, error) {
	m, err := c.Outbox.Get(ctx, id)
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
	entries, err := c.Audit.Sends(ctx, messageID)
	if err != nil || len(entries) == 0 {
		return nil, err
	}
	var r Receipt
	return &r, json.Unmarshal([]byte(entries[0].Receipt), &r)
}

// identity loads a mailbox's certificate and key (once per run).
func (c *Core) identity(ctx context.Context, mailbox string) (*smime.Identity, error) {
	c.idMu.Lock()
	defer c.idMu.Unlock()
	if id, ok := c.ids[mailbox]; ok {
		return id, nil
	}
	mb, err := c.Policy.Mailbox(ctx, mailbox)
	if err != nil {
		return nil, err
	}
	if mb.Identity == "" {
		return nil, &SendError{Reason: "no_identity", Mailbox: mailbox}
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

// keys seals the mail's files for the mailbox's identity and opens them,
// one private-key operation per file at most.
func (c *Core) keys(id *smime.Identity) *sealed.Keys {
	c.idMu.Lock()
	defer c.idMu.Unlock()
	if k, ok := c.sealKeys[id]; ok {
		return k
	}
	if c.sealKeys == nil {
		c.sealKeys = map[*smime.Identity]*sealed.Keys{}
	}
	k := &sealed.Keys{Cert: id.Cert, Key: id.Key}
	c.sealKeys[id] = k
	return k
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

// seal encodes v (gob: large byte slices stay binary) and encrypts it at
// rest for the mailbox's own certificate: drafts and built mails in the
// outbox are never plaintext on disk.
func seal(id *smime.Identity, v any) ([]byte, error) {
	var b bytes.Buffer
	if err := gob.NewEncoder(&b).Encode(v); err != nil {
		return nil, err
	}
	return smime.Encrypt(b.Bytes(), []smime.Recipient{{Cert: id.Cert}}, smime.AES256GCM)
}

// unseal decrypts what seal made into v.
func unseal(id *smime.Identity, sealed []byte, v any) error {
	d, err := smime.Decrypt(sealed, id.Cert, id.Key)
	if err != nil {
		return err
	}
	return gob.NewDecoder(bytes.NewReader(d.Content)).Decode(v)
}

func domainOf(addr string) string { return addr[strings.LastIndexByte(addr, '@')+1:] }

// traceOut is where protocol traces go (SIKKERMAIL_DEBUG): standard
// error, never a file of ours.
func (c *Core) traceOut() io.Writer {
	if c.trace != nil {
		return c.trace
	}
	return os.Stderr
}

// actorOf is who acts for a mail in the outbox: the user who queued it,
// on this machine.
func (c *Core) actorOf(m *outbox.Mail) policy.Actor {
	a := c.Actor()
	if m.User != "" {
		a.User = m.User
	}
	return a
}

// smtpServer is the submission server, logged in to as user unless the
// settings name the login.
func (c *Core) smtpServer(ctx context.Context, user string) (submit.Server, error) {
	s := c.cfg.SMTP
	if s.Server == "" {
		return submit.Server{}, &SendError{Reason: "no_smtp"}
	}
	srv := submit.Server{Addr: s.Server, Security: submit.Security(s.Security), Mechanism: submit.Mechanism(s.Auth), Timeout: s.Timeout.Duration}
	if srv.Security == "" {
		srv.Security = submit.StartTLS
	}
	var err error
	if srv.TLS, err = tlsConfig(s.CA); err != nil {
		return srv, err
	}
	if protolog.Enabled("smtp") {
		srv.Debug = protolog.New(c.traceOut(), "smtp "+s.Server+" ")
	}
	var xoauth bool
	srv.Username, srv.Secret, xoauth, err = c.login(ctx, s.MailServer, user)
	if xoauth {
		srv.Mechanism = submit.XOAuth2
	}
	return srv, err
}

// login is the login to a mail server for user: the settings' username,
// else user's; the password from where the settings say, or — for auth
// "microsoft" — the access token of the Microsoft session, refreshed as
// needed, for the account signed in (xoauth: log in with XOAUTH2).
func (c *Core) login(ctx context.Context, s config.MailServer, user string) (username, secret string, xoauth bool, err error) {
	username = s.Username
	if s.Auth == "microsoft" {
		if c.ms == nil {
			return "", "", true, &msauth.Error{Reason: "sign_in_needed"}
		}
		token, who, err := c.ms.Token(ctx)
		if e, ok := err.(*msauth.Error); ok && e.Claims != "" {
			c.lastClaims.Store(e.Claims)
		}
		if username == "" {
			username = who
		}
		return username, token, true, err
	}
	if username == "" {
		username = user
	}
	pw, err := keystore.Secret(s.Password, username)
	return username, string(pw), s.Auth == "xoauth2", err
}

func (c *Core) imapServer() (mailstore.Server, error) {
	s := c.cfg.IMAP
	if s.Server == "" {
		return mailstore.Server{}, &SendError{Reason: "no_imap"}
	}
	srv := mailstore.Server{Addr: s.Server, Security: mailstore.Security(s.Security), Timeout: s.Timeout.Duration}
	if srv.Security == "" {
		srv.Security = mailstore.ImplicitTLS
	}
	if protolog.Enabled("imap") {
		srv.Debug = protolog.New(c.traceOut(), "imap "+s.Server+" ")
	}
	var err error
	srv.TLS, err = tlsConfig(s.CA)
	return srv, err
}

// account is the user's own IMAP login, or — for a shared mailbox — the
// login that opens it with the user's own secret.
func (c *Core) account(ctx context.Context, user, mailbox string) (mailstore.Account, error) {
	s := c.cfg.IMAP
	var acc mailstore.Account
	var err error
	if acc.Username, acc.Secret, acc.XOAuth2, err = c.login(ctx, s.MailServer, user); err != nil {
		return acc, err
	}
	if mailbox != "" {
		tmpl := s.SharedLogin
		switch {
		case tmpl != "":
		case s.Auth == "microsoft":
			// Exchange Online opens a shared mailbox with the user's
			// token and the mailbox's address as user=.
			tmpl = "{mailbox}"
		default:
			tmpl = "{mailbox}*{user}"
		}
		acc.Username = strings.NewReplacer("{mailbox}", mailbox, "{user}", acc.Username).Replace(tmpl)
	}
	return acc, nil
}

// SendError is a send that cannot start.
type SendError struct {
	// Reason is no_recipients, cpr_in_subject, no_identity, no_smtp,
	// no_imap, no_institution_cvr, attention_not_cvr or attention_pnumber.
	Reason  string
	Mailbox string
	// Recipient is the CVR number attention data was given for.
	Recipient string
}

func (e *SendError) Error() string { return "core: send: " + e.Reason + " " + e.Mailbox }

// Localize names the sentence for a user.
func (e *SendError) Localize() i18n.Message {
	return i18n.Message{Key: "send." + e.Reason, Args: map[string]any{"Mailbox": e.Mailbox, "Recipient": e.Recipient}}
}

// Progress tells how many of a mail's steps are done, of how many.
func (c *Core) Progress(m *outbox.Mail) (done, total int) {
	total = c.Outbox.StepCount()
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
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		m, r, err := c.ReceiptOf(ctx, id)
		if err == nil && progress != nil {
			progress(c.Progress(m))
		}
		if err != nil || r != nil || m.State != outbox.Queued {
			return m, r, err
		}
		if m.Err != nil && m.Err.Message.Key == "msauth.sign_in_needed" {
			return m, nil, nil // it waits for the user to sign in: say so now
		}
		if err := c.Outbox.Stalled(); err != nil {
			return m, nil, err // the mail waits; the user is told why
		}
		select {
		case <-ctx.Done():
			return m, nil, ctx.Err()
		case <-tick.C:
		}
	}
}
