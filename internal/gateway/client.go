package gateway

import (
	"bytes"
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"sikkermail/internal/config"
	"sikkermail/internal/core"
	"sikkermail/internal/directory"
	"sikkermail/internal/i18n"
	"sikkermail/internal/keystore"
	"sikkermail/internal/message"
	"sikkermail/internal/msauth"
	"sikkermail/internal/outbox"
	"sikkermail/internal/policy"
	"sikkermail/internal/recipient"
	"sikkermail/internal/smime"
)

// Client is the desktop client's core in gateway mode: core.API over the
// gateway's HTTPS API, as the caller the Microsoft sign-in proves. The
// PC holds no key, no rights and no settings of servers; what it keeps
// is the mails the gateway has not taken yet, sealed to the gateway's
// sealing certificate (so the PC cannot read them back), in a durable
// queue that submits them when the gateway can be reached.
type Client struct {
	cfg    *config.Config
	base   string
	http   *http.Client
	token  func(ctx context.Context) (string, error)
	ms     *msauth.Session
	parser recipient.Parser
	lang   atomic.Value // i18n.Lang
	dir    string

	meMu   sync.Mutex
	me     *Me
	meJSON []byte // as kept in gateway-me.json

	// away is set while the gateway does not answer (and before it has):
	// its next answer wakes the mails kept here.
	away atomic.Bool

	// queue is the mails kept here until the gateway takes them, in the
	// local database.
	queue *outbox.Outbox
	local *sql.DB
	// draftMu keeps the drafts that wait here for the gateway in order.
	draftMu sync.Mutex
	// progress is what the gateway last said of its mails' steps, by
	// number: [done, total].
	progress sync.Map
}

var _ core.API = (*Client)(nil)

// ClientOptions are what Dial needs besides the settings.
type ClientOptions struct {
	// Token, when set, gives the access token for each call (tests,
	// machines); otherwise the Microsoft sign-in of [microsoft] does,
	// for [gateway] scope.
	Token func(ctx context.Context) (string, error)
}

// Dial returns the client for the gateway cfg names. It needs no answer
// from the gateway yet: what it last knew of the user is kept beside
// the database.
func Dial(cfg *config.Config, opts ClientOptions) (*Client, error) {
	u, err := url.Parse(cfg.Gateway.URL)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return nil, &Error{Reason: NeedsTLS, Detail: cfg.Gateway.URL}
	}
	internal, err := cfg.InternalDomains()
	if err != nil {
		return nil, err
	}
	roots, err := rootsFrom(cfg.Gateway.CA)
	if err != nil {
		return nil, err
	}
	path, err := cfg.DatabasePath()
	if err != nil {
		return nil, err
	}
	c := &Client{cfg: cfg, base: strings.TrimSuffix(u.String(), "/"), parser: recipient.Parser{Internal: internal}, dir: filepath.Dir(path),
		http: &http.Client{Timeout: 5 * time.Minute, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}, Proxy: http.ProxyFromEnvironment}}}
	c.lang.Store(cfg.Lang())
	c.token = opts.Token
	if c.token == nil {
		if c.ms, err = c.signIn(path); err != nil {
			return nil, err
		}
		c.token = func(ctx context.Context) (string, error) {
			t, _, err := c.ms.Token(ctx)
			return t, err
		}
	}
	if err := os.MkdirAll(c.dir, 0o700); err != nil {
		return nil, err
	}
	if b, err := os.ReadFile(c.file("gateway-me.json")); err == nil {
		var me Me
		if json.Unmarshal(b, &me) == nil {
			c.me, c.meJSON = &me, b
		}
	}
	c.away.Store(true)
	if err := c.openQueue(path); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *Client) file(name string) string { return filepath.Join(c.dir, name) }

func rootsFrom(file string) (*x509.CertPool, error) {
	if file == "" {
		return nil, nil // the system's
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, &core.FileError{File: file, Err: err}
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, &core.FileError{File: file, Err: errors.New("no certificate in it")}
	}
	return pool, nil
}

