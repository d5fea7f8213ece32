// Package config reads sikkermail's settings file and provides the built-in
// demo environment used when there is none.
//
// The file is TOML, by default config.toml in the user's configuration
// directory (os.UserConfigDir()/sikkermail). Unknown keys are an error, so a
// misspelt setting is never silently ignored. Secrets (passwords, private
// keys) never live in this file; they are kept by the OS keyring.
package config

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"sikkermail/internal/i18n"
	"sikkermail/internal/recipient"
)

// Config is the whole configuration.
type Config struct {
	// Language of the user interface: "da" (default) or "en".
	Language string `toml:"language"`
	// Database is the SQLite file for the outbox, rights, audit log and
	// the directory cache; "" means sikkermail.db (demo.db for the demo)
	// in the user's configuration folder.
	Database    string      `toml:"database"`
	Institution Institution `toml:"institution"`
	User        User        `toml:"user"`
	Policy      Policy      `toml:"policy"`
	SMIME       SMIME       `toml:"smime"`
	Directory   Directory   `toml:"directory"`
	SMTP        SMTP        `toml:"smtp"`
	IMAP        IMAP        `toml:"imap"`
	DigitalPost DigitalPost `toml:"digitalpost"`
	Inbox       Inbox       `toml:"inbox"`
	Microsoft   Microsoft   `toml:"microsoft"`
	// Gateway, when its URL is set, makes the client a front-end of the
	// institution's gateway.
	Gateway Gateway `toml:"gateway"`
	// Store, Server and Auth are the gateway's.
	Store  Store  `toml:"store"`
	Server Server `toml:"server"`
	Auth   Auth   `toml:"auth"`
	// Boundary is what the gateway does with the mail that arrives for
	// the secure mailboxes.
	Boundary Boundary `toml:"boundary"`

	// Demo is true for the built-in demo environment.
	Demo bool `toml:"-"`
	// File is the path the configuration was read from, "" for the demo.
	File string `toml:"-"`
}

// Gateway is the institution's sikkermail-gateway, as a client calls it.
// With it the PC holds no key and no rights: it signs in with Microsoft
// ([microsoft]) for the gateway's API and sends through it.
type Gateway struct {
	// URL is the gateway's https:// address.
	URL string `toml:"url"`
	// CA is a PEM file of the roots its certificate must chain to; ""
	// means the system's. It is always verified.
	CA string `toml:"ca"`
	// Scope is the gateway API's scope, api://…/access_as_user.
	Scope string `toml:"scope"`
}

// Store is where the gateway keeps the rights, the audit log and the
// outbox: a PostgreSQL database that its instances share ("": the SQLite
// Database, as on one PC).
type Store struct {
	// URL is a postgres:// URL; over the network it must say
	// sslmode=verify-full.
	URL string `toml:"url"`
	// Files is the instance's own folder of scratch files (a mail's
	// entity while it is built, sealed); the mails' files themselves are
	// in PostgreSQL, read by every instance. "": beside the database.
	Files string `toml:"files"`
	// Lease is how long an instance's claim on a mail holds unless it
	// renews it: how soon another instance goes on with the mail of one
	// that died (default 30 s).
	Lease Duration `toml:"lease"`
	// Workers is how many mails an instance works at once (default 4).
	Workers int `toml:"workers"`
}

// Server is the gateway's HTTPS listener.
type Server struct {
	// Listen is the address, e.g. ":8443".
	Listen string `toml:"listen"`
	// Certificate and Key are the server's certificate chain and key
	// (PEM), readable by the service alone.
	Certificate string `toml:"certificate"`
	Key         string `toml:"key"`
	// ClientCA, when set, is the CA (PEM) whose client certificates
	// machines may present instead of a token.
	ClientCA string `toml:"client_ca"`
	// Sealing is the identity (PKCS #12 file or PKCS #11 URI) the
	// clients seal the mails they keep to while the gateway cannot be
	// reached; SealingPassword its password source.
	Sealing         string `toml:"sealing"`
	SealingPassword string `toml:"sealing_password"`
	// SealedBefore are the sealing identities used before Sealing, kept
	// to open what PCs sealed to them until none is left: the
	// certificate is replaced without losing a mail kept on a PC.
	SealedBefore []Sealing `toml:"sealed_before"`
}

