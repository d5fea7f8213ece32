package policy

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/go-ldap/ldap/v3"

	"sikkermail/internal/config"
)

// LDAP keeps rights in the institution's directory, as institutions
// already keep such rights (Active Directory groups): one groupOfNames per
// mailbox and right, cn=<mailbox address>-send or -read under GroupsDN,
// whose members are the DNs of the people who hold it, found by their
// mail attribute under PeopleDN. Many PCs share this one truth. Helpdesk
// changes it with their own bind credentials; the directory's access
// control is the real guard, the client check only spares a round trip.
//
// Mailboxes (their identity files are per PC) and the audit log stay in
// the local database, Local.
type LDAP struct {
	Local *SQL
	URL   string
	// TLS configures ldaps and STARTTLS; certificates are always verified.
	TLS      *tls.Config
	StartTLS bool
	PeopleDN string
	GroupsDN string
	// BindDN and Password are the acting person's credentials: staff may
	// read anonymously, helpdesk must bind to write.
	BindDN, Password string
}

func (l *LDAP) conn() (*ldap.Conn, error) {
	if err := config.LDAPSecure(l.URL, l.StartTLS); err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	c, err := ldap.DialURL(l.URL, ldap.DialWithTLSConfig(l.tlsConfig()))
	if err != nil {
		return nil, fmt.Errorf("policy: %s: %w", l.URL, err)
	}
	if l.StartTLS {
		if err := c.StartTLS(l.tlsConfig()); err != nil {
			c.Close()
			return nil, fmt.Errorf("policy: %s: %w", l.URL, err)
		}
	}
	if l.BindDN != "" {
		if err := c.Bind(l.BindDN, l.Password); err != nil {
			c.Close()
			return nil, fmt.Errorf("policy: %s: %w", l.URL, err)
		}
	}
	return c, nil
}

// tlsConfig is l.TLS, with the server's name from the URL when it names
// none (STARTTLS needs it to verify the certificate).
func (l *LDAP) tlsConfig() *tls.Config {
	cfg := &tls.Config{}
	if l.TLS != nil {
		cfg = l.TLS.Clone()
	}
	if cfg.ServerName == "" {
		if u, err := url.Parse(l.URL); err == nil {
			cfg.ServerName = u.Hostname()
		}
	}
	return cfg
}

func groupCN(mailbox string, r Right) string { return strings.ToLower(mailbox) + "-" + string(r) }

func (l *LDAP) groupDN(mailbox string, r Right) string {
	return "cn=" + ldap.EscapeDN(groupCN(mailbox, r)) + "," + l.GroupsDN
}

// personDN finds the DN of the staff member with the address user.
func (l *LDAP) personDN(c *ldap.Conn, user string) (string, error) {
	res, err := c.Search(ldap.NewSearchRequest(l.PeopleDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 2, 0, false,
		"(mail="+ldap.EscapeFilter(user)+")", []string{"mail"}, nil))
	if err != nil {
		return "", fmt.Errorf("policy: %s: %w", l.URL, err)
	}
	if len(res.Entries) != 1 {
		return "", &Error{Reason: UnknownUser, User: user}
	}
	return res.Entries[0].DN, nil
}

// Mailboxes implements Registry.
func (l *LDAP) Mailboxes(ctx context.Context) ([]Mailbox, error) { return l.Local.Mailboxes(ctx) }

// Mailbox implements Registry.
func (l *LDAP) Mailbox(ctx context.Context, address string) (*Mailbox, error) {
	return l.Local.Mailbox(ctx, address)
}

// AddMailbox implements Registry.
func (l *LDAP) AddMailbox(ctx context.Context, by Actor, m Mailbox) error {
	return l.Local.AddMailbox(ctx, by, m)
}

// IsHelpdesk implements Registry.
func (l *LDAP) IsHelpdesk(ctx context.Context, user string) (bool, error) {
	return l.Local.IsHelpdesk(ctx, user)
}

// Rights implements Registry.
func (l *LDAP) Rights(ctx context.Context, user string) (map[string][]Right, error) {
	c, err := l.conn()
	if err != nil {
		return nil, err
	}
	defer c.Close()
	dn, err := l.personDN(c, strings.ToLower(user))
	if err != nil {
		var pe *Error
		if errors.As(err, &pe) {
			return map[string][]Right{}, nil // no such person holds nothing
		}
		return nil, err
	}
	res, err := c.Search(ldap.NewSearchRequest(l.GroupsDN, ldap.ScopeSingleLevel, ldap.NeverDerefAliases, 0, 0, false,
		"(&(objectClass=groupOfNames)(member="+ldap.EscapeFilter(dn)+"))", []string{"cn"}, nil))
	if err != nil {
		return nil, fmt.Errorf("policy: %s: %w", l.URL, err)
	}
	out := map[string][]Right{}
	for _, e := range res.Entries {
		if mailbox, r, ok := parseGroup(e.GetAttributeValue("cn")); ok {
			out[mailbox] = append(out[mailbox], r)
		}
	}
	return out, nil
}

