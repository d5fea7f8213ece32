package core

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"sikkermail/internal/mailtest/daemon"
	"sikkermail/internal/outbox"
	"sikkermail/internal/scan"
)

// Mails that arrive for a secure mailbox go through the boundary's
// durable queue to a real Dovecot: each delivered once, decrypted with
// its verdict, unread; the one that cannot be opened to quarantine with
// a notice to the readers in INBOX; every one kept as it came in the
// archive. A crash between delivering and recording it delivers nothing
// twice, and a mail that arrives again is kept once.
func TestBoundaryQueue(t *testing.T) {
	e := newSendEnv(t)
	d := e.withDovecot(t)
	c := e.core(t)
	clamd := daemon.StartClamd(t, "25M")
	ctx := context.Background()
	b, err := c.OpenBoundary(ctx, &scan.Clamd{Network: "unix", Address: clamd.Socket})
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string][]byte{}
	for _, k := range kinds(t) {
		byName[k.name] = k.raw
	}
	var ids []int64
	for _, name := range []string{"ours", "plain", "tampered"} {
		id, err := b.Receive(ctx, sendMailbox, byName[name])
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if again, err := b.Receive(ctx, sendMailbox, byName["ours"]); err != nil || again != ids[0] {
		t.Errorf("arrived again: %d %v, first %d", again, err, ids[0])
	}
	if _, err := b.Receive(ctx, "ukendt@hoejskole.example", byName["ours"]); err == nil {
		t.Error("a mailbox the gateway does not hold took a mail")
	}
	if sent, _ := c.outbox.List(ctx); len(sent) != 0 {
		t.Errorf("the send queue holds %d inbound mails", len(sent))
	}

	// The first delivery is made, then the process dies before it is
	// recorded.
	crash, cancel := context.WithCancel(ctx)
	crashed := false
	b.Queue().Hook = func(point string, m *outbox.Mail) {
		if point == "before:"+stepDeliver && !crashed {
			crashed = true
			cancel()
		}
	}
	if _, err := b.Process(crash); !crashed || err == nil {
		t.Fatalf("no crash before the delivery was recorded: %v", err)
	}
	b.Queue().Hook = nil
	if n, err := b.Process(ctx); n != 3 || err != nil {
		t.Fatalf("processed %d: %v", n, err)
	}

	inbox := d.Messages(t, sendMailbox, "INBOX")
	verdicts := map[string]int{}
	for _, m := range inbox {
		for _, v := range []string{VerdictSecure, VerdictNotSecure, VerdictQuarantine} {
			if bytes.Contains(m, []byte("\nSikkermail-Verdict: "+v+"\n")) || bytes.Contains(m, []byte("\nSikkermail-Verdict: "+v+"\r\n")) {
				verdicts[v]++
			}
		}
	}
	// The secure one, the plain one, and the notice of the tampered one.
	if len(inbox) != 3 || verdicts[VerdictSecure] != 1 || verdicts[VerdictNotSecure] != 1 || verdicts[VerdictQuarantine] != 1 {
		t.Fatalf("INBOX holds %d: %v", len(inbox), verdicts)
	}
	for _, f := range d.Flags(t, sendMailbox, "INBOX") {
		if strings.Contains(f, "S") {
			t.Errorf("delivered as read: %q", f)
		}
	}
	quarantine := d.Messages(t, sendMailbox, "Sikkermail/Karant&AOY-ne")
	if len(quarantine) != 1 || !bytes.Contains(quarantine[0], []byte("Sikkermail-Verdict: quarantine")) {
		t.Errorf("quarantine holds %d", len(quarantine))
	}
	archive := d.Messages(t, sendMailbox, "Sikkermail/Arkiv")
	if len(archive) != 3 {
		t.Errorf("the archive holds %d", len(archive))
	}
	lf := func(b []byte) []byte { return bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n")) }
	for _, m := range archive {
		_, rest, _ := bytes.Cut(lf(m), []byte("\n")) // the line that knows it again
		found := false
		for _, name := range []string{"ours", "plain", "tampered"} {
			found = found || bytes.Equal(rest, lf(byName[name]))
		}
		if !found || !bytes.HasPrefix(m, []byte(HeaderInbound+": inbound ")) {
			t.Errorf("archived otherwise than it came: %.300s", m)
		}
	}
}