// Sealing is a former sealing identity and its password source.
type Sealing struct {
	Identity string `toml:"identity"`
	Password string `toml:"password"`
}

// Auth is whom the gateway trusts to say who calls it.
type Auth struct {
	// Issuer is the tenant's v2.0 issuer,
	// https://login.microsoftonline.com/TENANT/v2.0.
	Issuer string `toml:"issuer"`
	// Audience is the gateway API's application (client) ID.
	Audience string `toml:"audience"`
	// Scope is the scope its tokens must carry (default access_as_user).
	Scope string `toml:"scope"`
	// HelpdeskGroup is the object ID of the Entra group of helpdesk.
	HelpdeskGroup string `toml:"helpdesk_group"`
	// Clients are the addresses that may call with a client certificate.
	Clients []string `toml:"clients"`
}

// Institution describes the organisation that sends.
type Institution struct {
	Name string `toml:"name"`
	// CVR is the institution's own CVR number (the Digital Post sender).
	CVR string `toml:"cvr"`
	// Domains are the institution's own mail domains: recipients there are
	// internal and need no encryption.
	Domains []string `toml:"domains"`
}

// User is the person using this client.
type User struct {
	// Address is the user's own address in the institution's domain.
	Address string `toml:"address"`
	Name    string `toml:"name"`
}

// Policy says where rights live and who administers them.
type Policy struct {
	// Helpdesk lists the addresses that may grant and revoke rights.
	Helpdesk []string `toml:"helpdesk"`
	// HelpdeskContact is how staff reach Helpdesk (an address, a phone
	// number), named in every sentence that sends them there.
	HelpdeskContact string `toml:"helpdesk_contact"`
	// LDAP, when its URL is set, keeps rights as group membership in the
	// institution's directory instead of the local database.
	LDAP PolicyLDAP `toml:"ldap"`
}

// PolicyLDAP is where rights live in the directory.
type PolicyLDAP struct {
	URL      string `toml:"url"`
	StartTLS bool   `toml:"starttls"`
	CA       string `toml:"ca"`
	PeopleDN string `toml:"people_dn"`
	GroupsDN string `toml:"groups_dn"`
	// BindDN is the user's own DN; its password comes from Password
	// (keystore syntax, default the OS keyring). Staff may leave it out
	// and read anonymously; helpdesk binds to write.
	BindDN   string `toml:"bind_dn"`
	Password string `toml:"password"`
}

// SMIME holds S/MIME settings.
type SMIME struct {
	// CBC lists addresses and domains known not to read AES-GCM
	// (AuthEnvelopedData); mail to them is encrypted with AES-256-CBC.
	CBC []string `toml:"cbc"`
	// TrustAnchors are PEM files of the root certificates recipients'
	// and signers' certificates must chain to: the Danish OCES3 roots and
	// any the institution adds.
	TrustAnchors []string `toml:"trust_anchors"`
	// CRLs are revocation list files (PEM or DER) to consult.
	CRLs []string `toml:"crls"`
	// Revocation is what a certificate whose revocation status cannot be
	// had does: "warn" (the default: accepted, and the reader is told),
	// "require" (refused) or "off" (nothing is checked).
	Revocation string `toml:"revocation"`
	// Offline turns off fetching CRLs from the certificates' distribution
	// points and asking their OCSP responders; the CRL files above and
	// those in messages still count.
	Offline bool `toml:"offline"`
	// CRLCache is the folder fetched CRLs are kept in ("" for the user's
	// cache folder).
	CRLCache string `toml:"crl_cache"`
}

// Directory says where recipients' certificates are looked up, in order:
// the local store, then each LDAP directory.
type Directory struct {
	// Store is the local certificate folder ("" for none).
	Store string `toml:"store"`
	// Timeout is the overall deadline of a check, e.g. "10s".
	Timeout Duration `toml:"timeout"`
	// CacheTTL is how long a green answer is reused, e.g. "24h" (default).
	CacheTTL Duration `toml:"cache_ttl"`
	LDAP     []LDAP   `toml:"ldap"`
}

