package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"sikkermail/internal/config"
	"sikkermail/internal/core"
	"sikkermail/internal/demo"
	"sikkermail/internal/i18n"
	"sikkermail/internal/mailtest"
	"sikkermail/internal/mailtest/daemon"
	"sikkermail/internal/message"
	"sikkermail/internal/outbox"
	"sikkermail/internal/policy"
	"sikkermail/internal/testenv"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"sikkermail-cli": func() { os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) },
	})
}

// TestScripts runs the CLI scenarios in testdata/script/*.txtar.
func TestScripts(t *testing.T) {
	testenv.Need(t, "openssl") // the smime scenarios check our output with it
	// The institution's mail servers, for the send scenarios: the demo
	// user may send from and open the two mailboxes the demo grants.
	may := func(user, mailbox string) bool {
		return user == "medarbejder@hoejskole.example" &&
			(mailbox == "sikkerpost-uddservice@hoejskole.example" || mailbox == "sikkerpost-studievejledning@hoejskole.example")
	}
	smtpSrv := mailtest.StartSMTP(t, map[string]string{"medarbejder@hoejskole.example": "mail-pw"}, may)
	imapSrv := mailtest.StartIMAPS(t)
	imapSrv.MayUse = may
	imapSrv.AddAccount("medarbejder@hoejskole.example", "mail-pw", "Sendte elementer")
	imapSrv.AddAccount("sikkerpost-uddservice@hoejskole.example", "unused", "Sendt post")
	testscript.Run(t, scripts("testdata/script", map[string]string{
		"SMTP_ADDR": smtpSrv.Addr,
		"SMTP_CA":   smtpSrv.TLS.CAFile,
		"IMAP_ADDR": imapSrv.Addr,
		"IMAP_CA":   imapSrv.TLS.CAFile,
	}))
}

// TestGatewayHost runs the scenarios of IT on a gateway's host, with the
// gateway's settings on a PostgreSQL database: testdata/host/*.txtar.
func TestGatewayHost(t *testing.T) {
	testscript.Run(t, scripts("testdata/host", map[string]string{"PGURL": daemon.StartPostgres(t).URL}))
}

// scripts runs the scenarios in dir, with vars set besides the test data.
func scripts(dir string, vars map[string]string) testscript.Params {
	return testscript.Params{
		Dir: dir,
		Setup: func(env *testscript.Env) error {
			// No settings file of the developer's may leak in, nor a language.
			env.Setenv("XDG_CONFIG_HOME", env.WorkDir+"/config")
			env.Setenv("HOME", env.WorkDir)
			env.Setenv("SIKKERMAIL_LANG", "")
			env.Setenv("CERTS", testenv.Path("testdata", "certs"))
			env.Setenv("TB", testenv.Path("testdata", "thunderbird"))
			for k, v := range vars {
				env.Setenv(k, v)
			}
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			// exits N PROG ARGS...: run PROG, which must exit with status N.
			"exits": func(ts *testscript.TestScript, neg bool, args []string) {
				if neg || len(args) < 2 {
					ts.Fatalf("usage: exits N PROG [ARGS...]")
				}
				want, err := strconv.Atoi(args[0])
				ts.Check(err)
				got := 0
				var ee *exec.ExitError
				if err := ts.Exec(args[1], args[2:]...); errors.As(err, &ee) {
					got = ee.ExitCode()
				} else if err != nil {
					ts.Fatalf("%v", err)
				}
				if got != want {
					ts.Fatalf("%s exited %d, want %d", args[1], got, want)
				}
			},
			// replace OLD NEW FILE: change a file in place, as tampering on the way would.
			"replace": func(ts *testscript.TestScript, neg bool, args []string) {
				if neg || len(args) != 3 {
					ts.Fatalf("usage: replace OLD NEW FILE")
				}
				old := ts.ReadFile(args[2])
				if !strings.Contains(old, args[0]) {
					ts.Fatalf("%s does not contain %q", args[2], args[0])
				}
				ts.Check(os.WriteFile(ts.MkAbs(args[2]), []byte(strings.Replace(old, args[0], args[1], 1)), 0o600))
			},
			// prepend LINE FILE: put a header line in front of a message.
			"prepend": func(ts *testscript.TestScript, neg bool, args []string) {
				if neg || len(args) != 2 {
					ts.Fatalf("usage: prepend LINE FILE")
				}
				ts.Check(os.WriteFile(ts.MkAbs(args[1]), []byte(args[0]+"\r\n"+ts.ReadFile(args[1])), 0o600))
			},
			// envsubst FILE: replace $NAME in a file by the variable's value.
			"envsubst": func(ts *testscript.TestScript, neg bool, args []string) {
				if neg || len(args) != 1 {
					ts.Fatalf("usage: envsubst FILE")
				}
				ts.Check(os.WriteFile(ts.MkAbs(args[0]), []byte(os.Expand(ts.ReadFile(args[0]), ts.Getenv)), 0o600))
			},
			// crlf FILE: give a file CRLF line ends (txtar cannot hold them),
			// the canonical form of a MIME entity.
			"crlf": func(ts *testscript.TestScript, neg bool, args []string) {
				if neg || len(args) != 1 {
					ts.Fatalf("usage: crlf FILE")
				}
				lf := strings.ReplaceAll(ts.ReadFile(args[0]), "\r\n", "\n")
				ts.Check(os.WriteFile(ts.MkAbs(args[0]), []byte(strings.ReplaceAll(lf, "\n", "\r\n")), 0o600))
			},
		},
	}
}

