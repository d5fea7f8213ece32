package mailstore_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"testing"
	"time"

	"sikkermail/internal/i18n"
	"sikkermail/internal/mailstore"
	"sikkermail/internal/mailtest"
	"sikkermail/internal/mailtest/daemon"
)

const (
	user    = "medarbejder@hoejskole.example"
	mailbox = "sikkerpost-uddservice@hoejskole.example"
)

func message(id string) []byte {
	return []byte("From: " + mailbox + "\r\nMessage-ID: " + id + "\r\nSubject: kopi\r\n\r\nkrypteret indhold\r\n")
}

func memServer(t *testing.T, sec mailstore.Security) (*mailtest.IMAP, mailstore.Server) {
	var srv *mailtest.IMAP
	if sec == mailstore.StartTLS {
		srv = mailtest.StartIMAP(t)
	} else {
		srv = mailtest.StartIMAPS(t)
	}
	srv.AddAccount(user, "pw", "Sendte elementer")
	srv.AddAccount(mailbox, "mailbox-pw-unused", "Sendt post")
	srv.MayUse = func(u, account string) bool { return u == user && account == mailbox }
	return srv, mailstore.Server{Addr: srv.Addr, Security: sec, TLS: &tls.Config{RootCAs: srv.TLS.Roots}, Timeout: 5 * time.Second}
}

// The Sent folder is found by SPECIAL-USE whatever it is called, for the
// user and — by the shared login — for the mailbox; appending twice
// leaves one copy, flagged \Seen.
func TestAppendSentBySpecialUse(t *testing.T) {
	for _, sec := range []mailstore.Security{mailstore.StartTLS, mailstore.ImplicitTLS} {
		_, s := memServer(t, sec)
		ctx := context.Background()
		for _, c := range []struct {
			acc  mailstore.Account
			want string
		}{
			{mailstore.Account{Username: user, Secret: "pw"}, "Sendte elementer"},
			{mailstore.Account{Username: mailbox + "*" + user, Secret: "pw"}, "Sendt post"},
		} {
			id := "<a1@hoejskole.example>"
			for range 2 {
				folder, err := s.AppendSent(ctx, c.acc, "Sent", id, bytes.NewReader(message(id)))
				if err != nil || folder != c.want {
					t.Fatalf("%s %s: folder %q, %v", sec, c.acc.Username, folder, err)
				}
			}
			got, err := s.Fetch(ctx, c.acc, c.want, id)
			if err != nil || len(got) != 1 || !bytes.Equal(got[0], message(id)) {
				t.Fatalf("%s %s: fetched %q, %v", sec, c.acc.Username, got, err)
			}
			// A Message-ID that is a prefix of the stored one is another mail.
			if got, _ := s.Fetch(ctx, c.acc, c.want, "<a1@hoejskole"); len(got) != 0 {
				t.Fatalf("substring matched: %q", got)
			}
		}
	}
}

// Without a \Sent folder the configured name is used, created if missing.
func TestAppendSentFallback(t *testing.T) {
	srv, s := memServer(t, mailstore.ImplicitTLS)
	srv.AddAccount("ny@hoejskole.example", "pw", "")
	acc := mailstore.Account{Username: "ny@hoejskole.example", Secret: "pw"}
	id := "<b@hoejskole.example>"
	folder, err := s.AppendSent(context.Background(), acc, "Sent Items", id, bytes.NewReader(message(id)))
	if err != nil || folder != "Sent Items" {
		t.Fatalf("folder %q, %v", folder, err)
	}
	if got, err := s.Fetch(context.Background(), acc, "Sent Items", id); err != nil || len(got) != 1 {
		t.Fatalf("%d, %v", len(got), err)
	}
}

func TestAppendInbox(t *testing.T) {
	_, s := memServer(t, mailstore.StartTLS)
	acc := mailstore.Account{Username: user, Secret: "pw"}
	id := "<kvittering@hoejskole.example>"
	if err := s.AppendInbox(context.Background(), acc, id, bytes.NewReader(message(id))); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Fetch(context.Background(), acc, "INBOX", id); err != nil || len(got) != 1 {
		t.Fatalf("%d, %v", len(got), err)
	}
}

