// Package msauth signs a user in with Microsoft Entra ID for mail
// (SMTP and IMAP with XOAUTH2 at Exchange Online), through MSAL Go, the
// library Microsoft keeps for it
// (github.com/AzureAD/microsoft-authentication-library-for-go): a
// public client, so no secret is kept on the PC. It signs in
// interactively with the authorization code flow and PKCE through the
// system browser and a loopback redirect (the GUI), or with the device
// code flow (the CLI, a PC without a browser); it refreshes silently
// before every mail session, and it asks for a new sign-in, with the
// claims Conditional Access asks for, when the session cannot be
// refreshed.
//
// The token cache survives the program: MSAL's serialized cache is kept
// encrypted (AES-256-GCM) in a file beside the settings, with its key
// in the OS keyring, so no token is ever on disk in plaintext, whatever
// the cache's size (Windows' Credential Manager takes at most 2,560
// bytes per entry; a cache with two accounts is larger). Signing out
// removes the accounts, the file and the key.
package msauth

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/cache"
	msalerrors "github.com/AzureAD/microsoft-authentication-library-for-go/apps/errors"
	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/public"

	"sikkermail/internal/i18n"
)

// The scopes of mail at Exchange Online, as Microsoft documents them for
// SMTP AUTH and IMAP with OAuth. MSAL adds openid, profile and
// offline_access (the refresh token) by itself.
var Scopes = []string{"https://outlook.office.com/SMTP.Send", "https://outlook.office.com/IMAP.AccessAsUser.All"}

// DefaultAuthority is Microsoft Entra ID's public cloud; a national
// cloud has its own (login.microsoftonline.us, …).
const DefaultAuthority = "https://login.microsoftonline.com/"

// Keyring keeps the cache's key: the OS keyring (keystore.Keyring), or
// a test's.
type Keyring interface {
	Get(ref string) ([]byte, error)
	Save(ref string, secret []byte) error
	Delete(ref string) error
}

// Config is how to reach the institution's tenant.
type Config struct {
	// Tenant is the tenant id or domain; ClientID the institution's app
	// registration (a public client with a loopback redirect URI).
	Tenant, ClientID string
	// Authority is the cloud's base (DefaultAuthority when ""); the
	// tenant is appended. A custom one (a national cloud, a test server)
	// is used as it is, without Microsoft's instance discovery.
	Authority string
	// CacheFile is where the encrypted token cache lives.
	CacheFile string
	Keyring   Keyring
	// HTTP carries the requests (nil: the default client, which verifies
	// certificates against the system's roots).
	HTTP *http.Client
	// Scopes are asked for (default Scopes).
	Scopes []string
}

// Session is the signed-in user's, or nobody's yet.
type Session struct {
	cfg    Config
	client public.Client
	cache  *sealedCache
}

// New prepares a session; it signs nobody in and asks nothing.
func New(cfg Config) (*Session, error) {
	if cfg.Tenant == "" || cfg.ClientID == "" {
		return nil, errors.New("msauth: [microsoft] tenant and client_id are needed")
	}
	if cfg.Scopes == nil {
		cfg.Scopes = Scopes
	}
	authority, custom := authorityOf(cfg.Authority, cfg.Tenant)
	s := &Session{cfg: cfg, cache: &sealedCache{file: cfg.CacheFile, keyring: cfg.Keyring}}
	opts := []public.Option{public.WithAuthority(authority), public.WithCache(s.cache)}
	if custom {
		opts = append(opts, public.WithInstanceDiscovery(false))
	}
	if cfg.HTTP != nil {
		opts = append(opts, public.WithHTTPClient(cfg.HTTP))
	}
	var err error
	if s.client, err = public.New(cfg.ClientID, opts...); err != nil {
		return nil, fmt.Errorf("msauth: %w", err)
	}
	return s, nil
}

// Account is who is signed in.
type Account struct {
	// Username is the sign-in name (the UPN), the mail login.
	Username string
	account  public.Account
}