// TestShowMailIsPrintable: escape sequences and bidi controls a mail
// brings never reach the terminal.
func TestShowMailIsPrintable(t *testing.T) {
	var out bytes.Buffer
	c := &cli{stdout: &out, stderr: &out, lang: i18n.Danish}
	m := &core.OpenedMail{
		From:    []*mail.Address{{Name: "Jens\x1b[2J", Address: "jens@kommune.example"}},
		Subject: "Faktura\x1b[1A\x1b[32mSendt sikkert\x1b[0m",
		Content: &message.Received{Text: "Tekst\x1b]0;titel\x07\nnæste linje\n", Attachments: []message.Attachment{{Name: "faktura\u202Efdp.exe", Data: []byte("x")}}},
	}
	c.showMail(m)
	s := out.String()
	if strings.ContainsAny(s, "\x1b\x07\u202E") {
		t.Errorf("control characters reach the terminal: %q", s)
	}
	for _, want := range []string{"Jens␛[2J", "Faktura␛[1A␛[32mSendt sikkert", "Tekst␛]0;titel␇\nnæste linje", "faktura⟨U+202E⟩fdp.exe"} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q:\n%s", want, s)
		}
	}
}

// On the gateway's host IT sees the inbound mails the boundary has not
// delivered, with why, and puts one back in line; without the gateway's
// queue the command says where it runs.
func TestBoundaryCommand(t *testing.T) {
	cfg := config.Demo()
	cfg.Database = filepath.Join(t.TempDir(), "gw.db")
	api, err := demo.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c := api.(*demo.Core).Core
	c.OnHost()
	ctx := context.Background()
	b, err := c.OpenBoundary(ctx, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	// A letter that is no MeMo: its inspection fails for good.
	id, err := b.Receive(ctx, demo.Mailboxes[0].Address, []byte("<not a letter"))
	if err != nil {
		t.Fatal(err)
	}
	b.Process(ctx)
	var out, errOut bytes.Buffer
	cl := &cli{stdout: &out, stderr: &errOut, lang: i18n.Danish, co: api}
	if err := cl.boundaryCmd([]string{"list"}); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), fmt.Sprintf("%d  fejlet", id)) || !strings.Contains(out.String(), "Gatewayen kunne ikke åbne en mail, der kom til "+demo.Mailboxes[0].Address) {
		t.Errorf("list:\n%s", out.String())
	}
	out.Reset()
	if err := cl.boundaryCmd([]string{"retry", fmt.Sprint(id)}); err != nil || !strings.Contains(out.String(), "i kø igen") {
		t.Errorf("retry: %v\n%s", err, out.String())
	}
	if list, _ := c.InboundList(ctx); len(list) != 1 || list[0].State != outbox.Queued {
		t.Errorf("%+v", list)
	}
	if err := cl.boundaryCmd([]string{"retry"}); err != errUsage {
		t.Errorf("no number: %v", err)
	}
	staff := c.As(policy.Actor{User: config.DemoUsers[0].Address}, "")
	if _, err := staff.InboundList(ctx); !strings.Contains(i18n.Danish.Error(err), "Helpdesk-rollen") {
		t.Errorf("staff listed the queue: %v", err)
	}
	api.Close()
}