// LDAP is one LDAP certificate directory.
type LDAP struct {
	URL      string `toml:"url"`
	BaseDN   string `toml:"base_dn"`
	Filter   string `toml:"filter"` // default "(mail=%s)"
	StartTLS bool   `toml:"starttls"`
	// CA is a PEM file of the roots the server's TLS certificate must
	// chain to; "" means the system's roots. It is always verified.
	CA string `toml:"ca"`
}

// MailServer is how to reach a mail server and log in to it.
type MailServer struct {
	// Server is host:port, e.g. "smtp.office365.com:587".
	Server string `toml:"server"`
	// Security is "starttls" or "tls" (the defaults: starttls for SMTP
	// on 587, tls for IMAP on 993). There is no plaintext setting.
	Security string `toml:"security"`
	// CA is a PEM file of the roots the server's certificate must chain
	// to; "" means the system's roots. It is always verified.
	CA string `toml:"ca"`
	// Auth is "plain" (default), "login" (SMTP), "microsoft" (Exchange
	// Online: XOAUTH2 with the session of Log ind med Microsoft, see
	// [microsoft]), "app" (the gateway at Exchange Online: XOAUTH2 with
	// the app-only token of its own app registration, logging in as the
	// mailbox it acts in; see [microsoft] client_secret) or "xoauth2"
	// (the password is an OAuth 2.0 access token got by other means).
	Auth string `toml:"auth"`
	// Username defaults to the user's address.
	Username string `toml:"username"`
	// Password says where the password comes from, in keystore syntax:
	// "keyring" (default), "file:PATH", "env:NAME".
	Password string `toml:"password"`
	// Timeout bounds each command (SMTP) or session (IMAP), e.g. "1m"
	// (default).
	Timeout Duration `toml:"timeout"`
}

// Microsoft is the institution's Microsoft Entra ID tenant, for signing
// in with Microsoft ([smtp] and [imap] auth = "microsoft").
type Microsoft struct {
	// Tenant is the tenant's id or domain; ClientID the institution's
	// app registration (a public client with the redirect URI
	// http://localhost and the delegated permissions SMTP.Send and
	// IMAP.AccessAsUser.All).
	Tenant   string `toml:"tenant"`
	ClientID string `toml:"client_id"`
	// Authority is the cloud's sign-in address for a national cloud
	// (default https://login.microsoftonline.com/).
	Authority string `toml:"authority"`
	// CA is a PEM file of the roots the sign-in service's certificate
	// must chain to; "" means the system's. It is always verified.
	CA string `toml:"ca"`
	// ClientSecret (keystore syntax: "file:PATH", "env:NAME") or
	// ClientCertificate (a PKCS #12 file with an RSA key, its password
	// in ClientCertificatePassword) prove the gateway's own app
	// registration, a confidential client, for auth = "app".
	ClientSecret              string `toml:"client_secret"`
	ClientCertificate         string `toml:"client_certificate"`
	ClientCertificatePassword string `toml:"client_certificate_password"`
}

// UsesMicrosoft reports whether SMTP or IMAP signs in with Microsoft.
func (c *Config) UsesMicrosoft() bool {
	return c.SMTP.Auth == "microsoft" || c.IMAP.Auth == "microsoft"
}

// UsesApp reports whether SMTP or IMAP logs in with the app-only token
// of the service's own app registration.
func (c *Config) UsesApp() bool {
	return c.SMTP.Auth == "app" || c.IMAP.Auth == "app"
}

// SMTP is the institution's submission server. Mail is submitted from
// the secure mailbox on behalf of the user, with the user's own login.
type SMTP struct {
	MailServer
	// MaxMessageSize is the largest mail, encrypted, the server takes
	// (default 25 MB, as Microsoft 365 and most servers).
	MaxMessageSize ByteSize `toml:"max_message_size"`
	// MaxRecipients is how many recipients one mail may have (default
	// 500, Exchange's limit).
	MaxRecipients int `toml:"max_recipients"`
}

