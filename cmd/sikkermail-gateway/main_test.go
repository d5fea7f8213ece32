package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"software.sslmate.com/src/go-pkcs12"

	"sikkermail/internal/config"
	"sikkermail/internal/core"
	"sikkermail/internal/demo"
	"sikkermail/internal/gateway"
	"sikkermail/internal/i18n"
	"sikkermail/internal/mailtest"
	"sikkermail/internal/mailtest/daemon"
	"sikkermail/internal/message"
	"sikkermail/internal/outbox"
	"sikkermail/internal/smime"
	"sikkermail/internal/testenv"
)

// The one-command demo serves the API, and what it prints is enough to
// call it as the demo's people.
func TestDemo(t *testing.T) {
	t.Setenv("HOME", t.TempDir())
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	ctx, cancel := context.WithCancel(context.Background())
	var out bytes.Buffer
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-demo", "-listen", "127.0.0.1:0"}, &out, func(a string) { ready <- a })
	}()
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatal(err)
	}
	defer func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Error(err)
		}
	}()
	// curl --cacert CA -H @HEADER URL, as printed.
	line := regexp.MustCompile(`curl --cacert (\S+) -H @(\S+) (\S+)`)
	calls := line.FindAllStringSubmatch(out.String(), -1)
	if len(calls) != 3 || !strings.Contains(calls[0][3], addr) {
		t.Fatalf("printed:\n%s", out.String())
	}
	ca, err := os.ReadFile(calls[0][1])
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(ca)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
	for i, want := range []int{200, 200, 200} {
		header, err := os.ReadFile(calls[i][2])
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest("GET", calls[i][3], nil)
		name, value, _ := strings.Cut(strings.TrimSpace(string(header)), ": ")
		req.Header.Set(name, value)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body any
		json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("%s: %d %v", calls[i][3], resp.StatusCode, body)
		}
	}
}

func TestUsage(t *testing.T) {
	for _, args := range [][]string{nil, {"-demo", "-config", "x.toml"}, {"-nonsense"}, {"-demo", "extra"}} {
		if err := run(context.Background(), args, &bytes.Buffer{}, nil); !errors.Is(err, errUsage) {
			t.Errorf("%v: %v", args, err)
		}
	}
}

// Settings without a certificate are refused before anything listens:
// the gateway serves HTTPS only.
func TestNeedsCertificate(t *testing.T) {
	dir := t.TempDir()
	cfg := dir + "/gateway.toml"
	os.WriteFile(cfg, []byte("database = \""+dir+"/gw.db\"\n[institution]\ndomains = [\"hoejskole.example\"]\n[user]\naddress = \"gateway@hoejskole.example\"\n"), 0o600)
	err := run(context.Background(), []string{"-config", cfg}, &bytes.Buffer{}, func(string) { t.Error("listening") })
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("%v", err)
	}
}

// The example settings in deploy/ are read as the gateway reads its
// own, every key known.
func TestExampleSettings(t *testing.T) {
	cfg, err := config.Load(testenv.Path("deploy", "gateway.toml.example"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Server.Listen == "" || cfg.Auth.Audience == "" || cfg.Auth.HelpdeskGroup == "" || cfg.Store.URL == "" || cfg.Store.Lease.Duration != 30*time.Second {
		t.Errorf("%+v %+v %+v", cfg.Server, cfg.Auth, cfg.Store)
	}
}

// The sealing identity and those it replaced are read from the settings'
// files; one that cannot be read stops the start and names its file.
func TestSealingSettings(t *testing.T) {
	dir := t.TempDir()
	pw := filepath.Join(dir, "sealing.pass")
	os.WriteFile(pw, []byte(mailtest.Password), 0o600)
	write := func(name string) *x509.Certificate {
		cert, key, err := mailtest.Issue(nil, nil, &x509.Certificate{Subject: pkix.Name{CommonName: name},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageKeyEncipherment})
		if err != nil {
			t.Fatal(err)
		}
		p12, err := pkcs12.Modern.Encode(key, cert, nil, mailtest.Password)
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, name+".p12"), p12, 0o600)
		return cert
	}
	next, old := write("sealing-2027"), write("sealing-2026")
	s := config.Server{Sealing: filepath.Join(dir, "sealing-2027.p12"), SealingPassword: "file:" + pw,
		SealedBefore: []config.Sealing{{Identity: filepath.Join(dir, "sealing-2026.p12"), Password: "file:" + pw}}}
	id, before, err := sealing(s)
	if err != nil || !id.Cert.Equal(next) || len(before) != 1 || !before[0].Cert.Equal(old) {
		t.Fatalf("%v %v %v", id, before, err)
	}
	s.SealedBefore = append(s.SealedBefore, config.Sealing{Identity: filepath.Join(dir, "sealing-2025.p12"), Password: "file:" + pw})
	if _, _, err := sealing(s); err == nil || !strings.Contains(i18n.Danish.Error(err), "sealing-2025.p12") {
		t.Errorf("a former identity missing: %v", err)
	}
}

