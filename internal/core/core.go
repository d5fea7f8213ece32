// Package core is what the front-ends (the Fyne GUI and the CLI) call to
// do anything: check recipients (directories, Digital Post), send
// through the durable outbox (S/MIME to e-mail addresses, MeMo letters
// to CPR and CVR numbers, Sent copies, receipt and audit entry), keep
// drafts sealed, read the secure mailboxes' inboxes with a verdict per
// mail, manage mailboxes and rights (helpdesk), and sign in with
// Microsoft. It holds the settings, the database and the acting user,
// never imports Fyne, and the front-ends never reach past it.
package core

import (
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "modernc.org/sqlite" // the database/sql driver "sqlite"

	"sikkermail/internal/config"
	"sikkermail/internal/digitalpost"
	"sikkermail/internal/directory"
	"sikkermail/internal/i18n"
	"sikkermail/internal/keystore"
	"sikkermail/internal/mailstore"
	"sikkermail/internal/msauth"
	"sikkermail/internal/outbox"
	"sikkermail/internal/policy"
	"sikkermail/internal/recipient"
	"sikkermail/internal/revocation"
	"sikkermail/internal/sealed"
	"sikkermail/internal/smime"
	"sikkermail/internal/store"
	"sikkermail/internal/submit"
)

// Core holds one configured client, as one person uses it: the user
// of the settings on one PC, or a caller of the gateway (As).
type Core struct {
	*engine
	// actor is who uses the client: set once, switched only in the demo
	// (SwitchDemoUser), while the worker may read it.
	actor    atomic.Pointer[policy.Actor]
	userName atomic.Pointer[string]
	// caller is set on the core of one of the gateway's callers (As):
	// what is the user's own is kept apart from the others'.
	caller bool
}

// engine is what every user of a Core shares: the settings, the
// database, the directory, the outbox and its worker.
type engine struct {
	cfg *config.Config
	// lang is the language of sentences and receipts: the settings
	// file's until the GUI switches it, while the worker may read it.
	lang atomic.Value // i18n.Lang
	// db is the local SQLite database (the directory cache; on one PC
	// everything); store where the rights, the audit log, the outbox and
	// Digital Post's letters are: db, or the gateway's PostgreSQL.
	db     *sql.DB
	store  *store.DB
	parser recipient.Parser
	dir    *directory.Directory
	// certs is the local certificate store, nil when none is configured.
	certs *directory.Store
	// policy holds the mailboxes and rights: the local database, or the
	// institution's directory for rights.
	policy policy.Registry
	// local is the local database's mailboxes, rights and append-only
	// audit log.
	local *policy.SQL
	// outbox is the durable queue of mail being sent.
	outbox *outbox.Outbox
	// dp delivers to CPR and CVR numbers; nil when Digital Post is not
	// set up.
	dp     *digitalpost.Client
	dbPath string
	// smtpPool and imapPool keep sessions open between the mails of a
	// batch.
	smtpPool submit.Pool
	imapPool mailstore.Pool
	// Now is the clock (tests set it).
	Now func() time.Time

	// trace receives protocol traces instead of standard error (tests).
	trace io.Writer

	// ms is the Microsoft sign-in, nil unless the settings use it;
	// lastClaims the Conditional Access challenge its last refusal
	// carried.
	ms         *msauth.Session
	lastClaims atomic.Value // string
	// app is the service's own app sign-in (auth "app"), nil unless the
	// settings use it.
	app *msauth.App

	// handledFlags is the flag that marks a handled message, by mailbox,
	// as its server keeps flags.
	flagMu       sync.Mutex
	handledFlags map[string]string

	// contactPoints caches the mailboxes' Digital Post contact points.
	cpMu          sync.Mutex
	contactPoints map[string]contactPoint

	// inbound is the boundary's queue, for knowing its marks again.
	inboundMu sync.Mutex
	inbound   *outbox.Outbox

	idMu     sync.Mutex
	ids      map[string]*smime.Identity
	sealKeys map[*smime.Identity]*sealed.Keys
	last     lastBuilt
}

