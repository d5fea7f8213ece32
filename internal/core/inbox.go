package core

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"time"

	"sikkermail/internal/i18n"
	"sikkermail/internal/mailstore"
	"sikkermail/internal/message"
	"sikkermail/internal/smime"
)

// Badge is how secure a message looks in the inbox list, from its
// content type alone (opening it tells for sure).
type Badge string

// The badges.
const (
	BadgeEncrypted Badge = "encrypted"
	BadgeSigned    Badge = "signed"
	BadgePlain     Badge = "plain"
)

// Localize names the badge for a user.
func (b Badge) Localize() i18n.Message {
	switch b {
	case BadgeEncrypted:
		return i18n.Message{Key: "inbox.badge.encrypted"}
	case BadgeSigned:
		return i18n.Message{Key: "inbox.badge.signed"}
	}
	return i18n.Message{Key: "inbox.badge.plain"}
}

// InboxMessage is one message of a secure mailbox's inbox, as listed.
type InboxMessage struct {
	mailstore.Summary
	Badge Badge
	// Handled is true when a reader has marked it dealt with.
	Handled bool
}

// DefaultHandledFlag is the IMAP keyword that marks a message handled
// when the settings name none.
const DefaultHandledFlag = "$Behandlet"

// Readable lists the secure mailboxes the user may read.
func (c *Core) Readable(ctx context.Context) ([]MailboxChoice, error) {
	all, err := c.Mailboxes(ctx)
	if err != nil {
		return nil, err
	}
	return CanRead(all), nil
}

// CanRead are the mailboxes of all the user may read.
func CanRead(all []MailboxChoice) []MailboxChoice {
	var out []MailboxChoice
	for _, m := range all {
		if m.CanRead {
			out = append(out, m)
		}
	}
	return out
}

// inboxAt is where a reader finds a mailbox's inbox.
type inboxAt struct {
	mailbox string // lower case
	srv     mailstore.Server
	acc     mailstore.Account
	folder  string
}

// inbox opens a mailbox's inbox for a reader: the right, the server, the
// login and the folder.
func (c *Core) inbox(ctx context.Context, mailbox string) (*inboxAt, error) {
	in := &inboxAt{mailbox: strings.ToLower(strings.TrimSpace(mailbox))}
	if err := c.MayRead(ctx, in.mailbox); err != nil {
		return nil, err
	}
	mb, err := c.policy.Mailbox(ctx, in.mailbox)
	if err != nil {
		return nil, err
	}
	if in.srv, err = c.imapServer(); err != nil {
		return nil, err
	}
	if in.acc, err = c.account(ctx, c.User(), in.mailbox); err != nil {
		return nil, err
	}
	if in.folder = mb.InboxFolder; in.folder == "" {
		in.folder = "INBOX"
	}
	return in, nil
}

// InboxList lists a secure mailbox's inbox, newest first, for a reader.
func (c *Core) InboxList(ctx context.Context, mailbox string) ([]InboxMessage, error) {
	in, err := c.inbox(ctx, mailbox)
	if err != nil {
		return nil, err
	}
	listing, err := in.srv.ListFolder(ctx, in.acc, in.folder, HeaderInbound, HeaderCipher, HeaderSigner)
	if err != nil {
		return nil, err
	}
	flag := c.learnHandledFlag(mailbox, listing)
	out := make([]InboxMessage, len(listing.Messages))
	for i, s := range listing.Messages {
		out[i] = InboxMessage{Summary: s, Badge: BadgePlain, Handled: s.Has(flag)}
		if b, ok := c.boundaryBadge(ctx, in, s.Fields); ok {
			// Decrypted by the boundary: the badge of how it came.
			out[i].Badge = b
			continue
		}
		switch {
		case strings.HasSuffix(s.ContentType, "pkcs7-mime") && s.SMIMEType != "signed-data":
			out[i].Badge = BadgeEncrypted
		case s.ContentType == "multipart/signed" || strings.HasSuffix(s.ContentType, "pkcs7-mime"):
			out[i].Badge = BadgeSigned
		}
	}
	return out, nil
}