// signIn is the Microsoft sign-in for the gateway's scope.
func (c *Client) signIn(dbPath string) (*msauth.Session, error) {
	m := c.cfg.Microsoft
	roots, err := rootsFrom(m.CA)
	if err != nil {
		return nil, err
	}
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}, Proxy: http.ProxyFromEnvironment}}
	scope := c.cfg.Gateway.Scope
	switch {
	case scope == "":
		return nil, &Error{Reason: Settings, Detail: "[gateway] scope"}
	case m.Tenant == "" || m.ClientID == "":
		return nil, &Error{Reason: Settings, Detail: "[microsoft] tenant, client_id"}
	}
	return msauth.New(msauth.Config{Tenant: m.Tenant, ClientID: m.ClientID, Authority: m.Authority, HTTP: hc, Scopes: []string{scope},
		CacheFile: filepath.Join(filepath.Dir(dbPath), "gateway-tokens.sealed"), Keyring: keystore.Keyring{}})
}

// RemoteError is a refusal the gateway gave, with its code, values and
// sentence; told in the client's language from the code.
type RemoteError struct {
	Status int
	View   ErrorView
}

func (e *RemoteError) Error() string {
	return fmt.Sprintf("gateway: %d %s: %s", e.Status, e.View.Code, e.View.Message)
}

// Localize implements i18n.Localizer: the gateway's code is the key.
func (e *RemoteError) Localize() i18n.Message {
	args := map[string]any{}
	for k, v := range e.View.Args {
		if n, ok := v.(json.Number); ok {
			if i, err := n.Int64(); err == nil {
				v = i
			}
		}
		args[k] = v
	}
	return i18n.Message{Key: e.View.Code, Args: args}
}

// IsTemporary: the gateway could not do it now (it is down, or cut
// off); the same call later may go.
func (e *RemoteError) IsTemporary() bool {
	return e.Status >= 500 || e.Status == http.StatusTooManyRequests
}

// UnreachableError is a gateway that did not answer.
type UnreachableError struct {
	URL string
	Err error
}

func (e *UnreachableError) Error() string { return "gateway: " + e.URL + ": " + e.Err.Error() }
func (e *UnreachableError) Unwrap() error { return e.Err }

// IsTemporary: it may answer later.
func (e *UnreachableError) IsTemporary() bool { return true }

// Localize names the sentence.
func (e *UnreachableError) Localize() i18n.Message {
	return i18n.Message{Key: "gateway.unreachable", Args: map[string]any{"URL": e.URL}}
}

// do calls the gateway: body (JSON unless a reader) in, the answer
// decoded into out.
func (c *Client) do(ctx context.Context, method, path string, body any, contentType string, out any) error {
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case io.Reader:
		r = b
	default:
		var buf bytes.Buffer
		json.NewEncoder(&buf).Encode(b)
		r, contentType = &buf, "application/json"
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, r)
	if err != nil {
		return err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Accept-Language", string(c.Lang()))
	token, err := c.token(ctx)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := c.http.Do(req)
	if err != nil {
		c.away.Store(true)
		return &UnreachableError{URL: c.base, Err: err}
	}
	defer resp.Body.Close()
	if c.away.Swap(false) {
		// It answers again: what waits here for it goes now.
		c.queue.Wake(ctx)
	}
	dec := json.NewDecoder(io.LimitReader(resp.Body, 64<<20))
	dec.UseNumber()
	if resp.StatusCode >= 300 {
		var e ErrorBody
		if err := dec.Decode(&e); err != nil || e.Error.Code == "" {
			return &RemoteError{Status: resp.StatusCode, View: ErrorView{Code: "gateway.internal", Message: resp.Status}}
		}
		return &RemoteError{Status: resp.StatusCode, View: e.Error}
	}
	if out == nil || resp.StatusCode == http.StatusNoContent {
		return nil
	}
	return dec.Decode(out)
}

// who asks the gateway who the user is, with every mailbox and limits,
// and keeps it for when it cannot be reached.
func (c *Client) who(ctx context.Context) (*Me, error) {
	var me Me
	if err := c.do(ctx, "GET", "/v1/me", nil, "", &me); err != nil {
		return nil, err
	}
	b, _ := json.Marshal(me)
	c.meMu.Lock()
	changed := !bytes.Equal(b, c.meJSON)
	c.me, c.meJSON = &me, b
	c.meMu.Unlock()
	if changed {
		os.WriteFile(c.file("gateway-me.json"), b, 0o600)
	}
	return &me, nil
}

