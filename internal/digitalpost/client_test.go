package digitalpost_test

import (
	"context"
	"crypto/tls"
	"errors"
	"strings"
	"testing"
	"time"

	"sikkermail/internal/digitalpost"
	"sikkermail/internal/i18n"
	"sikkermail/internal/mailtest"
)

func start(t *testing.T) (*mailtest.DigitalPost, *digitalpost.Client) {
	t.Helper()
	sim := mailtest.StartDigitalPost(t)
	sim.SetSenderCVR("29403473")
	sim.Register(mailtest.DemoNumbers...)
	return sim, sim.Client(t, 2*time.Second)
}

func temporary(err error) bool {
	var t interface{ IsTemporary() bool }
	return errors.As(err, &t) && t.IsTemporary()
}

func TestLookup(t *testing.T) {
	_, c := start(t)
	ctx := context.Background()
	for _, tc := range []struct {
		kind           digitalpost.Kind
		number, status string
		name           string
	}{
		{digitalpost.CPR, "0101901009", "REGISTERED", "Anne Jensen"},
		{digitalpost.CPR, "0202801005", "EXEMPT", ""},
		{digitalpost.CPR, "0303701001", "CLOSED", ""},
		{digitalpost.CPR, "0404601008", "UNKNOWN", ""},
		{digitalpost.CVR, "12345100", "REGISTERED", "Demo Firma ApS"},
		{digitalpost.CVR, "87654109", "CLOSED", ""},
		{digitalpost.CVR, "0101901009", "UNKNOWN", ""}, // a CPR asked as CVR
	} {
		got, err := c.Lookup(ctx, tc.kind, tc.number, tc.number)
		if err != nil {
			t.Fatalf("%s: %v", tc.number, err)
		}
		if string(got.Status) != tc.status || got.Name != tc.name {
			t.Errorf("%s %s: %+v", tc.kind, tc.number, got)
		}
	}
}

func TestMutualTLS(t *testing.T) {
	sim, good := start(t)
	// Without the institution's certificate the service refuses.
	anon, err := digitalpost.NewClient(sim.URL, tls.Certificate{}, sim.TLS.Roots, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	_, err = anon.Lookup(context.Background(), digitalpost.CPR, "0101901009", "010190-1009")
	if !temporary(err) || !strings.Contains(i18n.Danish.Error(err), "010190-1009") {
		t.Errorf("no client certificate: %v", err)
	}
	// A server the roots do not vouch for is refused by us.
	untrusting, _ := digitalpost.NewClient(sim.URL, sim.ClientCert, nil, 2*time.Second)
	if _, err := untrusting.Lookup(context.Background(), digitalpost.CPR, "0101901009", "x"); err == nil {
		t.Error("a server certificate from an unknown CA was accepted")
	}
	if _, err := digitalpost.NewClient(strings.Replace(sim.URL, "https", "http", 1), sim.ClientCert, nil, 0); err == nil {
		t.Error("an http:// service address was taken")
	}
	if _, err := good.Lookup(context.Background(), digitalpost.CPR, "0101901009", "x"); err != nil {
		t.Error(err)
	}
}

func memo(t *testing.T, kind digitalpost.Kind, number string) (string, []byte) {
	t.Helper()
	uuid := digitalpost.NewUUID()
	b, err := digitalpost.Build(digitalpost.Message{UUID: uuid, Created: time.Now(), Label: "Afgørelse", SenderCVR: "29403473",
		SenderName: "Demo", Mailbox: "sikkerpost@hoejskole.example", Recipient: kind, Number: number, Body: "Hej"})
	if err != nil {
		t.Fatal(err)
	}
	return uuid, b
}

func TestSendOncePerUUID(t *testing.T) {
	sim, c := start(t)
	ctx := context.Background()
	uuid, b := memo(t, digitalpost.CPR, "0101901009")

	// The answer is lost after the service stored the message: the
	// client cannot know, and tries again with the same UUID.
	sim.SetFault(mailtest.Times(1, "memos-accepted", mailtest.ErrDrop))
	if _, err := c.Send(ctx, uuid, b, "010190-1009"); !temporary(err) {
		t.Fatalf("lost answer: %v, want a temporary error", err)
	}
	r, err := c.Send(ctx, uuid, b, "010190-1009")
	if err != nil || r.Status != digitalpost.StatusReceived || r.UUID != uuid {
		t.Fatalf("retry: %+v %v", r, err)
	}
	if _, err := c.Send(ctx, uuid, b, "010190-1009"); err != nil {
		t.Fatal(err)
	}
	if got := sim.Received(); len(got) != 1 || got[0].Message.UUID != uuid || got[0].Message.Body != "Hej" {
		t.Fatalf("%d letters delivered, want 1", len(got))
	}
}

func TestSendFailures(t *testing.T) {
	sim, c := start(t)
	ctx := context.Background()
	check := func(name string, err error, wantTemporary bool, words ...string) {
		t.Helper()
		if err == nil {
			t.Errorf("%s: no error", name)
			return
		}
		if temporary(err) != wantTemporary {
			t.Errorf("%s: temporary=%v: %v", name, temporary(err), err)
		}
		s := i18n.Danish.Error(err)
		for _, w := range words {
			if !strings.Contains(s, w) {
				t.Errorf("%s: %q lacks %q", name, s, w)
			}
		}
	}
	uuid, b := memo(t, digitalpost.CPR, "0202801005")
	_, err := c.Send(ctx, uuid, b, "020280-1005")
	check("exempt", err, false, "020280-1005", "tillader ikke")

	uuid, b = memo(t, digitalpost.CVR, "12345100")
	_, err = c.Send(ctx, digitalpost.NewUUID(), b, "12345100")
	check("uuid mismatch", err, false, "12345100", "MeMo")

	_, err = c.Send(ctx, uuid, []byte("<Message/>"), "12345100")
	check("not MeMo", err, false, "MeMo")

	sim.SetFault(func(op, arg string) error { return mailtest.HTTPStatus(503) })
	_, err = c.Send(ctx, uuid, b, "12345100")
	check("503", err, true, "svarer ikke", "12345100", "udbakken")
	_, err = c.Lookup(ctx, digitalpost.CVR, "12345100", "12345100")
	check("503 lookup", err, true, "12345100")

	sim.SetFault(func(op, arg string) error { return mailtest.ErrStall })
	_, err = c.Send(ctx, uuid, b, "12345100")
	check("stall", err, true, "12345100")

	sim.SetFault(nil)
	if _, err := c.Send(ctx, uuid, b, "12345100"); err != nil {
		t.Fatal(err)
	}
	if n := len(sim.Received()); n != 1 {
		t.Errorf("%d letters, want 1", n)
	}
}
