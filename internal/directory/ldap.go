package directory

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/go-ldap/ldap/v3"

	"sikkermail/internal/config"
	"sikkermail/internal/smime"
)

// LDAP is a certificate directory searched over LDAP (RFC 4511), such as
// the Danish public certificate directory: anonymous (or simple-bind)
// search below BaseDN for entries matching Filter, reading the certificate
// attributes.
type LDAP struct {
	// URL is ldap://host:port or ldaps://host:port.
	URL string
	// StartTLS upgrades an ldap:// connection with STARTTLS (RFC 4513).
	StartTLS bool
	// TLS configures ldaps and STARTTLS; nil means the system roots and
	// the host name from URL. Certificates are always verified.
	TLS    *tls.Config
	BaseDN string
	// Filter is a template with one %s for the address (escaped per
	// RFC 4515); "" means "(mail=%s)".
	Filter string
	// BindDN and Password, when set, bind before searching.
	BindDN, Password string

	// RoundTrips counts search requests sent, for the benchmark.
	RoundTrips atomic.Int64
}

// certAttributes are where directories keep certificates: userCertificate
// (with or without ;binary, RFC 4523) holds DER certificates,
// userSMIMECertificate (RFC 2798) PKCS #7 SignedData.
var certAttributes = []string{"userCertificate;binary", "userCertificate", "userSMIMECertificate", "userSMIMECertificate;binary"}

// Name implements Source.
func (l *LDAP) Name() string { return l.URL }

// Lookup implements Source: one connection and one search for all the
// addresses (an OR of the filter for each), so that a hundred recipients
// cost one round trip. Entries are matched back to addresses by the
// certificates they hold. Cancelling ctx closes the connection at once.
func (l *LDAP) Lookup(ctx context.Context, addrs []string) (map[string][]*x509.Certificate, error) {
	if len(addrs) == 0 {
		return nil, nil
	}
	conn, done, err := l.connect(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	tmpl := l.Filter
	if tmpl == "" {
		tmpl = "(mail=%s)"
	}
	var filter strings.Builder
	if len(addrs) > 1 {
		filter.WriteString("(|")
	}
	for _, a := range addrs {
		fmt.Fprintf(&filter, tmpl, ldap.EscapeFilter(a))
	}
	if len(addrs) > 1 {
		filter.WriteString(")")
	}
	req := ldap.NewSearchRequest(l.BaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
		filter.String(), certAttributes, nil)
	l.RoundTrips.Add(1)
	res, err := conn.Search(req)
	if err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded) {
		return nil, ctxErr(ctx, err)
	}
	return certsByAddress(res.Entries, addrs), nil
}

// suggestLimit is how many entries a search for completions asks for.
const suggestLimit = 10

// Suggest returns the directory's people whose address or name holds
// typed and who hold a certificate for that address: what completes a
// recipient being typed. It asks for a few entries only; a directory
// that refuses substring searches gives none.
func (l *LDAP) Suggest(ctx context.Context, typed string) ([]Suggestion, error) {
	conn, done, err := l.connect(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	q := ldap.EscapeFilter(typed)
	req := ldap.NewSearchRequest(l.BaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, suggestLimit, 0, false,
		"(|(mail=*"+q+"*)(cn=*"+q+"*))", append([]string{"mail", "cn"}, certAttributes...), nil)
	l.RoundTrips.Add(1)
	res, err := conn.Search(req)
	if err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded) {
		return nil, ctxErr(ctx, err)
	}
	var out []Suggestion
	for _, e := range res.Entries {
		addrs := e.GetAttributeValues("mail")
		for a, certs := range certsByAddress([]*ldap.Entry{e}, addrs) {
			if len(certs) > 0 && matches(typed, a, certs[0].Subject.CommonName) {
				out = append(out, Suggestion{Address: strings.ToLower(a), Name: certs[0].Subject.CommonName})
			}
		}
	}
	slices.SortFunc(out, func(a, b Suggestion) int { return strings.Compare(a.Address, b.Address) })
	return out, nil
}

// connect dials the directory, with STARTTLS and a bind when set up;
// done closes the connection. Cancelling ctx closes it at once.
func (l *LDAP) connect(ctx context.Context) (conn *ldap.Conn, done func(), err error) {
	u, err := url.Parse(l.URL)
	if err != nil {
		return nil, nil, err
	}
	if err := config.LDAPSecure(l.URL, l.StartTLS); err != nil {
		return nil, nil, err
	}
	cfg := l.TLS
	if cfg == nil {
		cfg = &tls.Config{}
	}
	if cfg.ServerName == "" {
		cfg = cfg.Clone()
		cfg.ServerName = u.Hostname()
	}
	var d net.Dialer
	if dl, ok := ctx.Deadline(); ok {
		d.Deadline = dl
	}
	conn, err = ldap.DialURL(l.URL, ldap.DialWithDialer(&d), ldap.DialWithTLSConfig(cfg))
	if err != nil {
		return nil, nil, err
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	done = func() { stop(); conn.Close() }
	if l.StartTLS && u.Scheme == "ldap" {
		if err := conn.StartTLS(cfg); err != nil {
			done()
			return nil, nil, ctxErr(ctx, err)
		}
	}
	if l.BindDN != "" {
		if err := conn.Bind(l.BindDN, l.Password); err != nil {
			done()
			return nil, nil, ctxErr(ctx, err)
		}
	}
	return conn, done, nil
}

// certsByAddress reads the certificates in a search's entries (DER,
// PEM or PKCS #7 values) and files each under the addresses it is for.
// What the directory sends is outside input: a value that does not parse
// is skipped.
func certsByAddress(entries []*ldap.Entry, addrs []string) map[string][]*x509.Certificate {
	out := make(map[string][]*x509.Certificate)
	for _, e := range entries {
		for _, attr := range e.Attributes {
			for _, v := range attr.ByteValues {
				certs, err := smime.ParseCertificates(v)
				if err != nil {
					continue // a value we cannot read is no certificate
				}
				for _, c := range certs {
					for _, a := range addrs {
						if smime.HasAddress(c, a) {
							out[a] = append(out[a], c)
						}
					}
				}
			}
		}
	}
	return out
}

// ctxErr prefers the context's error when the connection was closed
// because the deadline passed.
func ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}
