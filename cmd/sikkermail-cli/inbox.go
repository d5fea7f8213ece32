package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"sikkermail/internal/core"
	"sikkermail/internal/message"
)

// inboxCmd runs `inbox list|show|save|forward|handled MAILBOX ...`: a
// reader's view of a secure mailbox.
func (c *cli) inboxCmd(args []string) error {
	if len(args) < 2 {
		c.fail(c.lang.T("cli.inbox.usage", nil))
		return errUsage
	}
	verb, mailbox, rest := args[0], args[1], args[2:]
	co, err := c.core()
	if err != nil {
		return err
	}
	ctx := context.Background()
	if verb == "list" {
		if len(rest) != 0 {
			c.fail(c.lang.T("cli.inbox.usage", nil))
			return errUsage
		}
		list, err := co.InboxList(ctx, mailbox)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
		for _, m := range list {
			handled := "-"
			if m.Handled {
				handled = c.lang.T("cli.inbox.handled", nil)
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", m.UID, m.Date.Local().Format("2006-01-02 15:04"), c.lang.M(m.Badge.Localize()),
				handled, message.Printable(m.From, false), c.lang.Size(m.Size), message.Printable(m.Subject, false))
		}
		return tw.Flush()
	}
	fs := flag.NewFlagSet("inbox "+verb, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var to list
	fs.Var(&to, "to", "")
	note := fs.String("note", "", "")
	dir := fs.String("dir", ".", "")
	undo := fs.Bool("undo", false, "")
	if len(rest) == 0 {
		c.fail(c.lang.T("cli.inbox.usage", nil))
		return errUsage
	}
	uid, err := strconv.ParseUint(rest[0], 10, 32)
	if err != nil {
		c.fail(c.lang.T("cli.inbox.usage", nil))
		return errUsage
	}
	if err := fs.Parse(rest[1:]); err != nil {
		c.usageError(err)
		return errUsage
	}
	if verb == "handled" {
		return co.MarkHandled(ctx, mailbox, uint32(uid), !*undo)
	}
	m, err := co.InboxOpen(ctx, mailbox, uint32(uid))
	if err != nil {
		return err
	}
	switch verb {
	case "show":
		return c.showMail(m)
	case "save":
		return c.saveAttachments(m, *dir)
	case "forward":
		q, err := co.Forward(ctx, m, to, *note)
		if err != nil {
			return err
		}
		fmt.Fprintln(c.stdout, c.lang.T("cli.send.queued", map[string]any{"ID": q.ID, "MessageID": q.MessageID}))
		return c.await(ctx, co, q.ID, 2*time.Minute)
	}
	c.fail(c.lang.T("cli.inbox.usage", nil))
	return errUsage
}

// showMail prints the security report, the header, the text and the
// attachments. A message that did not come securely exits 1.
//
// Everything the mail brings (names, subject, text, file names, and the
// certificates' names in the report) is made printable first, so that
// no escape sequence reaches the terminal: a mail cannot draw its own
// "Sendt sikkert" line.
func (c *cli) showMail(m *core.OpenedMail) error {
	l := c.lang
	line := func(s string) string { return message.Printable(s, false) }
	fmt.Fprintln(c.stdout, line(m.Report.Summary(l)))
	for _, d := range m.Report.Details(l) {
		fmt.Fprintln(c.stdout, "  "+line(d))
	}
	fmt.Fprintln(c.stdout)
	fmt.Fprintf(c.stdout, "%s: %s\n%s: %s\n%s: %s\n", l.T("cli.inbox.from", nil), line(m.FromLine()), l.T("cli.inbox.date", nil),
		m.Date.Local().Format("2006-01-02 15:04"), l.T("cli.inbox.subject", nil), line(m.Subject))
	if m.Content != nil {
		fmt.Fprintln(c.stdout)
		fmt.Fprintln(c.stdout, message.Printable(strings.TrimRight(m.Content.Text, "\n"), true))
		for _, a := range m.Content.Attachments {
			fmt.Fprintf(c.stdout, "%s: %s (%s)\n", l.T("cli.inbox.attachment", nil), line(a.Name), l.Size(int64(len(a.Data))))
		}
	}
	if !m.Report.Secure() {
		return errRed{1}
	}
	return nil
}

// saveAttachments writes each attachment into dir under a name any PC
// takes (message.SafeFileName), never over a file that is there (a
// second "notat.pdf" is saved as "notat (2).pdf"), never outside dir.
func (c *cli) saveAttachments(m *core.OpenedMail, dir string) error {
	if m.Content == nil {
		return m.Report.Err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return &core.FileError{File: dir, Err: err}
	}
	for _, a := range m.Content.Attachments {
		path, err := core.SaveAttachment(dir, a)
		if err != nil {
			return err
		}
		fmt.Fprintln(c.stdout, message.Printable(path, false))
	}
	return nil
}