// ByteSize is a size written as "25MB", "512KB" or a number of bytes.
type ByteSize int64

// MarshalText implements encoding.TextMarshaler: a number of bytes (0
// means the default).
func (b ByteSize) MarshalText() ([]byte, error) { return []byte(strconv.FormatInt(int64(b), 10)), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (b *ByteSize) UnmarshalText(t []byte) error {
	s := strings.ToUpper(strings.TrimSpace(string(t)))
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"GB", 1 << 30}, {"MB", 1 << 20}, {"KB", 1 << 10}, {"B", 1}} {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSpace(strings.TrimSuffix(s, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > math.MaxInt64/mult {
		return fmt.Errorf("size %q: write it as 25MB, 512KB or a number of bytes", t)
	}
	*b = ByteSize(n * mult)
	return nil
}

// IMAP is where copies of sent mail and receipts are stored.
type IMAP struct {
	MailServer
	// SharedLogin is how the user opens a shared secure mailbox with
	// the user's own password: {mailbox} and {user} are replaced.
	// Dovecot master users: "{mailbox}*{user}" (default); Exchange:
	// "{user}\\{mailbox}".
	SharedLogin string `toml:"shared_login"`
	// SentFolder is the user's Sent folder when the server marks none
	// as \Sent (default "Sent").
	SentFolder string `toml:"sent_folder"`
	// SentCopies says who files the Sent copies: "client" (default: the
	// client appends them over IMAP, in the mailbox's and the user's
	// Sent folder) or "server" (Exchange Online files them itself: the
	// user's on submission, the mailbox's with
	// MessageCopyForSendOnBehalfEnabled), so no copy is doubled and
	// senders need no Full Access to the secure mailbox.
	SentCopies string `toml:"sent_copies"`
}

// DigitalPost is the institution's sender system for Digital Post: how
// mail to CPR and CVR numbers is delivered.
type DigitalPost struct {
	// URL is the API's base: https://api.digitalpost.dk/apis/v1/ in
	// production, the test environment's address for trials. "" means
	// Digital Post is not set up: CPR and CVR recipients are red.
	URL string `toml:"url"`
	// Identity is the institution's system certificate (PKCS #12, as the
	// service registered it); its password comes from Password (keystore
	// syntax, default the OS keyring).
	Identity string `toml:"identity"`
	Password string `toml:"password"`
	// CA is a PEM file of the roots the service's certificate must chain
	// to; "" means the system's. It is always verified.
	CA string `toml:"ca"`
	// Timeout bounds each request (default 30s).
	Timeout Duration `toml:"timeout"`
	// MaxMessageSize is the largest letter, attachments included, the
	// service takes (default 30 MB; set it to what the institution's
	// agreement says).
	MaxMessageSize ByteSize `toml:"max_message_size"`
	// SystemKey is the sender system's API key as Administrativ Adgang
	// shows it (authenticationToken), sent as Authorization: Basic beside
	// the certificate; keystore syntax like passwords ("" sends none).
	SystemKey string `toml:"system_key"`
	// LostAnswerWait is how long a letter whose answer was lost waits for
	// its receipt before it is posted again (default 15m); ReceiptWait
	// how long a letter taken for delivery waits for its final receipt
	// before the user's receipt goes without it (default 15m).
	LostAnswerWait Duration `toml:"lost_answer_wait"`
	ReceiptWait    Duration `toml:"receipt_wait"`
	// MeMoVersion is the MeMo version letters are written in: "1.1" (the
	// default, in force); 1.2 follows here once Digital Post takes it.
	MeMoVersion string `toml:"memo_version"`
}

// Inbox says how readers of a secure mailbox mark a message handled, so
// that the others see it.
type Inbox struct {
	// HandledFlag is the IMAP keyword set on a handled message (default
	// "$Behandlet").
	HandledFlag string `toml:"handled_flag"`
	// HandledFolder, when set, is where a handled message is moved
	// instead.
	HandledFolder string `toml:"handled_folder"`
}

// Boundary is the gateway's inbound side: each mail that arrives for a
// secure mailbox is decrypted, verified and scanned there, then
// delivered decrypted with its verdict, or to quarantine.
type Boundary struct {
	// Listen is the address of the SMTP listener the institution's mail
	// server sends the secure mailboxes' mail to (e.g. ":2525"); "" for
	// none. It takes mail over TLS only, with [server]'s certificate.
	Listen string `toml:"listen"`
	// Poll, when set, is how often the gateway takes from each secure
	// mailbox's INBOX what reached it otherwise (where mail cannot be
	// routed to the listener), e.g. "1m".
	Poll Duration `toml:"poll"`
	// Scanner is clamd's socket: "unix:/run/clamav/clamd.ctl" or
	// "tcp:host:3310".
	Scanner string `toml:"scanner"`
	// ScannerDown is what a mail does while the scanner cannot be asked:
	// "wait" (the default: it is delivered once scanned) or "quarantine".
	ScannerDown string `toml:"scanner_down"`
	// Spam is spamd's socket ("unix:/run/spamd.sock", "tcp:host:783"),
	// which checks each mail once decrypted, where the mail server's
	// filter could not read it; or "none", where IT accepts the mail
	// server's check of the mail as it came (encrypted) alone. One of
	// them must be set. A spamd that is down is met as a scanner that is
	// down (ScannerDown).
	Spam string `toml:"spam"`
	// SpamFolder is where a mail found to be spam goes (default "Junk
	// Email", Exchange's junk folder).
	SpamFolder string `toml:"spam_folder"`
	// Quarantine and Archive are the mailbox's folders for mail that may
	// not be delivered as if fine, and for every mail as it came
	// (defaults "Sikkermail/Karantæne" and "Sikkermail/Arkiv").
	Quarantine string `toml:"quarantine"`
	Archive    string `toml:"archive"`
}

// Duration is a time.Duration written as "10s", "1m30s".
type Duration struct{ time.Duration }

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	if v < 0 {
		return fmt.Errorf("negative duration %s", b)
	}
	d.Duration = v
	return nil
}

// NeedsCBC reports whether the setting names address, or its domain.
// Addresses compare without regard to case; address is an addr-spec with
// the domain in A-labels, as recipient.Recipient.Address is.
func (s SMIME) NeedsCBC(address string) bool {
	domain := address[strings.LastIndexByte(address, '@')+1:]
	for _, e := range s.CBC {
		e = strings.TrimSpace(e)
		if strings.EqualFold(e, address) || (!strings.Contains(e, "@") && strings.EqualFold(e, domain)) {
			return true
		}
	}
	return false
}

// DemoDomain is the mail domain of the demo institution. It is under the
// .example top-level domain (RFC 2606), so it can never be a real one.
const DemoDomain = "hoejskole.example"

// DemoUser is one of the people the demo can be used as.
type DemoUser struct {
	// Role is "staff" (sends from two mailboxes, reads one), "reader"
	// (a designated reader of two mailboxes, who sends from none) or
	// "helpdesk" (grants and revokes rights).
	Role, Address, Name string
}

// DemoUsers are the demo's people, the one it starts as first.
var DemoUsers = []DemoUser{
	{"staff", "medarbejder@" + DemoDomain, "Demo Medarbejder"},
	{"reader", "laeser@" + DemoDomain, "Demo Læser"},
	{"helpdesk", "helpdesk@" + DemoDomain, "Demo Helpdesk"},
}

// Demo returns the built-in demo environment: the settings of its
// first user, which the demo's servers (internal/demo) complete.
func Demo() *Config {
	return &Config{
		Language: string(i18n.Danish),
		Institution: Institution{
			Name:    "Demo Professionshøjskole",
			CVR:     "29403473",
			Domains: []string{DemoDomain},
		},
		User:   User{Address: DemoUsers[0].Address, Name: DemoUsers[0].Name},
		Policy: Policy{Helpdesk: []string{DemoUsers[2].Address}, HelpdeskContact: DemoUsers[2].Address + ", tlf. 7012 3456"},
		Demo:   true,
	}
}

// DefaultDir is the user's settings folder: the settings file and the
// database live there unless told otherwise.
func DefaultDir() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("config: %w", err)
	}
	return filepath.Join(dir, "sikkermail"), nil
}

