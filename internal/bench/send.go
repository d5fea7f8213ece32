package main

import (
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"sikkermail/internal/mailtest"
)

// sendPath measures the whole send path of the CLI (`sikkermail-cli
// send`: queue, seal, build, sign, encrypt, two submissions, audit, both
// Sent copies and the receipt) with an attachment of n bytes, to one
// external (S/MIME) and one internal recipient. The servers (go-smtp and
// go-imap on loopback, with TLS) run in this process, so that the peak
// RSS measured is the client's alone.
func sendPath(cli, certs string, n int64, runs int) (result, error) {
	var r mailtest.Runner
	defer r.Close()
	dir, err := os.MkdirTemp("", "sikkermail-bench-send")
	if err != nil {
		return result{}, err
	}
	defer os.RemoveAll(dir)
	const user, mailbox = "medarbejder@hoejskole.example", "sikkerpost-uddservice@hoejskole.example"
	var smtpSrv *mailtest.SMTP
	var imapSrv *mailtest.IMAP
	err = r.Run(func() {
		may := func(u, m string) bool { return u == user && m == mailbox }
		smtpSrv = mailtest.StartSMTP(&r, map[string]string{user: "mail-pw"}, may)
		smtpSrv.AcceptUpTo(4 * n)
		imapSrv = mailtest.StartIMAPS(&r)
		imapSrv.MayUse = may
		imapSrv.AppendLimit = uint32(min(4*n, 1<<32-1))
		imapSrv.AddAccount(&r, user, "mail-pw", "Sendte elementer")
		imapSrv.AddAccount(&r, mailbox, "unused", "Sendt post")
	})
	if err != nil {
		return result{}, err
	}
	at := func(name string) string { return filepath.Join(dir, name) }
	if err := os.MkdirAll(at("store"), 0o700); err != nil {
		return result{}, err
	}
	pem, err := os.ReadFile(filepath.Join(certs, "recipient-rsa.pem"))
	if err != nil {
		return result{}, err
	}
	files := map[string]string{
		"store/jens.pem": string(pem),
		"body.txt":       "Kære Jens\n\nHermed journalen.\n",
		"helpdesk.toml": `database = "shared.db"
[institution]
domains = ["hoejskole.example"]
[user]
address = "helpdesk@hoejskole.example"
[policy]
helpdesk = ["helpdesk@hoejskole.example"]
`,
		"staff.toml": fmt.Sprintf(`database = "shared.db"
[institution]
domains = ["hoejskole.example"]
[user]
address = %q
name = "Medarbejder"
[policy]
helpdesk = ["helpdesk@hoejskole.example"]
[smime]
trust_anchors = [%q]
[directory]
store = "store"
[smtp]
server = %q
ca = %q
password = "env:MAILPW"
max_message_size = "%dB"
[imap]
server = %q
ca = %q
password = "env:MAILPW"
`, user, filepath.Join(certs, "ca.pem"), smtpSrv.Addr, smtpSrv.TLS.CAFile, 4*n, imapSrv.Addr, imapSrv.TLS.CAFile),
	}
	for name, text := range files {
		if err := os.WriteFile(at(name), []byte(text), 0o600); err != nil {
			return result{}, err
		}
	}
	f, err := os.Create(at("journal.pdf"))
	if err != nil {
		return result{}, err
	}
	_, err = io.CopyN(f, rand.Reader, n)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return result{}, err
	}
	env := []string{"PW=test", "MAILPW=mail-pw", "XDG_CONFIG_HOME=" + at("config")}
	cmd := func(args ...string) error {
		c := exec.Command(cli, args...)
		c.Dir = dir
		c.Env = append(os.Environ(), env...)
		if out, err := c.CombinedOutput(); err != nil {
			return fmt.Errorf("%s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return nil
	}
	for _, args := range [][]string{
		{"--config", "helpdesk.toml", "mailbox", "add", mailbox, "--name", "Sikkerpost", "--identity", filepath.Join(certs, "mailbox-rsa.p12"), "--password", "env:PW", "--sent", "Sendt post"},
		{"--config", "helpdesk.toml", "rights", "grant", user, mailbox, "send"},
	} {
		if err := cmd(args...); err != nil {
			return result{}, err
		}
	}
	// Run in the folder with the settings: measure takes argv only.
	wd, _ := os.Getwd()
	if err := os.Chdir(dir); err != nil {
		return result{}, err
	}
	defer os.Chdir(wd)
	res, err := measure(runs, env, cli, "--config", "staff.toml", "send", "--from", mailbox,
		"--to", "jens.hansen@kommune.example", "--cc", "kollega@hoejskole.example",
		"--subject", "Journal", "--body-file", "body.txt", "--attach", "journal.pdf")
	if err != nil {
		return result{}, err
	}
	if got := len(smtpSrv.Received()); got != 2*runs {
		return result{}, fmt.Errorf("send path: the server took %d messages, want %d", got, 2*runs)
	}
	return res, nil
}
