package core

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"sikkermail/internal/i18n"
	"sikkermail/internal/mailtest"
	"sikkermail/internal/message"
	"sikkermail/internal/outbox"
)

// Faults across the send path. For each: nothing is lost (the mail is in
// the outbox, waiting or failed), nothing goes out in plaintext, and the
// reason is a sentence that names what failed.
func TestSendFaults(t *testing.T) {
	for _, tc := range []struct {
		name string
		// inject breaks something after the mail is queued; heal mends it.
		inject, heal func(e *sendEnv, c *Core)
		state        outbox.State
		words        []string
	}{
		{"SMTP 451", func(e *sendEnv, c *Core) { e.smtp.SetFault(fault(451, mailtest.StageRcpt)) }, func(e *sendEnv, c *Core) { e.smtp.SetFault(nil) },
			outbox.Queued, []string{"451"}},
		{"SMTP 554 after DATA", func(e *sendEnv, c *Core) {
			e.smtp.SetFault(func(st mailtest.Stage, _ string) error {
				if st == mailtest.StageData {
					return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "rejected by policy"}
				}
				return nil
			})
		}, func(e *sendEnv, c *Core) { e.smtp.SetFault(nil) }, outbox.Failed, []string{"554 5.7.1", "serverens regler tillader det ikke"}},
		{"SMTP silent", func(e *sendEnv, c *Core) {
			e.smtp.SetFault(func(st mailtest.Stage, _ string) error {
				if st == mailtest.StageData {
					return mailtest.ErrStall
				}
				return nil
			})
			c.cfg.SMTP.Timeout.Duration = 300 * time.Millisecond
		}, func(e *sendEnv, c *Core) { e.smtp.SetFault(nil); c.cfg.SMTP.Timeout.Duration = 5 * time.Second }, outbox.Queued, []string{e2eHost}},
		{"SMTP certificate for another host", func(e *sendEnv, c *Core) { e.smtp.TLS.Present(t, mailtest.WrongName) },
			func(e *sendEnv, c *Core) { e.smtp.TLS.Present(t, mailtest.Good) }, outbox.Failed, []string{e2eHost, "certifikat"}},
		{"SMTP certificate expired", func(e *sendEnv, c *Core) { e.smtp.TLS.Present(t, mailtest.Expired) },
			func(e *sendEnv, c *Core) { e.smtp.TLS.Present(t, mailtest.Good) }, outbox.Failed, []string{e2eHost, "certifikat"}},
		{"SMTP certificate self-signed", func(e *sendEnv, c *Core) { e.smtp.TLS.Present(t, mailtest.SelfSigned) },
			func(e *sendEnv, c *Core) { e.smtp.TLS.Present(t, mailtest.Good) }, outbox.Failed, []string{e2eHost, "certifikat"}},
		{"IMAP cut during APPEND", func(e *sendEnv, c *Core) { e.imap.DropAppends(1) }, func(e *sendEnv, c *Core) {},
			outbox.Queued, []string{e2eHost}},
		{"IMAP certificate expired", func(e *sendEnv, c *Core) { e.imap.TLS.Present(t, mailtest.Expired) },
			func(e *sendEnv, c *Core) { e.imap.TLS.Present(t, mailtest.Good) }, outbox.Failed, []string{e2eHost}},
		{"recipient's certificate expires before the send", func(e *sendEnv, c *Core) { c.dir.Trust.Time = time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC) },
			func(e *sendEnv, c *Core) { c.dir.Trust.Time = time.Time{} }, outbox.Failed, []string{external, "udløb"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newSendEnv(t)
			c := e.core(t)
			ctx := context.Background()
			clock := time.Now()
			c.outbox.Now = func() time.Time { return clock }
			q, err := c.Send(ctx, draft, sendMailbox, []string{external}, nil)
			if err != nil {
				t.Fatal(err)
			}
			tc.inject(e, c)
			c.outbox.Process(ctx)
			m, err := c.outbox.Get(ctx, q.ID)
			if err != nil {
				t.Fatalf("the mail is gone: %v", err)
			}
			if m.State != tc.state || m.Err == nil {
				t.Fatalf("state %s, want %s; reason %v", m.State, tc.state, m.Err)
			}
			if m.Err.Temporary != (tc.state == outbox.Queued) {
				t.Errorf("temporary=%v in state %s", m.Err.Temporary, m.State)
			}
			said := i18n.Danish.M(m.Err.Message)
			for _, w := range tc.words {
				if !strings.Contains(said, w) {
					t.Errorf("the reason %q does not say %q", said, w)
				}
			}
			// A server's own words may quote the mail: they are neither
			// shown nor kept in the database.
			db, _ := os.ReadFile(e.cfg.Database)
			wal, _ := os.ReadFile(e.cfg.Database + "-wal")
			if bytes.Contains(append(db, wal...), []byte("rejected by policy")) || strings.Contains(said, "rejected by policy") {
				t.Error("the server's words are kept")
			}
			noPlaintext(t, e)
			// Mended, and retried by the user (failed) or by the backoff
			// (waiting): delivered, once.
			tc.heal(e, c)
			if m.State == outbox.Failed {
				if err := c.outbox.Retry(ctx, q.ID); err != nil {
					t.Fatal(err)
				}
			}
			clock = clock.Add(time.Hour)
			c.outbox.Process(ctx)
			if m, _ = c.outbox.Get(ctx, q.ID); m.State != outbox.Done {
				t.Fatalf("after mending: %s %v", m.State, m.Err)
			}
			if n := len(e.smtp.Received()); n != 1 {
				t.Errorf("%d submissions, want 1", n)
			}
			noPlaintext(t, e)
			srv, _ := c.imapServer()
			acc, _ := c.account(ctx, c.User(), sendMailbox)
			if copies, err := srv.Fetch(ctx, acc, "Sendt post", q.MessageID); err != nil || len(copies) != 1 {
				t.Errorf("%d Sent copies, %v", len(copies), err)
			}
		})
	}
}