// DefaultPath returns where the settings file lives by default.
func DefaultPath() (string, error) {
	dir, err := DefaultDir()
	return filepath.Join(dir, "config.toml"), err
}

// Load reads the settings file at path. An empty path means DefaultPath,
// and a missing default file means the demo environment; a missing file
// that was named explicitly is an error.
func Load(path string) (*Config, error) {
	explicit := path != ""
	if !explicit {
		p, err := DefaultPath()
		if err != nil {
			return Demo(), nil
		}
		path = p
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) && !explicit {
		return Demo(), nil
	}
	if err != nil {
		return nil, &Error{File: path, Err: err}
	}
	var c Config
	md, err := toml.Decode(string(b), &c)
	var pe toml.ParseError
	switch {
	case errors.As(err, &pe) && pe.LastKey != "" && strings.HasPrefix(pe.Message, "size "):
		return nil, (&Config{File: path}).rule(RuleSize, pe.LastKey, "", "")
	case errors.As(err, &pe) && pe.LastKey != "" && strings.Contains(pe.Message, "duration"):
		return nil, (&Config{File: path}).rule(RuleDuration, pe.LastKey, "", "")
	case err != nil:
		return nil, &Error{File: path, Err: err}
	}
	if un := md.Undecoded(); len(un) > 0 {
		keys := make([]string, len(un))
		for i, k := range un {
			keys[i] = k.String()
		}
		slices.Sort(keys)
		return nil, (&Config{File: path}).rule(RuleUnknownSetting, strings.Join(keys, ", "), "", "")
	}
	c.File = path
	c.resolve(filepath.Dir(path))
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

// resolve makes the file paths in the settings relative to dir, the
// folder of the settings file, unless they are absolute.
func (c *Config) resolve(dir string) {
	abs := func(p *string) {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(dir, *p)
		}
	}
	abs(&c.Directory.Store)
	abs(&c.Database)
	for i := range c.SMIME.TrustAnchors {
		abs(&c.SMIME.TrustAnchors[i])
	}
	abs(&c.SMIME.CRLCache)
	for i := range c.SMIME.CRLs {
		abs(&c.SMIME.CRLs[i])
	}
	for i := range c.Directory.LDAP {
		abs(&c.Directory.LDAP[i].CA)
	}
	abs(&c.Policy.LDAP.CA)
	abs(&c.SMTP.CA)
	abs(&c.IMAP.CA)
	abs(&c.DigitalPost.Identity)
	abs(&c.DigitalPost.CA)
	abs(&c.Microsoft.CA)
}

