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

	"sikkermail/internal/mailtest"
	"sikkermail/internal/testenv"
)

// login signs in by device code: it says where to go and the code, and
// waits; whoami then names the account, and logout ends the session.
func TestLoginWhoamiLogout(t *testing.T) {
	if !testenv.InSecretService(t) {
		return
	}
	const user, clientID = "medarbejder@hoejskole.example", "9d2c6b1e-4f3a-4e5b-8c7d-6a5b4c3d2e1f"
	entra := mailtest.StartEntra(t, clientID)
	entra.AddUser(user, "entra-password", "Demo Medarbejder")
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.toml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`database = %q
[institution]
name = "Demo Professionshøjskole"
domains = ["hoejskole.example"]
[user]
address = %q
[smtp]
server = "127.0.0.1:1"
auth = "microsoft"
[imap]
server = "127.0.0.1:1"
auth = "microsoft"
[microsoft]
tenant = %q
client_id = %q
authority = %q
ca = %q
`, filepath.Join(dir, "cli.db"), user, mailtest.EntraTenant, clientID, strings.TrimSuffix(entra.Authority, "/"+mailtest.EntraTenant), entra.TLS.CAFile)), 0o600)
	cli := func(args ...string) (string, int) {
		var out bytes.Buffer
		code := run(append([]string{"--config", cfg}, args...), nil, &out, &out)
		return out.String(), code
	}
	if out, code := cli("whoami"); code != 0 || !strings.Contains(out, "Ikke logget ind med Microsoft") {
		t.Fatalf("whoami before login: %d %q", code, out)
	}

	r, w := io.Pipe()
	done := make(chan int)
	var errs bytes.Buffer
	go func() {
		code := run([]string{"--config", cfg, "login"}, nil, w, &errs)
		w.Close()
		done <- code
	}()
	lines := bufio.NewScanner(r)
	if !lines.Scan() {
		t.Fatalf("login said nothing: %s", errs.String())
	}
	m := regexp.MustCompile(`åbn (https://\S+) i en browser, og skriv koden (\S+)\.`).FindStringSubmatch(lines.Text())
	if m == nil {
		t.Fatalf("login says %q", lines.Text())
	}
	if err := entra.ApproveDevice(m[2], user, "entra-password"); err != nil {
		t.Fatal(err)
	}
	if !lines.Scan() || lines.Text() != "Logget ind som "+user+"." {
		t.Fatalf("after the code: %q %s", lines.Text(), errs.String())
	}
	io.Copy(io.Discard, r)
	if code := <-done; code != 0 {
		t.Fatalf("login: exit %d, %s", code, errs.String())
	}

	if out, _ := cli("whoami"); !strings.Contains(out, "Logget ind med Microsoft som "+user) {
		t.Fatalf("whoami: %q", out)
	}
	if out, code := cli("logout"); code != 0 || !strings.Contains(out, "Logget ud") {
		t.Fatalf("logout: %d %q", code, out)
	}
	if out, _ := cli("whoami"); !strings.Contains(out, "Ikke logget ind") {
		t.Fatalf("whoami after logout: %q", out)
	}
}
