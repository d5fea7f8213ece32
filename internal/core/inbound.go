package core

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"mime"
	"net/mail"
	"slices"
	"strings"
	"time"

	"sikkermail/internal/i18n"
	"sikkermail/internal/message"
	"sikkermail/internal/outbox"
	"sikkermail/internal/policy"
	"sikkermail/internal/store"
)

// The boundary's queue: each mail that arrives for a secure mailbox is
// kept, sealed for the mailbox, in the outbox table's inbound queue
// before its arrival is acknowledged, and taken through its steps, each
// recorded before the next, by every instance of the gateway as the
// mails it sends are: inspect (decrypt, verify, scan; the mail to
// deliver is the step's output, sealed), archive (the mail as it came,
// as evidence), deliver (decrypted, with its verdict, or to
// quarantine), notify (the readers, of a mail in quarantine). A crash
// anywhere ends with each delivered once: a delivery is marked with the
// mail's key and not made again.

// InboundQueue is the outbox queue of the mails that arrived.
const InboundQueue = "inbound"

// HeaderInbound marks what the boundary delivered with the key of the
// mail it came from.
const HeaderInbound = "Sikkermail-Inbound"

const (
	stepInspect = "inspect"
	stepArchive = "archive"
	stepDeliver = "deliver"
	stepNotify  = "notify"
)

// Default folders of a secure mailbox at the boundary. DefaultSpam is
// Exchange's own junk folder, where readers look for spam.
const (
	DefaultQuarantine = "Sikkermail/Karantæne"
	DefaultArchive    = "Sikkermail/Arkiv"
	DefaultSpam       = "Junk Email"
)

// Boundary is the gateway's inbound side at work.
type Boundary struct {
	c       *Core
	queue   *outbox.Outbox
	scanner Scanner
	spam    SpamChecker
}

// inspected is the inspect step's output, sealed for the mailbox.
type inspected struct {
	Verdict, Folder string
	Delivered       []byte
	// Notice is the readers' notice of a mail in quarantine; nil else.
	Notice []byte
}

// OpenBoundary opens the inbound queue in the store, its mails scanned
// for malware by s and checked for spam by spam (nil: IT turned the
// spam check off, and the mail server's check of the encrypted mail is
// the only one).
func (c *Core) OpenBoundary(ctx context.Context, s Scanner, spam SpamChecker) (*Boundary, error) {
	b := &Boundary{c: c, scanner: s, spam: spam}
	steps := []outbox.Step{
		{Name: stepInspect, Run: b.inspect},
		{Name: stepArchive, Run: b.archive},
		{Name: stepDeliver, Run: func(ctx context.Context, m *outbox.Mail) ([]byte, error) {
			return nil, b.deliver(ctx, m, false)
		}},
		{Name: stepNotify, Run: func(ctx context.Context, m *outbox.Mail) ([]byte, error) {
			return nil, b.deliver(ctx, m, true)
		}},
	}
	var err error
	if b.queue, err = c.openInbound(ctx, steps...); err != nil {
		return nil, err
	}
	b.queue.Lease, b.queue.Workers, b.queue.Now = c.outbox.Lease, c.outbox.Workers, c.Now
	return b, nil
}

// openInbound opens the inbound queue in the store, worked by steps.
func (c *Core) openInbound(ctx context.Context, steps ...outbox.Step) (*outbox.Outbox, error) {
	var q *outbox.Outbox
	var err error
	if c.store.Dialect == store.PostgreSQL {
		q, err = outbox.OpenShared(ctx, c.store, steps...)
	} else {
		q, err = outbox.Open(c.db, c.dbPath+".inbound.lock", steps...)
	}
	if err != nil {
		return nil, &FileError{File: c.storeName(), Err: err}
	}
	q.Queue = InboundQueue
	return q, nil
}

// Queue is the inbound queue, for listing and the worker.
func (b *Boundary) Queue() *outbox.Outbox { return b.queue }

// Run works the inbound queue until ctx ends.
func (b *Boundary) Run(ctx context.Context) error { return b.queue.Run(ctx) }

// Process works what is due now.
func (b *Boundary) Process(ctx context.Context) (int, error) { return b.queue.Process(ctx) }

