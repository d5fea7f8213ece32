package mailtest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"software.sslmate.com/src/go-pkcs12"
)

// DemoPasswordEnv names the environment variable the demo's throwaway
// keys and logins take their password from; StartDemo sets it.
const DemoPasswordEnv = "SIKKERMAIL_DEMO_PASSWORD"

const demoPassword = "demo"

// DemoRecipient is an external recipient of the demo, in one of the
// states Kontrollér adresser can find.
type DemoRecipient struct {
	Address, Name string
	// Org is the certificate's organisation.
	Org string
	// Expired gives the recipient only an expired certificate; none at
	// all is given to those not listed.
	Expired bool
}

// DemoRecipients are the demo's external recipients with certificates.
// Anyone else outside the institution has none.
var DemoRecipients = []DemoRecipient{
	{Address: "jens.hansen@kommune.example", Name: "Jens Hansen", Org: "Demo Kommune"},
	{Address: "post@firma.example", Name: "Firma A/S", Org: "Firma A/S"},
	{Address: "udloebet@kommune.example", Name: "Udløbet Certifikat", Org: "Demo Kommune", Expired: true},
}

// DemoNumbers are the demo's CPR and CVR numbers known to its Digital
// Post, one in each state; any other number is unknown there.
var DemoNumbers = []DPNumber{
	{Kind: "CPR", Number: "0101901009", Public: "REGISTERED", Registration: "AUTOMATIC_REGISTRATION"},
	{Kind: "CPR", Number: "0202801005", Public: "EXEMPT", Registration: "EXEMPT_OTHER_REASON"},
	{Kind: "CPR", Number: "0303701001", Public: "CLOSED"},
	{Kind: "CPR", Number: "0404701002", Public: "EXEMPT", Registration: "EXEMPT_LEFT_THE_COUNTRY"},
	{Kind: "CPR", Number: "0505701003"}, // about to be registered: no mailbox subscription yet
	{Kind: "CVR", Number: "12345100", Public: "REGISTERED", Registration: "AUTOMATIC_REGISTRATION", Name: "Demo Firma ApS"},
	{Kind: "CVR", Number: "87654109", Public: "CLOSED", Name: "Lukket Firma ApS"},
}

// DemoContactPoint is the demo's Digital Post contact point for the
// secure mailbox at address: a GUID of its own, the same at every start.
func DemoContactPoint(address string) string {
	h := sha256.Sum256([]byte("sikkermail demo contact point " + address))
	h[6] = h[6]&0x0f | 0x40
	h[8] = h[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

// DemoCVR is the demo institution's own CVR number.
const DemoCVR = "29403473"

// Demo is the demo institution's infrastructure on loopback: a
// submission server and an IMAP server that enforce the rights, a
// certificate folder with the demo recipients, and an identity
// (PKCS #12) per secure mailbox, all issued by the demo's own CA.
type Demo struct {
	SMTP *SMTP
	IMAP *IMAP
	// DigitalPost is the Digital Post simulator, with DemoNumbers.
	DigitalPost *DigitalPost
	// CAFile is the S/MIME trust anchor; Store the certificate folder.
	CAFile, Store string
	// Identities maps each mailbox to its PKCS #12 file; People each
	// outside recipient with a valid certificate to theirs (the demo
	// writes mail from them into the mailboxes).
	Identities, People map[string]string
	// Password is the keystore source of every demo password.
	Password string
	runner   Runner
}

// StartDemo starts the demo in dir, where the PKI is kept between runs.
// users are the people who log in (each with an INBOX and a Sent
// folder); mailboxes are address → display name; may says whether a user
// may use a mailbox (send, and open its Sent folder).
func StartDemo(dir string, users []string, mailboxes map[string]string, may func(user, mailbox string) bool) (*Demo, error) {
	os.Setenv(DemoPasswordEnv, demoPassword)
	d := &Demo{Identities: map[string]string{}, People: map[string]string{}, Password: "env:" + DemoPasswordEnv}
	err := d.runner.Run(func() {
		pki := filepath.Join(dir, "pki")
		if err := d.pki(pki, mailboxes); err != nil {
			d.runner.Fatal(err)
		}
		logins := map[string]string{}
		for _, u := range users {
			logins[u] = demoPassword
		}
		d.SMTP = StartSMTP(&d.runner, logins, may)
		d.IMAP = StartIMAPS(&d.runner)
		d.IMAP.MayUse = may
		for _, u := range users {
			d.IMAP.AddAccount(&d.runner, u, demoPassword, "Sendte elementer")
		}
		for m := range mailboxes {
			d.IMAP.AddAccount(&d.runner, m, "", "Sendt post")
		}
		d.DigitalPost = StartDigitalPost(&d.runner)
		d.DigitalPost.SetSenderCVR(DemoCVR)
		d.DigitalPost.Register(DemoNumbers...)
		for addr, name := range mailboxes {
			d.DigitalPost.AddContactPoint(DPContactPoint{ID: DemoContactPoint(addr), Name: name, MaxMB: 30, MaxAttachments: 10})
		}
	})
	if err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

// Close stops the servers.
func (d *Demo) Close() { d.runner.Close() }

// pki makes (once) the demo CA, an identity per mailbox and the
// recipients' certificates.
func (d *Demo) pki(dir string, mailboxes map[string]string) error {
	d.CAFile, d.Store = filepath.Join(dir, "ca.pem"), filepath.Join(dir, "certificates")
	for m := range mailboxes {
		d.Identities[m] = filepath.Join(dir, m+".p12")
	}
	for _, r := range DemoRecipients {
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
	ca, caKey, err := issue(nil, nil, &x509.Certificate{Subject: pkix.Name{CommonName: "Demo Professionshøjskole CA", Organization: []string{"Demo"}},
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
	for m, name := range mailboxes {
		cert, key, err := issue(ca, caKey, person(m, name, "Demo Professionshøjskole", now.Add(-time.Hour), now.AddDate(3, 0, 0)))
		if err != nil {
			return err
		}
		p12, err := pkcs12.Modern.Encode(key, cert, []*x509.Certificate{ca}, demoPassword)
		if err != nil {
			return err
		}
		if err := os.WriteFile(d.Identities[m], p12, 0o600); err != nil {
			return err
		}
	}
	for _, r := range DemoRecipients {
		from, until := now.Add(-time.Hour), now.AddDate(2, 0, 0)
		if r.Expired {
			from, until = now.AddDate(-2, 0, 0), now.AddDate(0, -1, 0)
		}
		cert, key, err := issue(ca, caKey, person(r.Address, r.Name, r.Org, from, until))
		if err != nil {
			return err
		}
		if p := d.People[r.Address]; p != "" {
			p12, err := pkcs12.Modern.Encode(key, cert, []*x509.Certificate{ca}, demoPassword)
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

var demoSerial int64

// issue signs tmpl with a fresh P-256 key, by parent (nil: itself).
func issue(parent *x509.Certificate, parentKey crypto.Signer, tmpl *x509.Certificate) (*x509.Certificate, crypto.Signer, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	demoSerial++
	tmpl.SerialNumber = big.NewInt(time.Now().UnixNano() + demoSerial)
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	return cert, key, err
}
