package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sikkermail/internal/i18n"
)

func write(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config.toml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoad(t *testing.T) {
	p := write(t, "language = \"en\"\n[institution]\nname = \"K\"\ndomains = [\"Kommune.example\"]\n")
	c, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if c.Demo || c.File != p || c.Lang() != i18n.English {
		t.Errorf("got %+v", c)
	}
	d, err := c.InternalDomains()
	if err != nil || !d.Contains("kommune.example") {
		t.Errorf("internal domains %v, %v", d, err)
	}
}

func TestLoadDefault(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	t.Setenv("HOME", t.TempDir())
	c, err := Load("")
	if err != nil || !c.Demo {
		t.Fatalf("no default file: %+v, %v; want the demo", c, err)
	}
	if c.Lang() != i18n.Danish {
		t.Errorf("demo language %s", c.Lang())
	}
}

func TestLoadErrors(t *testing.T) {
	for body, want := range map[string]string{
		"[institution]\ndomain = [\"x.example\"]\n":   "institution.domain",
		"[institution]\ndomains = [\"not a domain\"]": "not a domain",
		"language = \"de\"\n":                         "language",
		"[institution\n":                              "toml",
	} {
		p := write(t, body)
		_, err := Load(p)
		var ce *Error
		if !errors.As(err, &ce) || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want *Error containing %q", body, err, want)
			continue
		}
		for _, l := range i18n.Langs {
			if s := l.Error(err); !strings.Contains(s, p) {
				t.Errorf("%s sentence %q does not name the file", l, s)
			}
		}
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing.toml")); err == nil {
		t.Error("an explicitly named missing file is not an error")
	}
}

func TestNeedsCBC(t *testing.T) {
	p := write(t, "[smime]\ncbc = [\"kommune.example\", \"Jens@Firma.example\"]\ntrust_anchors = [\"/etc/oces3.pem\"]\n")
	c, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	for addr, want := range map[string]bool{
		"post@kommune.example":     true,
		"jens@firma.example":       true,
		"anna@firma.example":       false,
		"post@sub.kommune.example": false,
		"kommune.example@other.dk": false,
	} {
		if got := c.SMIME.NeedsCBC(addr); got != want {
			t.Errorf("NeedsCBC(%q) = %v", addr, got)
		}
	}
	if len(c.SMIME.TrustAnchors) != 1 {
		t.Errorf("trust anchors %v", c.SMIME.TrustAnchors)
	}
}

func TestDirectory(t *testing.T) {
	p := write(t, "[directory]\nstore = \"/var/lib/sikkermail/certs\"\ntimeout = \"2s\"\n[[directory.ldap]]\nurl = \"ldap://ldap.example:389\"\nbase_dn = \"c=DK\"\nstarttls = true\n")
	c, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	d := c.Directory
	if rel, _ := Load(write(t, "[directory]\nstore = \"certs\"\n[smime]\ntrust_anchors = [\"roots/oces3.pem\"]\n")); rel == nil ||
		rel.Directory.Store != filepath.Join(filepath.Dir(rel.File), "certs") ||
		rel.SMIME.TrustAnchors[0] != filepath.Join(filepath.Dir(rel.File), "roots", "oces3.pem") {
		t.Errorf("relative paths are not relative to the settings file: %+v", rel)
	}
	if d.Store != "/var/lib/sikkermail/certs" || d.Timeout.Seconds() != 2 || len(d.LDAP) != 1 || !d.LDAP[0].StartTLS || d.LDAP[0].BaseDN != "c=DK" {
		t.Errorf("directory %+v", d)
	}
	if _, err := Load(write(t, "[directory]\ntimeout = \"soon\"\n")); err == nil {
		t.Error("a timeout that is no duration was accepted")
	}
}

