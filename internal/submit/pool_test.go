package submit_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"sikkermail/internal/mailtest"
	"sikkermail/internal/submit"
)

// A batch over a Pool is one connection: TLS and AUTH once. A session
// the server dropped meanwhile is replaced without a failed mail; a
// failed transaction's session is not kept; another login is another
// session; Close ends them.
func TestPool(t *testing.T) {
	srv, s := start(t, false)
	p := &submit.Pool{Idle: time.Minute}
	defer p.Close()
	ctx := context.Background()
	for range 5 {
		if err := p.Send(ctx, s, mailbox, []string{"a@b.example"}, bytes.NewReader(msg)); err != nil {
			t.Fatal(err)
		}
	}
	if n := srv.Connections(); n != 1 || len(srv.Received()) != 5 {
		t.Fatalf("%d connections for %d mails", n, len(srv.Received()))
	}

	// The server cuts the kept connection: the next mail goes on a new one.
	srv.SetFault(func(stage mailtest.Stage, _ string) error {
		if stage == mailtest.StageMail {
			return mailtest.ErrDrop
		}
		return nil
	})
	if err := p.Send(ctx, s, mailbox, []string{"a@b.example"}, bytes.NewReader(msg)); err == nil {
		t.Fatal("a dropped MAIL went")
	}
	srv.SetFault(nil)
	if err := p.Send(ctx, s, mailbox, []string{"a@b.example"}, bytes.NewReader(msg)); err != nil {
		t.Fatalf("after a dropped session: %v", err)
	}
	if n := srv.Connections(); n != 2 {
		t.Errorf("%d connections, want a new one after the failure", n)
	}

	// A kept session that has died while idle is noticed before use.
	srv2, s2 := start(t, false)
	if err := p.Send(ctx, s2, mailbox, []string{"a@b.example"}, bytes.NewReader(msg)); err != nil {
		t.Fatal(err)
	}
	srv2.Close()
	err := p.Send(ctx, s2, mailbox, []string{"a@b.example"}, bytes.NewReader(msg))
	var se *submit.Error
	if !errors.As(err, &se) || se.Stage != submit.StageConnect {
		t.Errorf("to a server that went away: %v", err)
	}

	// A bearer token is checked at every mail: no session is kept for it.
	srv3, s3 := start(t, false)
	srv3.Users[user] = "token"
	s3.Mechanism, s3.Secret = submit.XOAuth2, "token"
	for range 2 {
		if err := p.Send(ctx, s3, mailbox, []string{"a@b.example"}, bytes.NewReader(msg)); err != nil {
			t.Fatal(err)
		}
	}
	if n := srv3.Connections(); n != 2 {
		t.Errorf("XOAUTH2: %d connections for 2 mails", n)
	}

	// A cancelled context ends a kept session's use at once.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := p.Send(cctx, s, mailbox, []string{"a@b.example"}, bytes.NewReader(msg)); err == nil {
		t.Error("sent with a cancelled context")
	}
}