// Receive keeps raw, a mail that arrived for mailbox, in the inbound
// queue: when it returns nil the mail is durable and its arrival may be
// acknowledged. The same mail arriving again (the acknowledgement lost)
// is kept once. A mailbox the gateway does not hold is refused.
func (b *Boundary) Receive(ctx context.Context, mailbox string, raw []byte) (int64, error) {
	return b.ReceiveTraced(ctx, mailbox, "", raw)
}

// ReceiveTraced is Receive for a mail as the gateway's listener took it:
// the body as the sender's server sent it, under the trace (Received
// line) the listener puts on top. The mail is known again by its body
// alone: sent again, it has another trace.
func (b *Boundary) ReceiveTraced(ctx context.Context, mailbox, trace string, body []byte) (int64, error) {
	c := b.c
	mailbox = strings.ToLower(strings.TrimSpace(mailbox))
	id, err := c.identity(ctx, mailbox)
	if err != nil {
		return 0, err
	}
	key := inboundKey(mailbox, body)
	raw := append([]byte(trace), body...)
	if n, ok, err := b.queue.ByMessageID(ctx, key); ok || err != nil {
		return n, err
	}
	sealed, err := seal(id, raw)
	if err != nil {
		return 0, err
	}
	n, err := b.queue.Add(ctx, &outbox.Mail{MessageID: key, User: c.User(), Mailbox: mailbox, Content: sealed})
	if err != nil && store.IsUniqueViolation(err) {
		// The same mail, at the same moment, on another instance.
		n, _, err = b.queue.ByMessageID(ctx, key)
	}
	return n, err
}

// inboundKey names a mail that arrived for mailbox by its content: the
// same mail sent again (its acknowledgement lost) is the same, and two
// mails are two, also when they claim one Message-ID.
func inboundKey(mailbox string, raw []byte) string {
	sum := sha256.Sum256(raw)
	return "inbound " + mailbox + " " + hex.EncodeToString(sum[:16])
}

// folders are the mailbox's quarantine and archive folders.
func (b *Boundary) folders() (quarantine, archive string) {
	cfg := b.c.cfg.Boundary
	return cmp.Or(cfg.Quarantine, DefaultQuarantine), cmp.Or(cfg.Archive, DefaultArchive)
}

func (b *Boundary) inspect(ctx context.Context, m *outbox.Mail) ([]byte, error) {
	out, err := b.inspectMail(ctx, m)
	if err == nil || outbox.Temporary(err) {
		return out, err
	}
	var loc i18n.Localizer
	if !errors.As(err, &loc) {
		err = &InboundError{Mailbox: m.Mailbox, Err: err}
	}
	// It stops here, for IT (boundary list); the readers are told, once.
	in := &Inspection{OpenedMail: &OpenedMail{Mailbox: m.Mailbox}, Key: m.MessageID}
	l := b.c.Lang()
	notice := b.noticeMail(in, "/failed", VerdictQuarantine, l.T("boundary.failed_subject", nil),
		l.T("boundary.failed_notice", map[string]any{"Reason": l.Error(err)}))
	if perr := b.put(ctx, m, "INBOX", HeaderInbound, m.MessageID+"/failed", notice, false); perr != nil {
		return nil, perr // tried again: the notice first
	}
	return nil, err
}

// InboundError is a mail of the boundary's queue that cannot be
// inspected as it is: it stays in the queue, for IT.
type InboundError struct {
	Mailbox string
	Err     error
}

func (e *InboundError) Error() string { return "core: inbound for " + e.Mailbox + ": " + e.Err.Error() }
func (e *InboundError) Unwrap() error { return e.Err }

// Localize names the sentence.
func (e *InboundError) Localize() i18n.Message {
	return i18n.Message{Key: "boundary.failed", Args: map[string]any{"Mailbox": e.Mailbox, "Err": e.Err.Error()}}
}

