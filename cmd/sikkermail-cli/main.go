// Command sikkermail-cli is sikkermail without a window: it checks
// recipients, sends and watches the outbox, reads the secure inboxes,
// manages mailboxes and rights (helpdesk) and reads the audit log, signs
// and encrypts, decrypts and verifies S/MIME files, and signs in with
// Microsoft by device code. It builds without cgo.
//
// Usage:
//
//	sikkermail-cli [--lang da|en] [--config FILE | --demo] COMMAND [ARGS]
//
// Exit status: 0 on success, 1 when a check found a recipient that cannot
// receive securely or a mail was not delivered (it stays in the outbox),
// 2 for a usage or configuration error.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"sikkermail/internal/config"
	"sikkermail/internal/core"
	"sikkermail/internal/frontend"
	"sikkermail/internal/i18n"
	"sikkermail/internal/message"
)

// Version is the program's version, set at build time with -ldflags.
var Version = "0.1.0-dev"

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// cli is one invocation: its streams, language and (once loaded) core.
type cli struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	lang           i18n.Lang
	langSet        bool // by --lang or SIKKERMAIL_LANG; the settings file does not override it
	cfgPath        string
	demo           bool
	// co is the core, opened by the first command that needs it and
	// closed when run returns.
	co core.API
}

// errUsage is a usage error already explained to the user.
var errUsage = errors.New("usage")

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	c := &cli{stdin: stdin, stdout: stdout, stderr: stderr, lang: i18n.Danish}
	defer func() {
		if c.co != nil {
			c.co.Close()
		}
	}()
	if l, err := i18n.ParseLang(os.Getenv("SIKKERMAIL_LANG")); err == nil {
		c.lang, c.langSet = l, true
	}
	fs := flag.NewFlagSet("sikkermail-cli", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	langFlag := fs.String("lang", "", "")
	fs.StringVar(&c.cfgPath, "config", "", "")
	fs.BoolVar(&c.demo, "demo", false, "")
	if err := fs.Parse(args); err != nil {
		return c.usageError(err)
	}
	if *langFlag != "" {
		l, err := i18n.ParseLang(*langFlag)
		if err != nil {
			return c.usageError(err)
		}
		c.lang, c.langSet = l, true
	}
	args = fs.Args()
	if len(args) == 0 {
		fmt.Fprintln(stderr, c.lang.T("cli.usage", nil))
		return 2
	}
	var err error
	switch cmd := args[0]; cmd {
	case "help", "-h", "--help":
		fmt.Fprintln(stdout, c.lang.T("cli.usage", nil))
		return 0
	case "version":
		fmt.Fprintln(stdout, "sikkermail-cli", Version)
		return 0
	case "check":
		err = c.check(args[1:])
	case "smime":
		err = c.smimeCmd(args[1:])
	case "mailbox":
		err = c.mailboxCmd(args[1:])
	case "rights":
		err = c.rightsCmd(args[1:])
	case "audit":
		err = c.auditCmd(args[1:])
	case "send":
		err = c.sendCmd(args[1:])
	case "outbox":
		err = c.outboxCmd(args[1:])
	case "inbox":
		err = c.inboxCmd(args[1:])
	case "boundary":
		err = c.boundaryCmd(args[1:])
	case "login":
		err = c.loginCmd(args[1:])
	case "logout":
		err = c.logoutCmd(args[1:])
	case "whoami":
		err = c.whoamiCmd(args[1:])
	default:
		c.fail(c.lang.T("cli.unknown_command", map[string]any{"Command": cmd}))
		return 2
	}
	var red errRed
	switch {
	case err == nil:
		return 0
	case errors.As(err, &red):
		return 1
	case errors.Is(err, errUsage):
		return 2
	}
	c.fail(c.lang.Error(err))
	return 2
}

// errRed means a command ran and reported a recipient that is red.
type errRed struct{ n int }

func (e errRed) Error() string { return fmt.Sprintf("%d recipient(s) cannot receive securely", e.n) }

// core loads the configuration and returns the Core, once per run. The
// language follows the settings file unless --lang or SIKKERMAIL_LANG said
// otherwise.
func (c *cli) core() (core.API, error) {
	if c.co != nil {
		return c.co, nil
	}
	var cfg *config.Config
	var err error
	if c.demo {
		cfg = config.Demo()
	} else if cfg, err = config.Load(c.cfgPath); err != nil {
		return nil, err
	}
	if !c.langSet {
		c.lang = cfg.Lang()
	}
	co, err := frontend.Open(cfg)
	if err != nil {
		return nil, err // no core: c.co stays nil, and nothing is closed
	}
	c.co = co
	return co, nil
}

// fail tells the user what went wrong; a sentence may quote what came
// from outside (a certificate's name, a server's words), so it is made
// printable first.
func (c *cli) fail(msg string) {
	fmt.Fprintln(c.stderr, "sikkermail-cli:", message.Printable(msg, true))
}

func (c *cli) usageError(err error) int {
	c.fail(c.lang.T("cli.bad_flag", map[string]any{"Err": err.Error()}))
	return 2
}