// Account returns the signed-in account, if any.
func (s *Session) Account(ctx context.Context) (Account, bool) {
	accs, err := s.client.Accounts(ctx)
	if err != nil || len(accs) == 0 {
		return Account{}, false
	}
	return Account{Username: strings.ToLower(accs[0].PreferredUsername), account: accs[0]}, true
}

// SignIn signs in with the system browser: openURL (nil: the system's
// browser) is given the sign-in page's address, and the page sends the
// browser back to a loopback address this process listens on. claims
// are what a Conditional Access challenge asked for ("" for none).
func (s *Session) SignIn(ctx context.Context, openURL func(url string) error, claims string) (Account, error) {
	var opts []public.AcquireInteractiveOption
	if openURL != nil {
		opts = append(opts, public.WithOpenURL(openURL))
	}
	if claims != "" {
		opts = append(opts, public.WithClaims(claims))
	}
	if a, ok := s.Account(ctx); ok {
		opts = append(opts, public.WithLoginHint(a.Username))
	}
	res, err := s.client.AcquireTokenInteractive(ctx, s.cfg.Scopes, opts...)
	if err != nil {
		return Account{}, &Error{Reason: "sign_in_failed", Err: err}
	}
	return Account{Username: strings.ToLower(res.Account.PreferredUsername), account: res.Account}, nil
}

// DeviceCode is a device code sign-in under way: Message says where to
// go and which code to enter; Wait waits for the user to have done it.
type DeviceCode struct {
	Message, URL, Code string
	dc                 public.DeviceCode
}

// StartDeviceCode begins a device code sign-in (RFC 8628).
func (s *Session) StartDeviceCode(ctx context.Context) (*DeviceCode, error) {
	dc, err := s.client.AcquireTokenByDeviceCode(ctx, s.cfg.Scopes)
	if err != nil {
		return nil, &Error{Reason: "sign_in_failed", Err: err}
	}
	return &DeviceCode{Message: dc.Result.Message, URL: dc.Result.VerificationURL, Code: dc.Result.UserCode, dc: dc}, nil
}

// Wait waits until the user has signed in at the URL, or ctx ends.
func (d *DeviceCode) Wait(ctx context.Context) (Account, error) {
	res, err := d.dc.AuthenticationResult(ctx)
	if err != nil {
		return Account{}, &Error{Reason: "sign_in_failed", Err: err}
	}
	return Account{Username: strings.ToLower(res.Account.PreferredUsername), account: res.Account}, nil
}

// Token returns an access token for mail and the username it is for,
// refreshed silently when it is close to expiring. When no session can
// be had without the user, the error is an *Error with Reason
// "sign_in_needed" (and the claims a Conditional Access challenge asks
// the next sign-in for).
func (s *Session) Token(ctx context.Context) (token, username string, err error) {
	a, ok := s.Account(ctx)
	if !ok {
		return "", "", &Error{Reason: "sign_in_needed"}
	}
	res, err := s.client.AcquireTokenSilent(ctx, s.cfg.Scopes, public.WithSilentAccount(a.account))
	if err != nil {
		// Entra ID not reached, or failing, is no ended session: the
		// mail waits for it, not for the user.
		var call msalerrors.CallErr
		var unreached *url.Error
		switch {
		case errors.As(err, &call) && (call.Resp == nil || call.Resp.StatusCode/100 == 5), errors.As(err, &unreached):
			return "", "", &Error{Reason: "unavailable", Err: err}
		}
		return "", "", &Error{Reason: "sign_in_needed", Claims: claimsOf(err), Err: err}
	}
	return res.AccessToken, a.Username, nil
}

// claimsOf reads the claims challenge from a token endpoint's refusal
// (error interaction_required with "claims").
func claimsOf(err error) string {
	var call msalerrors.CallErr
	if !errors.As(err, &call) || call.Resp == nil || call.Resp.Body == nil {
		return ""
	}
	body, _ := io.ReadAll(io.LimitReader(call.Resp.Body, 1<<16))
	var e struct {
		Claims string `json:"claims"`
	}
	json.Unmarshal(body, &e)
	return e.Claims
}

