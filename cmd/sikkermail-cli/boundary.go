package main

import (
	"context"
	"fmt"
	"strconv"
	"text/tabwriter"

	"sikkermail/internal/outbox"
)

// boundaryQueue is what the boundary's queue offers IT on the gateway's
// host (a core on the institution's database).
type boundaryQueue interface {
	InboundList(ctx context.Context) ([]outbox.Mail, error)
	InboundRetry(ctx context.Context, id int64) error
}

// boundaryCmd lists the mails the gateway's boundary has not delivered,
// with why, and retries one: sikkermail-cli --config gateway.toml
// boundary list | retry NR.
func (c *cli) boundaryCmd(args []string) error {
	if len(args) == 0 || (args[0] == "list") != (len(args) == 1) || (args[0] != "list" && args[0] != "retry") {
		c.fail(c.lang.T("cli.boundary.usage", nil))
		return errUsage
	}
	co, err := c.core()
	if err != nil {
		return err
	}
	q, ok := co.(boundaryQueue)
	if !ok {
		c.fail(c.lang.T("cli.boundary.not_here", nil))
		return errUsage
	}
	ctx := context.Background()
	if args[0] == "retry" {
		id, err := strconv.ParseInt(args[1], 10, 64)
		if err != nil {
			c.fail(c.lang.T("cli.boundary.usage", nil))
			return errUsage
		}
		if err := q.InboundRetry(ctx, id); err != nil {
			return err
		}
		fmt.Fprintln(c.stdout, c.lang.T("cli.boundary.retried", map[string]any{"ID": id}))
		return nil
	}
	mails, err := q.InboundList(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
	for _, m := range mails {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\n", m.ID, c.lang.M(m.State.Localize()), m.Created.Local().Format("2006-01-02 15:04"), m.Mailbox, m.Attempts)
		if m.Err != nil {
			fmt.Fprintf(tw, "\t%s\n", c.lang.Error(m.Err))
		}
	}
	return tw.Flush()
}
