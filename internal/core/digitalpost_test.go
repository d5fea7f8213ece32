package core

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"sikkermail/internal/digitalpost"
	"sikkermail/internal/i18n"
	"sikkermail/internal/mailtest"
	"sikkermail/internal/message"
	"sikkermail/internal/outbox"
	"sikkermail/internal/policy"
	"sikkermail/internal/testenv"
)

const (
	cprRegistered = "010190-1009"
	cprDigits     = "0101901009"
	cprMasked     = "010190-xxxx"
	cvrRegistered = "12345100"
)

// withDigitalPost adds the Digital Post simulator, with the demo's
// numbers, to the environment.
func (e *sendEnv) withDigitalPost(t *testing.T) *mailtest.DigitalPost {
	t.Helper()
	sim := mailtest.StartDigitalPost(t)
	sim.SetSenderCVR(e.cfg.Institution.CVR)
	sim.Register(mailtest.Numbers...)
	e.cfg.DigitalPost.URL, e.cfg.DigitalPost.Identity, e.cfg.DigitalPost.Password = sim.URL, sim.Identity, sim.Password
	e.cfg.DigitalPost.CA, e.cfg.DigitalPost.Timeout.Duration = sim.TLS.CAFile, 2*time.Second
	return sim
}

// A mail to an e-mail address, a colleague, a CPR and a CVR number is one
// outbox entry with one receipt listing each channel; each letter is
// valid MeMo with the mail's text and attachment.
func TestSendMixedChannels(t *testing.T) {
	testenv.Need(t, "xmllint")
	e := newSendEnv(t)
	sim := e.withDigitalPost(t)
	c := e.core(t)
	ctx := context.Background()
	att := map[string]Attention{cvrRegistered: {Person: "Jens Hansen", PNumber: "1012345678", Unit: "Løn"}}
	q, err := c.SendTo(ctx, draft, sendMailbox, Recipients{To: []string{external, cprRegistered, "DK " + cvrRegistered}, Cc: []string{colleague}, Attention: att})
	if err != nil {
		t.Fatal(i18n.Danish.Error(err))
	}
	list, _ := c.OutboxList(ctx)
	if len(list) != 1 || strings.Join(list[0].All(), ",") != external+","+cprMasked+",DK "+cvrRegistered+","+colleague {
		t.Fatalf("outbox lists %v", list[0].All())
	}
	if n, err := c.outbox.Process(ctx); n != 1 || err != nil {
		t.Fatal(n, err)
	}
	m, r, err := c.ReceiptOf(ctx, q.ID)
	if err != nil || m.State != outbox.Done || r == nil {
		t.Fatalf("%+v %v (%v)", m, err, m.Err)
	}
	channels := map[string]ReceiptRecipient{}
	for _, rr := range r.Recipients {
		channels[rr.Address] = rr
	}
	if len(r.Recipients) != 4 || channels[external].Channel != "smime" || channels[colleague].Channel != "internal" ||
		channels[cprMasked].Channel != "digitalpost" || channels[cprMasked].Name != "" || channels[cprMasked].Status != "COMPLETED" ||
		channels[cvrRegistered].Channel != "digitalpost" || channels[cvrRegistered].Name != "Demo Firma ApS" || channels[cvrRegistered].Status != "COMPLETED" {
		t.Fatalf("receipt %+v", r.Recipients)
	}

	letters := sim.Received()
	if len(letters) != 2 {
		t.Fatalf("%d letters", len(letters))
	}
	for _, l := range letters {
		if err := digitalpost.Validate(l.XML); err != nil {
			t.Fatal(err)
		}
		lm, err := digitalpost.Parse(l.XML)
		if err != nil {
			t.Fatal(err)
		}
		if lm.Label != draft.Subject || lm.Body != draft.Body || len(lm.Attachments) != 1 || !bytes.Equal(lm.Attachments[0].Data, draft.Attachments[0].Data) ||
			lm.SenderCVR != e.cfg.Institution.CVR || lm.Mailbox != sendMailbox || lm.UUID != channels[map[digitalpost.Kind]string{"CPR": cprMasked, "CVR": cvrRegistered}[lm.Recipient]].Reference {
			t.Errorf("letter %+v", lm)
		}
		if lm.Recipient == digitalpost.CVR && lm.Attention != att[cvrRegistered] {
			t.Errorf("attention %+v", lm.Attention)
		}
	}
	if got := e.smtp.Received(); len(got) != 2 {
		t.Fatalf("%d SMTP transactions", len(got))
	}

	// The receipt mail names each letter, the CPR number masked.
	srv, _ := c.imapServer()
	a, _ := c.account(ctx, c.User(), "")
	receipts, err := srv.Fetch(ctx, a, "INBOX", "<receipt."+strings.Trim(q.MessageID, "<>")+">")
	if err != nil || len(receipts) != 1 {
		t.Fatalf("%d receipts, %v", len(receipts), err)
	}
	body, _ := parts(t, receipts[0])
	for _, want := range []string{cprMasked, cvrRegistered, "Demo Firma ApS", "leveret i postkassen", "Digital Post", channels[cprMasked].Reference, external} {
		if !strings.Contains(body, want) {
			t.Errorf("receipt lacks %q:\n%s", want, body)
		}
	}
	// The CPR number itself is nowhere in the local database, nor in the
	// receipt.
	if bytes.Contains(receipts[0], []byte(cprDigits)) || bytes.Contains(receipts[0], []byte(cprRegistered)) {
		t.Error("the receipt carries the CPR number")
	}
	c.Close()
	files, _ := filepath.Glob(e.cfg.Database + "*")
	for _, f := range files {
		b, _ := os.ReadFile(f)
		if bytes.Contains(b, []byte(cprDigits)) || bytes.Contains(b, []byte(cprRegistered)) {
			t.Errorf("%s holds the CPR number in plaintext", filepath.Base(f))
		}
	}
}