// SignOut removes the accounts and the token cache, file and key.
func (s *Session) SignOut(ctx context.Context) error {
	accs, _ := s.client.Accounts(ctx)
	for _, a := range accs {
		if err := s.client.RemoveAccount(ctx, a); err != nil {
			return &Error{Reason: "sign_out_failed", Err: err}
		}
	}
	return s.cache.remove()
}

// Error is a sign-in that did not come about, or is needed.
type Error struct {
	// Reason is sign_in_needed (no session, or one that has ended: sign
	// in again), sign_in_failed, unavailable (Entra ID did not answer;
	// try again), sign_out_failed, or app_refused (Entra ID refused the
	// service's own app: its secret or certificate).
	Reason string
	// Claims is what Conditional Access asks the next sign-in for.
	Claims string
	Err    error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return "msauth: " + e.Reason + ": " + e.Err.Error()
	}
	return "msauth: " + e.Reason
}

func (e *Error) Unwrap() error { return e.Err }

// IsTemporary: Entra ID not answering passes; a session that has ended
// needs the user, and the outbox waits for the sign-in.
// The gateway's app refused waits for IT to mend its proof.
func (e *Error) IsTemporary() bool {
	return e.Reason == "unavailable" || e.Reason == "sign_in_needed" || e.Reason == "app_refused"
}

// Localize names the sentence for a user.
func (e *Error) Localize() i18n.Message { return i18n.Message{Key: "msauth." + e.Reason} }

// sealedCache keeps MSAL's cache in a file, sealed with a key kept in
// the keyring: the MSAL cache.ExportReplace contract.
type sealedCache struct {
	file    string
	keyring Keyring
	mu      sync.Mutex
}

// keyRef is the keyring entry of the cache's key.
const keyRef = "microsoft-token-cache-key"

func (c *sealedCache) key(create bool) ([]byte, error) {
	b, err := c.keyring.Get(keyRef)
	if err == nil {
		k, err := base64.StdEncoding.DecodeString(string(b))
		if err == nil && len(k) == 32 {
			return k, nil
		}
	}
	if !create {
		return nil, nil
	}
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		return nil, err
	}
	if err := c.keyring.Save(keyRef, []byte(base64.StdEncoding.EncodeToString(k))); err != nil {
		return nil, err
	}
	return k, nil
}

func gcm(key []byte) (cipher.AEAD, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

// aad binds the file to its purpose.
var aad = []byte("sikkermail microsoft token cache v1")

// Replace implements cache.ExportReplace: a cache that cannot be read
// (no file, no key, changed) is an empty one, and the user signs in.
func (c *sealedCache) Replace(ctx context.Context, u cache.Unmarshaler, _ cache.ReplaceHints) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	sealed, err := os.ReadFile(c.file)
	if err != nil {
		return nil
	}
	key, err := c.key(false)
	if err != nil || key == nil {
		return nil
	}
	a, err := gcm(key)
	if err != nil || len(sealed) < a.NonceSize() {
		return nil
	}
	plain, err := a.Open(nil, sealed[:a.NonceSize()], sealed[a.NonceSize():], aad)
	if err != nil {
		return nil
	}
	return u.Unmarshal(plain)
}

// Export implements cache.ExportReplace: the cache is sealed and written
// whole, by a rename, so a crash leaves the old one or the new.
func (c *sealedCache) Export(ctx context.Context, m cache.Marshaler, _ cache.ExportHints) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	plain, err := m.Marshal()
	if err != nil {
		return err
	}
	key, err := c.key(true)
	if err != nil {
		return err // the keyring's own sentence
	}
	a, err := gcm(key)
	if err != nil {
		return err
	}
	nonce := make([]byte, a.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(c.file), 0o700); err != nil {
		return err
	}
	tmp := c.file + ".new"
	if err := os.WriteFile(tmp, a.Seal(nonce, nonce, plain, aad), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, c.file)
}

func (c *sealedCache) remove() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := os.Remove(c.file); err != nil && !errors.Is(err, os.ErrNotExist) {
		return &Error{Reason: "sign_out_failed", Err: err}
	}
	if err := c.keyring.Delete(keyRef); err != nil {
		return &Error{Reason: "sign_out_failed", Err: err}
	}
	return nil
}