func (b *Boundary) inspectMail(ctx context.Context, m *outbox.Mail) ([]byte, error) {
	c := b.c
	id, err := c.identity(ctx, m.Mailbox)
	if err != nil {
		return nil, err
	}
	var raw []byte
	if err := unseal(id, m.Content, &raw); err != nil {
		return nil, err
	}
	var in *Inspection
	if isLetter(raw) {
		in, err = b.inspectLetter(ctx, m.Mailbox, raw)
	} else if in, err = c.Inspect(ctx, m.Mailbox, raw, b.scanner); err == nil {
		in.SpamFolder = cmp.Or(c.cfg.Boundary.SpamFolder, DefaultSpam)
		in.CheckSpam(ctx, b.spam)
	}
	if err != nil {
		return nil, err
	}
	in.Key = m.MessageID
	if cerr := in.CheckErr(); cerr != nil && c.cfg.Boundary.ScannerDown != "quarantine" && outbox.Temporary(cerr) {
		// It waits for the checks; the readers are told, once.
		if err := b.put(ctx, m, "INBOX", HeaderInbound, m.MessageID+"/waiting", b.waitingNotice(in), false); err != nil {
			return nil, err
		}
		return nil, cerr
	}
	out := inspected{Verdict: in.Verdict(), Folder: "INBOX"}
	if out.Delivered, err = in.Delivered(c.Lang()); err != nil {
		return nil, err
	}
	switch {
	case in.Quarantine():
		quarantine, _ := b.folders()
		out.Folder = quarantine
		out.Notice = b.notice(in, quarantine)
	case in.IsSpam():
		out.Folder = in.SpamFolder // where readers look for spam; no notice
	}
	return seal(id, out)
}

// notice is the readers' notice of a mail held in quarantine: who sent
// it, when, and why, in the mailbox's INBOX where they look.
func (b *Boundary) notice(in *Inspection, folder string) []byte {
	l := b.c.Lang()
	return b.noticeMail(in, "/notice", VerdictQuarantine, l.T("boundary.notice_subject", map[string]any{"Subject": in.Subject}),
		l.T("boundary.notice", map[string]any{"From": in.FromLine(), "Subject": in.Subject, "Folder": folder})+"\n\n"+in.words(l))
}

// waitingNotice tells the readers that a mail waits for the virus
// scanner or the spam check, and is delivered once checked.
func (b *Boundary) waitingNotice(in *Inspection) []byte {
	l := b.c.Lang()
	return b.noticeMail(in, "/waiting", VerdictWaiting, l.T("boundary.waiting_subject", map[string]any{"Subject": in.Subject}),
		l.T("boundary.waiting", map[string]any{"From": in.FromLine(), "Subject": in.Subject, "Reason": l.Error(in.CheckErr())}))
}

// noticeMail is a notice from the gateway to the mailbox's readers about
// the mail in, marked with its key and suffix, and the mail's verdict.
func (b *Boundary) noticeMail(in *Inspection, suffix, verdict, subject, text string) []byte {
	c := b.c
	var h bytes.Buffer
	from := c.cfg.User.Address
	fmt.Fprintf(&h, "From: %s\r\nTo: <%s>\r\nDate: %s\r\nMessage-ID: %s\r\n", (&mail.Address{Name: c.cfg.User.Name, Address: from}).String(), in.Mailbox,
		c.now().Format(time.RFC1123Z), message.NewMessageID(domainOf(cmp.Or(from, in.Mailbox))))
	fmt.Fprintf(&h, "Subject: %s\r\n%s: %s%s\r\n%s: %s\r\n", mime.QEncoding.Encode("utf-8", subject), HeaderInbound, in.Key, suffix,
		HeaderVerdict, verdict)
	h.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n")
	writeQP(&h, text)
	return h.Bytes()
}

// archive keeps the mail as it came in the archive folder, as evidence.
func (b *Boundary) archive(ctx context.Context, m *outbox.Mail) ([]byte, error) {
	id, err := b.c.identity(ctx, m.Mailbox)
	if err != nil {
		return nil, err
	}
	var raw []byte
	if err := unseal(id, m.Content, &raw); err != nil {
		return nil, err
	}
	_, archive := b.folders()
	// As it came, under one header line that knows it again (outside
	// any signature, as a Received line is).
	kept := append([]byte(HeaderInbound+": "+m.MessageID+"\r\n"), raw...)
	return nil, b.put(ctx, m, archive, HeaderInbound, m.MessageID, kept, true)
}