// Validate checks the values that can be checked without the network.
func (c *Config) Validate() error {
	if c.Language != "" {
		if _, err := i18n.ParseLang(c.Language); err != nil {
			return c.rule(RuleOneOf, "language", c.Language, "da, en")
		}
	}
	for _, v := range []struct {
		name, value string
		allowed     []string
	}{
		{"smtp.security", c.SMTP.Security, []string{"", "starttls", "tls"}},
		{"smtp.auth", c.SMTP.Auth, []string{"", "plain", "login", "microsoft", "app", "xoauth2"}},
		{"imap.security", c.IMAP.Security, []string{"", "starttls", "tls"}},
		{"imap.auth", c.IMAP.Auth, []string{"", "plain", "microsoft", "app", "xoauth2"}},
		{"smime.revocation", c.SMIME.Revocation, []string{"", "warn", "require", "off"}},
		// MeMo 1.2 joins here once Digital Post takes it.
		{"digitalpost.memo_version", c.DigitalPost.MeMoVersion, []string{"", "1.1"}},
		{"imap.sent_copies", c.IMAP.SentCopies, []string{"", "client", "server"}},
	} {
		if !slices.Contains(v.allowed, v.value) {
			return c.rule(RuleOneOf, v.name, v.value, strings.Join(v.allowed[1:], ", "))
		}
	}
	for _, v := range []struct{ name, spec string }{
		{"smtp.password", c.SMTP.Password}, {"imap.password", c.IMAP.Password}, {"digitalpost.password", c.DigitalPost.Password},
		{"policy.ldap.password", c.Policy.LDAP.Password}, {"digitalpost.system_key", c.DigitalPost.SystemKey},
		{"microsoft.client_secret", c.Microsoft.ClientSecret}, {"microsoft.client_certificate_password", c.Microsoft.ClientCertificatePassword},
	} {
		if !passwordSource(v.spec) {
			return c.rule(RulePasswordSource, v.name, v.spec, "")
		}
	}
	if c.UsesMicrosoft() && (c.Microsoft.Tenant == "" || c.Microsoft.ClientID == "") {
		return c.rule(RuleMicrosoft, "microsoft.client_id", "", "")
	}
	if m := c.Microsoft; c.UsesApp() && (m.Tenant == "" || m.ClientID == "" || m.ClientSecret == "" && m.ClientCertificate == "") {
		return c.rule(RuleMicrosoftApp, "microsoft.client_secret", "", "")
	}
	if n := c.SMTP.MaxRecipients; n < 0 {
		return c.rule(RuleNegative, "smtp.max_recipients", strconv.Itoa(n), "")
	}
	if dp := c.DigitalPost; dp.URL != "" {
		if !strings.HasPrefix(dp.URL, "https://") {
			return c.rule(RuleHTTPS, "digitalpost.url", dp.URL, "")
		}
		if dp.Identity == "" {
			return c.rule(RuleDPIdentity, "digitalpost.identity", "", "")
		}
		if len(c.Institution.CVR) != 8 || strings.Trim(c.Institution.CVR, "0123456789") != "" {
			return c.rule(RuleCVR, "institution.cvr", c.Institution.CVR, "")
		}
	}
	type ldapURL struct {
		name, url string
		starttls  bool
	}
	ldaps := []ldapURL{{"policy.ldap", c.Policy.LDAP.URL, c.Policy.LDAP.StartTLS}}
	for _, l := range c.Directory.LDAP {
		ldaps = append(ldaps, ldapURL{"directory.ldap", l.URL, l.StartTLS})
	}
	for _, l := range ldaps {
		if err := LDAPSecure(l.url, l.starttls); err != nil {
			rule := RuleLDAPScheme
			if strings.HasPrefix(l.url, "ldap://") {
				rule = RuleLDAPPlaintext
			}
			e := c.rule(rule, l.name+".url", l.url, "")
			e.Err = err
			return e
		}
	}
	if f := c.Inbox.HandledFlag; f != "" && !keyword.MatchString(f) {
		return c.rule(RuleIMAPKeyword, "inbox.handled_flag", f, "")
	}
	for _, d := range c.Institution.Domains {
		if _, err := recipient.NewDomains(d); err != nil {
			return &Error{File: c.File, Domain: d, Err: err}
		}
	}
	return nil
}