// The inbound side as the gateway starts it, with a real clamd and
// spamd: its SMTP listener takes mail for a secure mailbox over TLS,
// answers only once the mail is in the boundary's queue, refuses a
// mailbox the gateway does not hold, and the queue's worker takes each
// where it goes: the readers find the encrypted and the plain mail and
// the notice of the malware in INBOX, and neither the malware nor the
// spam. It is refused without a spam setting.
func TestBoundaryListener(t *testing.T) {
	clamd := daemon.StartClamd(t, "25M")
	cfg := config.Demo()
	cfg.Database = filepath.Join(t.TempDir(), "gw.db")
	cfg.Boundary.Scanner = "unix:" + clamd.Socket
	cfg.Boundary.Spam = "unix:" + daemon.StartSpamd(t).Socket
	api, err := demo.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer api.Close()
	c := api.(*demo.Core).Core
	ctx := context.Background()
	x := mailtest.NewTLS(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// Neither a spamd nor "none": IT has not said how spam is checked.
	c.Config().Boundary.Spam = ""
	var ge *gateway.Error
	if _, _, err := startBoundary(ctx, c, x.Server, l); !errors.As(err, &ge) || ge.Detail != "[boundary] spam" {
		t.Errorf("started without a spam setting: %v", err)
	}
	c.Config().Boundary.Spam = cfg.Boundary.Spam
	b, stop, err := startBoundary(ctx, c, x.Server, l)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()

	const mailbox = "sikkerpost-uddservice@hoejskole.example"
	cert, err := c.MailboxCertificate(ctx, mailbox)
	if err != nil {
		t.Fatal(err)
	}
	entity := []byte("Content-Type: text/plain; charset=utf-8\r\n\r\nFortroligt svar.\r\n")
	enveloped, err := smime.EncryptEntity(entity, []smime.Recipient{{Cert: cert}}, smime.AES256GCM)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := message.Compose(message.Header{From: message.Address{Address: "jens.hansen@kommune.example"}, To: []message.Address{{Address: mailbox}},
		Subject: "Svar", Date: time.Now(), MessageID: message.NewMessageID("kommune.example")}, enveloped)
	if err != nil {
		t.Fatal(err)
	}
	s, err := smtp.DialStartTLS(l.Addr().String(), x.Client())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.SendMail("jens.hansen@kommune.example", []string{mailbox}, bytes.NewReader(raw)); err != nil {
		t.Fatal(err)
	}
	// 250: the mail is in the queue.
	list, err := b.Queue().List(ctx)
	if err != nil || len(list) != 1 || list[0].Mailbox != mailbox {
		t.Fatalf("%+v %v", list, err)
	}
	// More kinds through the listener: plain, spam, malware; and one
	// for a mailbox the gateway does not hold, refused at RCPT.
	plain := func(subject string, d message.Draft) []byte {
		raw, err := mailtest.Incoming(message.Header{From: message.Address{Address: "borger@andetsted.example"}, To: []message.Address{{Address: mailbox}},
			Subject: subject, Date: time.Now(), MessageID: message.NewMessageID("andetsted.example")}, d, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	virus := plain("Faktura", message.Draft{Body: "Se fakturaen.", Attachments: []message.Attachment{{Name: "faktura.com", Data: []byte(daemon.EICAR)}}})
	for _, raw := range [][]byte{plain("Hej", message.Draft{Body: "Kan I ringe mig op?"}), plain("Tilbud", message.Draft{Body: "Køb nu!\n" + daemon.GTUBE}), virus} {
		if err := s.SendMail("borger@andetsted.example", []string{mailbox}, bytes.NewReader(raw)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.SendMail("borger@andetsted.example", []string{"ukendt@hoejskole.example"}, bytes.NewReader(plain("Forkert", message.Draft{Body: "Til ingen."}))); err == nil {
		t.Error("a mail for a mailbox the gateway does not hold was taken")
	}
	if list, err = b.Queue().List(ctx); err != nil || len(list) != 4 {
		t.Fatalf("%d in the queue: %v", len(list), err)
	}
	for _, q := range list {
		m, _, err := core.Watch(ctx, queueOf{b}, q.ID, 20*time.Millisecond, nil, nil)
		if err != nil || m.State != outbox.Done {
			t.Fatalf("%+v %v", m, err)
		}
	}
	// What the readers find in INBOX, through the core as they read it:
	// the encrypted reply, the plain mail, and the notice of the one in
	// quarantine; not the spam, not the malware.
	inbox, err := c.InboxList(ctx, mailbox)
	if err != nil {
		t.Fatal(err)
	}
	subjects := map[string]bool{}
	for _, m := range inbox {
		subjects[m.Subject] = true
	}
	for subject, want := range map[string]bool{"Svar": true, "Hej": true, "Holdt i karantæne: Faktura": true, "Tilbud": false, "Faktura": false} {
		if subjects[subject] != want {
			t.Errorf("INBOX holds %q: %v, want %v (%v)", subject, subjects[subject], want, subjects)
		}
	}
}

// queueOf watches the boundary's queue as core.Watch watches an outbox.
type queueOf struct{ b *core.Boundary }

func (q queueOf) ReceiptOf(ctx context.Context, id int64) (*outbox.Mail, *core.Receipt, error) {
	m, err := q.b.Queue().Get(ctx, id)
	return m, nil, err
}

func (q queueOf) Progress(*outbox.Mail) (int, int) { return 0, 0 }