// known is what was last known of the user, asked for when nothing is.
func (c *Client) known() *Me {
	c.meMu.Lock()
	me := c.me
	c.meMu.Unlock()
	if me == nil {
		me, _ = c.who(context.Background())
	}
	if me == nil {
		return &Me{}
	}
	return me
}

// User is the signed-in user, as the gateway says.
func (c *Client) User() string { return c.known().User }

// UserName is their name, as the gateway says.
func (c *Client) UserName() string { return c.known().Name }

// Config returns the settings.
func (c *Client) Config() *config.Config { return c.cfg }

// Lang is the language of sentences.
func (c *Client) Lang() i18n.Lang { return c.lang.Load().(i18n.Lang) }

// SetLanguage switches it.
func (c *Client) SetLanguage(l i18n.Lang) { c.lang.Store(l) }

// Limits are the gateway's.
func (c *Client) Limits() core.Limits {
	l := c.known().Limits
	if l.Email == 0 {
		return core.Limits{Email: core.DefaultMaxEmail, DigitalPost: core.DefaultMaxDigitalPost, Recipients: core.DefaultMaxRecipients}
	}
	return core.Limits{Email: l.Email, DigitalPost: l.DigitalPost, Recipients: l.Recipients}
}

// Close releases the local queue.
func (c *Client) Close() error { return c.local.Close() }

// Run submits what the local queue holds, until ctx ends.
func (c *Client) Run(ctx context.Context) error { return c.queue.Run(ctx) }

// Process submits what the local queue holds now.
func (c *Client) Process(ctx context.Context) (int, error) { return c.queue.Process(ctx) }

// What a gateway's client does not do, each with its own sentence
// (gateway.not_in_gateway_mode.<what>).
const (
	hereDemoUsers = "demo_users"
	hereMailboxes = "mailboxes"
	herePasswords = "passwords"
)

// NotHere are the things a gateway's client does not do, for the tests
// of their sentences.
var NotHere = []string{hereDemoUsers, hereMailboxes, herePasswords}

// notHere is what a gateway's client cannot do (yet).
func notHere(what string) error { return &Error{Reason: NotInGatewayMode, Detail: what} }

// SwitchDemoUser is the demo's; the gateway says who the user is.
func (c *Client) SwitchDemoUser(string) error { return notHere(hereDemoUsers) }

// Parse parses a recipient as typed.
func (c *Client) Parse(input string) (*recipient.Recipient, error) { return c.parser.Parse(input) }

// Check asks the gateway which recipients can receive securely.
func (c *Client) Check(ctx context.Context, inputs []string) []directory.Verdict {
	var views []VerdictView
	err := c.do(ctx, "POST", "/v1/check", CheckRequest{Recipients: inputs}, "", &views)
	out := make([]directory.Verdict, len(inputs))
	for i, in := range inputs {
		out[i].Input = in
		out[i].Recipient, _ = c.parser.Parse(in)
		if err != nil || i >= len(views) {
			out[i].Err = cmp.Or(err, errors.New("gateway: no verdict"))
			continue
		}
		v := views[i]
		out[i].Channel, out[i].Name, out[i].Source = directory.Channel(v.Channel), v.Name, v.Source
		if c, ok := smime.ParseCipher(v.Cipher); ok {
			out[i].Cipher = c
		}
		for _, b := range v.Certificates {
			if der, err := base64.StdEncoding.DecodeString(b); err == nil {
				if cert, err := x509.ParseCertificate(der); err == nil {
					out[i].Certs = append(out[i].Certs, cert)
				}
			}
		}
		if v.Error != nil {
			out[i].Err = remote(v.Error)
		}
	}
	return out
}

// Suggest offers the recipients the gateway knows (GET /v1/suggest);
// nothing when it cannot be asked: suggestions only help typing.
func (c *Client) Suggest(ctx context.Context, typed string) []directory.Suggestion {
	return c.suggest(ctx, typed, false)
}