// deliver puts the inspected mail (or, notice, the readers' notice of
// one in quarantine) where it goes.
func (b *Boundary) deliver(ctx context.Context, m *outbox.Mail, notice bool) error {
	id, err := b.c.identity(ctx, m.Mailbox)
	if err != nil {
		return err
	}
	var out inspected
	if err := unseal(id, m.Steps[stepInspect], &out); err != nil {
		return err
	}
	if notice {
		if out.Notice == nil {
			return nil
		}
		return b.put(ctx, m, "INBOX", HeaderInbound, m.MessageID+"/notice", out.Notice, false)
	}
	return b.put(ctx, m, out.Folder, HeaderInbound, m.MessageID, out.Delivered, false)
}

// put stores msg in the mailbox's folder once: not again when a message
// there has the header name with value.
func (b *Boundary) put(ctx context.Context, m *outbox.Mail, folder, name, value string, msg []byte, seen bool) error {
	c := b.c
	srv, err := c.imapServer()
	if err != nil {
		return err
	}
	acc, err := c.account(ctx, c.actorOf(m).User, m.Mailbox)
	if err != nil {
		return err
	}
	err = srv.Deliver(ctx, acc, folder, name, value, bytes.NewReader(msg), seen)
	return c.tokenRefused(c.cfg.IMAP.MailServer, srv.Addr, acc.Username, err)
}

// believed reports whether mark, the HeaderInbound of a message in
// mailbox, is one the boundary wrote there: the inbound queue holds the
// mail it names. A mark a sender wrote names none (its key is the hash
// of a mail the gateway received) and is not believed.
func (c *Core) believed(ctx context.Context, mailbox, mark string) bool {
	// A notice's mark is its mail's key with a suffix (/notice,
	// /waiting); the key's last word, a hash, has no "/".
	key := mark
	if i := strings.LastIndexByte(mark, ' '); i >= 0 {
		hash, _, _ := strings.Cut(mark[i+1:], "/")
		key = mark[:i+1] + hash
	}
	if !strings.HasPrefix(key, "inbound "+strings.ToLower(mailbox)+" ") {
		return false
	}
	q, err := c.inboundQueue(ctx)
	if err != nil {
		return false
	}
	_, ok, err := q.ByMessageID(ctx, key)
	return ok && err == nil
}

// believedMail reports whether mark is the boundary's mark of a mail it
// delivered (not of one of its notices to the readers).
func (c *Core) believedMail(ctx context.Context, mailbox, mark string) bool {
	return mark != "" && !strings.Contains(mark, "/") && c.believed(ctx, mailbox, mark)
}

// Poll takes what arrived in each secure mailbox's INBOX otherwise than
// through the boundary (for an institution that cannot route the
// mailboxes' mail to the gateway's listener): each message there that
// the boundary did not deliver is kept in the queue, then removed from
// INBOX (the queue archives it as it came, as every mail). It returns
// how many it took.
func (b *Boundary) Poll(ctx context.Context) (int, error) {
	c := b.c
	mbs, err := c.policy.Mailboxes(ctx)
	if err != nil {
		return 0, err
	}
	srv, err := c.imapServer()
	if err != nil {
		return 0, err
	}
	n := 0
	for _, mb := range mbs {
		if mb.Identity == "" {
			continue
		}
		acc, err := c.account(ctx, c.User(), mb.Address)
		if err != nil {
			return n, err
		}
		marks, err := srv.Marks(ctx, acc, "INBOX", HeaderInbound)
		if err != nil {
			return n, err
		}
		for _, uid := range slices.Sorted(maps.Keys(marks)) {
			if mark := marks[uid]; mark != "" && c.believed(ctx, mb.Address, mark) {
				continue
			}
			raw, err := srv.FetchUID(ctx, acc, "INBOX", uid)
			if err != nil {
				return n, err
			}
			if _, err := b.Receive(ctx, mb.Address, raw); err != nil {
				return n, err
			}
			// Kept: out of INBOX. A crash before this takes it again, and
			// the queue knows it.
			if err := srv.Remove(ctx, acc, "INBOX", uid); err != nil {
				return n, err
			}
			n++
		}
	}
	if n > 0 {
		b.queue.Kick()
	}
	return n, nil
}

