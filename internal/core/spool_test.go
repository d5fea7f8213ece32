package core

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sikkermail/internal/i18n"
	"sikkermail/internal/message"
	"sikkermail/internal/outbox"
	"sikkermail/internal/smime"
	"sikkermail/internal/testenv"
)

// spoolEntries lists the outbox's folders of files.
func spoolEntries(t *testing.T, c *Core) []os.DirEntry {
	t.Helper()
	entries, err := os.ReadDir(c.dbPath + ".outbox")
	if err != nil {
		t.Fatal(err)
	}
	return entries
}

// A mail is built into sealed files while it goes and leaves none behind:
// both recipients get the same content as from memory.
func TestSendThroughFiles(t *testing.T) {
	e := newSendEnv(t)
	c := e.core(t)
	ctx := context.Background()
	var during []string
	c.outbox.Hook = func(point string, m *outbox.Mail) {
		if point == "after:"+stepBuild {
			dir, _ := c.outbox.Files(m.MessageID)
			names, _ := os.ReadDir(dir)
			for _, n := range names {
				during = append(during, n.Name())
			}
		}
	}
	if _, err := c.Send(ctx, draft, sendMailbox, []string{external}, []string{colleague}); err != nil {
		t.Fatal(err)
	}
	if n, err := c.outbox.Process(ctx); n != 1 || err != nil {
		t.Fatal(n, err)
	}
	if got := strings.Join(during, " "); got != fileAttachments+" "+fileExternal+" "+fileInternal {
		t.Errorf("after the build the mail's files are %q (the entity is gone, the rest there)", got)
	}
	if left := spoolEntries(t, c); len(left) != 0 {
		t.Errorf("a sent mail left %d folders of files", len(left))
	}
	got := e.smtp.Received()
	if len(got) != 2 {
		t.Fatalf("%d submissions", len(got))
	}
	for _, g := range got {
		id := identity(t, "recipient-rsa.p12")
		encrypted := g.To[0] == external
		if !encrypted {
			id = nil
		}
		text, files := opened(t, g.Data, id, encrypted)
		if !strings.Contains(text, "Hermed afgørelsen") || !bytes.Equal(files["Afgørelse æøå.pdf"], draft.Attachments[0].Data) {
			t.Errorf("%v got %q and %d files", g.To, text, len(files))
		}
	}
}

// A sealed file damaged on the disk stops the mail with a sentence that
// names it; nothing half is sent.
func TestSendDamagedFile(t *testing.T) {
	e := newSendEnv(t)
	c := e.core(t)
	ctx := context.Background()
	var damaged string
	c.outbox.Hook = func(point string, m *outbox.Mail) {
		if point == "after:"+stepBuild {
			dir, _ := c.outbox.Files(m.MessageID)
			damaged = filepath.Join(dir, fileExternal)
			b, err := os.ReadFile(damaged)
			if err != nil {
				t.Fatal(err)
			}
			b[len(b)-100] ^= 1
			os.WriteFile(damaged, b, 0o600)
		}
	}
	q, err := c.Send(ctx, draft, sendMailbox, []string{external}, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.outbox.Process(ctx)
	m, err := c.outbox.Get(ctx, q.ID)
	if err != nil {
		t.Fatal(err)
	}
	said := i18n.Danish.Error(m.Err)
	if m.State != outbox.Failed || !strings.Contains(said, damaged) {
		t.Errorf("state %s: %q", m.State, said)
	}
	if n := len(e.smtp.Received()); n != 0 {
		t.Errorf("%d messages went out from a damaged file", n)
	}
}

// A mail queued by a version that kept everything in the database — the
// draft with its attachments, and the built messages — still goes.
func TestSendQueuedBeforeFiles(t *testing.T) {
	e := newSendEnv(t)
	c := e.core(t)
	ctx := context.Background()
	id, err := c.identity(ctx, sendMailbox)
	if err != nil {
		t.Fatal(err)
	}
	old := func(messageID string) *outbox.Mail {
		m := &outbox.Mail{User: sendUser, Mailbox: sendMailbox, Recipients: []string{external}, Subject: draft.Subject, MessageID: messageID}
		if m.Content, err = seal(id, sealedDraft{Draft: draft, To: []string{external}}); err != nil {
			t.Fatal(err)
		}
		return m
	}
	// Queued, not built.
	if _, err := c.outbox.Add(ctx, old("<queued-before@hoejskole.example>")); err != nil {
		t.Fatal(err)
	}
	// Built, not submitted: the build's output holds the messages.
	m := old("<built-before@hoejskole.example>")
	n, err := c.outbox.Add(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	entity, _ := message.Entity(draft)
	rcpt, err := smime.ReadCertificates(testenv.Path("testdata", "certs", "recipient-rsa.pem"))
	if err != nil {
		t.Fatal(err)
	}
	var body bytes.Buffer
	if err := smime.SignEncrypt(&body, smime.BytesSource(entity), *id, []smime.Recipient{{Cert: id.Cert}, {Cert: rcpt[0]}}, smime.AES256GCM); err != nil {
		t.Fatal(err)
	}
	enc, err := message.Compose(message.Header{From: message.Address{Address: sendMailbox}, Sender: message.Address{Address: sendUser},
		To: []message.Address{{Address: external}}, Subject: draft.Subject, Date: time.Now(), MessageID: m.MessageID}, body.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	out, err := seal(id, built{External: enc, ExternalTo: []string{external}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.db.ExecContext(ctx, `INSERT INTO outbox_step (mail, step, time, output) VALUES (?, ?, ?, ?)`, n, stepBuild, time.Now().UnixMilli(), out); err != nil {
		t.Fatal(err)
	}
	if done, err := c.outbox.Process(ctx); done != 2 || err != nil {
		t.Fatal(done, err)
	}
	for _, g := range e.smtp.Received() {
		_, files := opened(t, g.Data, identity(t, "recipient-rsa.p12"), true)
		if !bytes.Equal(files["Afgørelse æøå.pdf"], draft.Attachments[0].Data) {
			t.Errorf("the attachment did not come through")
		}
	}
	if n := len(e.smtp.Received()); n != 2 {
		t.Fatalf("%d sent", n)
	}
}
