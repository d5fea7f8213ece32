package core

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sikkermail/internal/digitalpost"
	"sikkermail/internal/i18n"
	"sikkermail/internal/mailtest"
	"sikkermail/internal/message"
	"sikkermail/internal/outbox"
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
	sim.Register(mailtest.DemoNumbers...)
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
	if n, err := c.Outbox.Process(ctx); n != 1 || err != nil {
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
		channels[cprMasked].Channel != "digitalpost" || channels[cprMasked].Name != "Anne Jensen" || channels[cprMasked].Status != "RECEIVED" ||
		channels[cvrRegistered].Channel != "digitalpost" || channels[cvrRegistered].Name != "Demo Firma ApS" {
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
		lm := l.Message
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
	a, _ := c.account(c.User(), "")
	receipts, err := srv.Fetch(ctx, a, "INBOX", "<receipt."+strings.Trim(q.MessageID, "<>")+">")
	if err != nil || len(receipts) != 1 {
		t.Fatalf("%d receipts, %v", len(receipts), err)
	}
	body, _ := parts(t, receipts[0])
	for _, want := range []string{cprMasked, "Anne Jensen", cvrRegistered, "Digital Post", channels[cprMasked].Reference, external} {
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
	c.Outbox.Now = func() time.Time { return clock }
	sim.SetFault(mailtest.Times(1, "memos-accepted", mailtest.ErrDrop))
	q, err := c.Send(ctx, draft, sendMailbox, []string{external, cprRegistered}, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.Outbox.Process(ctx)
	m, _ := c.Outbox.Get(ctx, q.ID)
	if m.State != outbox.Queued || m.Err == nil || !m.Err.Temporary || !m.Did(stepSubmit) || m.Did(stepDigitalPost) {
		t.Fatalf("after the lost answer: %+v %v", m, m.Err)
	}
	if !strings.Contains(i18n.Danish.M(m.Err.Message), cprMasked) {
		t.Errorf("reason %q does not name the recipient", i18n.Danish.M(m.Err.Message))
	}
	clock = clock.Add(time.Hour)
	c.Outbox.Process(ctx)
	if m, _ = c.Outbox.Get(ctx, q.ID); m.State != outbox.Done {
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
	c.Outbox.Process(ctx)
	m, _ := c.Outbox.Get(ctx, q.ID)
	if m.State != outbox.Failed || !strings.Contains(i18n.Danish.M(m.Err.Message), cvrRegistered) || len(sim.Received()) != 0 {
		t.Fatalf("%+v %v", m, m.Err)
	}
	// Fixed, retried: delivered once.
	sim.SetSenderCVR(e.cfg.Institution.CVR)
	if err := c.Outbox.Retry(ctx, q.ID); err != nil {
		t.Fatal(err)
	}
	c.Outbox.Process(ctx)
	if m, _ = c.Outbox.Get(ctx, q.ID); m.State != outbox.Done || len(sim.Received()) != 1 {
		t.Fatalf("%+v, %d letters", m, len(sim.Received()))
	}
	// Only Digital Post recipients: still a Sent copy, encrypted to the
	// mailbox.
	srv, _ := c.imapServer()
	a, _ := c.account(c.User(), sendMailbox)
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
	c.Outbox.Now = func() time.Time { return clock }
	q, err := c.Send(ctx, draft, sendMailbox, []string{cvrRegistered}, nil)
	if err != nil {
		t.Fatal(err)
	}
	sim.SetFault(mailtest.Times(1, "memos", mailtest.ErrStall))
	c.Outbox.Process(ctx)
	m, _ := c.Outbox.Get(ctx, q.ID)
	if m.State != outbox.Queued || m.Err == nil || !m.Err.Temporary || !strings.Contains(i18n.Danish.M(m.Err.Message), cvrRegistered) {
		t.Fatalf("%s %v", m.State, m.Err)
	}
	clock = clock.Add(time.Hour)
	c.Outbox.Process(ctx)
	if m, _ = c.Outbox.Get(ctx, q.ID); m.State != outbox.Done || len(sim.Received()) != 1 {
		t.Fatalf("%s %v, %d letters", m.State, m.Err, len(sim.Received()))
	}
}
