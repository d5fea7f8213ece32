package core

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"sikkermail/internal/mailtest"
	"sikkermail/internal/policy"
)

// TestRightsEnforcedTwice: a user without the send right is refused by
// core, and, bypassing core, by the submission server itself.
func TestRightsEnforcedTwice(t *testing.T) {
	c, err := newCore(t, demo(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	user := c.User()
	srv := mailtest.StartSMTP(t, map[string]string{user: "demo-password"}, func(u, mailbox string) bool {
		ok, err := policy.Has(ctx, c.policy, u, mailbox, policy.Send)
		return err == nil && ok
	})
	const allowed, forbidden = "sikkerpost-uddservice@hoejskole.example", "sikkerpost-hr@hoejskole.example"

	// Core refuses.
	var pe *policy.Error
	if err := c.MaySend(ctx, forbidden); !errors.As(err, &pe) || pe.Reason != policy.NoRight {
		t.Fatalf("core let %s send from %s: %v", user, forbidden, err)
	}

	// A client that bypasses core speaks SMTP itself.
	plain, err := smtp.Dial(srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	if err := plain.Auth(sasl.NewPlainClient("", user, "demo-password")); err == nil {
		t.Fatal("AUTH accepted without TLS")
	}
	plain.Close()
	// The server's certificate is verified: without its CA the first
	// command after STARTTLS (when go-smtp shakes hands) fails.
	if untrusted, err := smtp.DialStartTLS(srv.Addr, nil); err == nil {
		err = untrusted.Auth(sasl.NewPlainClient("", user, "demo-password"))
		untrusted.Close()
		if err == nil || !strings.Contains(err.Error(), "certificate") {
			t.Fatalf("an untrusted server certificate was accepted: %v", err)
		}
	}
	cl, err := smtp.DialStartTLS(srv.Addr, srv.TLS.Client())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.Auth(sasl.NewPlainClient("", user, "wrong")); err == nil {
		t.Fatal("AUTH accepted a wrong password")
	}
	if err := cl.Auth(sasl.NewPlainClient("", user, "demo-password")); err != nil {
		t.Fatal(err)
	}
	want550 := func(what string, err error) {
		t.Helper()
		var se *smtp.SMTPError
		if !errors.As(err, &se) || se.Code != 550 || !strings.Contains(se.Message, "may not send on behalf of "+forbidden) {
			t.Errorf("%s: %v, want 550 5.7.1", what, err)
		}
	}
	want550("MAIL FROM a forbidden mailbox", cl.Mail(forbidden, nil))

	send := func(envelope, header string) error {
		if err := cl.Mail(envelope, nil); err != nil {
			return err
		}
		if err := cl.Rcpt("jens.hansen@kommune.example", nil); err != nil {
			return err
		}
		w, err := cl.Data()
		if err != nil {
			return err
		}
		w.Write([]byte("From: " + header + "\r\nSender: " + user + "\r\nTo: jens.hansen@kommune.example\r\nSubject: x\r\n\r\nx\r\n"))
		return w.Close()
	}
	// An allowed envelope with a forged From: header is refused too.
	want550("From: header forged", send(allowed, "Sikkerpost-hr <"+forbidden+">"))
	// What the user may do goes through.
	if err := send(allowed, "Sikkerpost-uddservice <"+allowed+">"); err != nil {
		t.Fatalf("an allowed send was refused: %v", err)
	}
	got := srv.Received()
	if len(got) != 1 || got[0].From != allowed || got[0].User != user {
		t.Errorf("received %+v", got)
	}
}
