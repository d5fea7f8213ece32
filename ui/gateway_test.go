package ui

import (
	"context"
	"net"
	"path/filepath"
	"strings"
	"testing"

	"fyne.io/fyne/v2/test"

	"sikkermail/internal/config"
	"sikkermail/internal/demo"
	"sikkermail/internal/gateway"
)

// startGateway runs the demo's gateway for the test and returns a
// client of it for the demo's staff member, as a staff PC in gateway
// mode has.
func startGateway(t *testing.T) *gateway.Client {
	t.Helper()
	cfg := config.Demo()
	cfg.Database = filepath.Join(t.TempDir(), "gateway.db")
	g, err := demo.StartGateway(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	v, err := g.Verifier(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := gateway.New(g.Core.Core, v)
	srv.SetSealing(g.Sealing)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error)
	go func() { served <- srv.Run(ctx, l, g.ServerTLS()) }()
	t.Cleanup(func() { cancel(); <-served })

	pc := &config.Config{Database: filepath.Join(t.TempDir(), "pc.db"), Institution: config.Institution{Domains: []string{config.DemoDomain}},
		Gateway: config.Gateway{URL: "https://" + l.Addr().String(), CA: g.TLS.CAFile, Scope: demo.GatewayScope}}
	staff := config.DemoUsers[0].Address
	c, err := gateway.Dial(pc, gateway.ClientOptions{Token: func(context.Context) (string, error) { return g.Token(staff) }})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// The send flow of a staff PC in gateway mode looks and works as on one
// PC: the mailboxes the gateway says the user may send from, the check
// through the gateway, and the receipt of the mail the gateway sent.
func TestSendFlowThroughGateway(t *testing.T) {
	u := newTestUIOn(t, startGateway(t))
	runWorker(t, u)
	test.Type(u.Compose.Subject, "Afgørelse")
	test.Type(u.Compose.Body, "Hermed afgørelsen.")
	test.Tap(u.Compose.SendSecure)
	p := u.Send
	if len(p.Sender.Options) != 2 || len(p.Unavailable.Objects) != 2 {
		t.Fatalf("sender options %v, %d unavailable", p.Sender.Options, len(p.Unavailable.Objects))
	}
	for _, o := range p.Sender.Options {
		if strings.Contains(o, "sikkerpost-uddservice@") {
			p.Sender.SetSelected(o)
		}
	}
	p.Emails.SetText("jens.hansen@kommune.example\nukendt@andetsted.example")
	test.Tap(p.Check)
	p.Wait()
	if got := marks(p.EmailMarks); got != "ok,red" || !p.SendMail.Disabled() {
		t.Fatalf("marks %q, send enabled %v", got, !p.SendMail.Disabled())
	}
	p.Emails.SetText("jens.hansen@kommune.example\nkollega@hoejskole.example")
	test.Tap(p.Check)
	p.Wait()
	if p.SendMail.Disabled() {
		t.Fatalf("all green but Send mail disabled: %q", p.Status.Text)
	}
	test.Tap(p.SendMail)
	p.Wait()
	if !strings.HasPrefix(p.Status.Text, "Din sikre mail er sendt.") {
		t.Fatalf("status %q", p.Status.Text)
	}
	for _, want := range []string{"Kvittering", "sikkerpost-uddservice@hoejskole.example", "jens.hansen@kommune.example (S/MIME)", "kollega@hoejskole.example (intern)"} {
		if !strings.Contains(p.Receipt.Text, want) {
			t.Fatalf("receipt lacks %q:\n%s", want, p.Receipt.Text)
		}
	}
}
