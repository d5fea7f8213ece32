package msauth

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
	msalerrors "github.com/AzureAD/microsoft-authentication-library-for-go/apps/errors"
)

// AppScope is the scope of app-only mail access at Exchange Online: an
// app granted SMTP.SendAsApp and IMAP.AccessAsApp (application
// permissions, admin consent) logs in to the mailboxes Exchange lets
// its service principal use (SendAs, FullAccess).
const AppScope = "https://outlook.office365.com/.default"

// AppConfig is a service's own app registration, a confidential client:
// it signs in as itself with the client credentials grant, proving it
// with a secret or with a certificate's key (what Microsoft advises).
type AppConfig struct {
	Tenant, ClientID, Authority string
	// Secret, or Certificate and Key (RSA, in a file or a PKCS #11
	// token: the key only signs), prove the app.
	Secret      string
	Certificate *x509.Certificate
	Key         crypto.Signer
	HTTP        *http.Client
	// Scope is asked for (default AppScope).
	Scope string
}

// App gets app-only access tokens for a service (the gateway), cached in
// memory until shortly before they expire; nothing is written to disk.
type App struct {
	scope  string
	client confidential.Client
}

// NewApp prepares the app's sign-in; it asks nothing yet.
func NewApp(cfg AppConfig) (*App, error) {
	if cfg.Tenant == "" || cfg.ClientID == "" {
		return nil, errors.New("msauth: [microsoft] tenant and client_id are needed")
	}
	var cred confidential.Credential
	switch {
	case cfg.Certificate != nil:
		if _, ok := cfg.Key.Public().(*rsa.PublicKey); !ok {
			return nil, errors.New("msauth: the app's certificate must have an RSA key, as Entra ID takes")
		}
		cred = confidential.NewCredFromAssertionCallback(func(_ context.Context, o confidential.AssertionRequestOptions) (string, error) {
			return assertion(cfg.Certificate, cfg.Key, o.ClientID, o.TokenEndpoint, time.Now())
		})
	case cfg.Secret != "":
		var err error
		if cred, err = confidential.NewCredFromSecret(cfg.Secret); err != nil {
			return nil, fmt.Errorf("msauth: %w", err)
		}
	default:
		return nil, errors.New("msauth: [microsoft] client_secret or client_certificate is needed")
	}
	authority, custom := authorityOf(cfg.Authority, cfg.Tenant)
	var opts []confidential.Option
	if custom {
		opts = append(opts, confidential.WithInstanceDiscovery(false))
	}
	if cfg.HTTP != nil {
		opts = append(opts, confidential.WithHTTPClient(cfg.HTTP))
	}
	a := &App{scope: cfg.Scope}
	if a.scope == "" {
		a.scope = AppScope
	}
	var err error
	if a.client, err = confidential.New(authority, cfg.ClientID, cred, opts...); err != nil {
		return nil, fmt.Errorf("msauth: %w", err)
	}
	return a, nil
}

// Token is a valid app-only access token, from the cache or Entra ID.
// Entra ID out of reach is "unavailable" (temporary); a refusal (a wrong
// secret, an expired certificate, an app not found) is "app_refused",
// which only IT can mend.
func (a *App) Token(ctx context.Context) (string, error) {
	r, err := a.client.AcquireTokenByCredential(ctx, []string{a.scope})
	if err == nil {
		return r.AccessToken, nil
	}
	var ce msalerrors.CallErr
	if errors.As(err, &ce) && ce.Resp != nil && ce.Resp.StatusCode >= 400 && ce.Resp.StatusCode < 500 {
		return "", &Error{Reason: "app_refused", Err: err}
	}
	return "", &Error{Reason: "unavailable", Err: err}
}

// assertion is the client assertion that proves the app (RFC 7523 §3,
// as Entra ID takes it): a JWT about and by clientID for the token
// endpoint, lasting ten minutes, naming the certificate by its SHA-256
// thumbprint, signed PS256 by key — which only signs, so a key in a
// token never leaves it.
func assertion(cert *x509.Certificate, key crypto.Signer, clientID, endpoint string, now time.Time) (string, error) {
	thumb := sha256.Sum256(cert.Raw)
	jti := make([]byte, 16)
	if _, err := rand.Read(jti); err != nil {
		return "", err
	}
	head, _ := json.Marshal(map[string]string{"alg": "PS256", "typ": "JWT", "x5t#S256": base64.RawURLEncoding.EncodeToString(thumb[:])})
	body, _ := json.Marshal(map[string]any{"iss": clientID, "sub": clientID, "aud": endpoint, "jti": fmt.Sprintf("%x", jti),
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(10 * time.Minute).Unix()})
	signed := base64.RawURLEncoding.EncodeToString(head) + "." + base64.RawURLEncoding.EncodeToString(body)
	digest := sha256.Sum256([]byte(signed))
	sig, err := key.Sign(rand.Reader, digest[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: crypto.SHA256})
	if err != nil {
		return "", &Error{Reason: "app_refused", Err: fmt.Errorf("signing the client assertion: %w", err)}
	}
	return signed + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}

// authorityOf is the tenant's authority at base (DefaultAuthority when
// ""); custom says it is not Microsoft's own cloud, so MSAL must not ask
// Microsoft's instance discovery about it.
func authorityOf(base, tenant string) (authority string, custom bool) {
	custom = base != ""
	if !custom {
		base = DefaultAuthority
	}
	return strings.TrimSuffix(base, "/") + "/" + tenant, custom
}