func TestMailServers(t *testing.T) {
	c, err := Load(write(t, `[smtp]
server = "smtp.example.dk:465"
security = "tls"
ca = "roots.pem"
auth = "xoauth2"
username = "u@example.dk"
password = "env:TOKEN"
timeout = "30s"
[imap]
server = "imap.example.dk:993"
security = "starttls"
auth = "plain"
password = "keyring"
shared_login = "{user}\\{mailbox}"
sent_folder = "Sendte elementer"
timeout = "2m"
`))
	if err != nil {
		t.Fatal(err)
	}
	s, i := c.SMTP, c.IMAP
	if s.Server != "smtp.example.dk:465" || s.Security != "tls" || !filepath.IsAbs(s.CA) || s.Auth != "xoauth2" || s.Username != "u@example.dk" ||
		s.Password != "env:TOKEN" || s.Timeout.Duration != 30*time.Second {
		t.Fatalf("smtp %+v", s)
	}
	if i.Server != "imap.example.dk:993" || i.Security != "starttls" || i.SharedLogin != `{user}\{mailbox}` || i.SentFolder != "Sendte elementer" ||
		i.Timeout.Duration != 2*time.Minute {
		t.Fatalf("imap %+v", i)
	}
	for _, bad := range []string{"[smtp]\nsecurity = \"none\"\n", "[imap]\nauth = \"login\"\n", "[smtp]\nauth = \"cram-md5\"\n"} {
		if _, err := Load(write(t, bad)); err == nil || !strings.Contains(i18n.Danish.Error(err), "skal være en af") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func TestDigitalPost(t *testing.T) {
	c, err := Load(write(t, `[institution]
cvr = "29403473"
[digitalpost]
url = "https://api.test.digitalpost.dk/apis/v1/"
identity = "system.p12"
password = "file:/run/secrets/dp"
ca = "roots.pem"
timeout = "45s"
`))
	if err != nil {
		t.Fatal(err)
	}
	d := c.DigitalPost
	if d.URL != "https://api.test.digitalpost.dk/apis/v1/" || !filepath.IsAbs(d.Identity) || !filepath.IsAbs(d.CA) ||
		d.Password != "file:/run/secrets/dp" || d.Timeout.Duration != 45*time.Second {
		t.Fatalf("digitalpost %+v", d)
	}
	for bad, words := range map[string]string{
		"[institution]\ncvr = \"29403473\"\n[digitalpost]\nurl = \"http://dp.example\"\nidentity = \"x.p12\"\n": "https://",
		"[institution]\ncvr = \"29403473\"\n[digitalpost]\nurl = \"https://dp.example\"\n":                      "identity",
		"[digitalpost]\nurl = \"https://dp.example\"\nidentity = \"x.p12\"\n":                                   "cvr",
	} {
		if _, err := Load(write(t, bad)); err == nil || !strings.Contains(i18n.Danish.Error(err), words) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func TestInbox(t *testing.T) {
	c, err := Load(write(t, "[inbox]\nhandled_flag = \"$Done\"\nhandled_folder = \"Behandlet\"\n"))
	if err != nil || c.Inbox.HandledFlag != "$Done" || c.Inbox.HandledFolder != "Behandlet" {
		t.Fatalf("%+v %v", c.Inbox, err)
	}
	for _, bad := range []string{"\\Seen", "to ord", "æ"} {
		if _, err := Load(write(t, "[inbox]\nhandled_flag = '"+bad+"'\n")); err == nil || !strings.Contains(i18n.Danish.Error(err), "IMAP-nøgleord") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func TestLimits(t *testing.T) {
	c, err := Load(write(t, "[smtp]\nmax_message_size = \"35MB\"\nmax_recipients = 100\n[digitalpost]\nmax_message_size = \"512 KB\"\n"))
	if err != nil || c.SMTP.MaxMessageSize != 35<<20 || c.SMTP.MaxRecipients != 100 || c.DigitalPost.MaxMessageSize != 512<<10 {
		t.Fatalf("%+v %+v %v", c.SMTP, c.DigitalPost, err)
	}
	if _, err := Load(write(t, "[smtp]\nmax_message_size = \"big\"\n")); err == nil || !strings.Contains(i18n.Danish.Error(err), "smtp.max_message_size ikke en størrelse") {
		t.Errorf("a size that is no size: %v", err)
	}
}

// TestRuleSentences: every setting that breaks a rule is told in a whole
// sentence of the user's language, naming the setting: no English inside
// a Danish sentence.
func TestRuleSentences(t *testing.T) {
	for _, tc := range []struct{ body, setting string }{
		{"[smtp]\nmax_recipients = -3\n", "smtp.max_recipients"},
		{"[smtp]\nmax_message_size = \"99999999999GB\"\n", "smtp.max_message_size"},
		{"[smtp]\ntimeout = \"-5s\"\n", "smtp.timeout"},
		{"[smtp]\ntimeout = \"lidt\"\n", "smtp.timeout"},
		{"[smtp]\npassword = \"hemmelig\"\n", "smtp.password"},
		{"[imap]\npassword = \"vault:x\"\n", "imap.password"},
		{"[smtp]\nsecurity = \"none\"\n", "smtp.security"},
		{"[digitalpost]\nurl = \"http://dp.example\"\n", "digitalpost.url"},
		{"[smtp]\nserevr = \"x\"\n", "smtp.serevr"},
		{"language = \"de\"\n", "language"},
		{"[policy.ldap]\nurl = \"ldap://ad.example\"\n", "policy.ldap.url"},
	} {
		_, err := Load(write(t, tc.body))
		var e *Error
		if !errors.As(err, &e) || e.Rule == "" {
			t.Errorf("%q: %v is no rule", tc.body, err)
			continue
		}
		for _, l := range i18n.Langs {
			said := l.Error(err)
			if !l.Has(e.Localize().Key) || !strings.Contains(said, tc.setting) || !strings.HasSuffix(said, ".") {
				t.Errorf("%s %q: %q", l, tc.body, said)
			}
			if l == i18n.Danish && (strings.Contains(said, " use ") || strings.Contains(said, " must ")) {
				t.Errorf("English in %q", said)
			}
		}
	}
}

// TestLDAPNeverPlaintext: an LDAP directory is reached over TLS or not at
// all; there is no plaintext setting.
func TestLDAPNeverPlaintext(t *testing.T) {
	for _, tc := range []struct {
		body string
		ok   bool
	}{
		{"[[directory.ldap]]\nurl = \"ldaps://ldap.example\"\n", true},
		{"[[directory.ldap]]\nurl = \"ldap://ldap.example\"\nstarttls = true\n", true},
		{"[[directory.ldap]]\nurl = \"ldap://ldap.example\"\n", false},
		{"[policy.ldap]\nurl = \"ldap://ad.example\"\n", false},
		{"[policy.ldap]\nurl = \"ldap://ad.example\"\nstarttls = true\n", true},
		{"[policy.ldap]\nurl = \"http://ad.example\"\n", false},
	} {
		_, err := Load(write(t, tc.body))
		if (err == nil) != tc.ok {
			t.Errorf("%q: %v", tc.body, err)
		}
		if err != nil && !strings.Contains(err.Error(), "ldaps://") {
			t.Errorf("%q: %v does not say what to do", tc.body, err)
		}
	}
}

// Every rule has its sentence in Danish and in English.
func TestEveryRuleHasSentences(t *testing.T) {
	for _, l := range []i18n.Lang{i18n.Danish, i18n.English} {
		for _, r := range Rules {
			e := &Error{File: "config.toml", Rule: r, Setting: "x.y", Value: "v", Allowed: "a, b"}
			if s := l.Error(e); s == "" || strings.Contains(s, "config.rule.") {
				t.Errorf("%s: rule %s has no sentence: %q", l, r, s)
			}
		}
	}
}