// parseGroup splits "mailbox@domain-send" into its mailbox and right.
func parseGroup(cn string) (string, Right, bool) {
	for _, r := range []Right{Send, Read} {
		if m, ok := strings.CutSuffix(cn, "-"+string(r)); ok && strings.Contains(m, "@") {
			return m, r, true
		}
	}
	return "", "", false
}

// Holders implements Registry.
func (l *LDAP) Holders(ctx context.Context, mailbox string) (map[string][]Right, error) {
	m, err := l.Local.Mailbox(ctx, mailbox)
	if err != nil {
		return nil, err
	}
	c, err := l.conn()
	if err != nil {
		return nil, err
	}
	defer c.Close()
	out := map[string][]Right{}
	for _, r := range []Right{Send, Read} {
		res, err := c.Search(ldap.NewSearchRequest(l.groupDN(m.Address, r), ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false,
			"(objectClass=groupOfNames)", []string{"member"}, nil))
		if ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("policy: %s: %w", l.URL, err)
		}
		for _, dn := range res.Entries[0].GetAttributeValues("member") {
			p, err := c.Search(ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false,
				"(objectClass=*)", []string{"mail"}, nil))
			if err != nil || len(p.Entries) == 0 {
				continue
			}
			u := strings.ToLower(p.Entries[0].GetAttributeValue("mail"))
			out[u] = append(out[u], r)
		}
	}
	return out, nil
}

// Grant implements Registry: the directory is changed with the acting
// person's bind, and the change is in the audit log before Grant returns.
func (l *LDAP) Grant(ctx context.Context, by Actor, user, mailbox string, r Right) error {
	return l.change(ctx, by, "grant", user, mailbox, r)
}

// Revoke implements Registry.
func (l *LDAP) Revoke(ctx context.Context, by Actor, user, mailbox string, r Right) error {
	return l.change(ctx, by, "revoke", user, mailbox, r)
}

func (l *LDAP) change(ctx context.Context, by Actor, action, user, mailbox string, r Right) error {
	if err := l.Local.mustBeHelpdesk(by, user, mailbox); err != nil {
		return err
	}
	if _, err := ParseRight(string(r)); err != nil {
		return err
	}
	u, err := l.Local.user(user)
	if err != nil {
		return err
	}
	m, err := l.Local.Mailbox(ctx, mailbox)
	if err != nil {
		return err
	}
	c, err := l.conn()
	if err != nil {
		return err
	}
	defer c.Close()
	dn, err := l.personDN(c, u)
	if err != nil {
		return err
	}
	group := l.groupDN(m.Address, r)
	if action == "grant" {
		mod := ldap.NewModifyRequest(group, nil)
		mod.Add("member", []string{dn})
		err = c.Modify(mod)
		if ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
			add := ldap.NewAddRequest(group, nil)
			add.Attribute("objectClass", []string{"groupOfNames"})
			add.Attribute("cn", []string{groupCN(m.Address, r)})
			add.Attribute("member", []string{dn})
			err = c.Add(add)
		}
		if ldap.IsErrorWithCode(err, ldap.LDAPResultAttributeOrValueExists) {
			return &Error{Reason: AlreadyGranted, User: u, Mailbox: m.Address, Right: r}
		}
	} else {
		mod := ldap.NewModifyRequest(group, nil)
		mod.Delete("member", []string{dn})
		err = c.Modify(mod)
		if ldap.IsErrorWithCode(err, ldap.LDAPResultObjectClassViolation) {
			// groupOfNames needs a member: the last one leaves with the group.
			err = c.Del(ldap.NewDelRequest(group, nil))
		}
		if ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) || ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchAttribute) {
			return &Error{Reason: NotGranted, User: u, Mailbox: m.Address, Right: r}
		}
	}
	if ldap.IsErrorWithCode(err, ldap.LDAPResultInsufficientAccessRights) || ldap.IsErrorWithCode(err, ldap.LDAPResultStrongAuthRequired) {
		return &Error{Reason: NotHelpdesk, User: by.User, Mailbox: m.Address, Err: err}
	}
	if err != nil {
		return fmt.Errorf("policy: %s: %w", l.URL, err)
	}
	return l.Local.Log(ctx, Entry{Actor: by, Action: action, Mailbox: m.Address, Subject: u, Right: r})
}
