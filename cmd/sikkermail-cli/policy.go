package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"sikkermail/internal/i18n"
	"sikkermail/internal/policy"
)

// expiryWarning is how long before a mailbox certificate expires that
// `mailbox show` warns.
const expiryWarning = 30 * 24 * time.Hour

// mailboxCmd runs `mailbox list|add|show`.
func (c *cli) mailboxCmd(args []string) error {
	if len(args) == 0 {
		c.fail(c.lang.T("cli.mailbox.usage", nil))
		return errUsage
	}
	co, err := c.core()
	if err != nil {
		return err
	}
	ctx := context.Background()
	switch args[0] {
	case "list":
		choices, err := co.Mailboxes(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
		for _, m := range choices {
			var rights []string
			if m.CanSend {
				rights = append(rights, "send")
			}
			if m.CanRead {
				rights = append(rights, "read")
			}
			if len(rights) == 0 {
				rights = []string{"-"}
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", m.Address, m.Name, m.Department, strings.Join(rights, ","))
		}
		return tw.Flush()
	case "add":
		fs := flag.NewFlagSet("mailbox add", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		var m policy.Mailbox
		fs.StringVar(&m.Name, "name", "", "")
		fs.StringVar(&m.Department, "department", "", "")
		fs.StringVar(&m.Identity, "identity", "", "")
		fs.StringVar(&m.Password, "password", "keyring", "")
		fs.StringVar(&m.SentFolder, "sent", "", "")
		fs.StringVar(&m.InboxFolder, "inbox", "", "")
		fs.StringVar(&m.ContactPoint, "contact-point", "", "")
		if len(args) < 2 || strings.HasPrefix(args[1], "-") {
			c.fail(c.lang.T("cli.mailbox.usage", nil))
			return errUsage
		}
		m.Address = args[1]
		if err := fs.Parse(args[2:]); err != nil {
			c.usageError(err)
			return errUsage
		}
		if m.Name == "" {
			m.Name = m.Address[:max(strings.IndexByte(m.Address, '@'), 0)]
		}
		if m.Identity != "" {
			if m.Identity, err = filepath.Abs(m.Identity); err != nil {
				return err
			}
		}
		if err := co.AddMailbox(ctx, m); err != nil {
			return err
		}
		fmt.Fprintln(c.stdout, c.lang.T("cli.mailbox.added", map[string]any{"Mailbox": strings.ToLower(m.Address)}))
		return nil
	case "show":
		if len(args) != 2 {
			c.fail(c.lang.T("cli.mailbox.usage", nil))
			return errUsage
		}
		o, err := co.MailboxOverview(ctx, args[1])
		if err != nil {
			return err
		}
		m := o.Mailbox
		tw := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
		l := c.lang
		fmt.Fprintf(tw, "%s\t%s\n", l.T("cli.mailbox.address", nil), m.Address)
		fmt.Fprintf(tw, "%s\t%s\n", l.T("cli.mailbox.name", nil), m.Name)
		fmt.Fprintf(tw, "%s\t%s\n", l.T("cli.mailbox.department", nil), m.Department)
		fmt.Fprintf(tw, "%s\t%s / %s\n", l.T("cli.mailbox.folders", nil), m.InboxFolder, m.SentFolder)
		if m.ContactPoint != "" {
			fmt.Fprintf(tw, "%s\t%s\n", l.T("cli.mailbox.contact_point", nil), m.ContactPoint)
		}
		for _, h := range o.Holders {
			fmt.Fprintf(tw, "%s\t%s %s\n", l.T("cli.mailbox.holder", nil), h.User, joinRights(h.Rights))
		}
		if o.NoIdentity {
			fmt.Fprintf(tw, "%s\t%s\n", l.T("cli.mailbox.certificate", nil), l.T("cli.mailbox.no_identity", nil))
			return tw.Flush()
		}
		cert := o.Certificate
		if o.CertErr != nil {
			return o.CertErr
		}
		fmt.Fprintf(tw, "%s\t%s\n", l.T("cli.mailbox.certificate", nil), cert.Subject.String())
		fmt.Fprintf(tw, "%s\t%s\n", l.T("cli.mailbox.issuer", nil), cert.Issuer.String())
		fmt.Fprintf(tw, "%s\t%s\n", l.T("cli.mailbox.expires", nil), cert.NotAfter.UTC().Format(time.DateOnly))
		if err := tw.Flush(); err != nil {
			return err
		}
		if left := time.Until(cert.NotAfter); left < expiryWarning {
			key := "cli.mailbox.expires_soon"
			if left < 0 {
				key = "cli.mailbox.expired"
			}
			c.fail(l.T(key, map[string]any{"Mailbox": m.Address, "Date": cert.NotAfter.UTC().Format(time.DateOnly), "Days": int(left.Hours() / 24)}))
		}
		return nil
	}
	c.fail(c.lang.T("cli.unknown_command", map[string]any{"Command": "mailbox " + args[0]}))
	return errUsage
}

// rightsCmd runs `rights list|grant|revoke`.
func (c *cli) rightsCmd(args []string) error {
	if len(args) == 0 {
		c.fail(c.lang.T("cli.rights.usage", nil))
		return errUsage
	}
	co, err := c.core()
	if err != nil {
		return err
	}
	ctx := context.Background()
	switch args[0] {
	case "list":
		who := co.User()
		if len(args) > 1 {
			who = args[1]
		}
		var rows map[string][]policy.Right
		if _, merr := co.Mailbox(ctx, who); merr == nil {
			rows, err = co.Holders(ctx, who) // a mailbox: who holds which rights
		} else {
			rows, err = co.Rights(ctx, who) // a person: which mailboxes
		}
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
		for _, k := range sortedKeys(rows) {
			fmt.Fprintf(tw, "%s\t%s\n", k, joinRights(rows[k]))
		}
		return tw.Flush()
	case "grant", "revoke":
		if len(args) != 4 {
			c.fail(c.lang.T("cli.rights.usage", nil))
			return errUsage
		}
		r, err := policy.ParseRight(args[3])
		if err != nil {
			return err
		}
		change, done := co.Grant, "cli.rights.granted"
		if args[0] == "revoke" {
			change, done = co.Revoke, "cli.rights.revoked"
		}
		if err := change(ctx, args[1], args[2], r); err != nil {
			return err
		}
		fmt.Fprintln(c.stdout, c.lang.T(done, map[string]any{"User": strings.ToLower(args[1]), "Mailbox": strings.ToLower(args[2]), "Right": i18n.Message{Key: "right." + string(r)}}))
		return nil
	}
	c.fail(c.lang.T("cli.unknown_command", map[string]any{"Command": "rights " + args[0]}))
	return errUsage
}

// auditCmd runs `audit [--since DATE|DURATION]`.
func (c *cli) auditCmd(args []string) error {
	if len(args) > 0 && args[0] == "verify" {
		return c.auditVerify()
	}
	fs := flag.NewFlagSet("audit", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	since := fs.String("since", "", "")
	if err := fs.Parse(args); err != nil {
		c.usageError(err)
		return errUsage
	}
	var from time.Time
	if *since != "" {
		if d, err := time.ParseDuration(*since); err == nil {
			from = time.Now().Add(-d)
		} else if t, err := time.ParseInLocation(time.DateOnly, *since, time.Local); err == nil {
			from = t
		} else {
			c.fail(c.lang.T("cli.audit.since", map[string]any{"Since": *since}))
			return errUsage
		}
	}
	co, err := c.core()
	if err != nil {
		return err
	}
	entries, err := co.AuditLog(context.Background(), from)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
	for _, e := range entries {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.Time.Local().Format(time.DateTime), e.Actor.Machine, e.Actor.User,
			e.Action, e.Mailbox, e.Subject, dash(string(e.Right)), dash(e.MessageID))
	}
	return tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func joinRights(rs []policy.Right) string {
	s := make([]string, len(rs))
	for i, r := range rs {
		s[i] = string(r)
	}
	return strings.Join(s, ",")
}

func sortedKeys(m map[string][]policy.Right) []string { return slices.Sorted(maps.Keys(m)) }

// auditVerify checks the audit log's chain: exit 0 when it is whole, 1
// when a line was changed or removed, naming the first line concerned.
func (c *cli) auditVerify() error {
	co, err := c.core()
	if err != nil {
		return err
	}
	r, err := co.VerifyAudit(context.Background())
	if err != nil {
		return err
	}
	args := map[string]any{"Entries": r.Entries, "Chained": r.Chained, "Broken": r.Broken}
	switch {
	case r.Broken != 0:
		c.fail(c.lang.T("cli.audit.broken", args))
	case r.Missing:
		c.fail(c.lang.T("cli.audit.missing", args))
	default:
		fmt.Fprintln(c.stdout, c.lang.T("cli.audit.whole", args))
		return nil
	}
	return errRed{1}
}
