package msauth

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"sikkermail/internal/i18n"
	"sikkermail/internal/mailtest"
)

const (
	clientID = "9d2c6b1e-4f3a-4e5b-8c7d-6a5b4c3d2e1f"
	user     = "medarbejder@hoejskole.example"
	password = "hemmeligt"
)

// memKeyring is a keyring in memory.
type memKeyring struct {
	mu sync.Mutex
	m  map[string][]byte
}

func (k *memKeyring) Get(ref string) ([]byte, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if v, ok := k.m[ref]; ok {
		return v, nil
	}
	return nil, errors.New("not found")
}

func (k *memKeyring) Save(ref string, v []byte) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.m[ref] = v
	return nil
}

func (k *memKeyring) Delete(ref string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	delete(k.m, ref)
	return nil
}

type env struct {
	entra   *mailtest.Entra
	cfg     Config
	keyring *memKeyring
	browser *http.Client
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := mailtest.StartEntra(t, clientID)
	e.AddUser(user, password, "Demo Medarbejder")
	trusting := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: e.TLS.Roots}}, Timeout: 10 * time.Second}
	k := &memKeyring{m: map[string][]byte{}}
	return &env{entra: e, keyring: k, browser: trusting, cfg: Config{Tenant: mailtest.EntraTenant, ClientID: clientID,
		Authority: strings.TrimSuffix(e.Authority, "/"+mailtest.EntraTenant), CacheFile: filepath.Join(t.TempDir(), "msal.cache"),
		Keyring: k, HTTP: trusting}}
}