// LDAPSecure refuses an LDAP URL that would send binds and searches in
// clear: ldaps://, or ldap:// with STARTTLS; there is no plaintext
// setting, as for SMTP and IMAP. An empty URL is no directory.
func LDAPSecure(url string, starttls bool) error {
	switch {
	case url == "", strings.HasPrefix(url, "ldaps://"):
		return nil
	case strings.HasPrefix(url, "ldap://"):
		if starttls {
			return nil
		}
		return fmt.Errorf("url = %q without starttls = true would send the password and every address in clear: use ldaps:// or set starttls = true", url)
	}
	return fmt.Errorf("url = %q: use ldaps:// or ldap:// with starttls = true", url)
}

// keyword is an IMAP keyword (RFC 9051 flag-keyword: an atom).
var keyword = regexp.MustCompile(`^[A-Za-z0-9$_.-]+$`)

// DatabasePath returns where the database file is.
func (c *Config) DatabasePath() (string, error) {
	if c.Database != "" {
		return c.Database, nil
	}
	dir, err := DefaultDir()
	if err != nil {
		return "", err
	}
	name := "sikkermail.db"
	if c.Demo {
		name = "demo.db"
	}
	return filepath.Join(dir, name), nil
}

// Lang returns the configured language, Danish when unset.
func (c *Config) Lang() i18n.Lang {
	if l, err := i18n.ParseLang(c.Language); err == nil {
		return l
	}
	return i18n.Danish
}