// SuggestFromDirectories is Suggest with the certificate directories'
// people, asked by the gateway.
func (c *Client) SuggestFromDirectories(ctx context.Context, typed string) []directory.Suggestion {
	return c.suggest(ctx, typed, true)
}

func (c *Client) suggest(ctx context.Context, typed string, directories bool) []directory.Suggestion {
	typed, ok := directory.Typed(typed)
	if !ok || len(typed) > maxTyped || c.away.Load() {
		return nil // a gateway away is not asked at each key typed
	}
	ctx, cancel := context.WithTimeout(ctx, directory.SuggestTimeout+5*time.Second)
	defer cancel()
	q := url.Values{"q": {typed}}
	if directories {
		q.Set("directories", "true")
	}
	var views []SuggestionView
	if err := c.do(ctx, "GET", "/v1/suggest?"+q.Encode(), nil, "", &views); err != nil {
		return nil
	}
	var out []directory.Suggestion
	for _, v := range views[:min(len(views), directory.MaxSuggestions)] {
		out = append(out, directory.Suggestion{Address: v.Address, Name: v.Name})
	}
	return out
}

// ReadAttachment reads a file under the gateway's limits.
func (c *Client) ReadAttachment(path string) (message.Attachment, error) {
	return core.ReadFile(path, c.Limits())
}

// CheckDraft checks what needs no mailbox; the gateway checks the rest
// when the mail is submitted.
func (c *Client) CheckDraft(_ context.Context, d message.Draft, _ string, vs []directory.Verdict) error {
	return core.CheckLetters(vs, d)
}

// Send is SendTo with no attention data.
func (c *Client) Send(ctx context.Context, d message.Draft, mailbox string, to, cc []string) (*core.Queued, error) {
	return c.SendTo(ctx, d, mailbox, core.Recipients{To: to, Cc: cc})
}

// Mailboxes are every secure mailbox with the user's rights to it.
func (c *Client) Mailboxes(ctx context.Context) ([]core.MailboxChoice, error) {
	me, err := c.who(ctx)
	if err != nil {
		return nil, err
	}
	var out []core.MailboxChoice
	for _, m := range me.Mailboxes {
		ch := core.MailboxChoice{Mailbox: policy.Mailbox{Address: m.Address, Name: m.Name, Department: m.Department}, CanSend: m.CanSend, CanRead: m.CanRead}
		if m.Why != nil {
			ch.Why = &RemoteError{Status: http.StatusForbidden, View: *m.Why}
		}
		out = append(out, ch)
	}
	return out, nil
}

// Readable are the mailboxes the user reads.
func (c *Client) Readable(ctx context.Context) ([]core.MailboxChoice, error) {
	all, err := c.Mailboxes(ctx)
	return core.CanRead(all), err
}

// IsHelpdesk reports whether the gateway gives the user the role.
func (c *Client) IsHelpdesk(ctx context.Context) (bool, error) {
	me, err := c.who(ctx)
	if err != nil {
		return false, err
	}
	return me.Helpdesk, nil
}

// ListMailboxes lists the mailboxes.
func (c *Client) ListMailboxes(ctx context.Context) ([]policy.Mailbox, error) {
	all, err := c.Mailboxes(ctx)
	var out []policy.Mailbox
	for _, m := range all {
		out = append(out, m.Mailbox)
	}
	return out, err
}

// Mailbox is one of them.
func (c *Client) Mailbox(ctx context.Context, address string) (*policy.Mailbox, error) {
	all, err := c.ListMailboxes(ctx)
	if err != nil {
		return nil, err
	}
	for _, m := range all {
		if strings.EqualFold(m.Address, address) {
			return &m, nil
		}
	}
	return nil, &policy.Error{Reason: policy.UnknownMailbox, Mailbox: address}
}

// Grant gives a right (helpdesk).
func (c *Client) Grant(ctx context.Context, user, mailbox string, r policy.Right) error {
	return c.do(ctx, "POST", "/v1/rights", RightRequest{User: user, Mailbox: mailbox, Right: string(r)}, "", nil)
}

