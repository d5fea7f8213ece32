package core

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
	if _, err := c.Send(ctx, draft, sendMailbox, []string{external}, []string{colleague}); err != nil {
		t.Fatal(err)
	}
	if n, err := c.Outbox.Process(ctx); n != 1 || err != nil {
		t.Fatal(n, err)
	}
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
	c.Close()
	files, _ := filepath.Glob(e.cfg.Database + "*")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for what, s := range secrets {
			if bytes.Contains(b, s) {
				t.Errorf("%s holds %s", filepath.Base(f), what)
			}
		}
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
