package core

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sikkermail/internal/outbox"
)

// No password, private key or mail content is ever written down: not to
// the database (outbox, audit log, cache), and not to a protocol trace, which shows the exchange with AUTH, LOGIN and the
// mail itself left out.
func TestSecretsNeverWritten(t *testing.T) {
	e := newSendEnv(t)
	t.Setenv("SIKKERMAIL_DEBUG", "smtp,imap")
	c := e.core(t)
	var trace bytes.Buffer
	c.trace = &trace
	ctx := context.Background()
	id := identity(t, "mailbox-rsa.p12")
	key, err := x509.MarshalPKCS8PrivateKey(id.Key)
	if err != nil {
		t.Fatal(err)
	}
	plain := base64.StdEncoding.EncodeToString([]byte("\x00" + sendUser + "\x00" + userPassword))
	secrets := map[string][]byte{
		"the mail password":         []byte(userPassword),
		"AUTH PLAIN's credentials":  []byte(plain),
		"the PKCS#12 password":      []byte("p12-password-not-written"),
		"the mailbox's private key": key[len(key)-64:],
		"the mail's text":           []byte("Hermed afgørelsen"),
		"the attachment":            draft.Attachments[0].Data[:64],
	}
	// Every file of the database's, the outbox's sealed files included.
	scan := func(when string) (files int) {
		paths, _ := filepath.Glob(e.cfg.Database + "*")
		for _, p := range paths {
			filepath.WalkDir(p, func(f string, d fs.DirEntry, err error) error {
				if err != nil || d.IsDir() {
					return err
				}
				b, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				files++
				for what, s := range secrets {
					if bytes.Contains(b, s) {
						t.Errorf("%s: %s holds %s", when, f, what)
					}
				}
				return nil
			})
		}
		return files
	}
	var during int
	c.outbox.Hook = func(point string, _ *outbox.Mail) {
		if point == "after:"+stepSubmit {
			during = scan("while sending")
		}
	}
	if _, err := c.Send(ctx, draft, sendMailbox, []string{external}, []string{colleague}); err != nil {
		t.Fatal(err)
	}
	if n, err := c.outbox.Process(ctx); n != 1 || err != nil {
		t.Fatal(n, err)
	}
	c.Close()
	// While sending: the database, its WAL, the attachments, both messages.
	if after := scan("after"); during < after+3 {
		t.Errorf("%d files scanned while sending, %d after: the outbox's files were not looked at", during, after)
	}
	got := trace.String()
	for what, s := range secrets {
		if strings.Contains(got, string(s)) {
			t.Errorf("the protocol trace holds %s", what)
		}
	}
	for _, want := range []string{"AUTH PLAIN ***", "LOGIN \"" + sendUser + "\" ***", "[message: ", "bytes, not written]", "235 "} {
		if !strings.Contains(got, want) {
			t.Errorf("the trace lacks %q:\n%.3000s", want, got)
		}
	}
}