// Revoke takes it away (helpdesk).
func (c *Client) Revoke(ctx context.Context, user, mailbox string, r policy.Right) error {
	return c.do(ctx, "DELETE", "/v1/rights", RightRequest{User: user, Mailbox: mailbox, Right: string(r)}, "", nil)
}

// AllHolders is the helpdesk's overview.
func (c *Client) AllHolders(ctx context.Context) ([]core.MailboxHolders, error) {
	var views []HoldersView
	if err := c.do(ctx, "GET", "/v1/holders", nil, "", &views); err != nil {
		return nil, err
	}
	var out []core.MailboxHolders
	for _, v := range views {
		h := core.MailboxHolders{Mailbox: policy.Mailbox{Address: v.Mailbox, Name: v.Name, Department: v.Department}}
		for _, user := range slices.Sorted(maps.Keys(v.Holders)) {
			var rights []policy.Right
			for _, r := range v.Holders[user] {
				rights = append(rights, policy.Right(r))
			}
			h.Holders = append(h.Holders, core.Holder{User: user, Rights: rights})
		}
		if der, err := base64.StdEncoding.DecodeString(v.Certificate); err == nil && len(der) > 0 {
			h.Certificate, _ = x509.ParseCertificate(der)
		}
		h.NoIdentity = h.Certificate == nil && v.CertError == nil
		if v.CertError != nil {
			h.CertErr = remote(v.CertError)
		}
		out = append(out, h)
	}
	return out, nil
}

// MailboxOverview is AllHolders for one mailbox.
func (c *Client) MailboxOverview(ctx context.Context, address string) (core.MailboxHolders, error) {
	all, err := c.AllHolders(ctx)
	if err != nil {
		return core.MailboxHolders{}, err
	}
	for _, h := range all {
		if strings.EqualFold(h.Mailbox.Address, address) {
			return h, nil
		}
	}
	return core.MailboxHolders{}, &policy.Error{Reason: policy.UnknownMailbox, Mailbox: address}
}

// Holders returns who holds which right to a mailbox (helpdesk).
func (c *Client) Holders(ctx context.Context, mailbox string) (map[string][]policy.Right, error) {
	h, err := c.MailboxOverview(ctx, mailbox)
	if err != nil {
		return nil, err
	}
	out := map[string][]policy.Right{}
	for _, p := range h.Holders {
		out[p.User] = p.Rights
	}
	return out, nil
}

// Rights returns a person's rights, by mailbox (helpdesk).
func (c *Client) Rights(ctx context.Context, user string) (map[string][]policy.Right, error) {
	all, err := c.AllHolders(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string][]policy.Right{}
	for _, h := range all {
		for _, p := range h.Holders {
			if strings.EqualFold(p.User, user) {
				out[h.Mailbox.Address] = p.Rights
			}
		}
	}
	return out, nil
}

// MailboxCertificate is the mailbox's certificate (helpdesk).
func (c *Client) MailboxCertificate(ctx context.Context, mailbox string) (*x509.Certificate, error) {
	h, err := c.MailboxOverview(ctx, mailbox)
	if err != nil {
		return nil, err
	}
	if h.Certificate == nil {
		return nil, cmp.Or[error](h.CertErr, &core.SendError{Reason: core.NoIdentity, Mailbox: mailbox})
	}
	return h.Certificate, nil
}

// AddMailbox is done at the gateway.
func (c *Client) AddMailbox(context.Context, policy.Mailbox) error {
	return notHere(hereMailboxes)
}

// AuditLog returns the gateway's audit log (helpdesk).
func (c *Client) AuditLog(ctx context.Context, since time.Time) ([]policy.Entry, error) {
	q := ""
	if !since.IsZero() {
		q = "?since=" + url.QueryEscape(since.UTC().Format(time.RFC3339))
	}
	var views []EntryView
	if err := c.do(ctx, "GET", "/v1/audit"+q, nil, "", &views); err != nil {
		return nil, err
	}
	var out []policy.Entry
	for _, v := range views {
		out = append(out, policy.Entry{ID: v.ID, Time: v.Time, Actor: policy.Actor{User: v.Actor, Machine: v.Machine}, Action: v.Action,
			Mailbox: v.Mailbox, Subject: v.Subject, Right: policy.Right(v.Right), MessageID: v.MessageID, Receipt: v.Receipt})
	}
	return out, nil
}