func (c *Core) handledFlag() string {
	if f := c.cfg.Inbox.HandledFlag; f != "" {
		return f
	}
	return DefaultHandledFlag
}

// FallbackHandledFlag marks a message handled where the server keeps no
// keyword of the client's own (Exchange Online): the follow-up flag
// every IMAP client and Outlook show.
const FallbackHandledFlag = `\Flagged`

// learnHandledFlag is the flag that marks a message of mailbox handled,
// as its folder's permanent flags allow, and remembers it for marking.
func (c *Core) learnHandledFlag(mailbox string, l mailstore.Listing) string {
	flag := c.handledFlag()
	if !strings.HasPrefix(flag, `\`) && !l.Keyword(flag) {
		flag = FallbackHandledFlag
	}
	c.flagMu.Lock()
	defer c.flagMu.Unlock()
	if c.handledFlags == nil {
		c.handledFlags = map[string]string{}
	}
	c.handledFlags[mailbox] = flag
	return flag
}

// handledFlagFor is the flag that marks a message of mailbox handled:
// the one its last listing showed the server keeps.
func (c *Core) handledFlagFor(mailbox string) string {
	c.flagMu.Lock()
	defer c.flagMu.Unlock()
	if f, ok := c.handledFlags[mailbox]; ok {
		return f
	}
	return c.handledFlag()
}

// HandledMark says how a handled message is marked, for the settings:
// moved to a folder, a keyword, or — where the server keeps no keyword
// of its own — the follow-up flag.
func (c *Core) HandledMark() i18n.Message {
	if to := c.cfg.Inbox.HandledFolder; to != "" {
		return i18n.Message{Key: "inbox.handled_by.folder", Args: map[string]any{"Folder": to}}
	}
	c.flagMu.Lock()
	defer c.flagMu.Unlock()
	for _, f := range c.handledFlags {
		if f == FallbackHandledFlag && c.handledFlag() != FallbackHandledFlag {
			return i18n.Message{Key: "inbox.handled_by.flagged", Args: map[string]any{"Keyword": c.handledFlag()}}
		}
	}
	return i18n.Message{Key: "inbox.handled_by.keyword", Args: map[string]any{"Keyword": c.handledFlag()}}
}

// MarkHandled marks a message dealt with (or not), so that every reader
// of the mailbox sees it: the keyword the settings name, or — when they
// name a folder — by moving it there.
func (c *Core) MarkHandled(ctx context.Context, mailbox string, uid uint32, handled bool) error {
	in, err := c.inbox(ctx, mailbox)
	if err != nil {
		return err
	}
	if to := c.cfg.Inbox.HandledFolder; to != "" && handled {
		return in.srv.Move(ctx, in.acc, in.folder, uid, to)
	}
	return in.srv.Flag(ctx, in.acc, in.folder, uid, c.handledFlagFor(mailbox), handled)
}

// OpenedMail is a received message, opened: who sent it, its text and
// attachments, and how securely it came.
type OpenedMail struct {
	Mailbox string
	UID     uint32
	// From, To, Subject, Date and MessageID are the outer header's.
	From, Sender, To []*mail.Address
	Subject          string
	Date             time.Time
	MessageID        string
	// Content is the inner message; nil when it could not be opened (the
	// report says why).
	Content *message.Received
	Report  Report
}

// FromAddress is the sender's address ("" when the header has none).
func (m *OpenedMail) FromAddress() string {
	if len(m.From) > 0 {
		return m.From[0].Address
	}
	return ""
}

// FromLine is the From header as a reader reads it.
func (m *OpenedMail) FromLine() string { return addressList(m.From) }

// InboxOpen fetches a message of a secure mailbox's inbox, decrypts it
// with the mailbox's key, verifies every signature, and reports how
// securely it came. A message that cannot be opened (not encrypted for
// this mailbox, changed on the way) is reported, never an error; an
// error is a message that cannot be fetched. Certificates of valid
// signers are kept in the local certificate store, so that a secure
// reply needs no directory.
func (c *Core) InboxOpen(ctx context.Context, mailbox string, uid uint32) (*OpenedMail, error) {
	in, err := c.inbox(ctx, mailbox)
	if err != nil {
		return nil, err
	}
	raw, err := in.srv.FetchUID(ctx, in.acc, in.folder, uid)
	if err != nil {
		return nil, err
	}
	id, err := c.identity(ctx, in.mailbox)
	if err != nil {
		return nil, err
	}
	if orig, scanned, ok, err := c.passedBoundary(ctx, in, raw); ok || err != nil {
		if err != nil {
			return nil, err
		}
		// Delivered decrypted by the gateway's boundary: the report is
		// the original's, opened again as it came.
		var m *OpenedMail
		if _, memo, _ := bytes.Cut(orig, []byte("\n")); isLetter(memo) {
			m = c.openLetter(memo, in.mailbox, uid)
		} else {
			m = c.open(orig, in.mailbox, uid, id)
		}
		m.Report.Scan = scanned
		return m, nil
	}
	return c.open(raw, in.mailbox, uid, id), nil
}

// open reads raw as the mailbox's reader would.
func (c *Core) open(raw []byte, mailbox string, uid uint32, id *smime.Identity) *OpenedMail {
	m, _ := c.openEntity(raw, mailbox, uid, id)
	return m
}

// openEntity is open, with the innermost entity it opened (nil when it
// opened none).
func (c *Core) openEntity(raw []byte, mailbox string, uid uint32, id *smime.Identity) (*OpenedMail, []byte) {
	m := &OpenedMail{Mailbox: mailbox, UID: uid}
	if h, err := message.ReadOuter(raw); err == nil {
		m.From, m.Sender, m.To, m.Subject, m.Date, m.MessageID = h.From, h.Sender, h.To, h.Subject, h.Date, h.MessageID
		m.Report.Hops = h.Hops
	}
	p := smime.Trust{}
	if c.dir.Trust != nil {
		p = *c.dir.Trust
	}
	if len(m.Report.Hops) > 0 {
		// Our own server's Received line: a signing time after it is
		// not believed.
		p.Arrived = m.Report.Hops[0].Time
	}
	o, err := smime.Open(raw, []smime.Identity{*id}, &p)
	var se *smime.Error
	if errors.As(err, &se) && se.Subject == "" {
		se.Subject = mailbox // the sentence names whose key did not fit
	}
	r := &m.Report
	r.Err = err
	r.TwoFrom = len(m.From) > 1
	if len(m.Sender) > 0 && (len(m.From) != 1 || !strings.EqualFold(m.Sender[0].Address, m.From[0].Address)) {
		r.Sender = addressList(m.Sender)
	}
	for _, a := range m.From {
		if h := message.HiddenAddress(a); h != "" {
			r.HiddenFrom = append(r.HiddenFrom, [2]string{h, a.Address})
		}
	}
	if o == nil {
		return m, nil
	}
	r.Encrypted, r.Signed, r.FromMatches, r.Bare = o.Encrypted(), o.Signed(), o.SignedByFrom(), o.Bare
	for _, l := range o.Layers {
		if d := l.Decrypted; d != nil {
			r.Cipher, r.KeyTransport, r.Authenticated = d.Cipher, d.KeyTransport, d.Authenticated
		}
	}
	for _, s := range o.Signers() {
		r.Signers = append(r.Signers, signerReport(s))
		if s.Err == nil && c.certs != nil {
			// A store that cannot be written only costs a lookup later.
			_ = c.certs.Learn(s)
		}
	}
	if ps, ok := o.Protected["Subject"]; ok && r.Signed && len(ps) > 0 {
		// The subject the sender signed is the one to show; the outer
		// one, which anybody on the way could change, only if it differs.
		r.SubjectSigned = true
		if protected := message.DecodeHeader(ps[0]); protected != m.Subject {
			r.OuterSubject, m.Subject = m.Subject, protected
		}
	}
	if err == nil {
		content, perr := message.Parse(o.Entity)
		if perr != nil {
			r.Err = perr
			return m, nil
		}
		m.Content = content
		r.Unreadable = content.Unreadable
	}
	return m, o.Entity
}

// Report is how securely a message came.
type Report struct {
	// Encrypted: the message was encrypted, with Cipher (e.g.
	// AES-256-GCM), its key brought by KeyTransport; Authenticated when
	// the encryption itself shows any change (AuthEnvelopedData).
	Encrypted             bool
	Cipher, KeyTransport  string
	Authenticated, Signed bool
	Signers               []SignerReport
	// FromMatches: a valid signer's certificate is for the message's one
	// From address.
	FromMatches bool
	// TwoFrom: the message names more than one From address.
	TwoFrom bool
	// Sender is the Sender header when it names somebody else than From.
	Sender string
	// HiddenFrom are display names that hold another address than the
	// real one: each pair is the address in the name and the real one.
	HiddenFrom [][2]string
	// SubjectSigned: the subject shown is the one the sender signed
	// (protected headers); OuterSubject is the unsigned one on the
	// envelope when it differs.
	SubjectSigned bool
	OuterSubject  string
	// Bare: the content was no MIME entity and is shown as text.
	Bare bool
	// Unreadable are parts of the content that could not be read.
	Unreadable []message.PartError
	// Hops are the last transport hops (Received headers), newest first.
	Hops []message.Hop
	// Scan is what the gateway's virus scanner said of a mail its
	// boundary delivered (the Sikkermail-Scan value); "" for one it did
	// not.
	Scan string
	// Letter is set for a letter that came through Digital Post.
	Letter *LetterReport
	// Err is why the message could not be opened (a signature that does
	// not hold is its signer's Err).
	Err error
}

// SignerReport is one signer as the reader sees it.
type SignerReport struct {
	Subject, Issuer     string
	Emails              []string
	NotBefore, NotAfter time.Time
	// CVR is the organisation's CVR number in a Danish OCES certificate.
	CVR string
	// Trusted: the certificate chains to a trust anchor.
	Trusted bool
	// SigningTime is when the signer says it signed (zero if not said).
	SigningTime time.Time
	// ExpiredSince: the certificate was valid when the mail was signed
	// and has expired since; the signature counts.
	ExpiredSince bool
	// Revocation is set when whether the certificate is revoked could
	// not be found out (the signature counts; the reader is told);
	// NotRevoked when a revocation list or OCSP answer said it is not.
	Revocation error
	NotRevoked bool
	// Err is nil when the signature and the certificate are valid.
	Err error
}

func signerReport(s smime.Signer) SignerReport {
	r := SignerReport{Trusted: len(s.Chains) > 0, Err: s.Err, SigningTime: s.SigningTime, ExpiredSince: s.ExpiredSince != nil,
		Revocation: s.Revocation, NotRevoked: s.NotRevoked}
	if c := s.Cert; c != nil {
		r.Subject, r.Issuer, r.NotBefore, r.NotAfter, r.CVR = name(c.Subject.CommonName, c.Subject.String()), name(c.Issuer.CommonName, c.Issuer.String()),
			c.NotBefore, c.NotAfter, smime.CVR(c)
		r.Emails = smime.Addresses(c)
	}
	return r
}

func name(cn, full string) string {
	if cn != "" {
		return cn
	}
	return full
}

// Secure reports whether the message came securely: encrypted, signed,
// every signature and certificate valid, and signed by its sender.
func (r Report) Secure() bool {
	if r.Letter != nil {
		return r.Err == nil // through Digital Post: the sender proven there
	}
	if r.Err != nil || !r.Encrypted || !r.Signed || !r.FromMatches || r.TwoFrom {
		return false
	}
	for _, s := range r.Signers {
		if s.Err != nil {
			return false
		}
	}
	return true
}

// Summary is the report in one sentence: "Sendt sikkert: krypteret og
// signeret af …", or "Ikke sendt sikkert: …" with why.
func (r Report) Summary(l i18n.Lang) string {
	signer := ""
	checked := false
	for _, s := range r.Signers {
		if s.Err == nil {
			signer = s.Subject
			if len(s.Emails) > 0 {
				signer += " <" + s.Emails[0] + ">"
			}
			checked = s.NotRevoked
			break
		}
	}
	if r.Letter != nil && r.Err == nil {
		return strings.Join(append([]string{l.T("letter.secure", map[string]any{"Name": r.Letter.Name, "Number": r.Letter.Number})}, r.warnings(l)...), " ")
	}
	if r.Secure() {
		key := "inbox.secure"
		if checked {
			key = "inbox.secure_not_revoked" // as the CA's list or OCSP said
		}
		return strings.Join(append([]string{l.T(key, map[string]any{"Cipher": r.Cipher, "Signer": signer})}, r.warnings(l)...), " ")
	}
	var why []string
	if r.Err != nil {
		why = append(why, l.Error(r.Err))
	}
	if !r.Encrypted {
		why = append(why, l.T("inbox.why.not_encrypted", nil))
	}
	if !r.Signed && r.Err == nil {
		why = append(why, l.T("inbox.why.not_signed", nil))
	}
	for _, s := range r.Signers {
		if s.Err != nil {
			why = append(why, l.T("inbox.why.bad_signature", map[string]any{"Reason": l.Error(s.Err)}))
		}
	}
	switch {
	case r.TwoFrom:
		why = append(why, l.T("inbox.why.two_from", nil))
	case signer != "" && !r.FromMatches:
		why = append(why, l.T("inbox.why.not_from", map[string]any{"Signer": signer}))
	}
	for i := range why {
		why[i] = strings.TrimRight(why[i], ". ")
	}
	return strings.Join(append([]string{l.T("inbox.not_secure", map[string]any{"Why": strings.Join(why, "; ")})}, r.warnings(l)...), " ")
}

// warnings are what a reader must know even of a mail sent securely: a
// display name that shows another address, a subject changed on the
// way, a certificate expired since, parts that could not be read.
func (r Report) warnings(l i18n.Lang) []string {
	var out []string
	for _, h := range r.HiddenFrom {
		out = append(out, l.T("inbox.warn.hidden_from", map[string]any{"Shown": h[0], "Real": h[1]}))
	}
	if r.OuterSubject != "" {
		out = append(out, l.T("inbox.warn.subject_changed", map[string]any{"Outer": r.OuterSubject}))
	}
	for _, s := range r.Signers {
		if s.ExpiredSince && s.Err == nil {
			out = append(out, l.T("inbox.warn.expired_since", map[string]any{"Signer": s.Subject,
				"Signed": s.SigningTime.Local().Format(time.DateOnly), "Until": s.NotAfter.Local().Format(time.DateOnly)}))
		}
	}
	for _, s := range r.Signers {
		if s.Revocation != nil && s.Err == nil {
			out = append(out, l.Error(s.Revocation))
		}
	}
	for _, u := range r.Unreadable {
		out = append(out, l.T("inbox.warn.unreadable", map[string]any{"File": u.Name, "Reason": u.Err.Error()}))
	}
	return out
}

// Details are the report's facts, one line each, for the security panel.
func (r Report) Details(l i18n.Lang) []string {
	yes := func(b bool) string {
		if b {
			return l.T("Yes", nil)
		}
		return l.T("No", nil)
	}
	var out []string
	if r.Letter != nil {
		out = append(out, l.T("letter.detail", map[string]any{"Name": r.Letter.Name, "Number": r.Letter.Number}))
		return append(out, r.scanDetail(l)...)
	}
	enc := yes(r.Encrypted)
	if r.Cipher != "" {
		enc += fmt.Sprintf(" (%s, %s)", r.Cipher, r.KeyTransport)
	}
	out = append(out, l.T("inbox.detail.encrypted", map[string]any{"Value": enc}))
	out = append(out, l.T("inbox.detail.signed", map[string]any{"Value": yes(r.Signed)}))
	for _, s := range r.Signers {
		state := l.T("inbox.detail.valid", nil)
		switch {
		case s.Err != nil:
			state = l.Error(s.Err)
		case s.ExpiredSince:
			state = l.T("inbox.detail.valid_when_signed", map[string]any{"Signed": s.SigningTime.Local().Format(time.DateOnly),
				"Until": s.NotAfter.Local().Format(time.DateOnly)})
		}
		out = append(out, l.T("inbox.detail.signer", map[string]any{"Subject": s.Subject, "Emails": strings.Join(s.Emails, ", "), "Issuer": s.Issuer,
			"From": s.NotBefore.Local().Format(time.DateOnly), "Until": s.NotAfter.Local().Format(time.DateOnly), "CVR": s.CVR,
			"Trusted": yes(s.Trusted), "State": state}))
	}
	if r.Signed {
		out = append(out, l.T("inbox.detail.from_matches", map[string]any{"Value": yes(r.FromMatches)}))
		if r.SubjectSigned {
			out = append(out, l.T("inbox.detail.subject_signed", nil))
		} else {
			out = append(out, l.T("inbox.detail.outside_signature", nil))
		}
	}
	if r.Sender != "" {
		out = append(out, l.T("inbox.detail.sender", map[string]any{"Sender": r.Sender}))
	}
	if r.Bare {
		out = append(out, l.T("inbox.detail.bare", nil))
	}
	for _, h := range r.Hops {
		out = append(out, l.T("inbox.detail.hop", map[string]any{"From": h.From, "By": h.By, "With": h.With, "TLS": yes(h.TLS)}))
	}
	if len(r.Hops) == 0 {
		out = append(out, l.T("inbox.detail.no_hops", nil))
	}
	return append(out, r.scanDetail(l)...)
}

// scanDetail is what the gateway's scanner said, as a detail line.
func (r Report) scanDetail(l i18n.Lang) []string {
	switch found, malware := strings.CutPrefix(r.Scan, "found="); {
	case r.Scan == "":
		return nil
	case r.Scan == "clean":
		return []string{l.T("boundary.clean", nil)}
	case malware:
		return []string{l.T("boundary.malware", map[string]any{"Found": found})}
	}
	return []string{l.T("inbox.detail.not_scanned", nil)}
}

// Forward sends an opened message on to colleagues in the institution's
// own domains, with the user's note and every attachment, from the
// secure mailbox (the user needs the send right to it as well as the
// read right). An address outside the institution is refused: a secure
// mail leaves the institution only through the secure send flow.
func (c *Core) Forward(ctx context.Context, m *OpenedMail, to []string, note string) (*Queued, error) {
	if err := c.MayRead(ctx, m.Mailbox); err != nil {
		return nil, err
	}
	if m.Content == nil {
		return nil, &InboxError{Reason: Unopened}
	}
	if len(to) == 0 {
		return nil, &SendError{Reason: NoRecipients}
	}
	for _, t := range to {
		r, err := c.parser.Parse(t)
		if err != nil {
			return nil, err
		}
		if !r.Internal {
			return nil, &InboxError{Reason: ForwardExternal, Recipient: r.String()}
		}
	}
	l := c.Lang()
	quoted := l.T("inbox.forwarded", map[string]any{"From": addressList(m.From), "Date": m.Date.Local().Format("2006-01-02 15:04"),
		"Subject": m.Subject, "To": addressList(m.To)})
	d := message.Draft{Subject: prefixed(l.T("inbox.forward_prefix", nil), m.Subject), Body: strings.TrimSpace(note) + "\n\n" + quoted + "\n\n" + m.Content.Text,
		Attachments: m.Content.Attachments}
	return c.SendTo(ctx, d, m.Mailbox, Recipients{To: to})
}

// Reply is what a secure reply starts from: the mailbox it goes from,
// the sender it goes to, and the draft with the quoted message.
type Reply struct {
	Mailbox, To string
	Draft       message.Draft
}

// Reply prepares a secure reply to the sender of an opened message,
// from the mailbox it came to. It goes through the secure send flow
// (Kontrollér adresser, then Send): the sender's certificate, learnt from
// a valid signature, is already in the local store.
func (c *Core) Reply(ctx context.Context, m *OpenedMail) (*Reply, error) {
	if err := c.MaySend(ctx, m.Mailbox); err != nil {
		return nil, err
	}
	from := m.FromAddress()
	if len(m.Sender) > 0 && len(m.From) == 0 {
		from = m.Sender[0].Address
	}
	if m.Report.Letter != nil {
		from = m.Report.Letter.ReplyTo // back through Digital Post
	}
	if from == "" {
		return nil, &InboxError{Reason: NoSender}
	}
	l := c.Lang()
	var quoted []string
	if m.Content != nil {
		for _, line := range strings.Split(strings.TrimRight(m.Content.Text, "\n"), "\n") {
			quoted = append(quoted, "> "+line)
		}
	}
	body := "\n\n" + l.T("inbox.wrote", map[string]any{"Date": m.Date.Local().Format("2006-01-02 15:04"), "From": addressList(m.From)}) + "\n" +
		strings.Join(quoted, "\n") + "\n"
	subject := m.Subject
	if m.Report.Letter != nil {
		subject = m.Report.Letter.Label // the letter's own title, not the mailbox's name for it
	}
	return &Reply{Mailbox: m.Mailbox, To: from, Draft: message.Draft{Subject: prefixed(l.T("inbox.reply_prefix", nil), subject), Body: body}}, nil
}

// prefixed puts "Sv:" or "Vs:" before a subject that has none.
func prefixed(prefix, subject string) string {
	if strings.HasPrefix(strings.ToLower(subject), strings.ToLower(prefix)) {
		return subject
	}
	return prefix + " " + subject
}

func addressList(as []*mail.Address) string {
	var out []string
	for _, a := range as {
		s := a.Address
		// A name that holds another address is left out: the reader
		// sees the real address (and the report's warning).
		if a.Name != "" && message.HiddenAddress(a) == "" {
			s = a.Name + " <" + a.Address + ">"
		}
		out = append(out, s)
	}
	return strings.Join(out, ", ")
}

// InboxError is something a reader cannot do with a message.
type InboxError struct {
	// Reason is forward_external, unopened or no_sender.
	Reason    InboxReason
	Recipient string
}

func (e *InboxError) Error() string { return "core: inbox: " + string(e.Reason) + " " + e.Recipient }

// Localize names the sentence for a user.
func (e *InboxError) Localize() i18n.Message {
	return i18n.Message{Key: "inbox." + string(e.Reason), Args: map[string]any{"Recipient": e.Recipient}}
}

// SaveAttachment writes an attachment into dir under a name any PC takes
// (message.SafeFileName), never over a file that is there (a second
// "notat.pdf" is saved as "notat (2).pdf"), never outside dir, readable
// by the user alone, and returns where it went.
func SaveAttachment(dir string, a message.Attachment) (string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", &FileError{File: dir, Err: err}
	}
	name := message.SafeFileName(a.Name)
	ext := filepath.Ext(name)
	stem := strings.TrimSuffix(name, ext)
	for n := 1; ; n++ {
		path := filepath.Join(dir, name)
		if n > 1 {
			path = filepath.Join(dir, fmt.Sprintf("%s (%d)%s", stem, n, ext))
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) && n < 1000 {
			continue
		}
		if err != nil {
			return "", &FileError{File: path, Err: err}
		}
		_, werr := f.Write(a.Data)
		if cerr := f.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			os.Remove(path)
			return "", &FileError{File: path, Err: werr}
		}
		return path, nil
	}
}
