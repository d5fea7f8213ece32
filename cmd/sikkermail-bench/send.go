package main

import (
	"bufio"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"sikkermail/internal/mailtest"
)

// sendPath measures the whole send path of the CLI (`sikkermail-cli
// send`: queue, seal, build, sign, encrypt, two submissions, audit, both
// Sent copies and the receipt) with an attachment of n bytes, to one
// external (S/MIME) and one internal recipient. The servers (go-smtp and
// go-imap on loopback, with TLS) run in a process of their own (this
// program again, as servers), so that the peak RSS measured is the
// client's alone: a child's peak RSS counts its parent's pages until its
// exec, and the servers hold every mail they take.
func sendPath(cli, certs string, n int64, runs int) (result, error) {
	dir, err := os.MkdirTemp("", "sikkermail-bench-send")
	if err != nil {
		return result{}, err
	}
	defer os.RemoveAll(dir)
	servers := exec.Command(os.Args[0])
	servers.Env = append(os.Environ(), serveEnv+"="+strconv.FormatInt(4*n, 10))
	servers.Stderr = os.Stderr
	stdin, err := servers.StdinPipe()
	if err != nil {
		return result{}, err
	}
	stdout, err := servers.StdoutPipe()
	if err != nil {
		return result{}, err
	}
	if err := servers.Start(); err != nil {
		return result{}, err
	}
	defer servers.Wait()
	defer stdin.Close()
	out := bufio.NewReader(stdout)
	var addr served
	line, err := out.ReadBytes('\n')
	if err != nil || json.Unmarshal(line, &addr) != nil {
		return result{}, fmt.Errorf("send path: the servers did not start (%v)", err)
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
`, user, filepath.Join(certs, "ca.pem"), addr.SMTP, addr.SMTPCA, 4*n, addr.IMAP, addr.IMAPCA),
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
	stdin.Close()
	var got int
	if _, err := fmt.Fscan(out, &got); err != nil || got != 2*runs {
		return result{}, fmt.Errorf("send path: the server took %d messages, want %d (%v)", got, 2*runs, err)
	}
	return res, nil
}

// The user who sends, and the secure mailbox.
const user, mailbox = "medarbejder@hoejskole.example", "sikkerpost-uddservice@hoejskole.example"

// serveEnv, set to a size limit, makes this program the servers of
// sendPath.
const serveEnv = "SIKKERMAIL_BENCH_SERVE"

// served is where the servers listen, and their CA files.
type served struct{ SMTP, SMTPCA, IMAP, IMAPCA string }

// serve runs the servers of sendPath: it prints where they are as JSON,
// and when its standard input ends, how many messages the SMTP server
// took.
func serve(limit int64) error {
	may := func(u, m string) bool { return u == user && m == mailbox }
	smtpSrv, err := mailtest.NewSMTP(map[string]string{user: "mail-pw"}, may)
	if err != nil {
		return err
	}
	defer smtpSrv.Close()
	smtpSrv.AcceptUpTo(limit)
	imapSrv, err := mailtest.NewIMAPS()
	if err != nil {
		return err
	}
	defer imapSrv.Close()
	imapSrv.MayUse = may
	imapSrv.AppendLimit = uint32(min(limit, 1<<32-1))
	imapSrv.AddAccount(user, "mail-pw", "Sendte elementer")
	imapSrv.AddAccount(mailbox, "unused", "Sendt post")
	if err := json.NewEncoder(os.Stdout).Encode(served{smtpSrv.Addr, smtpSrv.TLS.CAFile, imapSrv.Addr, imapSrv.TLS.CAFile}); err != nil {
		return err
	}
	io.Copy(io.Discard, os.Stdin)
	fmt.Println(len(smtpSrv.Received()))
	return nil
}