func (c *engine) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// New returns a Core for cfg: it opens the database, the local
// certificate store, and reads the trust anchors and CRLs the settings
// name. Close releases them.
func New(cfg *config.Config) (*Core, error) {
	i18n.SetHelpdeskContact(cfg.Policy.HelpdeskContact)
	internal, err := cfg.InternalDomains()
	if err != nil {
		return nil, err
	}
	trust, err := Trust(cfg)
	if err != nil {
		return nil, err
	}
	path, err := cfg.DatabasePath()
	if err != nil {
		return nil, err
	}
	db, err := OpenDatabase(path)
	if err != nil {
		return nil, err
	}
	c := &Core{engine: &engine{cfg: cfg, db: db, dbPath: path, parser: recipient.Parser{Internal: internal}}}
	c.lang.Store(cfg.Lang())
	c.dir = &directory.Directory{Trust: trust, NeedsCBC: cfg.SMIME.NeedsCBC, Timeout: cfg.Directory.Timeout.Duration}
	if err := c.setup(path, internal); err != nil {
		db.Close()
		return nil, err
	}
	return c, nil
}

// setup opens what lives in the database and the sources the settings name.
func (c *Core) setup(path string, internal recipient.Domains) error {
	cfg := c.cfg
	var err error
	ctx := context.Background()
	if c.store, err = openStore(ctx, cfg, c.db); err != nil {
		return err
	}
	sub, _ := fs.Sub(schema, "schema")
	if err := store.Migrate(ctx, c.store, "core", sub); err != nil {
		return &FileError{File: c.storeName(), Err: err}
	}
	if c.ms, err = microsoftSession(cfg, path); err != nil {
		return err
	}
	if c.app, err = serviceApp(cfg); err != nil {
		return err
	}
	if c.dir.Cache, err = directory.OpenCache(c.db, cfg.Directory.CacheTTL.Duration); err != nil {
		return &FileError{File: path, Err: err}
	}
	if cfg.Directory.Store != "" {
		if c.certs, err = directory.OpenStore(cfg.Directory.Store); err != nil {
			return err
		}
		c.dir.Sources = append(c.dir.Sources, c.certs)
	}
	if c.local, err = policy.Open(ctx, c.store, internal, cfg.Policy.Helpdesk); err != nil {
		return &FileError{File: c.storeName(), Err: err}
	}
	c.policy = c.local
	if c.store.Dialect == store.PostgreSQL {
		c.outbox, err = outbox.OpenShared(ctx, c.store, c.steps()...)
	} else {
		c.outbox, err = outbox.Open(c.db, path+".lock", c.steps()...)
	}
	if err != nil {
		return &FileError{File: c.storeName(), Err: err}
	}
	c.outbox.Lease = cfg.Store.Lease.Duration
	c.outbox.Workers = cmp.Or(cfg.Store.Workers, 4) // shared only: one PC has one worker
	// Beside the database unless told: the sealed files of the mails on
	// their way.
	files := cmp.Or(cfg.Store.Files, path+".outbox")
	if err := c.outbox.KeepFilesIn(files); err != nil {
		return &FileError{File: files, Err: err}
	}
	if l := cfg.Policy.LDAP; l.URL != "" {
		rights := &policy.LDAP{Local: c.local, URL: l.URL, StartTLS: l.StartTLS, PeopleDN: l.PeopleDN, GroupsDN: l.GroupsDN, BindDN: l.BindDN}
		if rights.TLS, err = tlsConfig(l.CA); err != nil {
			return err
		}
		if l.BindDN != "" {
			pw, err := keystore.Secret(l.Password, l.BindDN)
			if err != nil {
				return err
			}
			rights.Password = string(pw)
		}
		c.policy = rights
	}
	machine, _ := os.Hostname()
	c.actor.Store(&policy.Actor{User: strings.ToLower(cfg.User.Address), Machine: machine})
	c.userName.Store(&cfg.User.Name)
	if dp := cfg.DigitalPost; dp.URL != "" {
		if c.dp, err = digitalPostClient(dp); err != nil {
			return err
		}
		c.dir.DigitalPost = c.dp
	}
	for _, l := range cfg.Directory.LDAP {
		src := &directory.LDAP{URL: l.URL, BaseDN: l.BaseDN, Filter: l.Filter, StartTLS: l.StartTLS}
		if src.TLS, err = tlsConfig(l.CA); err != nil {
			return err
		}
		c.dir.Sources = append(c.dir.Sources, src)
	}
	return nil
}

