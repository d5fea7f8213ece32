package core

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-smtp"

	"sikkermail/internal/config"
	"sikkermail/internal/directory"
	"sikkermail/internal/i18n"
	"sikkermail/internal/keystore"
	"sikkermail/internal/mailtest"
	"sikkermail/internal/mailtest/daemon"
	"sikkermail/internal/message"
	"sikkermail/internal/outbox"
	"sikkermail/internal/policy"
	"sikkermail/internal/recipient"
	"sikkermail/internal/smime"
	"sikkermail/internal/testenv"
)

const (
	sendUser     = "medarbejder@hoejskole.example"
	sendMailbox  = "sikkerpost-uddservice@hoejskole.example"
	external     = "jens.hansen@kommune.example"
	externalEC   = "post@firma.example"
	colleague    = "kollega@hoejskole.example"
	userPassword = "demo-password"
)

// sendEnv is a whole institution on loopback: a submission server and
// an IMAP server that enforce rights, a certificate store with two
// external recipients, and the demo mailboxes with the test PKI's
// mailbox identity.
type sendEnv struct {
	cfg  *config.Config
	smtp *mailtest.SMTP
	imap *mailtest.IMAP
	dir  string
}

func newSendEnv(t testing.TB) *sendEnv {
	dir := t.TempDir()
	certs := func(name string) string { return testenv.Path("testdata", "certs", name) }
	store := filepath.Join(dir, "store")
	os.Mkdir(store, 0o700)
	for _, f := range []string{"recipient-rsa.pem", "recipient-ec.pem"} {
		b, err := os.ReadFile(certs(f))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(store, f), b, 0o600)
	}
	pw := filepath.Join(dir, "password")
	os.WriteFile(pw, []byte(userPassword), 0o600)
	p12pw := filepath.Join(dir, "p12-password")
	os.WriteFile(p12pw, []byte("test"), 0o600)

	cfg := config.Demo()
	cfg.Demo = false
	cfg.Database = filepath.Join(dir, "send.db")
	cfg.Directory.Store = store
	cfg.SMIME.TrustAnchors = []string{certs("ca.pem")}
	cfg.SMIME.CRLCache = filepath.Join(dir, "crl")

	var c *Core
	may := func(u, mailbox string) bool {
		ok, err := policy.Has(context.Background(), c.policy, u, mailbox, policy.Send)
		return err == nil && ok
	}
	e := &sendEnv{cfg: cfg, dir: dir}
	e.smtp = mailtest.StartSMTP(t, map[string]string{sendUser: userPassword}, may)
	e.imap = mailtest.StartIMAPS(t)
	e.imap.AddAccount(sendUser, userPassword, "Sendte elementer")
	e.imap.AddAccount(sendMailbox, "unused", "Sendt post")
	e.imap.MayUse = func(u, account string) bool { return may(u, account) }
	cfg.SMTP.MailServer = config.MailServer{Server: e.smtp.Addr, CA: e.smtp.TLS.CAFile, Password: "file:" + pw, Timeout: config.Duration{Duration: 5 * time.Second}}
	cfg.IMAP.MailServer = config.MailServer{Server: e.imap.Addr, CA: e.imap.TLS.CAFile, Password: "file:" + pw, Timeout: config.Duration{Duration: 5 * time.Second}}

	// The database is set up once, as helpdesk would.
	var err error
	if c, err = New(cfg); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, m := range testMailboxes {
		if m.Address == sendMailbox {
			m.Identity, m.Password = certs("mailbox-rsa.p12"), "file:"+p12pw
		}
		if err := c.local.AddMailbox(context.Background(), testHelpdesk, m); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.local.Grant(context.Background(), testHelpdesk, sendUser, sendMailbox, policy.Send); err != nil {
		t.Fatal(err)
	}
	return e
}

