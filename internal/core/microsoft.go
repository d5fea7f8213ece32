package core

import (
	"context"
	"errors"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"sikkermail/internal/config"
	"sikkermail/internal/i18n"
	"sikkermail/internal/keystore"
	"sikkermail/internal/mailstore"
	"sikkermail/internal/msauth"
	"sikkermail/internal/submit"
)

// microsoftSession prepares the Microsoft sign-in the settings ask for
// ([smtp] or [imap] auth = "microsoft"); nil when they ask for none. Its
// encrypted token cache lives beside the database.
func microsoftSession(cfg *config.Config, dbPath string) (*msauth.Session, error) {
	if !cfg.UsesMicrosoft() {
		return nil, nil
	}
	m := cfg.Microsoft
	tc, err := tlsConfig(m.CA)
	if err != nil {
		return nil, err
	}
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: tc, Proxy: http.ProxyFromEnvironment}}
	return msauth.New(msauth.Config{Tenant: m.Tenant, ClientID: m.ClientID, Authority: m.Authority, HTTP: client,
		CacheFile: filepath.Join(filepath.Dir(dbPath), "microsoft-tokens.sealed"), Keyring: keystore.Keyring{}})
}

// Microsoft reports whether the client signs in with Microsoft, and as
// whom it is signed in ("" for nobody).
func (c *Core) Microsoft(ctx context.Context) (enabled bool, account string) {
	if c.ms == nil {
		return false, ""
	}
	a, _ := c.ms.Account(ctx)
	return true, a.Username
}

// SignIn signs in with Microsoft through the browser (openURL is given
// the sign-in page; nil opens the system's browser), with the claims a
// Conditional Access challenge asked for, if a waiting mail was told
// so. Mail waiting for a sign-in goes on at once.
func (c *Core) SignIn(ctx context.Context, openURL func(string) error) (string, error) {
	if c.ms == nil {
		return "", &msauth.Error{Reason: "not_set_up"}
	}
	a, err := c.ms.SignIn(ctx, openURL, c.claims())
	if err != nil {
		return "", err
	}
	c.signedIn(ctx)
	return a.Username, nil
}

// StartDeviceCode begins a sign-in with a code entered in a browser
// elsewhere (the CLI); WaitDeviceCode finishes it.
func (c *Core) StartDeviceCode(ctx context.Context) (*msauth.DeviceCode, error) {
	if c.ms == nil {
		return nil, &msauth.Error{Reason: "not_set_up"}
	}
	return c.ms.StartDeviceCode(ctx)
}

// WaitDeviceCode waits for the sign-in begun by StartDeviceCode; mail
// waiting for it then goes on.
func (c *Core) WaitDeviceCode(ctx context.Context, dc *msauth.DeviceCode) (string, error) {
	a, err := dc.Wait(ctx)
	if err != nil {
		return "", err
	}
	c.signedIn(ctx)
	return a.Username, nil
}

// SignOut ends the Microsoft session and removes its tokens from the PC.
func (c *Core) SignOut(ctx context.Context) error {
	if c.ms == nil {
		return nil
	}
	return c.ms.SignOut(ctx)
}

// signedIn lets the mail that waited for a sign-in go now.
func (c *Core) signedIn(ctx context.Context) {
	c.outbox.Wake(ctx)
}

// claims is the Conditional Access challenge the last refused refresh
// carried, for the next sign-in.
func (c *Core) claims() string {
	s, _ := c.lastClaims.Load().(string)
	return s
}

// needsSignIn refuses a send while the settings sign in with Microsoft
// and nobody is signed in: the GUI then asks to sign in, instead of
// queueing a mail that can only wait.
func (c *Core) needsSignIn(ctx context.Context) error {
	if c.ms == nil {
		return nil
	}
	if _, ok := c.ms.Account(ctx); !ok {
		return &msauth.Error{Reason: "sign_in_needed"}
	}
	return nil
}

// tokenRefused makes a mail server's (at server) refusal of a token
// what it is. The Microsoft session's: a session that has ended
// (revoked, or expired before its time), so the mail waits for a new
// sign-in instead of failing. The app's: Exchange does not let the
// service's app in as login (FullAccess IT has not granted), so the
// mail waits, saying so, until IT has.
func (c *Core) tokenRefused(s config.MailServer, server, login string, err error) error {
	if err == nil || s.Auth != "microsoft" && s.Auth != "app" {
		return err
	}
	var se *submit.Error
	var me *mailstore.Error
	smtp := errors.As(err, &se) && se.Stage == submit.StageAuth && se.Code == 535
	if !smtp && !(errors.As(err, &me) && me.Login) {
		return err
	}
	if s.Auth == "app" {
		return &AppDeniedError{Server: server, Login: login, Err: err}
	}
	return &msauth.Error{Reason: "sign_in_needed", Err: err}
}

// AppDeniedError is a mail server refusing the service's app to log in
// as a mailbox (a user's or a shared one): at Exchange Online, the app's
// service principal lacks FullAccess on it. It is temporary: the mail
// waits, and goes once IT has granted it.
type AppDeniedError struct {
	Server, Login string
	Err           error
}

func (e *AppDeniedError) Error() string {
	return "core: " + e.Server + " refused the app's login as " + e.Login + ": " + e.Err.Error()
}
func (e *AppDeniedError) Unwrap() error     { return e.Err }
func (e *AppDeniedError) IsTemporary() bool { return true }

// Localize names the sentence for a user.
func (e *AppDeniedError) Localize() i18n.Message {
	return i18n.Message{Key: "app.denied", Args: map[string]any{"Server": e.Server, "Login": e.Login}}
}

// serviceApp is the service's own app sign-in the settings ask for
// ([smtp] or [imap] auth = "app"), proven by a secret or by a
// certificate's key (a PKCS #12 file or a pkcs11: token); nil when they
// ask for none.
func serviceApp(cfg *config.Config) (*msauth.App, error) {
	if !cfg.UsesApp() {
		return nil, nil
	}
	m := cfg.Microsoft
	tc, err := tlsConfig(m.CA)
	if err != nil {
		return nil, err
	}
	ac := msauth.AppConfig{Tenant: m.Tenant, ClientID: m.ClientID, Authority: m.Authority,
		HTTP: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: tc, Proxy: http.ProxyFromEnvironment}}}
	if m.ClientCertificate != "" {
		id, err := keystore.Open(m.ClientCertificate, m.ClientCertificatePassword)
		if err != nil {
			return nil, err
		}
		ac.Certificate, ac.Key = id.Cert, id.Key
	} else {
		secret, err := keystore.Secret(m.ClientSecret, "microsoft-app")
		if err != nil {
			return nil, err
		}
		ac.Secret = strings.TrimSpace(string(secret))
	}
	return msauth.NewApp(ac)
}