// digitalPostClient opens the institution's system certificate and
// returns a client of the service that presents it.
func digitalPostClient(dp config.DigitalPost) (*digitalpost.Client, error) {
	id, err := keystore.Open(dp.Identity, dp.Password)
	if err != nil {
		return nil, err
	}
	cert := tls.Certificate{Certificate: [][]byte{id.Cert.Raw}, PrivateKey: id.Key, Leaf: id.Cert}
	for _, ch := range id.Chain {
		cert.Certificate = append(cert.Certificate, ch.Raw)
	}
	var roots *x509.CertPool
	if dp.CA != "" {
		if roots, err = certPool([]string{dp.CA}); err != nil {
			return nil, err
		}
	}
	c, err := digitalpost.NewClient(dp.URL, cert, roots, dp.Timeout.Duration)
	if err != nil {
		return nil, &config.Error{File: "digitalpost.url", Err: err}
	}
	// The system key, like a password, is in the keyring (under the
	// service's address), a file or the environment; none is sent when
	// none is set.
	if dp.SystemKey != "" {
		key, err := keystore.Secret(dp.SystemKey, dp.URL)
		if err != nil {
			return nil, err
		}
		c.SystemKey = strings.TrimSpace(string(key))
	}
	return c, nil
}

// tlsConfig trusts the roots in caFile, or the system's when it is "".
// Server certificates are verified either way.
func tlsConfig(caFile string) (*tls.Config, error) {
	if caFile == "" {
		return nil, nil
	}
	roots, err := certPool([]string{caFile})
	if err != nil {
		return nil, err
	}
	return &tls.Config{RootCAs: roots}, nil
}

// OpenDatabase opens (creating) the SQLite database at path, with a busy
// timeout so that the GUI and a CLI can share it, and write-ahead logging.
func OpenDatabase(path string) (*sql.DB, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, &FileError{File: path, Err: err}
	}
	// The settings folder, made open to others by an older version or by
	// hand, is the user's alone again (a folder of the user's choosing is
	// left as it is).
	if def, err := config.DefaultDir(); err == nil && filepath.Clean(filepath.Dir(path)) == filepath.Clean(def) && runtime.GOOS != "windows" {
		if st, err := os.Stat(def); err == nil && st.Mode().Perm()&0o077 != 0 {
			if err := os.Chmod(def, 0o700); err != nil {
				return nil, &FileError{File: def, Err: err}
			}
		}
	}
	// The database holds the outbox, rights and audit log: for the user
	// alone. SQLite gives its -wal and -shm files the database's mode, so
	// the file is made (or, from an older version, narrowed to) 0600
	// before SQLite opens it.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, &FileError{File: path, Err: err}
	}
	f.Close()
	if err := os.Chmod(path, 0o600); err != nil {
		return nil, &FileError{File: path, Err: err}
	}
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)")
	if err == nil {
		err = db.Ping()
	}
	if err != nil {
		if db != nil {
			db.Close()
		}
		if damaged(err) {
			return nil, &FileError{File: path, Err: err, Damaged: true}
		}
		return nil, &FileError{File: path, Err: err}
	}
	// A database cut short or damaged (a full disk, a crash mid-copy, a
	// file share) is told at start, and left as it is: the outbox and the
	// audit log in it are not to be replaced by an empty database.
	var check string
	if err := db.QueryRow(`PRAGMA quick_check`).Scan(&check); err != nil || check != "ok" {
		db.Close()
		if err == nil {
			err = errors.New(check)
		}
		return nil, &FileError{File: path, Err: err, Damaged: true}
	}
	return db, nil
}

