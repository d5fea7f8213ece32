package core

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"sikkermail/internal/directory"
	"sikkermail/internal/mailtest"
	"sikkermail/internal/mailtest/daemon"
	"sikkermail/internal/message"
	"sikkermail/internal/outbox"
	"sikkermail/internal/policy"
	"sikkermail/internal/scan"
)

// clamdScanner starts a clamd for the test, as the boundary asks it.
func clamdScanner(t *testing.T) *scan.Clamd {
	return &scan.Clamd{Network: "unix", Address: daemon.StartClamd(t, "25M").Socket}
}

// boundaryOn opens the boundary on c, its mails scanned by s, checked
// for spam by spam, if any.
func boundaryOn(t *testing.T, c *Core, s Scanner, spam ...SpamChecker) *Boundary {
	t.Helper()
	var sc SpamChecker
	if len(spam) > 0 {
		sc = spam[0]
	}
	b, err := c.OpenBoundary(context.Background(), s, sc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

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
	ctx := context.Background()
	b := boundaryOn(t, c, clamdScanner(t))
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
	// Sent again to the listener: another Received line, the same mail.
	if again, err := b.ReceiveTraced(ctx, sendMailbox, "Received: from mx by gateway; Thu, 3 Dec 2026 10:00:00 +0000\r\n", byName["ours"]); err != nil || again != ids[0] {
		t.Errorf("arrived again under another trace: %d %v, first %d", again, err, ids[0])
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
		h, _ := delivered(t, m)
		verdicts[h.Get(HeaderVerdict)]++
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
	// A reader opens what the boundary delivered with the report of the
	// original as it came, and what the scanner said; a mark a sender
	// wrote on a mail put straight in INBOX is not believed.
	if err := c.local.Grant(ctx, testHelpdesk, sendUser, sendMailbox, policy.Read); err != nil {
		t.Fatal(err)
	}
	srv, _ := c.imapServer()
	acc, _ := c.account(ctx, c.User(), sendMailbox)
	straight := append([]byte(HeaderInbound+": "+inboundKey(sendMailbox, byName["ours"])+"x\r\n"), byName["plain"]...)
	if err := srv.AppendInbox(ctx, acc, "", bytes.NewReader(straight)); err != nil {
		t.Fatal(err)
	}
	list, err := c.InboxList(ctx, sendMailbox)
	if err != nil || len(list) != 4 {
		t.Fatalf("%d listed: %v", len(list), err)
	}
	badges := map[Badge]int{}
	for _, l := range list {
		badges[l.Badge]++
	}
	// The secure one came encrypted; the plain one, the notice and the
	// forged mark did not.
	if badges[BadgeEncrypted] != 1 || badges[BadgePlain] != 3 {
		t.Errorf("badges %v", badges)
	}
	reports := map[string]int{}
	for _, l := range list {
		m, err := c.InboxOpen(ctx, sendMailbox, l.UID)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case m.Report.Secure() && m.Report.Scan == "clean" && m.Content != nil && strings.Contains(m.Content.Text, "Her er min ansøgning"):
			reports["secure, scanned"]++
		case !m.Report.Secure() && m.Report.Scan == "clean" && !m.Report.Encrypted:
			reports["plain, scanned"]++
		case !m.Report.Secure() && m.Report.Scan == "":
			reports["not through the boundary"]++ // the notice, and the forged mark
		}
	}
	if reports["secure, scanned"] != 1 || reports["plain, scanned"] != 1 || reports["not through the boundary"] != 2 {
		t.Errorf("reports %v", reports)
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

// Where the mailboxes' mail cannot be routed to the gateway, the
// boundary takes it from INBOX: what it did not deliver itself
// (including a mail that forges its mark) is kept, taken out of INBOX,
// archived as it came and delivered through the queue; what it
// delivered stays.
func TestBoundaryPoll(t *testing.T) {
	e := newSendEnv(t)
	d := e.withDovecot(t)
	c := e.core(t)
	ctx := context.Background()
	b := boundaryOn(t, c, clamdScanner(t))
	srv, _ := c.imapServer()
	acc, err := c.account(ctx, c.User(), sendMailbox)
	if err != nil {
		t.Fatal(err)
	}
	good := fromJens(t, "jens.hansen@kommune.example", identity(t, "mailbox-rsa.p12"), true, true)
	forged := append([]byte(HeaderInbound+": inbound "+sendMailbox+" 00000000000000000000000000000000\r\n"+HeaderVerdict+": secure\r\n"),
		fromJens(t, "svindel@andetsted.example", nil, false, false)...)
	for _, raw := range [][]byte{good, forged} {
		if err := srv.AppendInbox(ctx, acc, "", bytes.NewReader(raw)); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := b.Poll(ctx); n != 2 || err != nil {
		t.Fatalf("took %d: %v", n, err)
	}
	if left := d.Messages(t, sendMailbox, "INBOX"); len(left) != 0 {
		t.Fatalf("INBOX holds %d", len(left))
	}
	if n, err := b.Process(ctx); n != 2 || err != nil {
		t.Fatalf("processed %d: %v", n, err)
	}
	if n, err := b.Poll(ctx); n != 0 || err != nil {
		t.Errorf("took its own deliveries again: %d %v", n, err)
	}
	inbox := d.Messages(t, sendMailbox, "INBOX")
	secure := 0
	for _, m := range inbox {
		if h, _ := delivered(t, m); h.Get(HeaderVerdict) == VerdictSecure {
			secure++
		}
	}
	if len(inbox) != 2 || secure != 1 || len(d.Messages(t, sendMailbox, "Sikkermail/Arkiv")) != 2 {
		t.Errorf("INBOX %d (%d secure), archive %d", len(inbox), secure, len(d.Messages(t, sendMailbox, "Sikkermail/Arkiv")))
	}
}

// A citizen's letter to a secure mailbox's contact point is fetched from
// Digital Post, kept before it is deleted there, scanned, and delivered
// with its documents, the CPR number masked in the subject; the reader
// opens it as a letter through Digital Post, and a reply goes back to
// the citizen's number. A letter for no mailbox stays at the service.
func TestBoundaryLetters(t *testing.T) {
	e := newSendEnv(t)
	d := e.withDovecot(t)
	sim := e.withDigitalPost(t)
	c := e.core(t)
	ctx := context.Background()
	const point = "a4c8e2f6-0b3d-4a7e-9c1f-5d8b2e6a0c4f"
	mb, err := c.policy.Mailbox(ctx, sendMailbox)
	if err != nil {
		t.Fatal(err)
	}
	mb.ContactPoint = point
	if err := c.local.AddMailbox(ctx, testHelpdesk, *mb); err != nil {
		t.Fatal(err)
	}
	if err := c.local.Grant(ctx, testHelpdesk, sendUser, sendMailbox, policy.Read); err != nil {
		t.Fatal(err)
	}
	b := boundaryOn(t, c, clamdScanner(t))
	sim.Letter(mailtest.CitizenLetter("0101901009", "Anna Jensen", "29403473", point, "Spørgsmål om optagelse", "Jeg har et spørgsmål om min optagelse.",
		map[string][]byte{"eksamensbevis.pdf": []byte("%PDF-1.7 bevis")}))
	sim.Letter(mailtest.CitizenLetter("0101901009", "Anna Jensen", "29403473", "00000000-0000-4000-8000-000000000000", "Forkert", "x", nil))
	if n, err := b.FetchLetters(ctx); n != 1 || err == nil || !strings.Contains(err.Error(), "00000000-0000-4000-8000-000000000000") {
		t.Fatalf("took %d: %v", n, err)
	}
	if sim.Letters() != 1 {
		t.Fatalf("%d left at the service, want the one for no mailbox", sim.Letters())
	}
	if n, err := b.Process(ctx); n != 1 || err != nil {
		t.Fatalf("processed %d: %v", n, err)
	}
	inbox := d.Messages(t, sendMailbox, "INBOX")
	if len(inbox) != 1 {
		t.Fatalf("INBOX holds %d", len(inbox))
	}
	h, words := delivered(t, inbox[0])
	if subject := message.DecodeHeader(h.Get("Subject")); subject != "Digital Post fra CPR 010190-xxxx: Spørgsmål om optagelse" ||
		h.Get(HeaderVerdict) != VerdictSecure || h.Get(HeaderScan) != "clean" || !strings.Contains(words, "Modtaget sikkert gennem Digital Post fra Anna Jensen") {
		t.Fatalf("%v\n%s", h, words)
	}
	if bytes.Contains(inbox[0], []byte("Subject: 0101901009")) || strings.Contains(words, "0101901009") {
		t.Error("the CPR number in the clear where readers look")
	}
	list, err := c.InboxList(ctx, sendMailbox)
	if err != nil || len(list) != 1 {
		t.Fatalf("%+v %v", list, err)
	}
	m, err := c.InboxOpen(ctx, sendMailbox, list[0].UID)
	if err != nil || m.Report.Letter == nil || !m.Report.Secure() || m.Content == nil || !strings.Contains(m.Content.Text, "min optagelse") ||
		len(m.Content.Attachments) != 1 || m.Content.Attachments[0].Name != "eksamensbevis.pdf" || m.Report.Scan != "clean" {
		t.Fatalf("%+v %v", m, err)
	}
	r, err := c.Reply(ctx, m)
	if err != nil || r.To != "0101901009" || r.Mailbox != sendMailbox || r.Draft.Subject != "SV: Spørgsmål om optagelse" {
		t.Fatalf("reply %+v %v", r, err)
	}
	if v := c.Check(ctx, []string{r.To}); !v[0].OK() || v[0].Channel != directory.DigitalPost {
		t.Errorf("the reply's recipient: %+v", v[0])
	}
}

// A scanner that is down is no pass: with scanner_down "wait" the mail
// waits, the readers are told once, and it is delivered once scanned.
func TestBoundaryScannerDown(t *testing.T) {
	e := newSendEnv(t)
	d := e.withDovecot(t)
	c := e.core(t)
	ctx := context.Background()
	down := daemon.StartClamd(t, "25M")
	scanner := &scan.Clamd{Network: "unix", Address: down.Socket}
	b := boundaryOn(t, c, scanner)
	down.Stop()
	if _, err := b.Receive(ctx, sendMailbox, fromJens(t, "jens.hansen@kommune.example", identity(t, "mailbox-rsa.p12"), true, true)); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		b.Queue().Wake(ctx)
		if n, err := b.Process(ctx); n != 0 || err != nil {
			t.Fatalf("processed %d: %v", n, err)
		}
	}
	inbox := d.Messages(t, sendMailbox, "INBOX")
	if len(inbox) != 1 {
		t.Fatalf("INBOX holds %d", len(inbox))
	}
	if h, words := delivered(t, inbox[0]); !strings.HasPrefix(message.DecodeHeader(h.Get("Subject")), "Venter på gatewayens kontrol: ") ||
		!strings.Contains(words, "jens.hansen@kommune.example") || !strings.Contains(words, "Virusscanneren (clamd på") {
		t.Fatalf("%v\n%s", h, words)
	}
	scanner.Address = daemon.StartClamd(t, "25M").Socket
	b.Queue().Wake(ctx)
	if n, err := b.Process(ctx); n != 1 || err != nil {
		t.Fatalf("processed %d: %v", n, err)
	}
	verdicts := map[string]int{}
	for _, m := range d.Messages(t, sendMailbox, "INBOX") {
		h, _ := delivered(t, m)
		verdicts[h.Get(HeaderVerdict)+" "+h.Get(HeaderScan)]++
	}
	if verdicts["secure clean"] != 1 || len(verdicts) != 2 {
		t.Errorf("%v", verdicts)
	}
}

// Spam is checked once the mail is decrypted, by a real spamd: an
// encrypted, signed mail holding SpamAssassin's test string goes to the
// junk folder with its verdict and spamd's score, no notice; a letter
// goes to INBOX checked; a spamd that is down is no pass: the mail waits,
// the readers are told, and it is delivered once checked.
func TestBoundarySpam(t *testing.T) {
	e := newSendEnv(t)
	d := e.withDovecot(t)
	c := e.core(t)
	ctx := context.Background()
	checker := &scan.Spamd{Network: "unix", Address: daemon.StartSpamd(t).Socket}
	b := boundaryOn(t, c, clamdScanner(t), checker)
	mbox := identity(t, "mailbox-rsa.p12")
	spam, err := mailtest.Incoming(message.Header{From: message.Address{Name: "Jens Hansen", Address: "jens.hansen@kommune.example"}, To: []message.Address{{Address: sendMailbox}},
		Subject: "Tilbud", Date: time.Now(), MessageID: message.NewMessageID("kommune.example")},
		message.Draft{Body: "Køb nu!\n" + daemon.GTUBE}, identity(t, "recipient-rsa.p12"), mbox.Cert)
	if err != nil {
		t.Fatal(err)
	}
	for _, raw := range [][]byte{spam, fromJens(t, "jens.hansen@kommune.example", mbox, true, true)} {
		if _, err := b.Receive(ctx, sendMailbox, raw); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := b.Process(ctx); n != 2 || err != nil {
		t.Fatalf("processed %d: %v", n, err)
	}
	junk := d.Messages(t, sendMailbox, DefaultSpam)
	if len(junk) != 1 {
		t.Fatalf("%s holds %d", DefaultSpam, len(junk))
	}
	h, words := delivered(t, junk[0])
	if h.Get(HeaderVerdict) != VerdictSecure || !strings.HasPrefix(h.Get(HeaderSpam), "yes; score=") || !strings.Contains(h.Get(HeaderSpam), "GTUBE") ||
		!strings.Contains(words, "Gatewayens spamkontrol (SpamAssassin) vurderer mailen som spam") || !strings.Contains(words, "mappen Junk Email") {
		t.Errorf("spam: %v\n%s", h, words)
	}
	inbox := d.Messages(t, sendMailbox, "INBOX")
	if len(inbox) != 1 {
		t.Fatalf("INBOX holds %d", len(inbox))
	}
	h, words = delivered(t, inbox[0])
	if h.Get(HeaderVerdict) != VerdictSecure || !strings.HasPrefix(h.Get(HeaderSpam), "no; score=") ||
		!strings.Contains(words, "Kontrolleret for spam i gatewayen (SpamAssassin): ikke spam (") {
		t.Errorf("a letter: %v\n%s", h, words)
	}

	down := daemon.StartSpamd(t)
	checker.Address = down.Socket
	down.Stop()
	if _, err := b.Receive(ctx, sendMailbox, fromJens(t, "jens.hansen@kommune.example", nil, true, false)); err != nil {
		t.Fatal(err)
	}
	if n, err := b.Process(ctx); n != 0 || err != nil {
		t.Fatalf("processed %d: %v", n, err)
	}
	inbox = d.Messages(t, sendMailbox, "INBOX")
	if len(inbox) != 2 {
		t.Fatalf("INBOX holds %d", len(inbox))
	}
	if h, words := delivered(t, inbox[1]); h.Get(HeaderVerdict) != VerdictWaiting || !strings.Contains(words, "Spamkontrollen (spamd på") {
		t.Fatalf("%v\n%s", h, words)
	}
	checker.Address = daemon.StartSpamd(t).Socket
	b.Queue().Wake(ctx)
	if n, err := b.Process(ctx); n != 1 || err != nil {
		t.Fatalf("processed %d: %v", n, err)
	}
	if inbox = d.Messages(t, sendMailbox, "INBOX"); len(inbox) != 3 {
		t.Fatalf("INBOX holds %d", len(inbox))
	}
	if h, _ := delivered(t, inbox[2]); h.Get(HeaderVerdict) != VerdictNotSecure || !strings.HasPrefix(h.Get(HeaderSpam), "no;") {
		t.Errorf("once checked: %v", h)
	}
}

// A mail the boundary cannot open for good stays in its queue for IT,
// and the readers are told, once, however often IT retries it.
func TestBoundaryFailsForGood(t *testing.T) {
	e := newSendEnv(t)
	d := e.withDovecot(t)
	c := e.core(t)
	ctx := context.Background()
	b := boundaryOn(t, c, nil)
	id, err := b.Receive(ctx, sendMailbox, []byte("<no letter at all"))
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		b.Process(ctx)
		if m, err := b.Queue().Get(ctx, id); err != nil || m.State != outbox.Failed || m.Err.Message.Key != "boundary.failed" {
			t.Fatalf("%+v %v", m, err)
		}
		b.Queue().Retry(ctx, id)
	}
	inbox := d.Messages(t, sendMailbox, "INBOX")
	if len(inbox) != 1 {
		t.Fatalf("INBOX holds %d", len(inbox))
	}
	if h, words := delivered(t, inbox[0]); message.DecodeHeader(h.Get("Subject")) != "En mail, gatewayen ikke kunne åbne" ||
		!strings.Contains(words, "sikkermail-cli boundary list") || !strings.Contains(words, sendMailbox) {
		t.Errorf("%v\n%s", h, words)
	}
}

// Two gateway instances on one PostgreSQL database work one inbound
// queue: every mail is delivered once, and archived once.
func TestBoundaryShared(t *testing.T) {
	e := newSendEnv(t)
	d := e.withDovecot(t)
	e.cfg.Store.URL = daemon.StartPostgres(t).URL
	clamd := clamdScanner(t)
	ctx := context.Background()
	var bs []*Boundary
	for i := range 2 {
		c := e.core(t)
		if i == 0 { // the shared database is set up once, as helpdesk would
			for _, m := range testMailboxes {
				if m.Address == sendMailbox {
					m.Identity, m.Password = certPath("mailbox-rsa.p12"), "file:"+filepath.Join(e.dir, "p12-password")
					if err := c.local.AddMailbox(ctx, testHelpdesk, m); err != nil {
						t.Fatal(err)
					}
				}
			}
		}
		bs = append(bs, boundaryOn(t, c, clamd))
	}
	const mails = 20
	mbox := identity(t, "mailbox-rsa.p12")
	for i := range mails {
		raw := fromJens(t, "jens.hansen@kommune.example", mbox, true, i%2 == 0)
		if _, err := bs[i%2].Receive(ctx, sendMailbox, raw); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	done := make([]int, 2)
	errs := make([]error, 2)
	for i, b := range bs {
		wg.Go(func() { done[i], errs[i] = b.Process(ctx) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil || done[0]+done[1] != mails {
		t.Fatalf("processed %v: %v", done, err)
	}
	marks := map[string]int{}
	for _, m := range d.Messages(t, sendMailbox, "INBOX") {
		h, _ := delivered(t, m)
		marks[h.Get(HeaderInbound)]++
	}
	if len(marks) != mails {
		t.Errorf("%d mails delivered, want %d", len(marks), mails)
	}
	for mark, n := range marks {
		if n != 1 {
			t.Errorf("%s delivered %d times", mark, n)
		}
	}
	if n := len(d.Messages(t, sendMailbox, "Sikkermail/Arkiv")); n != mails {
		t.Errorf("%d archived", n)
	}
}