// e2eHost is how the loopback servers are named in sentences.
const e2eHost = "127.0.0.1"

// noPlaintext fails if anything the server took to an outside address
// holds the mail's text.
func noPlaintext(t *testing.T, e *sendEnv) {
	t.Helper()
	for _, m := range e.smtp.Received() {
		if bytes.Contains(m.Data, []byte("Hermed afgørelsen")) {
			t.Fatalf("plaintext to %v", m.To)
		}
	}
}

// A full disk: Send refuses with the sentence and queues nothing; when
// the disk fills while the worker runs, nothing is sent before its step
// is recorded, the mail waits, and it goes once when there is room.
func TestFullDisk(t *testing.T) {
	e := newSendEnv(t)
	c := e.core(t)
	ctx := context.Background()
	c.db.SetMaxOpenConns(1)
	full := func(on bool) {
		t.Helper()
		limit := int64(1 << 30)
		if on {
			if err := c.db.QueryRowContext(ctx, "PRAGMA page_count").Scan(&limit); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := c.db.ExecContext(ctx, fmt.Sprintf("PRAGMA max_page_count = %d", limit)); err != nil {
			t.Fatal(err)
		}
		// The outbox's files cannot grow either.
		if on {
			fileSizeLimit(t, 64<<10)
		} else {
			fileSizeLimit(t, -1)
		}
	}
	t.Cleanup(func() { fileSizeLimit(t, -1) })
	big := draft
	big.Attachments = []message.Attachment{{Name: "scanning.pdf", Data: bytes.Repeat([]byte("%PDF scanning "), 200<<10)}}

	full(true)
	_, err := c.Send(ctx, big, sendMailbox, []string{external}, nil)
	if said := i18n.Danish.Error(err); err == nil || !strings.Contains(said, e.cfg.Database) || !strings.Contains(said, "ikke i udbakken") ||
		strings.Contains(said, "den venter") {
		t.Fatalf("Send on a full disk: %v (%s)", err, said)
	}
	full(false)
	if list, _ := c.OutboxList(ctx); len(list) != 0 {
		t.Fatalf("%d queued", len(list))
	}

	q, err := c.Send(ctx, big, sendMailbox, []string{external}, nil)
	if err != nil {
		t.Fatal(err)
	}
	full(true)
	_, err = c.outbox.Process(ctx)
	if said := i18n.Danish.Error(err); err == nil || !strings.Contains(said, "Er disken fuld") || !strings.Contains(said, e.cfg.Database) || c.outbox.Stalled() == nil {
		t.Errorf("the worker on a full disk says %q", said)
	}
	if n := len(e.smtp.Received()); n != 0 {
		t.Fatalf("%d sent before the build was recorded", n)
	}
	full(false)
	if m, _ := c.outbox.Get(ctx, q.ID); m == nil || m.State != outbox.Queued {
		t.Fatalf("the mail: %+v", m)
	}
	if n, err := c.outbox.Process(ctx); n != 1 || err != nil {
		t.Fatal(n, err)
	}
	if n := len(e.smtp.Received()); n != 1 || c.outbox.Stalled() != nil {
		t.Errorf("%d submissions; stalled: %v", n, c.outbox.Stalled())
	}
}

// Limits per channel, said with the numbers before anything is queued;
// the server's own SIZE limit ends a submission before the data.
func TestLimits(t *testing.T) {
	e := newSendEnv(t)
	e.withDigitalPost(t)
	e.cfg.SMTP.MaxMessageSize = 1 << 20
	e.cfg.DigitalPost.MaxMessageSize = 2 << 20
	e.cfg.SMTP.MaxRecipients = 3
	c := e.core(t)
	ctx := context.Background()
	big := draft
	big.Attachments = []message.Attachment{{Name: "scanning.pdf", Data: make([]byte, 900<<10)}}
	var le *LimitError
	_, err := c.Send(ctx, big, sendMailbox, []string{external}, nil)
	if !errors.As(err, &le) || le.Reason != "too_large_email" ||
		!strings.Contains(i18n.Danish.Error(err), "fylder 900 kB") || !strings.Contains(i18n.Danish.Error(err), "de 1,0 MB") {
		t.Errorf("too large for e-mail: %v: %s", err, i18n.Danish.Error(err))
	}
	// The same mail goes through Digital Post, which takes more.
	if _, err := c.Send(ctx, big, sendMailbox, []string{cprRegistered}, nil); err != nil {
		t.Errorf("to a CPR number: %v", err)
	}
	bigger := draft
	bigger.Attachments = []message.Attachment{{Name: "scanning.pdf", Data: make([]byte, 2<<20)}}
	if _, err := c.Send(ctx, bigger, sendMailbox, []string{cprRegistered}, nil); !errors.As(err, &le) || le.Reason != "too_large_digitalpost" ||
		!strings.Contains(i18n.Danish.Error(err), cprRegistered) {
		t.Errorf("too large for Digital Post: %v", err)
	}
	if _, err := c.Send(ctx, draft, sendMailbox, []string{external, colleague, cprRegistered, cvrRegistered}, nil); !errors.As(err, &le) ||
		le.Reason != "too_many_recipients" || !strings.Contains(i18n.Danish.Error(err), "4 modtagere") {
		t.Errorf("too many: %v", err)
	}
	if list, _ := c.OutboxList(ctx); len(list) != 1 {
		t.Fatalf("%d queued, want only the letter", len(list))
	}

	// A server that takes less than the settings say refuses at MAIL
	// FROM (SIZE): permanent, with its words, nothing sent.
	c.outbox.Remove(ctx, 1)
	c.cfg.SMTP.MaxMessageSize = 50 << 20
	e.smtp.MaxSize(64 << 10)
	q, err := c.Send(ctx, big, sendMailbox, []string{external}, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.outbox.Process(ctx)
	m, _ := c.outbox.Get(ctx, q.ID)
	if m.State != outbox.Failed || len(e.smtp.Received()) != 0 || !strings.Contains(i18n.Danish.M(m.Err.Message), "552") {
		t.Fatalf("%s %v, %d received", m.State, m.Err, len(e.smtp.Received()))
	}
}

// TestPartialDelivery: an internal recipient refused after the outside
// recipient got the mail. The reason says who has it (not "nobody"), the
// audit log records it, and Prøv igen sends only to the internal one.
func TestPartialDelivery(t *testing.T) {
	e := newSendEnv(t)
	c := e.core(t)
	ctx := context.Background()
	refuse := true
	e.smtp.SetFault(func(st mailtest.Stage, arg string) error {
		if refuse && st == mailtest.StageRcpt && arg == colleague {
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
		}
		return nil
	})
	q, err := c.Send(ctx, draft, sendMailbox, []string{external}, []string{colleague})
	if err != nil {
		t.Fatal(err)
	}
	c.outbox.Process(ctx)
	m, err := c.outbox.Get(ctx, q.ID)
	if err != nil || m.State != outbox.Failed {
		t.Fatalf("state %v, %v", m.State, err)
	}
	said := i18n.Danish.M(m.Err.Message)
	for _, w := range []string{colleague, "550 5.1.1 (adressen findes ikke)", external + " har fået mailen og får den ikke igen"} {
		if !strings.Contains(said, w) {
			t.Errorf("%q does not say %q", said, w)
		}
	}
	if strings.Contains(said, "Ingen har fået") {
		t.Errorf("%q says nobody got it", said)
	}
	entries, err := c.local.Sends(ctx, q.MessageID)
	if err != nil {
		t.Fatal(err)
	}
	all, _ := c.local.Audit(ctx, time.Time{})
	partial := 0
	for _, en := range all {
		if en.Action == "send-partial" && en.MessageID == q.MessageID && en.Subject == external {
			partial++
		}
	}
	if partial != 1 || len(entries) != 0 {
		t.Errorf("audit: %d partial entries for %s, %d sends", partial, external, len(entries))
	}
	// Mended and retried: only the colleague gets it now.
	refuse = false
	if err := c.outbox.Retry(ctx, q.ID); err != nil {
		t.Fatal(err)
	}
	c.outbox.Process(ctx)
	if m, _ = c.outbox.Get(ctx, q.ID); m.State != outbox.Done {
		t.Fatalf("after the retry: %s %v", m.State, m.Err)
	}
	got := map[string]int{}
	for _, r := range e.smtp.Received() {
		for _, to := range r.To {
			got[to]++
		}
	}
	if got[external] != 1 || got[colleague] != 1 {
		t.Errorf("deliveries %v, want one each", got)
	}
}