func (e *env) session(t *testing.T) *Session {
	t.Helper()
	s, err := New(e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func timeout(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// Interactive sign-in with PKCE through the browser and a loopback
// redirect; the session then gives tokens the server knows for the
// user, and survives the program in a cache that holds no token in
// plaintext.
func TestSignInAndToken(t *testing.T) {
	e := newEnv(t)
	ctx := timeout(t)
	s := e.session(t)
	if _, _, err := s.Token(ctx); !reason(err, "sign_in_needed") {
		t.Fatalf("before sign-in: %v", err)
	}
	a, err := s.SignIn(ctx, e.entra.Browser(user, password), "")
	if err != nil || a.Username != user {
		t.Fatalf("sign-in: %+v %v", a, err)
	}
	tok, who, err := s.Token(ctx)
	if err != nil || who != user {
		t.Fatalf("token: %v %s", err, who)
	}
	if u, ok := e.entra.Active(tok); !ok || u != user {
		t.Fatalf("the server does not know the token: %s %v", u, ok)
	}
	sealed, err := os.ReadFile(e.cfg.CacheFile)
	if err != nil || bytes.Contains(sealed, []byte(tok)) || bytes.Contains(sealed, []byte("refresh")) || bytes.Contains(sealed, []byte(user)) {
		t.Fatalf("the cache file is plaintext, or missing: %v", err)
	}
	// The next start: the same session, without signing in.
	s2 := e.session(t)
	if a, ok := s2.Account(ctx); !ok || a.Username != user {
		t.Fatalf("after a restart: %+v %v", a, ok)
	}
	if _, _, err := s2.Token(ctx); err != nil {
		t.Fatal(err)
	}
	// A wrong password: no session.
	other := e.session(t)
	other.cfg.CacheFile = filepath.Join(t.TempDir(), "other.cache")
	other = mustNew(t, other.cfg)
	wrong, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	if _, err := other.SignIn(wrong, e.entra.Browser(user, "forkert"), ""); err == nil {
		t.Fatal("signed in with a wrong password")
	}
}

func mustNew(t *testing.T, cfg Config) *Session {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func reason(err error, want string) bool {
	var e *Error
	return errors.As(err, &e) && e.Reason == want
}

// Tokens that expire are refreshed silently; a revoked session needs a
// new sign-in, said as such; a Conditional Access challenge is passed to
// the next sign-in, which meets it.
func TestRefreshRevokeClaims(t *testing.T) {
	e := newEnv(t)
	e.entra.Lifetime = time.Minute // within MSAL's margin: every use refreshes
	ctx := timeout(t)
	s := e.session(t)
	if _, err := s.SignIn(ctx, e.entra.Browser(user, password), ""); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Token(ctx); err != nil {
		t.Fatal(err)
	}
	if _, refreshed := e.entra.Counts(); refreshed != 1 {
		t.Fatalf("%d refreshes, want 1", refreshed)
	}

	const claims = `{"access_token":{"acrs":{"essential":true,"value":"c1"}}}`
	e.entra.Challenge(user, claims)
	_, _, err := s.Token(ctx)
	var ae *Error
	if !errors.As(err, &ae) || ae.Reason != "sign_in_needed" || ae.Claims != claims || !ae.IsTemporary() {
		t.Fatalf("challenged: %#v", err)
	}
	if !strings.Contains(i18n.Danish.Error(err), "Log ind") {
		t.Errorf("sentence %q", i18n.Danish.Error(err))
	}
	if _, err := s.SignIn(ctx, e.entra.Browser(user, password), ae.Claims); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Token(ctx); err != nil {
		t.Fatalf("after meeting the challenge: %v", err)
	}

	e.entra.Revoke(user)
	if _, _, err := s.Token(ctx); !reason(err, "sign_in_needed") {
		t.Fatalf("revoked: %v", err)
	}
}

// The device code flow: the code to enter and where, then the session.
func TestDeviceCode(t *testing.T) {
	e := newEnv(t)
	ctx := timeout(t)
	s := e.session(t)
	dc, err := s.StartDeviceCode(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if dc.Code == "" || !strings.Contains(dc.Message, dc.Code) || !strings.HasPrefix(dc.URL, "https://") {
		t.Fatalf("device code %+v", dc)
	}
	if err := e.entra.ApproveDevice(dc.Code, user, password); err != nil {
		t.Fatal(err)
	}
	a, err := dc.Wait(ctx)
	if err != nil || a.Username != user {
		t.Fatalf("%+v %v", a, err)
	}
	if _, _, err := s.Token(ctx); err != nil {
		t.Fatal(err)
	}
}

// Signing out removes the account, the cache file and its key.
func TestSignOut(t *testing.T) {
	e := newEnv(t)
	ctx := timeout(t)
	s := e.session(t)
	if _, err := s.SignIn(ctx, e.entra.Browser(user, password), ""); err != nil {
		t.Fatal(err)
	}
	if err := s.SignOut(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(e.cfg.CacheFile); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the cache file stays: %v", err)
	}
	if len(e.keyring.m) != 0 {
		t.Errorf("the keyring keeps %v", e.keyring.m)
	}
	if _, ok := e.session(t).Account(ctx); ok {
		t.Error("signed in after signing out")
	}
	if _, _, err := s.Token(ctx); !reason(err, "sign_in_needed") {
		t.Errorf("token after signing out: %v", err)
	}

}

// failing is a transport that reaches nobody.
type failing struct{}

func (failing) RoundTrip(*http.Request) (*http.Response, error) {
	return nil, errors.New("no route to host")
}

// Entra ID out of reach is not a session that has ended: the error says
// wait, not sign in again.
func TestUnreachableIsNoSignIn(t *testing.T) {
	e := newEnv(t)
	e.entra.Lifetime = time.Minute // every use refreshes
	ctx := timeout(t)
	s := e.session(t)
	if _, err := s.SignIn(ctx, e.entra.Browser(user, password), ""); err != nil {
		t.Fatal(err)
	}
	e.cfg.HTTP.Transport = failing{}
	_, _, err := s.Token(ctx)
	if !reason(err, "unavailable") || !strings.Contains(i18n.Danish.Error(err), "svarer ikke") {
		t.Fatalf("Entra ID out of reach: %v", err)
	}
}
