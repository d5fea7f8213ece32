package core

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"mime"
	"net/mail"
	"strings"
	"time"

	"sikkermail/internal/message"
	"sikkermail/internal/outbox"
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

// Default folders of a secure mailbox at the boundary.
const (
	DefaultQuarantine = "Sikkermail/Karantæne"
	DefaultArchive    = "Sikkermail/Arkiv"
)

// Boundary is the gateway's inbound side at work.
type Boundary struct {
	c       *Core
	queue   *outbox.Outbox
	scanner Scanner
}

// inspected is the inspect step's output, sealed for the mailbox.
type inspected struct {
	Verdict, Folder string
	Delivered       []byte
	// Notice is the readers' notice of a mail in quarantine; nil else.
	Notice []byte
}

// OpenBoundary opens the inbound queue in the store, its mails scanned
// by s.
func (c *Core) OpenBoundary(ctx context.Context, s Scanner) (*Boundary, error) {
	b := &Boundary{c: c, scanner: s}
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
	if c.store.Dialect == store.PostgreSQL {
		b.queue, err = outbox.OpenShared(ctx, c.store, steps...)
	} else {
		b.queue, err = outbox.Open(c.db, c.dbPath+".inbound.lock", steps...)
	}
	if err != nil {
		return nil, &FileError{File: c.storeName(), Err: err}
	}
	b.queue.Queue = InboundQueue
	b.queue.Lease, b.queue.Workers, b.queue.Now = c.outbox.Lease, c.outbox.Workers, c.Now
	return b, nil
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
	c := b.c
	mailbox = strings.ToLower(strings.TrimSpace(mailbox))
	id, err := c.identity(ctx, mailbox)
	if err != nil {
		return 0, err
	}
	key := inboundKey(mailbox, raw)
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
	c := b.c
	id, err := c.identity(ctx, m.Mailbox)
	if err != nil {
		return nil, err
	}
	var raw []byte
	if err := unseal(id, m.Content, &raw); err != nil {
		return nil, err
	}
	in, err := c.Inspect(ctx, m.Mailbox, raw, b.scanner)
	if err != nil {
		return nil, err
	}
	if in.ScanErr != nil && c.cfg.Boundary.ScannerDown != "quarantine" && outbox.Temporary(in.ScanErr) {
		return nil, in.ScanErr // it waits for the scanner
	}
	in.Key = m.MessageID
	l := c.Lang()
	out := inspected{Verdict: in.Verdict(), Folder: "INBOX"}
	if out.Delivered, err = in.Delivered(l); err != nil {
		return nil, err
	}
	if in.Quarantine() {
		quarantine, _ := b.folders()
		out.Folder = quarantine
		out.Notice = b.notice(in, quarantine)
	}
	return seal(id, out)
}

// notice is the readers' notice of a mail held in quarantine: who sent
// it, when, and why, in the mailbox's INBOX where they look.
func (b *Boundary) notice(in *Inspection, folder string) []byte {
	c := b.c
	l := c.Lang()
	var h bytes.Buffer
	from := c.cfg.User.Address
	fmt.Fprintf(&h, "From: %s\r\nTo: <%s>\r\nDate: %s\r\nMessage-ID: %s\r\n", (&mail.Address{Name: c.cfg.User.Name, Address: from}).String(), in.Mailbox,
		c.now().Format(time.RFC1123Z), message.NewMessageID(domainOf(cmp.Or(from, in.Mailbox))))
	fmt.Fprintf(&h, "Subject: %s\r\n%s: %s/notice\r\n%s: %s\r\n", mime.QEncoding.Encode("utf-8", l.T("boundary.notice_subject", map[string]any{"Subject": in.Subject})),
		HeaderInbound, in.Key, HeaderVerdict, VerdictQuarantine)
	h.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n")
	text := l.T("boundary.notice", map[string]any{"From": in.FromLine(), "Subject": in.Subject, "Folder": folder}) + "\n\n" + in.words(l)
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
