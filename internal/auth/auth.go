// Package auth proves who calls the gateway. Staff call it with an
// access token that Microsoft Entra ID issued for the gateway's own API
// (its application ID URI and scope in the institution's tenant): the
// token's signature is checked against the issuer's published keys
// (JWKS, fetched by OpenID Connect discovery and cached), and its
// issuer, audience, expiry and scope against the settings, with
// github.com/coreos/go-oidc. Machines and scripts may instead present a
// client certificate over mutual TLS. The helpdesk role is membership of
// a configured Entra group (the token's groups claim) or an address on
// the gateway's own list — never anything the caller's PC says.
package auth

import (
	"cmp"
	"context"
	"crypto/x509"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"

	"sikkermail/internal/config"
	"sikkermail/internal/i18n"
)

// Config is what the gateway trusts.
type Config struct {
	// Issuer is the tenant's v2.0 issuer,
	// https://login.microsoftonline.com/TENANT/v2.0.
	Issuer string
	// Audience is the gateway API's application (client) ID: the aud of
	// its tokens.
	Audience string
	// Scope is the scope a token must carry (scp), e.g. access_as_user.
	Scope string
	// HelpdeskGroup is the object ID of the Entra group whose members
	// have the helpdesk role; Helpdesk lists addresses that have it too.
	HelpdeskGroup string
	Helpdesk      []string
	// Clients are the addresses that may call with a client certificate
	// (mutual TLS) and the certificate's e-mail address says who.
	Clients []string
	// HTTP reaches the issuer (nil: http.DefaultClient).
	HTTP *http.Client
	// Now is the clock (tests move it).
	Now func() time.Time
}

// FromSettings is the Config the settings' [auth] section says, with
// helpdesk the addresses [policy] helpdesk lists; the scope defaults to
// access_as_user.
func FromSettings(a config.Auth, helpdesk []string) Config {
	return Config{Issuer: a.Issuer, Audience: a.Audience, Scope: cmp.Or(a.Scope, "access_as_user"),
		HelpdeskGroup: a.HelpdeskGroup, Helpdesk: helpdesk, Clients: a.Clients}
}

// Identity is a caller, proven.
type Identity struct {
	// User is the caller's address (lower case), Name their name.
	User, Name string
	// ObjectID is the Entra ID object ID ("" for a certificate).
	ObjectID string
	Helpdesk bool
	// Via is how it was proven: "token" or "certificate".
	Via string
}

// Verifier checks tokens and client certificates.
type Verifier struct {
	cfg      Config
	verifier *oidc.IDTokenVerifier
}

// New fetches the issuer's OpenID configuration and returns a Verifier.
func New(ctx context.Context, cfg Config) (*Verifier, error) {
	if cfg.Issuer == "" || cfg.Audience == "" || cfg.Scope == "" {
		return nil, errors.New("auth: the issuer, audience and scope must be set")
	}
	if cfg.HTTP != nil {
		ctx = oidc.ClientContext(ctx, cfg.HTTP)
	}
	p, err := oidc.NewProvider(ctx, cfg.Issuer)
	if err != nil {
		return nil, &Error{Reason: IssuerUnreachable, Err: err}
	}
	// The key set is fetched again (with ctx's client) when a token
	// names a key not seen yet: Entra ID rolls its keys.
	keyCtx := context.WithoutCancel(ctx)
	v := p.VerifierContext(keyCtx, &oidc.Config{ClientID: cfg.Audience, SupportedSigningAlgs: []string{oidc.RS256}, Now: cfg.Now})
	return &Verifier{cfg: cfg, verifier: v}, nil
}

// claims are the access token's claims the gateway reads.
type claims struct {
	Tenant            string   `json:"tid"`
	ObjectID          string   `json:"oid"`
	PreferredUsername string   `json:"preferred_username"`
	UPN               string   `json:"upn"`
	Name              string   `json:"name"`
	Scope             string   `json:"scp"`
	Groups            []string `json:"groups"`
	Version           string   `json:"ver"`
}