// A letter delivered before its answer was lost is not delivered again:
// the retry sends the same UUID, and the mail is not resubmitted by SMTP.
func TestDigitalPostRetryAfterLostAnswer(t *testing.T) {
	e := newSendEnv(t)
	sim := e.withDigitalPost(t)
	c := e.core(t)
	ctx := context.Background()
	clock := time.Now()
	c.outbox.Now = func() time.Time { return clock }
	c.Now = c.outbox.Now
	sim.SetFault(mailtest.Times(1, "memos-accepted", mailtest.ErrDrop))
	q, err := c.Send(ctx, draft, sendMailbox, []string{external, cprRegistered}, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.outbox.Process(ctx)
	m, _ := c.outbox.Get(ctx, q.ID)
	if m.State != outbox.Queued || m.Err == nil || !m.Err.Temporary || !m.Did(stepSubmit) || m.Did(stepDigitalPost) {
		t.Fatalf("after the lost answer: %+v %v", m, m.Err)
	}
	if !strings.Contains(i18n.Danish.M(m.Err.Message), cprMasked) {
		t.Errorf("reason %q does not name the recipient", i18n.Danish.M(m.Err.Message))
	}
	clock = clock.Add(time.Hour)
	c.outbox.Process(ctx)
	if m, _ = c.outbox.Get(ctx, q.ID); m.State != outbox.Done {
		t.Fatalf("%+v %v", m, m.Err)
	}
	if n := len(sim.Received()); n != 1 {
		t.Errorf("%d letters delivered, want 1", n)
	}
	if n := len(e.smtp.Received()); n != 1 {
		t.Errorf("%d SMTP submissions, want 1", n)
	}
}

// Refusals: at Send (a file type Digital Post does not take, attention
// for what is not a CVR recipient, a number not registered), and by the
// service (NOT_ALLOWED) — the mail then waits as failed with the reason.
func TestDigitalPostRefusals(t *testing.T) {
	e := newSendEnv(t)
	sim := e.withDigitalPost(t)
	c := e.core(t)
	ctx := context.Background()
	exe := draft
	exe.Attachments = []message.Attachment{{Name: "program.exe", Data: []byte("MZ")}}
	var fe *digitalpost.FileTypeError
	if _, err := c.Send(ctx, exe, sendMailbox, []string{cprRegistered}, nil); !errors.As(err, &fe) || !strings.Contains(i18n.Danish.Error(err), "program.exe") {
		t.Errorf("exe to a CPR number: %v", err)
	}
	var se *SendError
	if _, err := c.SendTo(ctx, draft, sendMailbox, Recipients{To: []string{cprRegistered}, Attention: map[string]Attention{cprDigits: {Person: "x"}}}); !errors.As(err, &se) || se.Reason != "attention_not_cvr" {
		t.Errorf("attention for a CPR number: %v", err)
	}
	if _, err := c.SendTo(ctx, draft, sendMailbox, Recipients{To: []string{cvrRegistered}, Attention: map[string]Attention{cvrRegistered: {PNumber: "12"}}}); !errors.As(err, &se) || se.Reason != "attention_pnumber" {
		t.Errorf("a short P-nummer: %v", err)
	}
	var nr *digitalpost.NotRegisteredError
	if _, err := c.Send(ctx, draft, sendMailbox, []string{"020280-1005"}, nil); !errors.As(err, &nr) {
		t.Errorf("exempt: %v", err)
	}
	if list, _ := c.OutboxList(ctx); len(list) != 0 {
		t.Fatalf("refused mails were queued: %d", len(list))
	}

	// The service refuses the sender.
	sim.SetSenderCVR("11111111")
	q, err := c.Send(ctx, draft, sendMailbox, []string{cvrRegistered}, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.outbox.Process(ctx)
	m, _ := c.outbox.Get(ctx, q.ID)
	if m.State != outbox.Failed || !strings.Contains(i18n.Danish.M(m.Err.Message), cvrRegistered) || len(sim.Received()) != 0 {
		t.Fatalf("%+v %v", m, m.Err)
	}
	// Fixed, retried: delivered once.
	sim.SetSenderCVR(e.cfg.Institution.CVR)
	if err := c.outbox.Retry(ctx, q.ID); err != nil {
		t.Fatal(err)
	}
	c.outbox.Process(ctx)
	if m, _ = c.outbox.Get(ctx, q.ID); m.State != outbox.Done || len(sim.Received()) != 1 {
		t.Fatalf("%s %v, %d letters", m.State, m.Err, len(sim.Received()))
	}
	// Only Digital Post recipients: still a Sent copy, encrypted to the
	// mailbox.
	srv, _ := c.imapServer()
	a, _ := c.account(ctx, c.User(), sendMailbox)
	copies, err := srv.Fetch(ctx, a, "Sendt post", q.MessageID)
	if err != nil || len(copies) != 1 {
		t.Fatalf("%d Sent copies, %v", len(copies), err)
	}
	if text, _ := opened(t, copies[0], identity(t, "mailbox-rsa.p12"), true); text != draft.Body {
		t.Errorf("the copy reads %q", text)
	}
	// No mail server took it: the receipt names none.
	if _, r, _ := c.ReceiptOf(ctx, q.ID); r == nil || r.Server != "" || strings.Contains(r.Text(i18n.Danish), "Modtaget af mailserveren") {
		t.Errorf("the receipt of a letter names a mail server: %+v", r)
	}
}

// Digital Post silent: the letter waits and is tried again, then goes
// once; the reason names the recipient and the service.
func TestDigitalPostSilent(t *testing.T) {
	e := newSendEnv(t)
	sim := e.withDigitalPost(t)
	e.cfg.DigitalPost.Timeout.Duration = 300 * time.Millisecond
	c := e.core(t)
	ctx := context.Background()
	clock := time.Now()
	c.outbox.Now = func() time.Time { return clock }
	c.Now = c.outbox.Now
	q, err := c.Send(ctx, draft, sendMailbox, []string{cvrRegistered}, nil)
	if err != nil {
		t.Fatal(err)
	}
	sim.SetFault(mailtest.Times(1, "memos", mailtest.ErrStall))
	c.outbox.Process(ctx)
	m, _ := c.outbox.Get(ctx, q.ID)
	if m.State != outbox.Queued || m.Err == nil || !m.Err.Temporary || !strings.Contains(i18n.Danish.M(m.Err.Message), cvrRegistered) {
		t.Fatalf("%s %v", m.State, m.Err)
	}
	clock = clock.Add(time.Hour)
	c.outbox.Process(ctx)
	if m, _ = c.outbox.Get(ctx, q.ID); m.State != outbox.Done || len(sim.Received()) != 1 {
		t.Fatalf("%s %v, %d letters", m.State, m.Err, len(sim.Received()))
	}
}

// dpEnv is a core against the simulator, on a clock the test moves.
func dpEnv(t *testing.T) (*sendEnv, *mailtest.DigitalPost, *Core, *time.Time) {
	t.Helper()
	e := newSendEnv(t)
	sim := e.withDigitalPost(t)
	c := e.core(t)
	clock := time.Now()
	c.outbox.Now = func() time.Time { return clock }
	c.Now = c.outbox.Now
	return e, sim, c, &clock
}

// letterStates are the letters' statuses as the core keeps them.
func letterStates(t *testing.T, c *Core) []string {
	t.Helper()
	rows, err := c.db.Query(`SELECT status FROM dp_letter ORDER BY rowid`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		rows.Scan(&s)
		out = append(out, s)
	}
	return out
}

// round moves the clock on by d, lets the worker round once, and
// returns the mail as it then stands and the key of the reason it waits
// for ("" for none).
func round(t *testing.T, c *Core, clock *time.Time, id int64, d time.Duration) (*outbox.Mail, string) {
	t.Helper()
	*clock = clock.Add(d)
	c.outbox.Process(context.Background())
	m, err := c.outbox.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if m.Err == nil {
		return m, ""
	}
	return m, m.Err.Message.Key
}

// A letter is first taken for delivery (RECEIVED), and the mail waits,
// "modtaget af Digital Post", for the final receipt that comes late; it
// then goes on, and the receipt says the letter was delivered.
func TestDigitalPostReceivedThenCompleted(t *testing.T) {
	_, sim, c, clock := dpEnv(t)
	ctx := context.Background()
	sim.HoldReceipts()
	q, err := c.Send(ctx, draft, sendMailbox, []string{cprRegistered, cvrRegistered}, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.outbox.Process(ctx)
	m, _ := c.outbox.Get(ctx, q.ID)
	if m.State != outbox.Queued || !m.Did(stepDigitalPost) || m.Err == nil || m.Err.Message.Key != "digitalpost.waiting_final" ||
		!strings.Contains(i18n.Danish.M(m.Err.Message), "modtaget af Digital Post") {
		t.Fatalf("waiting for the final receipt: %s %v", m.State, m.Err)
	}
	if got := strings.Join(letterStates(t, c), ","); got != "RECEIVED,RECEIVED" {
		t.Fatalf("letters %s", got)
	}
	// Asked again before the receipts come: still waiting, nothing posted.
	*clock = clock.Add(31 * time.Second)
	c.outbox.Process(ctx)
	if m, _ = c.outbox.Get(ctx, q.ID); m.State != outbox.Queued || len(sim.Received()) != 2 {
		t.Fatalf("%s, %d letters", m.State, len(sim.Received()))
	}
	sim.ReleaseReceipts()
	*clock = clock.Add(31 * time.Second)
	c.outbox.Process(ctx)
	m, r, err := c.ReceiptOf(ctx, q.ID)
	if err != nil || m.State != outbox.Done || r == nil {
		t.Fatalf("%s %v %v", m.State, m.Err, err)
	}
	if got := strings.Join(letterStates(t, c), ","); got != "COMPLETED,COMPLETED" || sim.Waiting() != 0 || len(sim.Received()) != 2 {
		t.Fatalf("letters %s, %d receipts left at the service, %d letters", got, sim.Waiting(), len(sim.Received()))
	}
	if text := r.Text(i18n.Danish); strings.Count(text, "leveret i postkassen") != 2 {
		t.Errorf("receipt:\n%s", text)
	}
}

// A final receipt that never comes: after receipt_wait the mail goes on,
// and the receipt says the letter was received by Digital Post, not that
// it was delivered.
func TestDigitalPostNoFinalReceipt(t *testing.T) {
	_, sim, c, clock := dpEnv(t)
	ctx := context.Background()
	sim.HoldReceipts()
	q, err := c.Send(ctx, draft, sendMailbox, []string{cvrRegistered}, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.outbox.Process(ctx)
	*clock = clock.Add(DefaultReceiptWait + time.Minute)
	c.outbox.Process(ctx)
	m, r, err := c.ReceiptOf(ctx, q.ID)
	if err != nil || m.State != outbox.Done || r == nil {
		t.Fatalf("%s %v %v", m.State, m.Err, err)
	}
	if text := r.Text(i18n.Danish); !strings.Contains(text, "modtaget af Digital Post") || strings.Contains(text, "leveret") {
		t.Errorf("receipt:\n%s", text)
	}
}

// The final receipt refuses one letter (INVALID): the mail stops with
// the service's reason, saying who has it; the other letter is not sent
// again. Prøv igen posts the refused letter again, and only it.
func TestDigitalPostRefusedLater(t *testing.T) {
	_, sim, c, clock := dpEnv(t)
	ctx := context.Background()
	sim.Finally(cvrRegistered, digitalpost.StatusInvalid)
	q, err := c.Send(ctx, draft, sendMailbox, []string{cprRegistered, cvrRegistered}, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.outbox.Process(ctx)
	m, _ := c.outbox.Get(ctx, q.ID)
	if m.State != outbox.Failed || m.Err == nil {
		t.Fatalf("%s %v", m.State, m.Err)
	}
	s := i18n.Danish.M(m.Err.Message)
	if !strings.Contains(s, cvrRegistered) || !strings.Contains(s, cprMasked) || !strings.Contains(s, "could not be delivered") {
		t.Errorf("reason %q", s)
	}
	if got := strings.Join(letterStates(t, c), ","); got != "COMPLETED,INVALID" {
		t.Fatalf("letters %s", got)
	}
	sim.Finally(cvrRegistered, "COMPLETED")
	if err := c.outbox.Retry(ctx, q.ID); err != nil {
		t.Fatal(err)
	}
	*clock = clock.Add(time.Minute)
	c.outbox.Process(ctx)
	if m, _ = c.outbox.Get(ctx, q.ID); m.State != outbox.Queued && m.State != outbox.Done {
		t.Fatalf("after Prøv igen: %s %v", m.State, m.Err)
	}
	got := sim.Received()
	if len(got) != 3 || got[2].Recipient != cvrRegistered {
		t.Fatalf("%d letters after Prøv igen, want the CVR letter once more", len(got))
	}
}

// The answer is lost after the service took the letter, and the receipt
// comes late: the mail waits for it and does not post again; once it
// has come, the mail goes on with one letter only. When no receipt has
// come within lost_answer_wait, the letter is posted again (the API
// promises nothing for a repeated messageUUID; the README says so).
func TestDigitalPostLostAnswerLateReceipt(t *testing.T) {
	_, sim, c, clock := dpEnv(t)
	ctx := context.Background()
	sim.HoldReceipts()
	sim.SetFault(mailtest.Times(1, "memos-accepted", mailtest.ErrDrop))
	q, err := c.Send(ctx, draft, sendMailbox, []string{cprRegistered}, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.outbox.Process(ctx)
	m, _ := c.outbox.Get(ctx, q.ID)
	if m.State != outbox.Queued || m.Err == nil || m.Err.Message.Key != "digitalpost.lost_answer" {
		t.Fatalf("%s %v", m.State, m.Err)
	}
	for range 3 {
		if m, why := round(t, c, clock, q.ID, 2*time.Minute); m.State != outbox.Queued || why != "digitalpost.waiting_lost" || len(sim.Received()) != 1 {
			t.Fatalf("waiting: %s %s, %d letters", m.State, why, len(sim.Received()))
		}
	}
	sim.ReleaseReceipts()
	if m, why := round(t, c, clock, q.ID, time.Minute); m.State != outbox.Done || len(sim.Received()) != 1 {
		t.Fatalf("%s %s, %d letters", m.State, why, len(sim.Received()))
	}

	// No receipt ever: posted again after the wait.
	q, err = c.Send(ctx, draft, sendMailbox, []string{cvrRegistered}, nil)
	if err != nil {
		t.Fatal(err)
	}
	sim.HoldReceipts()
	sim.SetFault(mailtest.Times(1, "memos-accepted", mailtest.ErrDrop))
	round(t, c, clock, q.ID, 0)
	if round(t, c, clock, q.ID, DefaultLostAnswerWait-time.Minute); len(sim.Received()) != 2 {
		t.Fatalf("posted again within the wait: %d letters", len(sim.Received()))
	}
	if m, why := round(t, c, clock, q.ID, 2*time.Minute); m.State != outbox.Queued || why != "digitalpost.waiting_final" || len(sim.Received()) != 3 {
		t.Fatalf("after the wait: %s %s, %d letters", m.State, why, len(sim.Received()))
	}
	sim.ReleaseReceipts()
	if m, why := round(t, c, clock, q.ID, time.Minute); m.State != outbox.Done || len(sim.Received()) != 3 {
		t.Fatalf("%s %s, %d letters", m.State, why, len(sim.Received()))
	}
}

// A receipt fetched is kept before it is deleted at the service: when
// the delete fails, the letter is settled all the same, and the next
// round deletes the receipt without fetching it again.
func TestDigitalPostReceiptKeptBeforeDelete(t *testing.T) {
	_, sim, c, _ := dpEnv(t)
	ctx := context.Background()
	sim.HoldReceipts()
	if _, err := c.Send(ctx, draft, sendMailbox, []string{cvrRegistered}, nil); err != nil {
		t.Fatal(err)
	}
	c.outbox.Process(ctx)
	sim.ReleaseReceipts()
	sim.SetFault(mailtest.Times(1, "receipt-delete", mailtest.ErrDrop))
	if err := c.collectReceipts(ctx); err == nil {
		t.Fatal("a failed delete went unnoticed")
	}
	if got := strings.Join(letterStates(t, c), ","); got != "COMPLETED" || sim.Waiting() != 1 {
		t.Fatalf("letters %s, %d waiting", got, sim.Waiting())
	}
	fetched := 0
	sim.SetFault(func(op, _ string) error {
		if op == "receipt" {
			fetched++
		}
		return nil
	})
	if err := c.collectReceipts(ctx); err != nil || sim.Waiting() != 0 || fetched != 0 {
		t.Fatalf("second round: %v, %d waiting, fetched %d times", err, sim.Waiting(), fetched)
	}
}

// The system key: sent beside the certificate; a wrong one is the
// system not let in, said as what IT must check, and nothing is sent.
func TestDigitalPostSystemKey(t *testing.T) {
	e := newSendEnv(t)
	sim := e.withDigitalPost(t)
	sim.SetSystemKey("c3lzdGVtOmtleQ==")
	key := filepath.Join(t.TempDir(), "dp-key")
	os.WriteFile(key, []byte("d3Jvbmc6a2V5\n"), 0o600)
	e.cfg.DigitalPost.SystemKey = "file:" + key
	c := e.core(t)
	ctx := context.Background()
	q, err := c.Send(ctx, draft, sendMailbox, []string{cvrRegistered}, nil)
	var acc *digitalpost.AccessError
	if err == nil {
		c.outbox.Process(ctx)
		m, _ := c.outbox.Get(ctx, q.ID)
		if m.State != outbox.Failed || m.Err == nil || m.Err.Message.Key != "digitalpost.access" {
			t.Fatalf("%s %v", m.State, m.Err)
		}
	} else if !errors.As(err, &acc) {
		t.Fatal(err)
	}
	if len(sim.Received()) != 0 {
		t.Fatal("sent with a wrong system key")
	}
	os.WriteFile(key, []byte("c3lzdGVtOmtleQ==\n"), 0o600)
	c2 := e.core(t)
	if _, err := c2.Send(ctx, draft, sendMailbox, []string{cvrRegistered}, nil); err != nil {
		t.Fatal(err)
	}
	if n, err := c2.outbox.Process(ctx); err != nil || n == 0 || len(sim.Received()) != 1 {
		t.Fatalf("with the right key: %d done, %v, %d letters", n, err, len(sim.Received()))
	}
}

// A mailbox's contact point: letters from it name its GUID, and its
// limits (memoSizeThresholdMB, allowedNumberOfAttachments), as Digital
// Post registers them, are the letters' limits — said at the check and
// at Send. A contact point that is not a GUID is refused.
func TestDigitalPostContactPoint(t *testing.T) {
	_, sim, c, _ := dpEnv(t)
	ctx := context.Background()
	const cp = "a4c8e2f6-0b3d-4a7e-9c1f-5d8b2e6a0c4f"
	sim.AddContactPoint(mailtest.DPContactPoint{ID: cp, Name: "Uddannelsesservice", MaxMB: 1, MaxAttachments: 1})
	mb, err := c.policy.Mailbox(ctx, sendMailbox)
	if err != nil {
		t.Fatal(err)
	}
	bad := *mb
	bad.ContactPoint = "uddservice@hoejskole.example"
	var pe *policy.Error
	if err := c.local.AddMailbox(ctx, testHelpdesk, bad); !errors.As(err, &pe) || pe.Reason != policy.BadContactPoint ||
		!strings.Contains(i18n.Danish.Error(err), "GUID") {
		t.Fatalf("a contact point that is no GUID: %v", err)
	}
	mb.ContactPoint = strings.ToUpper(cp)
	if err := c.local.AddMailbox(ctx, testHelpdesk, *mb); err != nil {
		t.Fatal(err)
	}

	two := draft
	two.Attachments = append(slices.Clone(draft.Attachments), message.Attachment{Name: "bilag2.pdf", Data: []byte("%PDF-1.7")})
	var le *LimitError
	if _, err := c.Send(ctx, two, sendMailbox, []string{cvrRegistered}, nil); !errors.As(err, &le) || le.Reason != "too_many_attachments_digitalpost" ||
		!strings.Contains(i18n.Danish.Error(err), "højst 1") {
		t.Fatalf("two attachments: %v", err)
	}
	big := draft
	big.Attachments = []message.Attachment{{Name: "scanning.pdf", Data: bytes.Repeat([]byte("%PDF"), 300_000)}}
	vs := c.Check(ctx, []string{cvrRegistered})
	if err := c.CheckDraft(ctx, big, sendMailbox, vs); !errors.As(err, &le) || le.Reason != "too_large_digitalpost" || le.Max != 1e6 {
		t.Fatalf("1.2 MB at the check: %v", err)
	}
	// Without the mailbox chosen, the settings' limit holds.
	if err := c.CheckDraft(ctx, big, "", vs); err != nil {
		t.Fatalf("with no mailbox chosen: %v", err)
	}

	if _, err := c.Send(ctx, draft, sendMailbox, []string{cvrRegistered}, nil); err != nil {
		t.Fatal(err)
	}
	c.outbox.Process(ctx)
	got := sim.Received()
	if len(got) != 1 {
		t.Fatalf("%d letters", len(got))
	}
	lm, err := digitalpost.Parse(got[0].XML)
	if err != nil || lm.ContactPoint != cp || lm.Mailbox != sendMailbox {
		t.Fatalf("the letter's contact point %q, mailbox %q (%v)", lm.ContactPoint, lm.Mailbox, err)
	}
}

// End to end: a mail to a CVR number with attention data and a CPR
// number. The CPR letter meets a 503, then an answer lost after the
// service took it; its receipt comes late. Each letter goes once, is
// RECEIVED and then COMPLETED, and the receipt says delivered.
func TestDigitalPostEndToEnd(t *testing.T) {
	_, sim, c, clock := dpEnv(t)
	ctx := context.Background()
	var posts, accepted int
	sim.SetFault(func(op, _ string) error {
		switch {
		case op == "memos":
			posts++
			if posts == 2 {
				return mailtest.HTTPStatus(503)
			}
		case op == "memos-accepted":
			accepted++
			if accepted == 2 {
				return mailtest.ErrDrop
			}
		}
		return nil
	})
	sim.HoldReceipts()
	att := map[string]Attention{cvrRegistered: {Person: "Jens Hansen", PNumber: "1012345678", Unit: "Løn"}}
	q, err := c.SendTo(ctx, draft, sendMailbox, Recipients{To: []string{"DK " + cvrRegistered, cprRegistered}, Attention: att})
	if err != nil {
		t.Fatal(err)
	}
	step := func(d time.Duration, wantKey string, wantStates string) {
		t.Helper()
		if m, why := round(t, c, clock, q.ID, d); why != wantKey || strings.Join(letterStates(t, c), ",") != wantStates {
			t.Fatalf("%s: %s, letters %v", m.State, why, letterStates(t, c))
		}
	}
	step(0, "digitalpost.unavailable", "RECEIVED,")           // the CVR letter taken, the CPR letter met a 503
	step(time.Minute, "digitalpost.lost_answer", "RECEIVED,") // the CPR letter taken, its answer lost
	step(time.Minute, "digitalpost.waiting_lost", "RECEIVED,")
	sim.ReleaseReceipts()
	*clock = clock.Add(time.Minute)
	c.outbox.Process(ctx)
	m, r, err := c.ReceiptOf(ctx, q.ID)
	if err != nil || m.State != outbox.Done || r == nil {
		t.Fatalf("%s %v %v", m.State, m.Err, err)
	}
	if got := strings.Join(letterStates(t, c), ","); got != "COMPLETED,COMPLETED" {
		t.Fatalf("letters %s", got)
	}
	letters := sim.Received()
	if len(letters) != 2 || letters[0].Recipient != cvrRegistered || letters[1].Recipient != cprDigits {
		t.Fatalf("%d letters", len(letters))
	}
	lm, err := digitalpost.Parse(letters[0].XML)
	if err != nil || lm.Attention != att[cvrRegistered] {
		t.Fatalf("attention %+v %v", lm.Attention, err)
	}
	if text := r.Text(i18n.Danish); strings.Count(text, "leveret i postkassen") != 2 || !strings.Contains(text, cprMasked) {
		t.Errorf("receipt:\n%s", text)
	}
}
