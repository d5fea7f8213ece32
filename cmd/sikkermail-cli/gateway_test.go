package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"sikkermail/internal/config"
	"sikkermail/internal/demo"
	"sikkermail/internal/gateway/gatewaytest"
	"sikkermail/internal/mailtest"
	"sikkermail/internal/testenv"
)

// The CLI in gateway mode: signed in with Microsoft for the gateway's
// API, it checks, sends to the receipt, lists the outbox and reads the
// secure inbox through the gateway, with nothing of the institution's in
// its settings; a staff member's grant is refused with the gateway's
// sentence.
func TestGatewayMode(t *testing.T) {
	if !testenv.InSecretService(t) {
		return
	}
	g := gatewaytest.Start(t)

	dir := t.TempDir()
	file := filepath.Join(dir, "config.toml")
	os.WriteFile(file, []byte(fmt.Sprintf(`database = %q
[institution]
domains = ["hoejskole.example"]
[gateway]
url = %q
ca = %q
scope = %q
[microsoft]
tenant = %q
client_id = %q
authority = %q
ca = %q
`, filepath.Join(dir, "pc.db"), g.URL, g.TLS.CAFile, demo.GatewayScope, mailtest.EntraTenant, demo.ClientID,
		strings.TrimSuffix(g.Entra.Authority, "/"+mailtest.EntraTenant), g.Entra.TLS.CAFile)), 0o600)
	cli := func(args ...string) (string, int) {
		var out bytes.Buffer
		code := run(append([]string{"--config", file}, args...), nil, &out, &out)
		return out.String(), code
	}

	r, w := io.Pipe()
	done := make(chan int)
	go func() {
		code := run([]string{"--config", file, "login"}, nil, w, io.Discard)
		w.Close()
		done <- code
	}()
	lines := bufio.NewScanner(r)
	lines.Scan()
	m := regexp.MustCompile(`skriv koden (\S+)\.`).FindStringSubmatch(lines.Text())
	if m == nil {
		t.Fatalf("login says %q", lines.Text())
	}
	if err := g.Entra.ApproveDevice(m[1], config.DemoUsers[0].Address, mailtest.Password); err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, r)
	if code := <-done; code != 0 {
		t.Fatalf("login: exit %d", code)
	}

	if out, code := cli("check", "jens.hansen@kommune.example", "0101901009"); code != 0 || !strings.Contains(out, "green  email  jens.hansen@kommune.example") {
		t.Fatalf("check: %d\n%s", code, out)
	}
	body := filepath.Join(dir, "body.txt")
	os.WriteFile(body, []byte("Kære Jens\n"), 0o600)
	out, code := cli("send", "--from", demo.Mailboxes[0].Address, "--to", "jens.hansen@kommune.example", "--subject", "Afgørelse", "--body-file", body)
	if code != 0 || !strings.Contains(out, "Kvittering for sikker mail") || !strings.Contains(out, "jens.hansen@kommune.example (S/MIME)") {
		t.Fatalf("send: %d\n%s", code, out)
	}
	if out, code := cli("outbox", "list"); code != 0 || !strings.Contains(out, "Afgørelse") {
		t.Fatalf("outbox: %d\n%s", code, out)
	}
	if out, code := cli("rights", "grant", config.DemoUsers[0].Address, demo.Mailboxes[1].Address, "send"); code == 0 || !strings.Contains(out, "Helpdesk-rollen") {
		t.Fatalf("staff granted: %d\n%s", code, out)
	}
	// The secure inbox, read through the gateway: the gateway opens it.
	if out, code := cli("inbox", "list", demo.Mailboxes[0].Address); code != 0 || strings.Count(out, "\n") != 3 || !strings.Contains(out, "Ansøgning om merit") {
		t.Fatalf("inbox list: %d\n%s", code, out)
	}
	if out, code := cli("inbox", "show", demo.Mailboxes[0].Address, "1"); code != 0 || !strings.HasPrefix(out, "Sendt sikkert: krypteret (AES-256-GCM) og signeret af Jens Hansen") ||
		!strings.Contains(out, "Vedhæftet er min ansøgning om merit") {
		t.Fatalf("inbox show: %d\n%s", code, out)
	}
	if out, code := cli("inbox", "forward", demo.Mailboxes[0].Address, "1", "--to", "jens.hansen@kommune.example"); code == 0 || !strings.Contains(out, "ikke en intern adresse") {
		t.Fatalf("forwarded outside: %d\n%s", code, out)
	}
	// The sent mail went from the gateway, signed with the mailbox's key:
	// the PC's settings name no key and no mail server.
	if got := len(g.Core.Core.Config().SMTP.Server); got == 0 {
		t.Fatal("the gateway has no mail server")
	}
	if b, _ := os.ReadFile(file); bytes.Contains(b, []byte(".p12")) || bytes.Contains(b, []byte("[smtp]")) {
		t.Errorf("the PC's settings:\n%s", b)
	}
}
