package demo

import (
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"software.sslmate.com/src/go-pkcs12"

	"sikkermail/internal/mailtest"
)

// Recipient is an external recipient of the demo, in one of the
// states Kontrollér adresser can find.
type Recipient struct {
	Address, Name string
	// Org is the certificate's organisation.
	Org string
	// Expired gives the recipient only an expired certificate; none at
	// all is given to those not listed.
	Expired bool
}

// Recipients are the demo's external recipients with certificates.
// Anyone else outside the institution has none.
var Recipients = []Recipient{
	{Address: "jens.hansen@kommune.example", Name: "Jens Hansen", Org: "Demo Kommune"},
	{Address: "post@firma.example", Name: "Firma A/S", Org: "Firma A/S"},
	{Address: "udloebet@kommune.example", Name: "Udløbet Certifikat", Org: "Demo Kommune", Expired: true},
}

// ContactPoint is the demo's Digital Post contact point for the
// secure mailbox at address: a GUID of its own, the same at every start.
func ContactPoint(address string) string {
	h := sha256.Sum256([]byte("sikkermail demo contact point " + address))
	h[6] = h[6]&0x0f | 0x40
	h[8] = h[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

// servers are the demo institution's infrastructure on loopback: a
// submission server and an IMAP server that enforce the rights, Digital
// Post, a certificate folder with the demo recipients, and an identity
// (PKCS #12) per secure mailbox, all issued by the demo's own CA.
type servers struct {
	SMTP *mailtest.SMTP
	IMAP *mailtest.IMAP
	// DigitalPost is the Digital Post simulator, with mailtest.Numbers.
	DigitalPost *mailtest.DigitalPost
	// CAFile is the S/MIME trust anchor; Store the certificate folder.
	CAFile, Store string
	// Identities maps each mailbox to its PKCS #12 file; People each
	// outside recipient with a valid certificate to theirs (the demo
	// writes mail from them into the mailboxes).
	Identities, People map[string]string
	// Password is the keystore source of every demo password.
	Password string
}

// startServers starts the servers, with the PKI kept in dir between
// runs, for the institution whose CVR number is cvr. users are the
// people who log in (each with an INBOX and a Sent folder); may says
// whether a user may use a mailbox (send, and open its Sent folder).
func startServers(dir, cvr string, users []string, may func(user, mailbox string) bool) (_ *servers, err error) {
	s := &servers{Identities: map[string]string{}, People: map[string]string{}, Password: "env:" + mailtest.PasswordEnv}
	os.Setenv(mailtest.PasswordEnv, mailtest.Password)
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	if err := s.pki(filepath.Join(dir, "pki")); err != nil {
		return nil, err
	}
	logins := map[string]string{}
	for _, u := range users {
		logins[u] = mailtest.Password
	}
	if s.SMTP, err = mailtest.NewSMTP(logins, may); err != nil {
		return nil, err
	}
	if s.IMAP, err = mailtest.NewIMAPS(); err != nil {
		return nil, err
	}
	s.IMAP.MayUse = may
	for _, u := range users {
		s.IMAP.AddAccount(u, mailtest.Password, "Sendte elementer")
	}
	for _, m := range Mailboxes {
		s.IMAP.AddAccount(m.Address, "", m.SentFolder)
	}
	if s.DigitalPost, err = mailtest.NewDigitalPost(); err != nil {
		return nil, err
	}
	s.DigitalPost.SetSenderCVR(cvr)
	s.DigitalPost.Register(mailtest.Numbers...)
	for _, m := range Mailboxes {
		s.DigitalPost.AddContactPoint(mailtest.DPContactPoint{ID: ContactPoint(m.Address), Name: m.Name, MaxMB: 30, MaxAttachments: 10})
	}
	return s, nil
}

// Close stops the servers.
func (s *servers) Close() {
	if s.DigitalPost != nil {
		s.DigitalPost.Close()
	}
	if s.IMAP != nil {
		s.IMAP.Close()
	}
	if s.SMTP != nil {
		s.SMTP.Close()
	}
}

// pki makes (once) the demo CA, an identity per mailbox and the
// recipients' certificates.
func (d *servers) pki(dir string) error {
	d.CAFile, d.Store = filepath.Join(dir, "ca.pem"), filepath.Join(dir, "certificates")
	for _, m := range Mailboxes {
		d.Identities[m.Address] = filepath.Join(dir, m.Address+".p12")
	}
	for _, r := range Recipients {
		if !r.Expired {
			d.People[r.Address] = filepath.Join(dir, "people", r.Address+".p12")
		}
	}
	complete := true
	files := append([]string{d.CAFile, d.Store}, slices.Collect(maps.Values(d.Identities))...)
	for _, f := range append(files, slices.Collect(maps.Values(d.People))...) {
		if _, err := os.Stat(f); errors.Is(err, fs.ErrNotExist) {
			complete = false
		}
	}
	if complete {
		return nil
	}
	os.RemoveAll(dir)
	for _, sub := range []string{d.Store, filepath.Join(dir, "people")} {
		if err := os.MkdirAll(sub, 0o700); err != nil {
			return err
		}
	}
	now := time.Now()
	ca, caKey, err := mailtest.Issue(nil, nil, &x509.Certificate{Subject: pkix.Name{CommonName: "Demo Professionshøjskole CA", Organization: []string{"Demo"}},
		NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(10, 0, 0), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign})
	if err != nil {
		return err
	}
	if err := os.WriteFile(d.CAFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Raw}), 0o644); err != nil {
		return err
	}
	person := func(addr, name, org string, from, until time.Time) *x509.Certificate {
		return &x509.Certificate{Subject: pkix.Name{CommonName: name, Organization: []string{org}}, EmailAddresses: []string{addr},
			NotBefore: from, NotAfter: until, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageKeyAgreement,
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageEmailProtection}}
	}
	for _, m := range Mailboxes {
		cert, key, err := mailtest.Issue(ca, caKey, person(m.Address, m.Name, "Demo Professionshøjskole", now.Add(-time.Hour), now.AddDate(3, 0, 0)))
		if err != nil {
			return err
		}
		p12, err := pkcs12.Modern.Encode(key, cert, []*x509.Certificate{ca}, mailtest.Password)
		if err != nil {
			return err
		}
		if err := os.WriteFile(d.Identities[m.Address], p12, 0o600); err != nil {
			return err
		}
	}
	for _, r := range Recipients {
		from, until := now.Add(-time.Hour), now.AddDate(2, 0, 0)
		if r.Expired {
			from, until = now.AddDate(-2, 0, 0), now.AddDate(0, -1, 0)
		}
		cert, key, err := mailtest.Issue(ca, caKey, person(r.Address, r.Name, r.Org, from, until))
		if err != nil {
			return err
		}
		if p := d.People[r.Address]; p != "" {
			p12, err := pkcs12.Modern.Encode(key, cert, []*x509.Certificate{ca}, mailtest.Password)
			if err != nil {
				return err
			}
			if err := os.WriteFile(p, p12, 0o600); err != nil {
				return err
			}
		}
		name := strings.ReplaceAll(r.Address, "@", "_at_") + ".pem"
		if err := os.WriteFile(filepath.Join(d.Store, name), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}), 0o644); err != nil {
			return err
		}
	}
	return nil
}
