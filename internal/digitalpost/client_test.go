package digitalpost_test

import (
	"bytes"
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

// systemKey is the sender system's key in the tests (base64 of a
// system id and a token, as the portal shows it).
const systemKey = "ZjFhM2M1ZTc6OWIyZDRmNmE="

func start(t *testing.T) (*mailtest.DigitalPost, *digitalpost.Client) {
	t.Helper()
	sim := mailtest.StartDigitalPost(t)
	sim.SetSenderCVR("29403473")
	sim.SetSystemKey(systemKey)
	sim.Register(mailtest.Numbers...)
	return sim, client(t, sim, systemKey)
}

func client(t *testing.T, sim *mailtest.DigitalPost, key string) *digitalpost.Client {
	t.Helper()
	c, err := digitalpost.NewClient(sim.URL, sim.ClientCert, sim.TLS.Roots, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c.SystemKey = key
	return c
}

func temporary(err error) bool {
	var t interface{ IsTemporary() bool }
	return errors.As(err, &t) && t.IsTemporary()
}

// Each number's registration as the service tells it, and for a CVR
// number the organisation's name; a citizen's name is never given.
func TestLookup(t *testing.T) {
	_, c := start(t)
	ctx := context.Background()
	for _, tc := range []struct {
		kind                         digitalpost.Kind
		number, status, registration string
		name                         string
	}{
		{digitalpost.CPR, "0101901009", "REGISTERED", "AUTOMATIC_REGISTRATION", ""},
		{digitalpost.CPR, "0202801005", "EXEMPT", "EXEMPT_OTHER_REASON", ""},
		{digitalpost.CPR, "0303701001", "CLOSED", "", ""},
		{digitalpost.CPR, "0404701002", "EXEMPT", "EXEMPT_LEFT_THE_COUNTRY", ""},
		{digitalpost.CPR, "0505701003", "UNKNOWN", "", ""},
		{digitalpost.CPR, "0606601002", "UNKNOWN", "", ""},
		{digitalpost.CVR, "12345100", "REGISTERED", "AUTOMATIC_REGISTRATION", "Demo Firma ApS"},
		{digitalpost.CVR, "87654109", "CLOSED", "", ""},
		{digitalpost.CVR, "0101901009", "UNKNOWN", "", ""}, // a CPR asked as CVR
	} {
		got, err := c.Lookup(ctx, tc.kind, tc.number, tc.number)
		if err != nil {
			t.Fatalf("%s: %v", tc.number, err)
		}
		if string(got.Status) != tc.status || got.Registration != tc.registration || got.Name != tc.name {
			t.Errorf("%s %s: %+v", tc.kind, tc.number, got)
		}
	}
}

// The service lets in only the institution's certificate, with the
// sender system's key; we talk only to a service our roots vouch for.
func TestMutualTLSAndSystemKey(t *testing.T) {
	sim, good := start(t)
	anon, err := digitalpost.NewClient(sim.URL, tls.Certificate{}, sim.TLS.Roots, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	_, err = anon.Lookup(context.Background(), digitalpost.CPR, "0101901009", "010190-1009")
	if !temporary(err) || !strings.Contains(i18n.Danish.Error(err), "010190-1009") {
		t.Errorf("no client certificate: %v", err)
	}
	untrusting, _ := digitalpost.NewClient(sim.URL, sim.ClientCert, nil, 2*time.Second)
	if _, err := untrusting.Lookup(context.Background(), digitalpost.CPR, "0101901009", "x"); err == nil {
		t.Error("a server certificate from an unknown CA was accepted")
	}
	if _, err := digitalpost.NewClient(strings.Replace(sim.URL, "https", "http", 1), sim.ClientCert, nil, 0); err == nil {
		t.Error("an http:// service address was taken")
	}
	for _, key := range []string{"", "d3Jvbmc6a2V5"} {
		_, err := client(t, sim, key).Lookup(context.Background(), digitalpost.CPR, "0101901009", "010190-1009")
		var acc *digitalpost.AccessError
		if !errors.As(err, &acc) || acc.Code != 401 || temporary(err) || !strings.Contains(i18n.Danish.Error(err), "system_key") {
			t.Errorf("system key %q: %v", key, err)
		}
		uuid, b := memo(t, digitalpost.CPR, "0101901009")
		if _, err := client(t, sim, key).Send(context.Background(), uuid, b, "010190-1009"); !errors.As(err, &acc) {
			t.Errorf("send with system key %q: %v", key, err)
		}
	}
	if _, err := good.Lookup(context.Background(), digitalpost.CPR, "0101901009", "x"); err != nil {
		t.Error(err)
	}
	if n := len(sim.Received()); n != 0 {
		t.Errorf("%d letters delivered without the system key", n)
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

// An accepted letter is 201 RECEIVED; its final receipt, COMPLETED,
// waits at receipts/ under an id of its own, is fetched without being
// deleted, and goes when it is deleted.
func TestSendAndReceipts(t *testing.T) {
	sim, c := start(t)
	ctx := context.Background()
	uuid, b := memo(t, digitalpost.CPR, "0101901009")
	r, err := c.Send(ctx, uuid, b, "010190-1009")
	if err != nil || r.ReceiptStatus != digitalpost.StatusReceived || r.MessageUUID != uuid || r.TransmissionID == "" {
		t.Fatalf("send: %+v %v", r, err)
	}
	got := sim.Received()
	if len(got) != 1 || got[0].UUID != uuid {
		t.Fatalf("%d letters", len(got))
	}
	if m, err := digitalpost.Parse(got[0].XML); err != nil || m.Body != "Hej" || m.Number != "0101901009" {
		t.Fatalf("the letter: %+v %v", m, err)
	}
	ids, err := c.ReceiptIDs(ctx)
	if err != nil || len(ids) != 1 || ids[0] == uuid {
		t.Fatalf("receipt ids %v %v", ids, err)
	}
	fr, err := c.FetchReceipt(ctx, ids[0])
	if err != nil || fr.MessageUUID != uuid || fr.ReceiptStatus != digitalpost.StatusCompleted || !fr.Final() {
		t.Fatalf("receipt %+v %v", fr, err)
	}
	if sim.Waiting() != 1 {
		t.Fatal("fetching deleted the receipt")
	}
	if err := c.DeleteReceipt(ctx, ids[0]); err != nil || sim.Waiting() != 0 {
		t.Fatalf("delete: %v, %d waiting", err, sim.Waiting())
	}
	if err := c.DeleteReceipt(ctx, ids[0]); err != nil {
		t.Fatalf("deleting a receipt already gone: %v", err)
	}
	if _, err := c.FetchReceipt(ctx, ids[0]); !errors.Is(err, digitalpost.ErrReceiptGone) {
		t.Fatalf("fetching a receipt another worker took: %v", err)
	}
}

// An answer lost after the service took the letter is neither a refusal
// nor a plain retry: the client says it cannot know.
func TestLostAnswer(t *testing.T) {
	sim, c := start(t)
	uuid, b := memo(t, digitalpost.CPR, "0101901009")
	sim.SetFault(mailtest.Times(1, "memos-accepted", mailtest.ErrDrop))
	_, err := c.Send(context.Background(), uuid, b, "010190-1009")
	var lost *digitalpost.LostAnswerError
	if !errors.As(err, &lost) || lost.UUID != uuid || !temporary(err) {
		t.Fatalf("lost answer: %v", err)
	}
	if n := len(sim.Received()); n != 1 {
		t.Fatalf("%d letters", n)
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
		if strings.Contains(s, "0202801005") {
			t.Errorf("%s: the whole CPR number is shown: %q", name, s)
		}
	}
	uuid, b := memo(t, digitalpost.CPR, "0202801005")
	_, err := c.Send(ctx, uuid, b, "020280-1005")
	check("exempt", err, false, "020280-1005", "tillader ikke", "cannot receive")

	uuid, b = memo(t, digitalpost.CVR, "12345100")
	_, err = c.Send(ctx, digitalpost.NewUUID(), b, "12345100")
	check("uuid mismatch", err, false, "12345100", "does not match")

	_, err = c.Send(ctx, uuid, []byte(`<Message xmlns="https://DigitalPost.dk/MeMo-1"/>`), "12345100")
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
}

// The institution's contact point gives the limits of its letters, and
// organisation-lookup its own id.
func TestContactPoint(t *testing.T) {
	sim, c := start(t)
	sim.AddContactPoint(mailtest.DPContactPoint{ID: "a4c8e2f6-0b3d-4a7e-9c1f-5d8b2e6a0c4f", Name: "Uddannelsesservice", MaxMB: 30, MaxAttachments: 10})
	ctx := context.Background()
	org, err := c.Organisation(ctx, "29403473")
	if err != nil || org.ID != mailtest.DPOrganisationID {
		t.Fatalf("own organisation: %+v %v", org, err)
	}
	cp, err := c.ContactPoint(ctx, org.ID, "a4c8e2f6-0b3d-4a7e-9c1f-5d8b2e6a0c4f")
	if err != nil || cp.MaxSize != 30e6 || cp.MaxAttachments != 10 || cp.Name != "Uddannelsesservice" {
		t.Fatalf("contact point %+v %v", cp, err)
	}
	if _, err := c.ContactPoint(ctx, org.ID, "00000000-0000-4000-8000-000000000000"); err == nil {
		t.Error("an unknown contact point was found")
	}
}

// A citizen's letter to one of the institution's contact points waits at
// the service: listed, fetched as MeMo XML that is valid MeMo 1.1 and
// reads as the letter it is, fetched again until deleted, then gone.
func TestLetters(t *testing.T) {
	sim, c := start(t)
	ctx := context.Background()
	const point = "4f5b1c2d-0a9e-4b7c-8d6e-1f2a3b4c5d6e"
	memo := mailtest.CitizenLetter("0101901009", "Anna Jensen", "29403473", point, "Spørgsmål om optagelse", "Hej\nJeg har et spørgsmål.",
		map[string][]byte{"eksamensbevis.pdf": []byte("%PDF-1.7 bevis")})
	if err := digitalpost.Validate(memo); err != nil {
		t.Fatalf("the simulator's letter is no MeMo: %v", err)
	}
	id := sim.Letter(memo)
	ids, err := c.LetterIDs(ctx)
	if err != nil || len(ids) != 1 || ids[0] != id {
		t.Fatalf("%v %v", ids, err)
	}
	for range 2 { // fetching does not delete
		got, err := c.FetchLetter(ctx, id)
		if err != nil || !bytes.Equal(got, memo) {
			t.Fatalf("%d bytes: %v", len(got), err)
		}
	}
	l, err := digitalpost.ParseLetter(memo)
	if err != nil || l.Sender != "0101901009" || l.SenderKind != digitalpost.CPR || l.SenderName != "Anna Jensen" || l.ContactPoint != point ||
		l.Label != "Spørgsmål om optagelse" || len(l.Documents) != 2 || string(l.Documents[0].Data) != "Hej\nJeg har et spørgsmål." ||
		l.Documents[1].Name != "eksamensbevis.pdf" || l.Documents[1].ContentType != "application/pdf" {
		t.Fatalf("%+v %v", l, err)
	}
	if err := c.DeleteLetter(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, err := c.FetchLetter(ctx, id); !errors.Is(err, digitalpost.ErrLetterGone) {
		t.Errorf("deleted, then fetched: %v", err)
	}
	if err := c.DeleteLetter(ctx, id); err != nil {
		t.Errorf("deleted twice: %v", err)
	}
	if sim.Letters() != 0 {
		t.Errorf("%d left", sim.Letters())
	}
}