func TestFailures(t *testing.T) {
	srv, s := memServer(t, mailstore.StartTLS)
	ctx := context.Background()
	check := func(err error, temporary, login bool, key string) {
		t.Helper()
		var e *mailstore.Error
		if !errors.As(err, &e) || e.Temporary != temporary || e.Login != login || e.Localize().Key != key {
			t.Fatalf("got %#v", err)
		}
		if text := i18n.Danish.Error(err); !bytes.Contains([]byte(text), []byte(srv.Addr)) {
			t.Fatalf("sentence does not name the server: %s", text)
		}
	}
	// A wrong password, and a user without the right to the mailbox.
	_, err := s.AppendSent(ctx, mailstore.Account{Username: user, Secret: "wrong"}, "Sent", "<x@y>", bytes.NewReader(message("<x@y>")))
	check(err, false, true, "mailstore.login")
	_, err = s.AppendSent(ctx, mailstore.Account{Username: "sikkerpost-hr@hoejskole.example*" + user, Secret: "pw"}, "Sent", "<x@y>", bytes.NewReader(message("<x@y>")))
	check(err, false, true, "mailstore.login")
	// A certificate from another CA: refused, not retried.
	other := s
	other.TLS = &tls.Config{RootCAs: mailtest.NewTLS(t).Roots}
	_, err = other.AppendSent(ctx, mailstore.Account{Username: user, Secret: "pw"}, "Sent", "<x@y>", bytes.NewReader(message("<x@y>")))
	check(err, false, false, "mailstore.failed")
	// Nobody listening: try later.
	gone := s
	gone.Addr = daemon.SilentServer(t)
	gone.Timeout = 200 * time.Millisecond
	_, err = gone.AppendSent(ctx, mailstore.Account{Username: user, Secret: "pw"}, "Sent", "<x@y>", bytes.NewReader(message("<x@y>")))
	var e *mailstore.Error
	if !errors.As(err, &e) || !e.Temporary {
		t.Fatalf("got %#v", err)
	}
}

// Dovecot, a real IMAP server: the copy lands in the folder Dovecot
// announces as \Sent, for the user and through a master-user login for
// the mailbox, read back from its Maildir, flagged seen, once.
func TestDovecot(t *testing.T) {
	d := daemon.StartDovecot(t, map[string]string{user: "pw", mailbox: "not-used"}, map[string]string{user: "pw"})
	s := mailstore.Server{Addr: d.Addr, Security: mailstore.StartTLS, TLS: &tls.Config{RootCAs: d.TLS.Roots}, Timeout: 10 * time.Second}
	ctx := context.Background()
	for _, c := range []struct {
		acc     mailstore.Account
		account string
	}{
		{mailstore.Account{Username: user, Secret: "pw"}, user},
		{mailstore.Account{Username: mailbox + "*" + user, Secret: "pw"}, mailbox},
	} {
		id := "<dovecot-1@hoejskole.example>"
		for range 2 {
			folder, err := s.AppendSent(ctx, c.acc, "Sent", id, bytes.NewReader(message(id)))
			if err != nil || folder != daemon.SentFolder {
				t.Fatalf("%s: folder %q, %v", c.account, folder, err)
			}
		}
		// Maildir keeps lines with LF alone.
		got := d.Messages(t, c.account, daemon.SentFolder)
		if len(got) != 1 || !bytes.Equal(got[0], bytes.ReplaceAll(message(id), []byte("\r\n"), []byte("\n"))) {
			t.Fatalf("%s: Maildir holds %q", c.account, got)
		}
		if flags := d.Flags(t, c.account, daemon.SentFolder); len(flags) != 1 || !bytes.Contains([]byte(flags[0]), []byte("S")) {
			t.Fatalf("%s: flags %q", c.account, flags)
		}
		if err := s.AppendInbox(ctx, c.acc, id, bytes.NewReader(message(id))); err != nil {
			t.Fatal(err)
		}
		if got := d.Messages(t, c.account, "INBOX"); len(got) != 1 {
			t.Fatalf("%s: INBOX holds %d", c.account, len(got))
		}
	}
	_, err := s.AppendSent(ctx, mailstore.Account{Username: user, Secret: "wrong"}, "Sent", "<x@y>", bytes.NewReader(message("<x@y>")))
	var e *mailstore.Error
	if !errors.As(err, &e) || !e.Login {
		t.Fatalf("got %#v", err)
	}
}

// A message that cannot be read to its end is not stored: the APPEND is
// cut off with the connection, and the error says it was our message.
func TestAppendUnreadable(t *testing.T) {
	_, s := memServer(t, mailstore.StartTLS)
	acc := mailstore.Account{Username: user, Secret: "pw"}
	id := "<halv@hoejskole.example>"
	damaged := errors.New("damaged")
	folder, err := s.AppendSent(context.Background(), acc, "Sent", id, mailtest.Failing(message(id), 40, damaged))
	var re *mailstore.ReadError
	if !errors.As(err, &re) || !errors.Is(err, damaged) {
		t.Fatalf("%v", err)
	}
	if got, err := s.Fetch(context.Background(), acc, folder, id); err != nil || len(got) != 0 {
		t.Fatalf("%d stored in %q, %v", len(got), folder, err)
	}
}