// withDovecot puts a real Dovecot in the place of the IMAP server: the
// user's account, the mailbox's, and the user as master user.
func (e *sendEnv) withDovecot(t *testing.T) *daemon.Dovecot {
	d := daemon.StartDovecot(t, map[string]string{sendUser: userPassword, sendMailbox: "not-used"}, map[string]string{sendUser: userPassword})
	e.cfg.IMAP.Server, e.cfg.IMAP.CA, e.cfg.IMAP.Security = d.Addr, d.TLS.CAFile, "starttls"
	return d
}

// core opens a client on the environment; its may-send check is the
// one the servers ask.
func (e *sendEnv) core(t testing.TB) *Core {
	c, err := newCore(t, e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.imap.MayUse = func(u, account string) bool { return c.MaySend(context.Background(), account) == nil && u == sendUser }
	e.smtp.MaySend = func(u, mailbox string) bool { return c.MaySend(context.Background(), mailbox) == nil && u == sendUser }
	return c
}

var draft = message.Draft{
	Subject: "Afgørelse om SU",
	Body:    "Kære Jens\n\nHermed afgørelsen. Venlig hilsen\nUddannelsesservice\n",
	Attachments: []message.Attachment{
		{Name: "Afgørelse æøå.pdf", Data: bytes.Repeat([]byte("%PDF-1.7 data "), 500)},
	},
}

func identity(t *testing.T, name string) *smime.Identity {
	id, err := keystore.Load(testenv.Path("testdata", "certs", name), []byte("test"))
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// opened decrypts and verifies msg as its reader with id would, and
// returns the header, text and attachments inside.
func opened(t *testing.T, msg []byte, id *smime.Identity, wantEncrypted bool) (string, map[string][]byte) {
	t.Helper()
	p, err := TrustFrom([]string{testenv.Path("testdata", "certs", "ca.pem")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var ids []smime.Identity
	if id != nil {
		ids = append(ids, *id)
	}
	o, err := smime.Open(msg, ids, p)
	if err != nil {
		t.Fatal(err)
	}
	if o.Encrypted() != wantEncrypted || !o.Signed() || !o.Valid() || !o.SignedByFrom() {
		t.Fatalf("encrypted %v signed %v valid %v signed by From %v", o.Encrypted(), o.Signed(), o.Valid(), o.SignedByFrom())
	}
	return parts(t, o.Entity)
}

func parts(t *testing.T, entity []byte) (string, map[string][]byte) {
	t.Helper()
	r, err := mail.CreateReader(bytes.NewReader(entity))
	if err != nil {
		t.Fatal(err)
	}
	var text string
	files := map[string][]byte{}
	for {
		p, err := r.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(p.Body)
		switch h := p.Header.(type) {
		case *mail.InlineHeader:
			text += string(b)
		case *mail.AttachmentHeader:
			name, _ := h.Filename()
			files[name] = b
		}
	}
	return strings.ReplaceAll(text, "\r\n", "\n"), files
}

func header(t *testing.T, msg []byte) mail.Header {
	t.Helper()
	r, err := mail.CreateReader(bytes.NewReader(msg))
	if err != nil {
		t.Fatal(err)
	}
	return r.Header
}

func TestSendEndToEnd(t *testing.T) {
	e := newSendEnv(t)
	c := e.core(t)
	ctx := context.Background()
	q, err := c.Send(ctx, draft, sendMailbox, []string{external, "Firma <" + externalEC + ">"}, []string{colleague})
	if err != nil {
		t.Fatal(i18n.Danish.Error(err))
	}
	// Queued durably before anything is sent.
	if len(e.smtp.Received()) != 0 {
		t.Fatal("sent before the worker ran")
	}
	list, _ := c.OutboxList(ctx)
	if len(list) != 1 || list[0].State != outbox.Queued || list[0].MessageID != q.MessageID {
		t.Fatalf("%+v", list)
	}
	if n, err := c.outbox.Process(ctx); n != 1 || err != nil {
		t.Fatal(n, err)
	}
	m, r, err := c.ReceiptOf(ctx, q.ID)
	if err != nil || m.State != outbox.Done || r == nil {
		t.Fatalf("%+v %+v %v (%v)", m, r, err, m.Err)
	}

	// One transaction for the external recipients, encrypted; one for
	// the colleague, signed.
	got := e.smtp.Received()
	if len(got) != 2 {
		t.Fatalf("server got %d messages", len(got))
	}
	ext, in := got[0], got[1]
	if ext.From != sendMailbox || strings.Join(ext.To, ",") != external+","+externalEC || strings.Join(in.To, ",") != colleague {
		t.Fatalf("envelopes %v → %v, %v → %v", ext.From, ext.To, in.From, in.To)
	}
	h := header(t, ext.Data)
	if from, _ := h.AddressList("From"); len(from) != 1 || from[0].Address != sendMailbox || from[0].Name != "Sikkerpost-uddservice" {
		t.Fatalf("From %v", from)
	}
	if sender, _ := h.AddressList("Sender"); len(sender) != 1 || sender[0].Address != sendUser {
		t.Fatalf("Sender %v", sender)
	}
	if id := h.Get("Message-ID"); id != q.MessageID {
		t.Fatalf("Message-ID %q, queued %q", id, q.MessageID)
	}
	if to, _ := h.AddressList("To"); len(to) != 2 || to[1].Name != "Firma" || to[1].Address != externalEC {
		t.Fatalf("To %v", to)
	}
	if cc, _ := h.AddressList("Cc"); len(cc) != 1 || cc[0].Address != colleague {
		t.Fatalf("Cc %v", cc)
	}
	if subj, _ := h.Subject(); subj != draft.Subject {
		t.Fatalf("Subject %q", subj)
	}
	if bytes.Contains(ext.Data, []byte("Hermed afgørelsen")) || bytes.Contains(ext.Data, []byte("%PDF")) {
		t.Fatal("the external message carries plaintext")
	}
	// Each external recipient, and the mailbox, can read it: exactly
	// the body and the attachment.
	for _, name := range []string{"recipient-rsa.p12", "recipient-ec.p12", "mailbox-rsa.p12"} {
		text, files := opened(t, ext.Data, identity(t, name), true)
		if text != draft.Body || !bytes.Equal(files["Afgørelse æøå.pdf"], draft.Attachments[0].Data) || len(files) != 1 {
			t.Fatalf("%s reads %q and %d files", name, text, len(files))
		}
	}
	// And so can openssl.
	if bin := testenv.Need(t, "openssl"); bin != "" {
		f := filepath.Join(t.TempDir(), "m.eml")
		os.WriteFile(f, ext.Data, 0o600)
		cmd := exec.Command(bin, "cms", "-decrypt", "-in", f, "-recip", testenv.Path("testdata", "certs", "recipient-rsa.pem"),
			"-inkey", testenv.Path("testdata", "certs", "recipient-rsa.key"))
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("openssl cms -decrypt: %v", err)
		}
		// Inside: a clear signature openssl verifies, over the text.
		dec := filepath.Join(t.TempDir(), "dec.eml")
		os.WriteFile(dec, out, 0o600)
		verified, err := exec.Command(bin, "cms", "-verify", "-in", dec, "-CAfile", testenv.Path("testdata", "certs", "ca.pem")).Output()
		if err != nil || !bytes.Contains(out, []byte("multipart/signed")) || !bytes.Contains(verified, []byte("Hermed afg")) {
			t.Fatalf("openssl cms -verify: %v: %.300s", err, verified)
		}
	}
	text, _ := opened(t, in.Data, nil, false)
	if text != draft.Body {
		t.Fatalf("colleague reads %q", text)
	}

	// Both Sent copies: the encrypted message, readable with the
	// mailbox key.
	srv, _ := c.imapServer()
	for _, acc := range []struct{ mailbox, folder string }{{sendMailbox, "Sendt post"}, {"", "Sendte elementer"}} {
		a, _ := c.account(ctx, c.User(), acc.mailbox)
		copies, err := srv.Fetch(ctx, a, acc.folder, q.MessageID)
		if err != nil || len(copies) != 1 || !bytes.Equal(copies[0], ext.Data) {
			t.Fatalf("%s %s: %d copies, %v", a.Username, acc.folder, len(copies), err)
		}
	}
	// The receipt: in the audit log and in the user's INBOX, naming
	// mailbox, recipients and Message-ID — not the content.
	if r.MessageID != q.MessageID || r.Mailbox != sendMailbox || len(r.Recipients) != 3 || r.Recipients[2].Channel != "internal" {
		t.Fatalf("receipt %+v", r)
	}
	a, _ := c.account(ctx, c.User(), "")
	receipts, err := srv.Fetch(ctx, a, "INBOX", "<receipt."+strings.Trim(q.MessageID, "<>")+">")
	if err != nil || len(receipts) != 1 {
		t.Fatalf("%d receipts, %v", len(receipts), err)
	}
	body, _ := parts(t, receipts[0])
	for _, want := range []string{"Kvittering", sendMailbox, external, externalEC, colleague, q.MessageID} {
		if !strings.Contains(body, want) {
			t.Fatalf("receipt lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, "afgørelsen") || strings.Contains(string(receipts[0]), draft.Subject) {
		t.Fatal("the receipt carries content")
	}
	entries, _ := c.local.Audit(ctx, time.Time{})
	sends := 0
	for _, e := range entries {
		if e.Action == "send" && e.MessageID == q.MessageID && e.Mailbox == sendMailbox && e.Actor.User == sendUser {
			sends++
		}
	}
	if sends != 1 {
		t.Fatalf("%d audit entries for the send", sends)
	}
}

// Send refuses — and queues nothing — without the right, with a red
// recipient, or with no recipient.
func TestSendRefuses(t *testing.T) {
	e := newSendEnv(t)
	c := e.core(t)
	ctx := context.Background()
	var pe *policy.Error
	if _, err := c.Send(ctx, draft, "sikkerpost-hr@hoejskole.example", []string{external}, nil); !errors.As(err, &pe) {
		t.Fatalf("no right: %v", err)
	}
	_, err := c.Send(ctx, draft, sendMailbox, []string{external, "ukendt@andetsted.example"}, nil)
	if err == nil || !strings.Contains(i18n.Danish.Error(err), "ukendt@andetsted.example") {
		t.Fatalf("red recipient: %v", err)
	}
	var se *SendError
	if _, err := c.Send(ctx, draft, sendMailbox, nil, nil); !errors.As(err, &se) {
		t.Fatalf("no recipients: %v", err)
	}
	if list, _ := c.OutboxList(ctx); len(list) != 0 {
		t.Fatalf("queued %d", len(list))
	}
	if SubjectWarning("Sag om 010190-1234") == nil || SubjectWarning("Afgørelse") != nil {
		t.Fatal("CPR in subject")
	}
}

func fault(code int, stage mailtest.Stage) func(mailtest.Stage, string) error {
	return func(st mailtest.Stage, _ string) error {
		if st == stage {
			return &smtp.SMTPError{Code: code, EnhancedCode: smtp.EnhancedCode{code / 100, 0, 0}, Message: "injected"}
		}
		return nil
	}
}

func TestSendTemporaryThenDelivered(t *testing.T) {
	e := newSendEnv(t)
	c := e.core(t)
	ctx := context.Background()
	clock := time.Now()
	c.outbox.Now = func() time.Time { return clock }
	e.smtp.SetFault(fault(451, mailtest.StageMail))
	q, err := c.Send(ctx, draft, sendMailbox, []string{external}, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.outbox.Process(ctx)
	m, _ := c.outbox.Get(ctx, q.ID)
	if m.State != outbox.Queued || m.Attempts != 1 || m.Err == nil || !m.Err.Temporary {
		t.Fatalf("%+v", m)
	}
	e.smtp.SetFault(nil)
	clock = clock.Add(time.Minute)
	c.outbox.Process(ctx)
	if m, _ = c.outbox.Get(ctx, q.ID); m.State != outbox.Done || len(e.smtp.Received()) != 1 {
		t.Fatalf("%+v, %d received", m, len(e.smtp.Received()))
	}
}

func TestSendPermanentStaysInOutbox(t *testing.T) {
	e := newSendEnv(t)
	c := e.core(t)
	ctx := context.Background()
	e.smtp.SetFault(func(st mailtest.Stage, arg string) error {
		if st == mailtest.StageRcpt && arg == externalEC {
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "mailbox unavailable"}
		}
		return nil
	})
	q, err := c.Send(ctx, draft, sendMailbox, []string{external, externalEC}, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.outbox.Process(ctx)
	m, _ := c.outbox.Get(ctx, q.ID)
	if m.State != outbox.Failed || len(e.smtp.Received()) != 0 {
		t.Fatalf("%+v, %d received", m, len(e.smtp.Received()))
	}
	text := i18n.Danish.Error(m.Err)
	if !strings.Contains(text, externalEC) || !strings.Contains(text, "550 5.1.1 (adressen findes ikke)") || !strings.Contains(text, "Ingen har fået mailen") {
		t.Fatalf("sentence: %s", text)
	}
	// The server is fixed; the user retries; the message is the one
	// built before, with the same Message-ID.
	e.smtp.SetFault(nil)
	if err := c.outbox.Retry(ctx, q.ID); err != nil {
		t.Fatal(err)
	}
	c.outbox.Process(ctx)
	got := e.smtp.Received()
	if len(got) != 1 {
		t.Fatalf("%d received", len(got))
	}
	if h := header(t, got[0].Data); len(got) != 1 || h.Get("Message-ID") != q.MessageID {
		t.Fatalf("%d received", len(got))
	}
}

// Rights and recipients are checked again when the worker builds the
// mail: a right revoked after Send stops it, nothing goes to anyone.
func TestSendRecheck(t *testing.T) {
	e := newSendEnv(t)
	c := e.core(t)
	ctx := context.Background()
	q, err := c.Send(ctx, draft, sendMailbox, []string{external}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.local.Revoke(ctx, testHelpdesk, sendUser, sendMailbox, policy.Send); err != nil {
		t.Fatal(err)
	}
	c.outbox.Process(ctx)
	m, _ := c.outbox.Get(ctx, q.ID)
	if m.State != outbox.Failed || m.Err.Message.Key != "policy.no_right" || len(e.smtp.Received()) != 0 {
		t.Fatalf("%+v %v, %d received", m, m.Err, len(e.smtp.Received()))
	}
}

// A failed copy is tried again on its own; the mail is not submitted
// twice.
func TestCopyRetriedWithoutResubmitting(t *testing.T) {
	e := newSendEnv(t)
	c := e.core(t)
	ctx := context.Background()
	clock := time.Now()
	c.outbox.Now = func() time.Time { return clock }
	real := c.cfg.IMAP.Server
	c.cfg.IMAP.Server = daemon.SilentServer(t)
	c.cfg.IMAP.Timeout.Duration = 200 * time.Millisecond
	q, err := c.Send(ctx, draft, sendMailbox, []string{external}, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.outbox.Process(ctx)
	m, _ := c.outbox.Get(ctx, q.ID)
	if m.State != outbox.Queued || !m.Did(stepSubmit) || m.Did(stepCopyMailbox) || m.Err == nil || m.Err.Message.Key != "mailstore.temporary" {
		t.Fatalf("%+v %v", m, m.Err)
	}
	c.cfg.IMAP.Server = real
	clock = clock.Add(time.Hour)
	c.outbox.Process(ctx)
	if m, _ = c.outbox.Get(ctx, q.ID); m.State != outbox.Done || len(e.smtp.Received()) != 1 {
		t.Fatalf("%+v, %d received", m, len(e.smtp.Received()))
	}
}

// The whole send with a real Dovecot for the copies: both Sent folders
// (the one Dovecot marks \Sent, through a master-user login for the
// mailbox) and the receipt, read from Dovecot's Maildir.
func TestSendWithDovecot(t *testing.T) {
	e := newSendEnv(t)
	d := e.withDovecot(t)
	c := e.core(t)
	ctx := context.Background()
	q, err := c.Send(ctx, draft, sendMailbox, []string{external}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := c.outbox.Process(ctx); n != 1 || err != nil {
		m, _ := c.outbox.Get(ctx, q.ID)
		t.Fatalf("%d %v: %v", n, err, m.Err)
	}
	sent := e.smtp.Received()[0].Data
	lf := bytes.ReplaceAll(sent, []byte("\r\n"), []byte("\n"))
	for _, account := range []string{sendMailbox, sendUser} {
		got := d.Messages(t, account, daemon.SentFolder)
		if len(got) != 1 || !bytes.Equal(got[0], lf) {
			t.Fatalf("%s: %d copies in %s", account, len(got), daemon.SentFolder)
		}
	}
	inbox := d.Messages(t, sendUser, "INBOX")
	if len(inbox) != 1 || !bytes.Contains(inbox[0], []byte(strings.Trim(q.MessageID, "<>"))) {
		t.Fatalf("%d receipts", len(inbox))
	}
}

// TestRoutingAddressesAreNotInternal: addresses in the institution's
// domain that a mail server would route elsewhere are red at the check
// and refused at send and forward, before anything is queued.
func TestRoutingAddressesAreNotInternal(t *testing.T) {
	e := newSendEnv(t)
	c := e.core(t)
	ctx := context.Background()
	routed := []string{"jens.hansen%kommune.example@hoejskole.example", `"jens.hansen@kommune.example"@hoejskole.example`, "kommune.example!jens.hansen@hoejskole.example"}
	for i, v := range c.Check(ctx, routed) {
		var re *recipient.Error
		if v.OK() || !errors.As(v.Err, &re) || re.Reason != recipient.RoutingLocalPart {
			t.Errorf("%s: ok=%v %v", routed[i], v.OK(), v.Err)
		}
	}
	draft := message.Draft{Subject: "Notat", Body: "Fortroligt."}
	if q, err := c.SendTo(ctx, draft, sendMailbox, Recipients{To: routed[:1]}); err == nil {
		t.Errorf("queued %+v for %s", q, routed[0])
	}
	m := &OpenedMail{Mailbox: sendMailbox, Content: &message.Received{Text: "x"}}
	if err := c.local.Grant(ctx, testHelpdesk, sendUser, sendMailbox, policy.Read); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Forward(ctx, m, routed[2:], "Til orientering"); err == nil {
		t.Errorf("forwarded to %s", routed[2])
	}
	if list, _ := c.outbox.List(ctx); len(list) != 0 {
		t.Errorf("%d mails queued", len(list))
	}
}

// TestReceiptSaysHowTheCopyIsKept: the receipt says the Sent copies are
// encrypted only when they are: a mail to internal addresses only is
// kept signed, in clear, and the receipt says so.
func TestReceiptSaysHowTheCopyIsKept(t *testing.T) {
	e := newSendEnv(t)
	c := e.core(t)
	ctx := context.Background()
	for _, tc := range []struct {
		to, want string
		clear    bool
	}{
		{external, "Mailen ligger krypteret", false},
		{colleague, "Mailen ligger signeret, men ikke krypteret", true},
	} {
		q, err := c.Send(ctx, draft, sendMailbox, []string{tc.to}, nil)
		if err != nil {
			t.Fatal(err)
		}
		c.outbox.Process(ctx)
		_, r, err := c.ReceiptOf(ctx, q.ID)
		if err != nil || r == nil {
			t.Fatalf("%s: %v", tc.to, err)
		}
		if text := r.Text(i18n.Danish); !strings.Contains(text, tc.want) || r.CopyInClear != tc.clear || !strings.Contains(text, "Modtaget af mailserveren") {
			t.Errorf("%s: %+v\n%s", tc.to, r, text)
		}
		srv, _ := c.imapServer()
		acc, _ := c.account(ctx, c.User(), sendMailbox)
		copies, _ := srv.Fetch(ctx, acc, "Sendt post", q.MessageID)
		if len(copies) != 1 || bytes.Contains(copies[0], []byte("pkcs7-mime")) == tc.clear {
			t.Errorf("%s: the Sent copy is not as the receipt says", tc.to)
		}
	}
}

// TestDuplicateRecipientsMerged: a recipient given twice gets the mail
// once.
func TestDuplicateRecipientsMerged(t *testing.T) {
	e := newSendEnv(t)
	c := e.core(t)
	ctx := context.Background()
	q, err := c.SendTo(ctx, draft, sendMailbox, Recipients{To: []string{external, "Jens <JENS.HANSEN@kommune.example>", colleague}, Cc: []string{external, colleague}})
	if err != nil {
		t.Fatal(err)
	}
	m, _ := c.outbox.Get(ctx, q.ID)
	if len(m.Recipients) != 2 || len(m.Cc) != 0 {
		t.Fatalf("queued To %v Cc %v", m.Recipients, m.Cc)
	}
	c.outbox.Process(ctx)
	got := map[string]int{}
	for _, r := range e.smtp.Received() {
		for _, to := range r.To {
			got[strings.ToLower(to)]++
		}
	}
	if got[external] != 1 || got[colleague] != 1 {
		t.Errorf("deliveries %v", got)
	}
}

// TestSendWarning: a CPR number in the subject is always asked about; in
// the text only when the mail goes unencrypted, to internal addresses
// only.
func TestSendWarning(t *testing.T) {
	e := newSendEnv(t)
	c := e.core(t)
	ctx := context.Background()
	internal := c.Check(ctx, []string{colleague})
	mixed := c.Check(ctx, []string{colleague, external})
	reason := func(err error) string {
		var se *SendError
		if errors.As(err, &se) {
			return string(se.Reason)
		}
		return ""
	}
	for _, tc := range []struct {
		d    message.Draft
		vs   []directory.Verdict
		want string
	}{
		{message.Draft{Subject: "Sag 010190–1009"}, mixed, "cpr_in_subject"},
		{message.Draft{Subject: "Sag", Body: "Borgeren 010190-1009 har ringet."}, internal, "cpr_in_internal_body"},
		{message.Draft{Subject: "Sag", Body: "Borgeren 010190-1009 har ringet."}, mixed, ""},
		{message.Draft{Subject: "Sag", Body: "Intet nummer her."}, internal, ""},
	} {
		if got := reason(SendWarning(tc.d, tc.vs)); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.d, got, tc.want)
		}
	}
}

// TestReadAttachmentLooksFirst: a file larger than any channel takes is
// refused by its size, before it is read (a sparse 64 GB file here:
// reading it would exhaust memory).
func TestReadAttachmentLooksFirst(t *testing.T) {
	e := newSendEnv(t)
	c := e.core(t)
	dir := t.TempDir()
	huge := filepath.Join(dir, "disk.img")
	f, err := os.Create(huge)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(64 << 30); err != nil {
		t.Fatal(err)
	}
	f.Close()
	_, err = c.ReadAttachment(huge)
	var le *LimitError
	if !errors.As(err, &le) || le.Reason != "too_large_file" || !strings.Contains(i18n.Danish.Error(err), "disk.img") {
		t.Fatalf("%v", err)
	}
	small := filepath.Join(dir, "notat.pdf")
	os.WriteFile(small, []byte("%PDF"), 0o600)
	if a, err := c.ReadAttachment(small); err != nil || a.Name != "notat.pdf" || string(a.Data) != "%PDF" {
		t.Fatalf("%+v %v", a, err)
	}
	if _, err := c.ReadAttachment(filepath.Join(dir, "findes-ikke.pdf")); !strings.Contains(i18n.Danish.Error(err), "findes ikke") {
		t.Errorf("a missing file: %v", err)
	}
}