// damaged reports whether err says the file is no (whole) database.
func damaged(err error) bool {
	s := err.Error()
	return strings.Contains(s, "malformed") || strings.Contains(s, "not a database") || strings.Contains(s, "SQLITE_CORRUPT") || strings.Contains(s, "SQLITE_NOTADB")
}

// Close releases the databases.
func (c *Core) Close() error {
	c.smtpPool.Close()
	c.imapPool.Close()
	if c.store != nil && c.store.Dialect == store.PostgreSQL {
		c.store.Close()
	}
	return c.db.Close()
}

//go:embed schema
var schema embed.FS

// openStore opens the gateway's PostgreSQL database when the settings
// name one; otherwise the store is the local database.
func openStore(ctx context.Context, cfg *config.Config, local *sql.DB) (*store.DB, error) {
	if cfg.Store.URL == "" {
		return store.FromSQLite(local), nil
	}
	return store.OpenPostgres(ctx, cfg.Store.URL)
}

// storeName names the store in errors: the database file, or PostgreSQL.
func (c *Core) storeName() string {
	if c.store != nil && c.store.Dialect == store.PostgreSQL {
		return "PostgreSQL"
	}
	return c.dbPath
}

// Trust builds the S/MIME trust policy from the settings: the trust
// anchors and CRLs they name.
// They also say what an unknown revocation status does, and whether
// CRLs and OCSP answers are fetched (into the CRL cache).
func Trust(cfg *config.Config) (*smime.Trust, error) {
	p, err := TrustFrom(cfg.SMIME.TrustAnchors, cfg.SMIME.CRLs)
	if err != nil {
		return nil, err
	}
	p.Revocation, _ = smime.ParseRevocationMode(cfg.SMIME.Revocation) // unset is warn; config.Validate has refused other words
	if !cfg.SMIME.Offline {
		p.Online = Online(cfg.SMIME.CRLCache)
	}
	return p, nil
}

// Online fetches CRLs and OCSP answers, keeping CRLs in dir ("" for the
// user's cache folder).
func Online(dir string) smime.Online {
	if dir == "" {
		if cache, err := os.UserCacheDir(); err == nil {
			dir = filepath.Join(cache, "sikkermail", "crl")
		}
	}
	return &revocation.Fetcher{Dir: dir}
}

// TrustFrom builds a certificate trust policy from trust anchor and CRL files.
func TrustFrom(anchors, crls []string) (*smime.Trust, error) {
	roots, err := certPool(anchors)
	if err != nil {
		return nil, err
	}
	p := &smime.Trust{Roots: roots}
	for _, f := range crls {
		crl, err := smime.ReadCRL(f)
		if err != nil {
			return nil, &FileError{File: f, Err: err}
		}
		p.CRLs = append(p.CRLs, crl)
	}
	return p, nil
}

// certPool reads every certificate in files into a pool.
func certPool(files []string) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	for _, f := range files {
		certs, err := smime.ReadCertificates(f)
		if err != nil {
			return nil, &FileError{File: f, Err: err}
		}
		for _, c := range certs {
			pool.AddCert(c)
		}
	}
	return pool, nil
}

// FileError is a file the user named (in the settings or on a command
// line) that cannot be read or written.
type FileError struct {
	File string
	Err  error
	// Damaged: the file is the database, damaged or no database at all.
	Damaged bool
}

func (e *FileError) Error() string { return fmt.Sprintf("%s: %v", e.File, e.Err) }
func (e *FileError) Unwrap() error { return e.Err }

// Localize names the sentence for a user.
func (e *FileError) Localize() i18n.Message {
	if e.Damaged {
		return i18n.Message{Key: "core.damaged", Args: map[string]any{"File": e.File}}
	}
	if errors.Is(e.Err, fs.ErrNotExist) {
		return i18n.Message{Key: "core.file_missing", Args: map[string]any{"File": e.File}}
	}
	return i18n.Message{Key: "core.file", Args: map[string]any{"File": e.File, "Err": e.Err.Error()}}
}

// Config returns the configuration the core runs with.
func (c *Core) Config() *config.Config { return c.cfg }

// Lang returns the configured user interface language.
func (c *Core) Lang() i18n.Lang { return c.lang.Load().(i18n.Lang) }

