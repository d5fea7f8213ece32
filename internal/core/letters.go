package core

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"mime"
	"net/mail"
	"strings"
	"time"

	"sikkermail/internal/digitalpost"
	"sikkermail/internal/i18n"
	"sikkermail/internal/message"
)

// Letters to the institution through Digital Post: a citizen writes to
// one of its contact points from their own Digital Post. The gateway
// fetches each letter, keeps it in the boundary's queue (the MeMo as it
// came, sealed for the mailbox whose contact point it is for), and only
// then deletes it at the service; the queue's steps scan it, archive the
// MeMo as evidence, and deliver it into the mailbox as a mail with the
// MeMo's documents, the sender's CPR number masked in the subject. A
// reply goes back through Digital Post to the sender's number.

// HeaderDigitalPost names, on a letter the boundary delivered, the
// sender's number, which a reply goes to through Digital Post.
const HeaderDigitalPost = "Sikkermail-Digital-Post"

// FetchLetters takes the letters waiting for the institution at Digital
// Post into the queue, each into the mailbox whose contact point it is
// for, and returns how many it took. A letter for no mailbox's contact
// point, or that is no letter, stays at the service (never lost), and is
// in the error returned, for IT.
func (b *Boundary) FetchLetters(ctx context.Context) (int, error) {
	c := b.c
	if c.dp == nil {
		return 0, nil
	}
	ids, err := c.dp.LetterIDs(ctx)
	if err != nil {
		return 0, err
	}
	mbs, err := c.policy.Mailboxes(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	var left []error
	for _, id := range ids {
		memo, err := c.dp.FetchLetter(ctx, id)
		if errors.Is(err, digitalpost.ErrLetterGone) {
			continue // another instance took it
		}
		if err != nil {
			return n, err
		}
		l, err := digitalpost.ParseLetter(memo)
		if err != nil {
			left = append(left, fmt.Errorf("letter %s: %w", id, err))
			continue
		}
		mailbox := ""
		for _, mb := range mbs {
			if mb.ContactPoint != "" && strings.EqualFold(mb.ContactPoint, l.ContactPoint) && mb.Identity != "" {
				mailbox = mb.Address
			}
		}
		if mailbox == "" {
			left = append(left, fmt.Errorf("letter %s: no secure mailbox has the contact point %q", id, l.ContactPoint))
			continue
		}
		if _, err := b.Receive(ctx, mailbox, memo); err != nil {
			return n, err
		}
		// Kept: now it may go at the service. A crash before this fetches
		// it again, and the queue knows it.
		if err := c.dp.DeleteLetter(ctx, id); err != nil {
			return n, err
		}
		n++
	}
	if n > 0 {
		b.queue.Kick()
	}
	return n, errors.Join(left...)
}

// isLetter reports whether raw, as the queue keeps it, is a MeMo (a
// letter through Digital Post) rather than a mail: a mail never starts
// with "<".
func isLetter(raw []byte) bool {
	return bytes.HasPrefix(bytes.TrimLeft(raw, " \t\r\n\ufeff"), []byte("<"))
}

// letterNumber is how a letter's sender is named: masked for a CPR
// number, as everywhere a subject or a list shows it.
func letterNumber(l *digitalpost.Letter) string {
	if l.SenderKind == digitalpost.CPR && len(l.Sender) == 10 {
		return "CPR " + l.Sender[:6] + "-xxxx"
	}
	return string(l.SenderKind) + " " + l.Sender
}

// letterDraft is what a letter holds, as a mail's content: the main
// document as the text when it is text, and every document attached.
func letterDraft(l *digitalpost.Letter) message.Draft {
	var d message.Draft
	for i, doc := range l.Documents {
		if i == 0 && strings.HasPrefix(doc.ContentType, "text/plain") {
			d.Body = string(doc.Data)
			continue
		}
		d.Attachments = append(d.Attachments, message.Attachment{Name: doc.Name, ContentType: doc.ContentType, Data: doc.Data})
	}
	return d
}

// inspectLetter is Inspect for a letter: it scans the letter's
// documents, as the mail they are delivered as.
func (b *Boundary) inspectLetter(ctx context.Context, mailbox string, raw []byte) (*Inspection, error) {
	c := b.c
	l, err := digitalpost.ParseLetter(raw)
	if err != nil {
		return nil, err // it was read before it was kept: this does not pass with time
	}
	entity, err := message.Entity(letterDraft(l))
	if err != nil {
		return nil, err
	}
	from, subject := letterHeader(c.Lang(), l, mailbox)
	var h bytes.Buffer
	fmt.Fprintf(&h, "From: %s\r\nTo: <%s>\r\nDate: %s\r\nMessage-ID: <%s@digitalpost.invalid>\r\nSubject: %s\r\n\r\n",
		from.String(), mailbox, cmpTime(l.Created, c.now()).Format(time.RFC1123Z), l.UUID, mime.QEncoding.Encode("utf-8", subject))
	in := &Inspection{OpenedMail: &OpenedMail{Mailbox: mailbox, From: []*mail.Address{from}, Subject: subject, Report: Report{Letter: letterReport(l)}},
		Entity: entity, raw: h.Bytes()}
	in.Scanned, in.ScanErr = scanWith(ctx, b.scanner, entity)
	return in, nil
}

// letterHeader is who a letter is from, as a mail of the mailbox tells
// it (its sender through Digital Post), and its subject.
func letterHeader(lang i18n.Lang, l *digitalpost.Letter, mailbox string) (*mail.Address, string) {
	from := &mail.Address{Name: strings.TrimSpace(l.SenderName + " " + lang.T("letter.via", nil)), Address: mailbox}
	return from, lang.T("letter.subject", map[string]any{"Number": letterNumber(l), "Label": l.Label})
}

func cmpTime(t, otherwise time.Time) time.Time {
	if t.IsZero() {
		return otherwise
	}
	return t
}

// LetterReport is how a letter through Digital Post came: from whom (the
// number masked for a CPR number), and the number a reply goes to.
type LetterReport struct {
	// Label is the letter's own title, which a reply answers.
	Number, Name, Label string
	// ReplyTo is the sender's number, whole: a reply goes there through
	// Digital Post.
	ReplyTo string
}

func letterReport(l *digitalpost.Letter) *LetterReport {
	return &LetterReport{Number: letterNumber(l), Name: l.SenderName, Label: l.Label, ReplyTo: l.Sender}
}

// openLetter is a letter the boundary delivered, as a reader opens it:
// from the MeMo as it came.
func (c *Core) openLetter(memo []byte, mailbox string, uid uint32) *OpenedMail {
	m := &OpenedMail{Mailbox: mailbox, UID: uid}
	l, err := digitalpost.ParseLetter(memo)
	if err != nil {
		m.Report.Err = err
		return m
	}
	from, subject := letterHeader(c.Lang(), l, mailbox)
	m.From, m.Subject = []*mail.Address{from}, subject
	m.Date, m.MessageID = l.Created, "<"+l.UUID+"@digitalpost.invalid>"
	d := letterDraft(l)
	m.Content = &message.Received{Text: d.Body, Attachments: d.Attachments}
	m.Report.Letter = letterReport(l)
	return m
}
