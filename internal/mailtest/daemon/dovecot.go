package daemon

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"sikkermail/internal/mailtest"
	"sikkermail/internal/testenv"
)

// Dovecot is a real Dovecot IMAP server (Debian's dovecot-imapd) started
// for a test with its own configuration in a temporary folder: STARTTLS
// required with a test certificate, Maildir storage, a folder "Sendt post"
// announced as \Sent (RFC 6154), and master users, so "mailbox*user" with
// the user's password opens a shared mailbox.
type Dovecot struct {
	Addr string
	TLS  *mailtest.TLS
	dir  string
}

// SentFolder is the name of the folder Dovecot announces as \Sent.
const SentFolder = "Sendt post"

// StartDovecot starts Dovecot with the accounts (login → password);
// masters may open every account as "account*master".
func StartDovecot(t testing.TB, accounts, masters map[string]string) *Dovecot {
	t.Helper()
	return startDovecot(t, accounts, masters, "", "")
}

// StartDovecotOAuth is StartDovecot that also takes XOAUTH2 and
// OAUTHBEARER, checking each bearer token with Dovecot's own oauth2
// passdb against an RFC 7662 introspection endpoint (verified against
// the roots in caFile): the login must be the token's owner.
func StartDovecotOAuth(t testing.TB, accounts, masters map[string]string, introspection, caFile string) *Dovecot {
	t.Helper()
	return startDovecot(t, accounts, masters, introspection, caFile)
}

func startDovecot(t testing.TB, accounts, masters map[string]string, introspection, caFile string) *Dovecot {
	t.Helper()
	bin := testenv.Need(t, "dovecot")
	// Dovecot's own processes run as another user when started as root,
	// so the folder must be theirs to enter: not t.TempDir (mode 0700).
	dir := daemonDir(t, "sikkermail-dovecot-")
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	d := &Dovecot{TLS: mailtest.NewTLS(t), dir: dir}
	owner := "dovecot"
	if os.Geteuid() != 0 {
		u, err := user.Current()
		if err != nil {
			t.Fatal(err)
		}
		owner = u.Username
	}
	u, err := user.Lookup(owner)
	if err != nil {
		t.Fatalf("dovecot: %v", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	mail := filepath.Join(dir, "mail")
	if err := os.Mkdir(mail, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(mail, uid, gid); err != nil {
		t.Fatal(err)
	}
	write := func(name string, users map[string]string) string {
		var b strings.Builder
		for n, pw := range users {
			fmt.Fprintf(&b, "%s:{PLAIN}%s\n", n, pw)
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	mechs, oauth := "plain login", ""
	if introspection != "" {
		// Dovecot's auth process reads the CA: a copy it may read.
		ca, err := os.ReadFile(caFile)
		if err != nil {
			t.Fatal(err)
		}
		caCopy := filepath.Join(dir, "oauth-ca.pem")
		os.WriteFile(caCopy, ca, 0o644)
		ext := filepath.Join(dir, "dovecot-oauth2.conf.ext")
		os.WriteFile(ext, []byte(fmt.Sprintf("introspection_mode = post\nintrospection_url = %s\nusername_attribute = username\n"+
			"active_attribute = active\nactive_value = true\ntls_ca_cert_file = %s\n", introspection, caCopy)), 0o644)
		mechs += " xoauth2 oauthbearer"
		oauth = fmt.Sprintf("passdb {\n  driver = oauth2\n  mechanisms = xoauth2 oauthbearer\n  args = %s\n}\n", ext)
	}
	port := freePort(t)
	d.Addr = fmt.Sprintf("127.0.0.1:%d", port)
	var internal string
	if os.Geteuid() != 0 {
		internal = fmt.Sprintf("default_internal_user = %[1]s\ndefault_internal_group = %[2]s\ndefault_login_user = %[1]s\n", owner, groupName(gid))
	}
	conf := fmt.Sprintf(`base_dir = %[1]s/run
state_dir = %[1]s/state
log_path = %[1]s/log
protocols = imap
listen = 127.0.0.1
ssl = required
ssl_cert = <%[2]s
ssl_key = <%[3]s
disable_plaintext_auth = yes
auth_mechanisms = %[11]s
auth_master_user_separator = *
first_valid_uid = %[4]d
last_valid_uid = 0
first_valid_gid = %[5]d
mail_location = maildir:%[1]s/mail/%%u
%[6]s
passdb {
  driver = passwd-file
  args = %[7]s
  master = yes
  pass = yes
}
passdb {
  driver = passwd-file
  args = %[8]s
}
%[12]s
userdb {
  driver = static
  args = uid=%[4]d gid=%[5]d home=%[1]s/mail/%%u
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = %[9]d
  }
  inet_listener imaps {
    port = 0
  }
}
service stats {
  unix_listener stats-reader {
    mode = 0666
  }
  unix_listener stats-writer {
    mode = 0666
  }
}
namespace inbox {
  inbox = yes
  separator = /
  mailbox "%[10]s" {
    special_use = \Sent
    auto = subscribe
  }
}
`, dir, d.TLS.CertFile, d.TLS.KeyFile, uid, gid, internal, write("masters", masters), write("users", accounts), port, SentFolder, mechs, oauth)
	confPath := filepath.Join(dir, "dovecot.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	// The key must be readable by Dovecot's login process.
	for _, f := range []string{d.TLS.CertFile, d.TLS.KeyFile} {
		os.Chmod(filepath.Dir(f), 0o755)
		os.Chmod(f, 0o644)
	}
	startDaemon(t, "dovecot", exec.Command(bin, "-F", "-c", confPath), os.Kill, filepath.Join(dir, "log"), func() bool { return greets(d.Addr) })
	return d
}

func greets(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Second))
	b := make([]byte, 4)
	n, _ := c.Read(b)
	return n == 4 && string(b) == "* OK"
}

func groupName(gid int) string {
	if g, err := user.LookupGroupId(strconv.Itoa(gid)); err == nil {
		return g.Name
	}
	return strconv.Itoa(gid)
}

// Messages returns the files of an account's folder, read straight from
// Dovecot's Maildir: what the server stored, not what a client says.
func (d *Dovecot) Messages(t testing.TB, account, folder string) [][]byte {
	t.Helper()
	root := d.folder(account, folder)
	var out [][]byte
	for _, sub := range []string{"cur", "new"} {
		files, _ := filepath.Glob(filepath.Join(root, sub, "*"))
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, b)
		}
	}
	return out
}

// Flags returns the Maildir flag letters of an account's folder's
// messages ("S" is \Seen).
func (d *Dovecot) Flags(t testing.TB, account, folder string) []string {
	root := d.folder(account, folder)
	var out []string
	files, _ := filepath.Glob(filepath.Join(root, "cur", "*"))
	for _, f := range files {
		_, flags, _ := strings.Cut(filepath.Base(f), ":2,")
		out = append(out, flags)
	}
	return out
}

// folder is where Maildir++ keeps a folder of an account.
func (d *Dovecot) folder(account, folder string) string {
	root := filepath.Join(d.dir, "mail", account)
	if folder == "INBOX" {
		return root
	}
	return filepath.Join(root, "."+strings.ReplaceAll(folder, "/", "."))
}
