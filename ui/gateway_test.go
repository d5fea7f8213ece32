package ui

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"fyne.io/fyne/v2/test"

	"sikkermail/internal/config"
	"sikkermail/internal/demo"
	"sikkermail/internal/gateway"
	"sikkermail/internal/gateway/gatewaytest"
)

// startGateway runs the demo's gateway for the test and returns a
// client of it for the demo's staff member, as a staff PC in gateway
// mode has.
func startGateway(t *testing.T) *gateway.Client { return startGatewayPCs(t)() }

// startGatewayPCs runs the demo's gateway and returns how to start a
// new staff PC on it: a client with a database of its own, for the
// demo's staff member.
func startGatewayPCs(t *testing.T) func() *gateway.Client {
	t.Helper()
	g := gatewaytest.Start(t)
	staff := config.DemoUsers[0].Address
	return func() *gateway.Client {
		t.Helper()
		pc := &config.Config{Database: filepath.Join(t.TempDir(), "pc.db"), Institution: config.Institution{Domains: []string{config.DemoDomain}},
			Gateway: config.Gateway{URL: g.URL, CA: g.TLS.CAFile, Scope: demo.GatewayScope}}
		c, err := gateway.Dial(pc, gateway.ClientOptions{Token: func(context.Context) (string, error) { return g.Token(staff) }})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
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
	sendForReceipt(t, p)
}