// Parse checks the form of one recipient as typed, without asking
// anyone: the secure-send pane's validation as the user types.
func (c *Core) Parse(input string) (*recipient.Recipient, error) { return c.parser.Parse(input) }

// Check parses each input and asks the directory whether it can receive
// securely. It returns one verdict per input, in order; an input that does
// not parse is red with the parser's reason. All recipients are checked
// together, under the directory's one deadline.
func (c *Core) Check(ctx context.Context, inputs []string) []directory.Verdict {
	out := make([]directory.Verdict, len(inputs))
	var parsed []*recipient.Recipient
	var at []int
	for i, in := range inputs {
		r, err := c.parser.Parse(in)
		if err != nil {
			out[i] = directory.Verdict{Input: in, Err: err}
			continue
		}
		parsed = append(parsed, r)
		at = append(at, i)
	}
	for j, v := range c.dir.Check(ctx, parsed) {
		out[at[j]] = v
	}
	return out
}

// Suggest offers the recipients known here whose address or certificate
// holder's name holds what the user typed (two characters at least):
// those green before (the directory cache) and those in the certificate
// store, at most five, by address. It asks no one, so it can run as
// each key is typed.
func (c *Core) Suggest(ctx context.Context, typed string) []directory.Suggestion {
	return c.suggest(ctx, typed, false)
}

// SuggestFromDirectories is Suggest with the certificate directories'
// people too (three characters at least): it asks them over the network,
// within directory.SuggestTimeout, so call it once the user pauses.
func (c *Core) SuggestFromDirectories(ctx context.Context, typed string) []directory.Suggestion {
	return c.suggest(ctx, typed, true)
}

func (c *Core) suggest(ctx context.Context, typed string, remote bool) []directory.Suggestion {
	typed, ok := directory.Typed(typed)
	if !ok {
		return nil
	}
	found, _ := c.dir.Cache.Suggest(ctx, typed)
	if c.certs != nil {
		found = append(found, c.certs.Suggest(typed)...)
	}
	if remote && len([]rune(typed)) >= 3 {
		found = append(found, c.dir.Suggest(ctx, typed)...)
	}
	slices.SortFunc(found, func(a, b directory.Suggestion) int { return strings.Compare(a.Address, b.Address) })
	found = slices.CompactFunc(found, func(a, b directory.Suggestion) bool { return a.Address == b.Address })
	return found[:min(len(found), directory.MaxSuggestions)]
}

// SetLanguage makes l the language of sentences, receipts and the user
// interface for this run (the GUI's own choice, kept by the GUI).
func (c *Core) SetLanguage(l i18n.Lang) { c.lang.Store(l) }

// SavePassword stores the user's mail password (or, for xoauth2, token)
// in the OS keyring, where the SMTP and IMAP logins read it. It refuses
// when the settings take it from elsewhere (a file, an environment
// variable): it would not be read from the keyring.
func (c *Core) SavePassword(secret []byte) error {
	if len(secret) == 0 {
		return &SecretError{Reason: SecretEmpty}
	}
	saved := map[string]bool{}
	for _, s := range []config.MailServer{c.cfg.SMTP.MailServer, c.cfg.IMAP.MailServer} {
		src, err := keystore.ParsePassword(s.Password)
		if err != nil {
			return err
		}
		kr, ok := src.(keystore.Keyring)
		if !ok {
			return &SecretError{Reason: SecretNotKeyring, Source: s.Password}
		}
		user := s.Username
		if user == "" {
			user = c.User()
		}
		if saved[user] {
			continue
		}
		if err := kr.Save(user, secret); err != nil {
			return err
		}
		saved[user] = true
	}
	return nil
}

// SecretError is a password that cannot be saved.
type SecretError struct {
	Reason SecretReason // empty, not_keyring
	Source string
}

func (e *SecretError) Error() string { return "core: password: " + string(e.Reason) + " " + e.Source }

// Localize names the sentence for a user.
func (e *SecretError) Localize() i18n.Message {
	return i18n.Message{Key: "secret." + string(e.Reason), Args: map[string]any{"Source": e.Source}}
}
