package gateway

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"sikkermail/internal/config"
	"sikkermail/internal/core"
	"sikkermail/internal/i18n"
	"sikkermail/internal/keystore"
	"sikkermail/internal/message"
	"sikkermail/internal/outbox"
	"sikkermail/internal/policy"
)

// clientConfig is a staff PC's settings in gateway mode: the gateway,
// the institution's domains, a database of its own; no identity, no
// mail server.
func (e *env) clientConfig(t testing.TB) *config.Config {
	cfg := &config.Config{Language: "da", Database: filepath.Join(t.TempDir(), "pc.db"),
		Institution: config.Institution{Domains: []string{config.DemoDomain}},
		Gateway:     config.Gateway{URL: e.url, CA: e.caFile}}
	return cfg
}

func (e *env) dial(t testing.TB, cfg *config.Config, user string) *Client {
	t.Helper()
	c, err := Dial(cfg, ClientOptions{Token: func(context.Context) (string, error) { return e.entra.Issue(user, scope) }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// The desktop client in gateway mode does through the gateway what it
// does on one PC: who the user is, the mailboxes and rights, the check,
// a send to the receipt; and a grant by helpdesk is the staff's at once.
func TestClient(t *testing.T) {
	e := start(t)
	ctx := context.Background()
	cl := e.dial(t, e.clientConfig(t), staff)
	if cl.User() != staff {
		t.Fatalf("user %q", cl.User())
	}
	mbs, err := cl.Mailboxes(ctx)
	if err != nil || len(mbs) != 4 {
		t.Fatalf("%+v %v", mbs, err)
	}
	for _, m := range mbs {
		if m.Address == "sikkerpost-hr@hoejskole.example" && (m.CanSend || !strings.Contains(i18n.Danish.Error(m.Why), "Kontakt Helpdesk")) {
			t.Errorf("HR: %+v %v", m, m.Why)
		}
	}
	vs := cl.Check(ctx, []string{"jens.hansen@kommune.example", "nobody@x.example"})
	if !vs[0].OK() || len(vs[0].Certs) != 1 || vs[1].OK() || !strings.Contains(i18n.English.Error(vs[1].Err), "nobody@x.example") {
		t.Fatalf("%+v", vs)
	}
	// Checked green, the recipient is offered as the user types; the
	// directories' people once the user pauses, as the gateway finds them.
	if got := cl.Suggest(ctx, "jens"); len(got) != 1 || got[0].Address != "jens.hansen@kommune.example" {
		t.Errorf("suggested %+v", got)
	}
	if got, want := cl.SuggestFromDirectories(ctx, "hansen"), e.core.SuggestFromDirectories(ctx, "hansen"); len(want) == 0 || !slices.Equal(got, want) {
		t.Errorf("suggested %+v, the gateway finds %+v", got, want)
	}

	d := message.Draft{Subject: "Afgørelse", Body: "Kære Jens\n\nHermed afgørelsen.\n", Attachments: []message.Attachment{{Name: "a.pdf", Data: []byte("%PDF-1.7 hemmelig")}}}
	q, err := cl.Send(ctx, d, "sikkerpost-uddservice@hoejskole.example", []string{"jens.hansen@kommune.example"}, nil)
	if err != nil || q.ID <= 0 {
		t.Fatalf("%+v %v", q, err)
	}
	if n, err := e.core.Process(ctx); n != 1 || err != nil {
		t.Fatalf("the gateway sent %d: %v", n, err)
	}
	m, r, err := cl.Await(ctx, q.ID, nil)
	if err != nil || m.State != outbox.Done || r == nil || r.Recipients[0].Address != "jens.hansen@kommune.example" {
		t.Fatalf("%+v %+v %v", m, r, err)
	}

	// Refused at the gateway: the gateway's reason, and nothing kept.
	if _, err := cl.Send(ctx, d, "sikkerpost-hr@hoejskole.example", []string{"jens.hansen@kommune.example"}, nil); !strings.Contains(i18n.Danish.Error(err), "sikkerpost-hr@hoejskole.example") {
		t.Errorf("no right: %v", err)
	}
	var se *core.SendError
	if _, err := cl.Send(ctx, message.Draft{Subject: "Sag om 010190-1009"}, "sikkerpost-uddservice@hoejskole.example", []string{"kollega@hoejskole.example"}, nil); !errors.As(err, &se) || se.Reason != core.CPRInSubject {
		t.Errorf("CPR in the subject: %v", err)
	}
	if kept, _ := cl.kept(ctx); len(kept) != 0 {
		t.Errorf("kept %+v", kept)
	}

	hd := e.dial(t, e.clientConfig(t), itVagt)
	if ok, _ := hd.IsHelpdesk(ctx); !ok {
		t.Fatal("the helpdesk group's member is no helpdesk")
	}
	if err := hd.Grant(ctx, staff, "sikkerpost-hr@hoejskole.example", policy.Send); err != nil {
		t.Fatal(err)
	}
	if err := cl.Grant(ctx, staff, "sikkerpost-ledelse@hoejskole.example", policy.Send); !strings.Contains(i18n.Danish.Error(err), "Helpdesk-rollen") {
		t.Errorf("staff granted: %v", err)
	}
	mbs, _ = cl.Mailboxes(ctx)
	for _, m := range mbs {
		if m.Address == "sikkerpost-hr@hoejskole.example" && !m.CanSend {
			t.Error("the grant is not the staff's at once")
		}
	}
	holders, err := hd.AllHolders(ctx)
	if err != nil || len(holders) != 4 || holders[0].Certificate == nil {
		t.Fatalf("%+v %v", holders, err)
	}
	if check, err := hd.VerifyAudit(ctx); err != nil || !check.OK() {
		t.Errorf("%+v %v", check, err)
	}
}

// A gateway that cannot be reached loses nothing: the mail is kept on
// the PC sealed to the gateway, told by a negative number, and goes when
// the gateway answers again; so do drafts. The PC's folder holds no key
// and not the mail's text.
func TestClientOffline(t *testing.T) {
	e := start(t)
	ctx := context.Background()
	cfg := e.clientConfig(t)
	online := e.dial(t, cfg, staff)
	if online.User() != staff { // what the gateway said is kept for later
		t.Fatal(online.User())
	}
	if _, err := online.sealingCertificate(ctx); err != nil {
		t.Fatal(err)
	}
	stale, err := online.SaveDraft(ctx, "", message.Draft{Subject: "Forældet", Body: "slettes mens gatewayen er væk"})
	if err != nil {
		t.Fatal(err)
	}
	online.Close()

	away := *cfg
	away.Gateway.URL = "https://127.0.0.1:1"
	off := e.dial(t, &away, staff)
	d := message.Draft{Subject: "Notat", Body: "Fortroligt notat om sagen", Attachments: []message.Attachment{{Name: "notat.txt", Data: []byte("bilag-indhold")}}}
	q, err := off.Send(ctx, d, "sikkerpost-uddservice@hoejskole.example", []string{"jens.hansen@kommune.example"}, nil)
	if err != nil || q.ID >= 0 {
		t.Fatalf("%+v %v", q, err)
	}
	list, err := off.OutboxList(ctx)
	var ue *UnreachableError
	if !errors.As(err, &ue) || len(list) != 1 || list[0].ID != q.ID || list[0].State != outbox.Queued {
		t.Fatalf("%+v %v", list, err)
	}
	// A draft saved, and one deleted, while the gateway is away wait
	// here for it, sealed to it.
	kept, err := off.SaveDraft(ctx, "", message.Draft{Subject: "Kladde", Body: "Fortroligt notat i kladden", Attachments: d.Attachments})
	if err != nil {
		t.Fatal(err)
	}
	if err := off.DeleteDraft(stale); err != nil {
		t.Fatal(err)
	}
	if _, err := off.Drafts(ctx); !errors.As(err, &ue) {
		t.Errorf("drafts listed with the gateway away: %v", err)
	}
	off.Close()

	// Nothing on the PC opens the mail or signs for the mailbox.
	mb, err := e.core.Mailbox(ctx, "sikkerpost-uddservice@hoejskole.example")
	if err != nil {
		t.Fatal(err)
	}
	id, err := keystore.Open(mb.Identity, mb.Password)
	if err != nil {
		t.Fatal(err)
	}
	key, _ := x509.MarshalPKCS8PrivateKey(id.Key)
	filepath.WalkDir(filepath.Dir(cfg.Database), func(p string, de fs.DirEntry, err error) error {
		if err != nil || de.IsDir() {
			return err
		}
		b, _ := os.ReadFile(p)
		for _, secret := range [][]byte{key, []byte("PRIVATE KEY"), []byte("Fortroligt notat"), []byte("bilag-indhold")} {
			if bytes.Contains(b, secret) {
				t.Errorf("%s holds %.20q", p, secret)
			}
		}
		return nil
	})
	if cfg.SMTP.Server != "" || cfg.DigitalPost.Identity != "" || cfg.Directory.Store != "" {
		t.Errorf("the PC's settings name servers or keys: %+v", cfg)
	}

	back := e.dial(t, cfg, staff)
	if _, err := back.Mailboxes(ctx); err != nil { // the gateway answers again
		t.Fatal(err)
	}
	if n, err := back.Process(ctx); n != 1 || err != nil {
		t.Fatalf("handed over %d: %v", n, err)
	}
	drafts, err := back.Drafts(ctx)
	if err != nil || len(drafts) != 1 || drafts[0].ID != kept || drafts[0].Subject != "Kladde" || drafts[0].Attachments != 1 {
		t.Fatalf("drafts once the gateway answers: %+v %v", drafts, err)
	}
	if got, err := back.OpenDraft(ctx, kept); err != nil || got.Body != "Fortroligt notat i kladden" {
		t.Errorf("%+v %v", got, err)
	}
	if left, _ := os.ReadDir(back.waitingDir()); len(left) != 0 {
		t.Errorf("still waiting on the PC: %v", left)
	}
	if n, err := e.core.Process(ctx); n != 1 || err != nil {
		t.Fatalf("the gateway sent %d: %v", n, err)
	}
	m, r, err := back.ReceiptOf(ctx, q.ID)
	if err != nil || m.State != outbox.Done || r == nil || m.Subject != "Notat" {
		t.Fatalf("%+v %+v %v", m, r, err)
	}
}

// The gateway's sealing certificate is replaced without losing a mail:
// what PCs kept sealed to the old one opens while the gateway keeps the
// old identity; a PC seals to the new one once it reaches the gateway;
// and with the old one gone, what was sealed to it says so, and is not
// taken for sent.
func TestSealingRotation(t *testing.T) {
	e := start(t)
	ctx := context.Background()
	const mailbox = "sikkerpost-uddservice@hoejskole.example"
	// A PC learns the certificate, then loses the gateway and keeps a mail.
	keep := func() (*config.Config, int64) {
		cfg := e.clientConfig(t)
		pc := e.dial(t, cfg, staff)
		if _, err := pc.sealingCertificate(ctx); err != nil {
			t.Fatal(err)
		}
		pc.Close()
		away := *cfg
		away.Gateway.URL = "https://127.0.0.1:1"
		off := e.dial(t, &away, staff)
		q, err := off.Send(ctx, message.Draft{Subject: "Gemt", Body: "Skrevet mens gatewayen var væk"}, mailbox, []string{"jens.hansen@kommune.example"}, nil)
		if err != nil || q.ID >= 0 {
			t.Fatalf("%+v %v", q, err)
		}
		off.Close()
		return cfg, q.ID
	}
	cfgA, idA := keep()
	cfgB, idB := keep()

	// IT replaces the certificate and keeps the old identity.
	old, next := e.sealing, newSealing(t, "sikkermail-gateway sealing 2")
	e.srv.SetSealing(next, old)
	a := e.dial(t, cfgA, staff)
	if _, err := a.Mailboxes(ctx); err != nil { // the gateway answers again
		t.Fatal(err)
	}
	if n, err := a.Process(ctx); n != 1 || err != nil {
		t.Fatalf("handed over %d: %v", n, err)
	}
	if m, _, err := a.ReceiptOf(ctx, idA); err != nil || m.ID <= 0 || m.Subject != "Gemt" {
		t.Fatalf("the mail sealed to the old certificate: %+v %v", m, err)
	}
	if cert, err := a.sealingCertificate(ctx); err != nil || !cert.Equal(next.Cert) {
		t.Errorf("the PC seals to %v: %v", cert.Subject, err)
	}

	// The old identity gone: the mail B kept sealed to it cannot be
	// opened, and stays in B's outbox saying why.
	e.srv.SetSealing(next)
	b := e.dial(t, cfgB, staff)
	b.Mailboxes(ctx)
	b.Process(ctx)
	kept, err := b.kept(ctx)
	if err != nil || len(kept) != 1 || kept[0].ID != idB || kept[0].State != outbox.Failed || kept[0].Err == nil ||
		kept[0].Err.Message.Key != "gateway.sealed_for_other" {
		t.Fatalf("%+v %v", kept, err)
	}
	if n, _ := e.core.OutboxList(ctx); len(n) != 1 {
		t.Errorf("the gateway holds %d mails, want A's alone", len(n))
	}
}

// Settings that cannot sign in to the gateway say which key is missing.
func TestDialSettings(t *testing.T) {
	for _, c := range []struct {
		gw   config.Gateway
		ms   config.Microsoft
		want string
	}{
		{config.Gateway{URL: "http://gw.example"}, config.Microsoft{}, "gateway.needs_tls"},
		{config.Gateway{URL: "https://gw.example"}, config.Microsoft{Tenant: "t", ClientID: "c"}, "[gateway] scope"},
		{config.Gateway{URL: "https://gw.example", Scope: "api://x/access_as_user"}, config.Microsoft{}, "[microsoft] tenant, client_id"},
	} {
		cfg := &config.Config{Database: filepath.Join(t.TempDir(), "pc.db"), Institution: config.Institution{Domains: []string{config.DemoDomain}},
			Gateway: c.gw, Microsoft: c.ms}
		_, err := Dial(cfg, ClientOptions{})
		var ge *Error
		if !errors.As(err, &ge) || (ge.Localize().Key != c.want && ge.Detail != c.want) || strings.HasPrefix(i18n.Danish.Error(err), "gateway.") {
			t.Errorf("%+v: %v", c.gw, err)
		}
	}
}

// A reader reads the secure inbox through the gateway as on one PC: the
// list, each message opened by the gateway with the report its own
// client would give (told in the PC's language from the gateway's
// codes), marked handled for every reader, forwarded inside the
// institution only, and a secure reply begun; one without the read right
// is refused.
func TestInbox(t *testing.T) {
	e := start(t)
	ctx := context.Background()
	cl := e.dial(t, e.clientConfig(t), staff)
	readable, err := cl.Readable(ctx)
	if err != nil || len(readable) != 1 {
		t.Fatalf("%+v %v", readable, err)
	}
	mailbox := readable[0].Address
	list, err := cl.InboxList(ctx, mailbox)
	if err != nil || len(list) != 3 {
		t.Fatalf("%d %v", len(list), err)
	}
	want := []string{"Ikke sendt sikkert: den er signeret af Jens Hansen", "Ikke sendt sikkert: mailen var ikke krypteret", "Sendt sikkert: krypteret (AES-256-GCM) og signeret af Jens Hansen"}
	var secure *core.OpenedMail
	for i, item := range list {
		m, err := cl.InboxOpen(ctx, mailbox, item.UID)
		if err != nil {
			t.Fatal(err)
		}
		local, err := e.core.As(policy.Actor{User: staff}, "").InboxOpen(ctx, mailbox, item.UID)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range i18n.Langs {
			if got, at := m.Report.Summary(l), local.Report.Summary(l); got != at || !slices.Equal(m.Report.Details(l), local.Report.Details(l)) {
				t.Errorf("%s, %s: the PC says %q, the gateway's own client %q", item.Subject, l, got, at)
			}
		}
		if s := m.Report.Summary(i18n.Danish); !strings.HasPrefix(s, want[i]) {
			t.Errorf("%s: %s", item.Subject, s)
		}
		if m.Report.Secure() {
			secure = m
		}
	}
	if secure == nil || secure.Content == nil || secure.Content.Text == "" {
		t.Fatalf("the secure message: %+v", secure)
	}
	if err := cl.MarkHandled(ctx, mailbox, secure.UID, true); err != nil {
		t.Fatal(err)
	}
	list, _ = cl.InboxList(ctx, mailbox)
	for _, item := range list {
		if item.Handled != (item.UID == secure.UID) {
			t.Errorf("%d handled %v", item.UID, item.Handled)
		}
	}
	if _, err := cl.Forward(ctx, secure, []string{"jens.hansen@kommune.example"}, "Til dig"); !strings.Contains(i18n.Danish.Error(err), "jens.hansen@kommune.example") {
		t.Errorf("forwarded outside: %v", err)
	}
	if q, err := cl.Forward(ctx, secure, []string{"kollega@hoejskole.example"}, "Til dig"); err != nil || q.ID <= 0 {
		t.Errorf("forwarded inside: %+v %v", q, err)
	}
	if r, err := cl.Reply(ctx, secure); err != nil || r.To != "jens.hansen@kommune.example" || !strings.Contains(r.Draft.Body, "> ") {
		t.Errorf("reply %+v %v", r, err)
	}
	other := e.dial(t, e.clientConfig(t), itVagt)
	if _, err := other.InboxList(ctx, mailbox); !strings.Contains(i18n.Danish.Error(err), mailbox) {
		t.Errorf("read without the right: %v", err)
	}
}