// Token checks a bearer token and returns who it proves.
func (v *Verifier) Token(ctx context.Context, raw string) (*Identity, error) {
	if raw == "" {
		return nil, &Error{Reason: NoToken}
	}
	t, err := v.verifier.Verify(ctx, raw)
	if err != nil {
		return nil, classify(err)
	}
	var c claims
	if err := t.Claims(&c); err != nil {
		return nil, &Error{Reason: Malformed, Err: err}
	}
	if !slices.Contains(strings.Fields(c.Scope), v.cfg.Scope) {
		// An ID token, or a token for another of the API's scopes.
		return nil, &Error{Reason: WrongScope}
	}
	user := strings.ToLower(strings.TrimSpace(c.PreferredUsername))
	if user == "" {
		user = strings.ToLower(strings.TrimSpace(c.UPN))
	}
	if user == "" || !strings.Contains(user, "@") {
		return nil, &Error{Reason: NoUser}
	}
	id := &Identity{User: user, Name: c.Name, ObjectID: c.ObjectID, Via: "token"}
	id.Helpdesk = v.listed(user) || (v.cfg.HelpdeskGroup != "" && slices.Contains(c.Groups, v.cfg.HelpdeskGroup))
	return id, nil
}

// Certificate returns who a verified client certificate proves: its
// e-mail address, when the settings list it as a client.
func (v *Verifier) Certificate(cert *x509.Certificate) (*Identity, error) {
	for _, a := range cert.EmailAddresses {
		a = strings.ToLower(a)
		if slices.ContainsFunc(v.cfg.Clients, func(c string) bool { return strings.EqualFold(c, a) }) {
			return &Identity{User: a, Name: cert.Subject.CommonName, Helpdesk: v.listed(a), Via: "certificate"}, nil
		}
	}
	return nil, &Error{Reason: UnknownClient, Subject: cert.Subject.String()}
}

func (v *Verifier) listed(user string) bool {
	return slices.ContainsFunc(v.cfg.Helpdesk, func(h string) bool { return strings.EqualFold(strings.TrimSpace(h), user) })
}

func classify(err error) error {
	var exp *oidc.TokenExpiredError
	s := err.Error()
	switch {
	case errors.As(err, &exp):
		return &Error{Reason: Expired, Err: err}
	case strings.Contains(s, "expected audience"):
		return &Error{Reason: WrongAudience, Err: err}
	case strings.Contains(s, "issued by a different provider"):
		return &Error{Reason: WrongIssuer, Err: err}
	case strings.Contains(s, "before the nbf"):
		return &Error{Reason: NotYetValid, Err: err}
	case strings.Contains(s, "malformed"):
		return &Error{Reason: Malformed, Err: err}
	}
	return &Error{Reason: BadSignature, Err: err}
}

// Reason says why a caller was not let in.
type Reason string

// The reasons.
const (
	NoToken           Reason = "no_token"
	Malformed         Reason = "malformed"
	BadSignature      Reason = "bad_signature"
	Expired           Reason = "expired"
	NotYetValid       Reason = "not_yet_valid"
	WrongIssuer       Reason = "wrong_issuer"
	WrongAudience     Reason = "wrong_audience"
	WrongScope        Reason = "wrong_scope"
	NoUser            Reason = "no_user"
	UnknownClient     Reason = "unknown_client"
	IssuerUnreachable Reason = "issuer_unreachable"
)

// Reasons are every Reason, for the tests of their sentences.
var Reasons = []Reason{NoToken, Malformed, BadSignature, Expired, NotYetValid, WrongIssuer, WrongAudience, WrongScope, NoUser, UnknownClient, IssuerUnreachable}

// Error is a caller not let in.
type Error struct {
	Reason Reason
	// Subject is a refused client certificate's subject.
	Subject string
	Err     error
}

func (e *Error) Error() string {
	s := "auth: " + string(e.Reason)
	if e.Subject != "" {
		s += " (" + e.Subject + ")"
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// Localize names the sentence for the caller.
func (e *Error) Localize() i18n.Message {
	return i18n.Message{Key: "auth." + string(e.Reason), Args: map[string]any{"Subject": e.Subject}}
}