// passedBoundary reports whether raw, a message of the inbox, is one
// the boundary delivered (its mark names a mail the inbound queue
// holds), and returns the original as it came, from the archive, with
// what the scanner said. A mark nobody can believe is a message like
// any other (ok false); a believed one whose original is gone is an
// error, never a report of the decrypted copy.
func (c *Core) passedBoundary(ctx context.Context, in *inboxAt, raw []byte) (orig []byte, scanned string, ok bool, err error) {
	h, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return nil, "", false, nil
	}
	mark := h.Header.Get(HeaderInbound)
	if !c.believedMail(ctx, in.mailbox, mark) {
		return nil, "", false, nil // none, a sender's, or a notice of the gateway's
	}
	archive := cmp.Or(c.cfg.Boundary.Archive, DefaultArchive)
	found, err := in.srv.FetchBy(ctx, in.acc, archive, HeaderInbound, mark)
	if err != nil {
		return nil, "", true, err
	}
	if len(found) == 0 {
		return nil, "", true, &BoundaryError{Mailbox: in.mailbox, Folder: archive}
	}
	return found[0], h.Header.Get(HeaderScan), true, nil
}

// boundaryBadge is the list's badge of a message the boundary delivered
// (its fields from the list), from the verdict it wrote; ok false for
// any other message, whose badge is its content type's.
func (c *Core) boundaryBadge(ctx context.Context, in *inboxAt, fields map[string]string) (Badge, bool) {
	if !c.believedMail(ctx, in.mailbox, fields[HeaderInbound]) {
		return "", false
	}
	switch {
	case fields[HeaderCipher] != "":
		return BadgeEncrypted, true
	case fields[HeaderSigner] != "":
		return BadgeSigned, true
	}
	return BadgePlain, true
}

// inboundQueue is the inbound queue, for knowing the boundary's marks
// again (opened once, with no steps: this core need not work it).
func (c *Core) inboundQueue(ctx context.Context) (*outbox.Outbox, error) {
	c.inboundMu.Lock()
	defer c.inboundMu.Unlock()
	if c.inbound != nil {
		return c.inbound, nil
	}
	q, err := c.openInbound(ctx)
	if err != nil {
		return nil, err
	}
	c.inbound = q
	return q, nil
}

// BoundaryError is a mail the boundary delivered whose original, as it
// came, is not in the archive: its report cannot be given.
type BoundaryError struct {
	Mailbox, Folder string
}

func (e *BoundaryError) Error() string {
	return fmt.Sprintf("core: %s: the original is not in %s", e.Mailbox, e.Folder)
}

// Localize names the sentence.
func (e *BoundaryError) Localize() i18n.Message {
	return i18n.Message{Key: "boundary.no_original", Args: map[string]any{"Mailbox": e.Mailbox, "Folder": e.Folder}}
}

// InboundList lists the boundary's queue for IT (the helpdesk role, as
// the operator on the gateway's host has): every mail that arrived and
// is not delivered yet, with why it waits or failed. Nothing of a mail's
// content is told.
func (c *Core) InboundList(ctx context.Context) ([]outbox.Mail, error) {
	if err := c.mayAdminister(ctx); err != nil {
		return nil, err
	}
	q, err := c.inboundQueue(ctx)
	if err != nil {
		return nil, err
	}
	all, err := q.List(ctx)
	var out []outbox.Mail
	for _, m := range all {
		if m.State != outbox.Done {
			out = append(out, m)
		}
	}
	return out, err
}

// InboundRetry puts a mail of the boundary's queue back in line now,
// for IT once what stopped it is mended; the gateway's worker takes it.
func (c *Core) InboundRetry(ctx context.Context, id int64) error {
	if err := c.mayAdminister(ctx); err != nil {
		return err
	}
	q, err := c.inboundQueue(ctx)
	if err != nil {
		return err
	}
	return q.Retry(ctx, id)
}

// mayAdminister refuses all but the helpdesk role.
func (c *Core) mayAdminister(ctx context.Context) error {
	ok, err := c.IsHelpdesk(ctx)
	if err != nil {
		return err
	}
	if !ok {
		return &policy.Error{Reason: policy.NotHelpdesk, User: c.User()}
	}
	return nil
}