// VerifyAudit checks the gateway's audit chain (helpdesk).
func (c *Client) VerifyAudit(ctx context.Context) (*policy.AuditCheck, error) {
	var v AuditCheckView
	if err := c.do(ctx, "GET", "/v1/audit/verify", nil, "", &v); err != nil {
		return nil, err
	}
	return &policy.AuditCheck{Entries: v.Entries, Chained: v.Chained, Broken: v.Broken, Missing: v.Missing}, nil
}

// SavePassword: the PC keeps no passwords in gateway mode.
func (c *Client) SavePassword([]byte) error { return notHere(herePasswords) }

// Microsoft reports the sign-in, and as whom.
func (c *Client) Microsoft(ctx context.Context) (bool, string) {
	if c.ms == nil {
		return false, ""
	}
	a, _ := c.ms.Account(ctx)
	return true, a.Username
}

// SignIn signs in through the browser; what waits goes on.
func (c *Client) SignIn(ctx context.Context, openURL func(string) error) (string, error) {
	if c.ms == nil {
		return "", &msauth.Error{Reason: "not_set_up"}
	}
	a, err := c.ms.SignIn(ctx, openURL, "")
	if err == nil {
		c.queue.Wake(ctx)
	}
	return a.Username, err
}

// StartDeviceCode begins a sign-in by code.
func (c *Client) StartDeviceCode(ctx context.Context) (*msauth.DeviceCode, error) {
	if c.ms == nil {
		return nil, &msauth.Error{Reason: "not_set_up"}
	}
	return c.ms.StartDeviceCode(ctx)
}

// WaitDeviceCode ends it.
func (c *Client) WaitDeviceCode(ctx context.Context, dc *msauth.DeviceCode) (string, error) {
	a, err := dc.Wait(ctx)
	if err == nil {
		c.queue.Wake(ctx)
	}
	return a.Username, err
}

// SignOut ends the session.
func (c *Client) SignOut(ctx context.Context) error {
	if c.ms == nil {
		return nil
	}
	return c.ms.SignOut(ctx)
}

// sealTo is body sealed to the gateway's sealing certificate.
func sealTo(cert *x509.Certificate, entity []byte) ([]byte, error) {
	return smime.Encrypt(entity, []smime.Recipient{{Cert: cert}}, smime.AES256GCM)
}

// sealingCertificate is the gateway's, asked once and kept (it is
// public).
func (c *Client) sealingCertificate(ctx context.Context) (*x509.Certificate, error) {
	file := c.file("gateway-sealing.pem")
	var v SealingView
	err := c.do(ctx, "GET", "/v1/sealing-certificate", nil, "", &v)
	if err == nil {
		der, err := base64.StdEncoding.DecodeString(v.Certificate)
		if err != nil {
			return nil, err
		}
		os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
		return x509.ParseCertificate(der)
	}
	if b, rerr := os.ReadFile(file); rerr == nil {
		if blk, _ := pem.Decode(b); blk != nil {
			return x509.ParseCertificate(blk.Bytes)
		}
	}
	return nil, err
}

// multipartEntity is a submit's or a draft put's body as a MIME entity:
// its Content-Type header, then the multipart/form-data body of the part
// first (v as JSON) and the files.
func multipartEntity(first string, v any, files []message.Attachment) ([]byte, error) {
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	part, err := w.CreateFormField(first)
	if err != nil {
		return nil, err
	}
	if err := json.NewEncoder(part).Encode(v); err != nil {
		return nil, err
	}
	for _, f := range files {
		p, err := w.CreateFormFile("attachment", f.Name)
		if err != nil {
			return nil, err
		}
		p.Write(f.Data)
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return append([]byte("Content-Type: "+w.FormDataContentType()+"\r\n\r\n"), body.Bytes()...), nil
}