// InternalDomains returns the institution's domains as a set.
func (c *Config) InternalDomains() (recipient.Domains, error) {
	d, err := recipient.NewDomains(c.Institution.Domains...)
	if err != nil {
		return recipient.Domains{}, &Error{File: c.File, Err: err}
	}
	return d, nil
}

// Error is a settings file that cannot be used.
type Error struct {
	File string
	// Domain is set when an internal domain is invalid.
	Domain string
	Err    error
	// Rule, when set, is the rule a setting breaks (config.rule.RULE in
	// the translations), with the Setting's name, its Value and what is
	// Allowed: a whole sentence in the user's language.
	Rule                    Rule
	Setting, Value, Allowed string
}

// Rule is a rule a setting can break; each has its sentence
// (config.rule.RULE).
type Rule string

// The rules.
const (
	RuleUnknownSetting Rule = "unknown_setting"
	RuleOneOf          Rule = "one_of"
	RulePasswordSource Rule = "password_source"
	RuleNegative       Rule = "negative"
	RuleSize           Rule = "size"
	RuleDuration       Rule = "duration"
	RuleHTTPS          Rule = "https"
	RuleDPIdentity     Rule = "dp_identity"
	RuleCVR            Rule = "cvr"
	RuleIMAPKeyword    Rule = "imap_keyword"
	RuleLDAPPlaintext  Rule = "ldap_plaintext"
	RuleLDAPScheme     Rule = "ldap_scheme"
	RuleMicrosoft      Rule = "microsoft"
	RuleMicrosoftApp   Rule = "microsoft_app"
)

// Rules are all the rules.
var Rules = []Rule{RuleUnknownSetting, RuleOneOf, RulePasswordSource, RuleNegative, RuleSize, RuleDuration, RuleHTTPS,
	RuleDPIdentity, RuleCVR, RuleIMAPKeyword, RuleLDAPPlaintext, RuleLDAPScheme, RuleMicrosoft, RuleMicrosoftApp}

// rule is the Error for setting = value breaking rule.
func (c *Config) rule(rule Rule, setting, value, allowed string) *Error {
	return &Error{File: c.File, Rule: rule, Setting: setting, Value: value, Allowed: allowed,
		Err: fmt.Errorf("%s = %q: %s", setting, value, rule)}
}

// passwordSource reports whether spec names a place a password can come
// from (the keystore's syntax: keyring, file:PATH, env:NAME).
func passwordSource(spec string) bool {
	switch {
	case spec == "", spec == "keyring", strings.HasPrefix(spec, "file:") && len(spec) > 5, strings.HasPrefix(spec, "env:") && len(spec) > 4:
		return true
	}
	return false
}

func (e *Error) Error() string {
	if e.Domain != "" {
		return fmt.Sprintf("config: %s: internal domain %q: %v", e.File, e.Domain, e.Err)
	}
	return fmt.Sprintf("config: %s: %v", e.File, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// Localize names the sentence for a user.
func (e *Error) Localize() i18n.Message {
	if e.Rule != "" {
		key := "config.rule." + string(e.Rule) // each has a text (TestRuleSentences)
		return i18n.Message{Key: key, Args: map[string]any{"File": e.File, "Setting": e.Setting, "Value": e.Value, "Allowed": e.Allowed}}
	}
	if e.Domain != "" {
		return i18n.Message{Key: "config.invalid_domain", Args: map[string]any{"File": e.File, "Domain": e.Domain}}
	}
	return i18n.Message{Key: "config.load", Args: map[string]any{"File": e.File, "Err": e.Err.Error()}}
}
