package demo

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"sikkermail/internal/auth"
	"sikkermail/internal/config"
	"sikkermail/internal/mailtest"
	"sikkermail/internal/smime"
)

// The demo tenant's app registrations: the gateway's web API, and the
// desktop client that signs in for it.
const (
	GatewayAPI      = "api://sikkermail-gateway"
	GatewayAppID    = "9d0e1f2a-3b4c-4d5e-8f6a-7b8c9d0e1f2a"
	GatewayScope    = GatewayAPI + "/access_as_user"
	ClientID        = "4b8e1f7a-0c2d-4e3f-9a1b-2c3d4e5f6a7b"
	HelpdeskGroupID = "0f1e2d3c-4b5a-4968-8776-655443322110"
)

// Gateway is the demo institution's gateway environment: the core on
// the demo's servers, an Entra ID of the demo tenant that knows the
// demo's people (the helpdesk as a member of its group) and the
// gateway's API, and a certificate for the gateway from a CA of its own.
type Gateway struct {
	*Core
	Entra *mailtest.Entra
	// TLS is the gateway's certificate; clients trust TLS.CAFile.
	TLS *mailtest.TLS
	// Auth is what the gateway trusts to prove its callers.
	Auth config.Auth
	// Sealing is the identity clients seal the mails they keep to.
	Sealing *smime.Identity
	dir     string
}

// StartGateway starts the gateway's demo for cfg (the demo's settings,
// with the gateway's database).
func StartGateway(cfg *config.Config) (_ *Gateway, err error) {
	c, err := start(cfg)
	if err != nil {
		return nil, err
	}
	g := &Gateway{Core: c}
	defer func() {
		if err != nil {
			g.Close()
		}
	}()
	if g.dir, err = os.MkdirTemp("", "sikkermail-gateway-demo-"); err != nil {
		return nil, err
	}
	if g.TLS, err = mailtest.NewTLSIn(g.dir); err != nil {
		return nil, err
	}
	if g.Entra, err = mailtest.NewEntra(ClientID); err != nil {
		return nil, err
	}
	g.Entra.Lifetime = 8 * time.Hour // a working day of trying it
	g.Entra.AddAPI(GatewayAPI, GatewayAppID)
	for _, u := range config.DemoUsers {
		g.Entra.AddUser(u.Address, mailtest.Password, u.Name)
		if u.Role == "helpdesk" {
			g.Entra.SetGroups(u.Address, HelpdeskGroupID)
		}
	}
	now := time.Now()
	cert, key, err := mailtest.Issue(nil, nil, &x509.Certificate{Subject: pkix.Name{CommonName: "Demo sikkermail-gateway sealing", Organization: []string{"Demo"}},
		NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(1, 0, 0), KeyUsage: x509.KeyUsageKeyAgreement})
	if err != nil {
		return nil, err
	}
	g.Sealing = &smime.Identity{Cert: cert, Key: key}
	g.Auth = config.Auth{Issuer: g.Entra.Issuer, Audience: GatewayAppID, Scope: "access_as_user", HelpdeskGroup: HelpdeskGroupID}
	return g, nil
}

// Verifier proves the gateway's callers by the demo's Entra ID; helpdesk
// are the members of its group and the settings' list.
func (g *Gateway) Verifier(ctx context.Context, helpdesk []string) (*auth.Verifier, error) {
	cfg := auth.FromSettings(g.Auth, helpdesk)
	cfg.HTTP = &http.Client{Transport: &http.Transport{TLSClientConfig: g.Entra.TLS.Client()}, Timeout: 30 * time.Second}
	return auth.New(ctx, cfg)
}

// ServerTLS is the gateway's TLS configuration.
func (g *Gateway) ServerTLS() *tls.Config { return g.TLS.Server.Clone() }

// Token is the access token a sign-in of user gives for the gateway.
func (g *Gateway) Token(user string) (string, error) { return g.Entra.Issue(user, GatewayScope) }

// Close stops it all.
func (g *Gateway) Close() error {
	var err error
	if g.Core != nil {
		err = g.Core.Close()
	}
	if g.Entra != nil {
		g.Entra.Close()
	}
	if g.dir != "" {
		err = errors.Join(err, os.RemoveAll(filepath.Clean(g.dir)))
	}
	return err
}
