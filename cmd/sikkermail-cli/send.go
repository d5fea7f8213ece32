package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"sikkermail/internal/core"
	"sikkermail/internal/message"
	"sikkermail/internal/outbox"
)

// list is a repeatable flag; each value may also hold several, separated
// by commas.
type list []string

func (l *list) String() string { return strings.Join(*l, ",") }
func (l *list) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*l = append(*l, s)
		}
	}
	return nil
}

// attentions is the repeatable --attention CVR=PERSON[;P-NUMBER[;UNIT]].
type attentions struct{ m map[string]core.Attention }

func (a *attentions) String() string { return "" }
func (a *attentions) Set(v string) error {
	cvr, rest, ok := strings.Cut(v, "=")
	cvr = strings.Join(strings.Fields(strings.TrimPrefix(strings.ToUpper(strings.TrimSpace(cvr)), "DK")), "")
	if !ok || cvr == "" {
		return fmt.Errorf("--attention %q: write CVR=person;P-nummer;enhed", v)
	}
	f := strings.Split(rest, ";")
	f = append(f, "", "", "")
	if a.m == nil {
		a.m = map[string]core.Attention{}
	}
	a.m[cvr] = core.Attention{Person: strings.TrimSpace(f[0]), PNumber: strings.TrimSpace(f[1]), Unit: strings.TrimSpace(f[2])}
	return nil
}

// sendCmd runs `send`: queue the mail, then be the worker until its
// receipt arrives (or --wait passes; the mail stays queued).
func (c *cli) sendCmd(args []string) error {
	fs := flag.NewFlagSet("send", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var to, cc, attach list
	from := fs.String("from", "", "")
	fs.Var(&to, "to", "")
	fs.Var(&cc, "cc", "")
	subject := fs.String("subject", "", "")
	bodyFile := fs.String("body-file", "", "")
	noWait := fs.Bool("no-wait", false, "")
	wait := fs.Duration("wait", 2*time.Minute, "")
	allowCPR := fs.Bool("allow-cpr-subject", false, "")
	fs.Var(&attach, "attach", "")
	var attention attentions
	fs.Var(&attention, "attention", "")
	if err := fs.Parse(args); err != nil {
		c.usageError(err)
		return errUsage
	}
	if *from == "" || len(to) == 0 || *bodyFile == "" || fs.NArg() > 0 {
		c.fail(c.lang.T("cli.send.usage", nil))
		return errUsage
	}
	if err := core.SubjectWarning(*subject); err != nil && !*allowCPR {
		return err
	}
	body, err := c.readInput(*bodyFile)
	if err != nil {
		return err
	}
	d := message.Draft{Subject: *subject, Body: string(body)}
	co, err := c.core()
	if err != nil {
		return err
	}
	for _, f := range attach {
		a, err := co.ReadAttachment(f)
		if err != nil {
			return err
		}
		d.Attachments = append(d.Attachments, a)
	}
	ctx := context.Background()
	q, err := co.SendTo(ctx, d, *from, core.Recipients{To: to, Cc: cc, Attention: attention.m})
	var red *core.RedError
	if errors.As(err, &red) {
		c.fail(c.lang.Error(red.Err))
		return errRed{1} // a recipient that cannot receive securely is 1, as for check
	}
	if err != nil {
		return err
	}
	fmt.Fprintln(c.stdout, c.lang.T("cli.send.queued", map[string]any{"ID": q.ID, "MessageID": q.MessageID}))
	if *noWait {
		return nil
	}
	return c.await(ctx, co, q.ID, *wait)
}

// await works the outbox until mail id is done or failed, or until wait
// has passed, and prints the receipt or the reason.
func (c *cli) await(ctx context.Context, co core.API, id int64, wait time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	for {
		_, err := co.Process(ctx)
		if err != nil && !errors.Is(err, outbox.ErrBusy) && ctx.Err() == nil {
			return err
		}
		m, r, err := co.ReceiptOf(context.Background(), id)
		if err != nil {
			return err
		}
		switch {
		case m.State == outbox.Done:
			fmt.Fprint(c.stdout, r.Text(c.lang))
			return nil
		case m.State == outbox.Failed:
			if r != nil {
				// Delivered; a copy is missing.
				fmt.Fprint(c.stdout, r.Text(c.lang))
			}
			c.fail(c.lang.Error(m.Err))
			return errRed{1}
		}
		// Queued: wait for its next try (or for the other worker).
		next := time.Until(m.NextTry)
		if next < 200*time.Millisecond {
			next = 200 * time.Millisecond
		}
		select {
		case <-ctx.Done():
			if m.Err != nil {
				c.fail(c.lang.Error(m.Err))
			}
			c.fail(c.lang.T("cli.send.still_queued", map[string]any{"ID": id}))
			return errRed{1}
		case <-time.After(next):
		}
	}
}

// outboxCmd runs `outbox list|retry|remove`.
func (c *cli) outboxCmd(args []string) error {
	if len(args) == 0 || (args[0] != "list" && len(args) != 2) {
		c.fail(c.lang.T("cli.outbox.usage", nil))
		return errUsage
	}
	co, err := c.core()
	if err != nil {
		return err
	}
	ctx := context.Background()
	if args[0] == "list" {
		mails, err := co.OutboxList(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
		for _, m := range mails {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", m.ID, c.lang.M(m.State.Localize()),
				m.Created.Local().Format("2006-01-02 15:04"), m.Mailbox, strings.Join(m.All(), ", "), m.Subject)
			if m.Err != nil && m.State != outbox.Done {
				fmt.Fprintf(tw, "\t%s\n", c.lang.Error(m.Err))
			}
		}
		return tw.Flush()
	}
	id, err := strconv.ParseInt(args[1], 10, 64)
	if err != nil {
		c.fail(c.lang.T("cli.outbox.usage", nil))
		return errUsage
	}
	switch args[0] {
	case "retry":
		if err := co.Retry(ctx, id); err != nil {
			return err
		}
		return c.await(ctx, co, id, 2*time.Minute)
	case "remove":
		if err := co.Remove(ctx, id); err != nil {
			return err
		}
		fmt.Fprintln(c.stdout, c.lang.T("cli.outbox.removed", map[string]any{"ID": id}))
		return nil
	}
	c.fail(c.lang.T("cli.outbox.usage", nil))
	return errUsage
}
