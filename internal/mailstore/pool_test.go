package mailstore_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"sikkermail/internal/mailstore"
)

// With a Pool, a batch of copies to one account is one connection; a
// kept session the server dropped is replaced; another login is another
// session; an XOAUTH2 login is never kept.
func TestPool(t *testing.T) {
	srv, s := memServer(t, mailstore.ImplicitTLS)
	s.Pool = &mailstore.Pool{Idle: time.Minute}
	defer s.Pool.Close()
	ctx := context.Background()
	acc := mailstore.Account{Username: user, Secret: "pw"}
	for i := range 5 {
		id := fmt.Sprintf("<p%d@hoejskole.example>", i)
		if _, err := s.AppendSent(ctx, acc, "Sent", id, bytes.NewReader(message(id))); err != nil {
			t.Fatal(err)
		}
	}
	if n := srv.Connections(); n != 1 || len(srv.Appended(user, "Sendte elementer")) != 5 {
		t.Fatalf("%d connections for %d copies", n, len(srv.Appended(user, "Sendte elementer")))
	}
	shared := mailstore.Account{Username: mailbox + "*" + user, Secret: "pw"}
	if _, err := s.AppendSent(ctx, shared, "Sent", "<q@hoejskole.example>", bytes.NewReader(message("<q@hoejskole.example>"))); err != nil {
		t.Fatal(err)
	}
	if n := srv.Connections(); n != 2 {
		t.Errorf("another login: %d connections", n)
	}
	// The server drops every connection: the next copy logs in anew.
	srv.DropAppends(1)
	if _, err := s.AppendSent(ctx, acc, "Sent", "<drop@hoejskole.example>", bytes.NewReader(message("<drop@hoejskole.example>"))); err == nil {
		t.Fatal("a cut APPEND went")
	}
	if _, err := s.AppendSent(ctx, acc, "Sent", "<after@hoejskole.example>", bytes.NewReader(message("<after@hoejskole.example>"))); err != nil {
		t.Fatalf("after a cut session: %v", err)
	}
	if n := srv.Connections(); n != 3 {
		t.Errorf("%d connections, want a new one after the cut", n)
	}
}
