package smime

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"
)

// ReadCertificates reads every certificate in a file: PEM (CERTIFICATE or
// PKCS7 blocks), a DER certificate, or a DER PKCS #7 / CMS SignedData such
// as a .p7c or .p7b file.
func ReadCertificates(path string) ([]*x509.Certificate, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseCertificates(b)
}

// ParseCertificates is ReadCertificates on bytes already read.
func ParseCertificates(b []byte) ([]*x509.Certificate, error) {
	if !bytes.Contains(b, []byte("-----BEGIN")) {
		if c, err := x509.ParseCertificate(b); err == nil {
			return []*x509.Certificate{c}, nil
		}
		return CertificatesFromPKCS7(b)
	}
	var certs []*x509.Certificate
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			break
		}
		switch blk.Type {
		case "CERTIFICATE":
			c, err := x509.ParseCertificate(blk.Bytes)
			if err != nil {
				return nil, err
			}
			certs = append(certs, c)
		case "PKCS7", "CMS":
			cs, err := CertificatesFromPKCS7(blk.Bytes)
			if err != nil {
				return nil, err
			}
			certs = append(certs, cs...)
		}
	}
	if len(certs) == 0 {
		return nil, errors.New("no certificate in the file")
	}
	return certs, nil
}

// ReadCRL reads a certificate revocation list, PEM or DER.
func ReadCRL(path string) (*x509.RevocationList, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if blk, _ := pem.Decode(b); blk != nil {
		b = blk.Bytes
	}
	return x509.ParseRevocationList(b)
}

// CertificatesFromPKCS7 returns the certificates of a SignedData
// ContentInfo (DER or BER), such as a certs-only .p7c file or an LDAP
// userSMIMECertificate value. Signatures, if any, are not checked.
func CertificatesFromPKCS7(der []byte) ([]*x509.Certificate, error) {
	sd, err := readSignedData(der)
	if err != nil {
		return nil, err
	}
	return sd.certs, nil
}

// MinRSABits is the smallest RSA key accepted for signing or encryption.
const MinRSABits = 2048

// dateLayout is how dates appear in user sentences.
const dateLayout = "2006-01-02"

// Trust says which certificates are acceptable (RFC 5280, RFC 8550): those
// that chain to Roots, are valid at Time, carry a key of at least
// MinRSABits (RSA) or P-256 (EC), permit e-mail protection, name an e-mail
// address, and are not revoked by any of CRLs.
type Trust struct {
	// Roots are the trust anchors: the Danish OCES3 roots and any the
	// institution adds (tests use their own CA). Nil trusts nothing.
	Roots *x509.CertPool
	// Intermediates helps build chains, besides certificates that arrive
	// with a signed message.
	Intermediates *x509.CertPool
	// Time is when the certificate must be valid; zero means now.
	Time time.Time
	// At says when a signer's certificate is judged: now (Time) and, by
	// default, at the signing time when it has since expired.
	At Judge
	// Arrived is when the message arrived, if known: a signing time after
	// it is not believed.
	Arrived time.Time
	// CRLs are revocation lists to consult, when available.
	CRLs []*x509.RevocationList
	// Revocation says what a certificate whose revocation status cannot
	// be had does (see revocation.go).
	Revocation RevocationMode
	// Online fetches CRLs from distribution points and asks OCSP
	// responders; nil fetches nothing.
	Online Online
	// when is the time a certificate is judged at, when not now (the
	// signing time); CRLs and OCSP answers are still judged by the clock.
	when time.Time
}

// Judge is when a signer's certificate is judged.
type Judge int

const (
	// JudgeBoth judges now, and a certificate that fails only because it
	// has expired since is judged again at the signing time it claims:
	// a mail valid when it came stays valid (Signer.ExpiredSince). The
	// claimed time counts only inside the certificate's validity, not
	// after now nor after the message arrived.
	JudgeBoth Judge = iota
	// JudgeNow judges at Time (now) only.
	JudgeNow
	// JudgeSigning judges at the signing time only (at Time when the
	// signature claims none).
	JudgeSigning
)

// at returns p judged at t.
func (p *Trust) at(t time.Time) *Trust {
	q := *p
	q.when = t
	return &q
}

// judge checks a signer's certificate at the time p.At says, with the
// CRLs the message carried beside the policy's, and records an unknown
// revocation status in s.Revocation.
func (p *Trust) judge(s *Signer, extra []*x509.Certificate, crls []*x509.RevocationList) ([][]*x509.Certificate, error) {
	check := func(q *Trust) ([][]*x509.Certificate, error) {
		chains, warn, err := q.check(Signing, s.Cert, extra, crls, &s.NotRevoked)
		s.Revocation = warn
		return chains, err
	}
	if p.At == JudgeNow {
		return check(p)
	}
	t, ok := p.signingTime(s)
	if p.At == JudgeSigning {
		if !ok {
			return check(p)
		}
		return check(p.at(t))
	}
	chains, err := check(p)
	if err == nil || !ok || !expired(err) {
		return chains, err
	}
	then, terr := check(p.at(t))
	if terr != nil {
		return nil, err
	}
	s.ExpiredSince = err
	return then, nil
}

// signingTime is the signer's claimed signing time, when it may be
// believed: set, not after now, and not after the message arrived.
func (p *Trust) signingTime(s *Signer) (time.Time, bool) {
	t := s.SigningTime
	if t.IsZero() || t.After(p.now()) || (!p.Arrived.IsZero() && t.After(p.Arrived)) {
		return time.Time{}, false
	}
	return t, true
}

// expired reports whether err says a certificate of the chain has
// expired (and nothing else).
func expired(err error) bool {
	var e *Error
	if !errors.As(err, &e) {
		return false
	}
	if e.Reason == CertExpired {
		return true
	}
	var ie x509.CertificateInvalidError
	return e.Reason == CertUntrusted && errors.As(e.Err, &ie) && ie.Reason == x509.Expired
}

// now is when certificates are judged.
func (p *Trust) now() time.Time {
	if !p.when.IsZero() {
		return p.when
	}
	return p.clock()
}

// clock is the present: Time, or the system's clock.
func (p *Trust) clock() time.Time {
	if p.Time.IsZero() {
		return time.Now()
	}
	return p.Time
}

func (p *Trust) roots() *x509.CertPool {
	if p.Roots == nil {
		return x509.NewCertPool()
	}
	return p.Roots
}

// Purpose is what a certificate is to be used for.
type Purpose int

const (
	// Signing: the key usage, when present, must allow digitalSignature
	// or nonRepudiation.
	Signing Purpose = iota
	// Encryption: the key usage, when present, must allow keyEncipherment
	// (RSA) or keyAgreement (EC).
	Encryption
)

// Check checks a signer's certificate; see CheckFor.
func (p *Trust) Check(c *x509.Certificate, extra ...*x509.Certificate) ([][]*x509.Certificate, error) {
	return p.CheckFor(Signing, c, extra...)
}

// CheckFor returns the certificate's verified chains, or an *Error whose
// Reason says what is wrong (expired, untrusted, wrong usage, short key,
// revoked, no e-mail address) for the purpose. extra are certificates that
// may serve as intermediates (those included in a signed message).
func (p *Trust) CheckFor(purpose Purpose, c *x509.Certificate, extra ...*x509.Certificate) ([][]*x509.Certificate, error) {
	chains, _, err := p.check(purpose, c, extra, nil, nil)
	return chains, err
}

// check is CheckFor with more CRLs to consult; warn is a revocation status
// that could not be had, when p.Revocation lets that pass.
//
// good, when not nil, is set to whether a revocation list or OCSP answer
// said the chain is not revoked.
func (p *Trust) check(purpose Purpose, c *x509.Certificate, extra []*x509.Certificate, crls []*x509.RevocationList, good *bool) (chains [][]*x509.Certificate, warn, err error) {
	if good != nil {
		*good = false
	}
	name := certName(c)
	now := p.now()
	if now.Before(c.NotBefore) {
		return nil, nil, &Error{Reason: CertNotYetValid, Subject: name, Detail: c.NotBefore.UTC().Format(dateLayout)}
	}
	if now.After(c.NotAfter) {
		return nil, nil, &Error{Reason: CertExpired, Subject: name, Detail: c.NotAfter.UTC().Format(dateLayout)}
	}
	switch k := c.PublicKey.(type) {
	case *rsa.PublicKey:
		if k.N.BitLen() < MinRSABits {
			return nil, nil, &Error{Reason: CertShortKey, Subject: name, Detail: fmt.Sprint(k.N.BitLen())}
		}
	case *ecdsa.PublicKey:
		if k.Curve.Params().BitSize < 256 {
			return nil, nil, &Error{Reason: CertShortKey, Subject: name, Detail: fmt.Sprint(k.Curve.Params().BitSize)}
		}
	default:
		return nil, nil, &Error{Reason: UnsupportedKey, Subject: name, Detail: keyName(c.PublicKey)}
	}
	if !emailUsage(c) || !keyUsage(c, purpose) {
		return nil, nil, &Error{Reason: CertWrongUsage, Subject: name}
	}
	if len(Addresses(c)) == 0 {
		return nil, nil, &Error{Reason: CertNoEmail, Subject: name}
	}
	inter := x509.NewCertPool()
	if p.Intermediates != nil {
		inter = p.Intermediates.Clone()
	}
	for _, e := range extra {
		inter.AddCert(e)
	}
	chains, err = c.Verify(x509.VerifyOptions{
		Roots:         p.roots(),
		Intermediates: inter,
		CurrentTime:   now,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageEmailProtection},
	})
	if err != nil {
		var ua x509.UnknownAuthorityError
		detail := c.Issuer.CommonName
		if errors.As(err, &ua) && ua.Cert != nil {
			detail = ua.Cert.Issuer.CommonName
		}
		return nil, nil, &Error{Reason: CertUntrusted, Subject: name, Detail: detail, Err: err}
	}
	if warn, err = p.revoked(c, chains, crls, extra, good); err != nil {
		return nil, nil, err
	}
	return chains, warn, nil
}

// revoked judges the revocation of c's chains (the best of them counts:
// good, no source, unknown, revoked): an error when a certificate of the
// chain is revoked, or its status is unknown and p.Revocation requires
// it; a warning when it is unknown and p.Revocation lets that pass.
func (p *Trust) revoked(c *x509.Certificate, chains [][]*x509.Certificate, crls []*x509.RevocationList, extra []*x509.Certificate, good *bool) (warn, err error) {
	if p.Revocation == RevocationOff {
		return nil, nil
	}
	all := append(append([]*x509.RevocationList(nil), p.CRLs...), crls...)
	var r revResult
	for i, chain := range chains {
		if cr := p.revocation(chain, all, extra, 0); i == 0 || rank(cr.status) < rank(r.status) {
			r = cr
		}
	}
	if good != nil {
		*good = r.status == revGood
	}
	switch {
	case r.status == revRevoked:
		return nil, &Error{Reason: CertRevoked, Subject: certName(r.cert), Detail: r.when.UTC().Format(dateLayout)}
	case r.status == revUnknown || r.status == revNoSource && p.Revocation == RevocationRequire:
		who := c
		if r.cert != nil {
			who = r.cert
		}
		w := &Error{Reason: RevocationUnknown, Subject: certName(who), Detail: strings.Join(r.why, "; ")}
		if p.Revocation == RevocationRequire {
			return nil, w
		}
		return w, nil
	}
	return nil, nil
}

// emailUsage reports whether c may protect e-mail: no extended key usage,
// or one that includes emailProtection or anyExtendedKeyUsage.
func emailUsage(c *x509.Certificate) bool {
	if len(c.ExtKeyUsage) == 0 && len(c.UnknownExtKeyUsage) == 0 {
		return true
	}
	for _, u := range c.ExtKeyUsage {
		if u == x509.ExtKeyUsageEmailProtection || u == x509.ExtKeyUsageAny {
			return true
		}
	}
	return false
}

// keyUsage reports whether c's key usage extension, when it has one,
// allows the purpose (RFC 8550 section 4.4.2).
func keyUsage(c *x509.Certificate, purpose Purpose) bool {
	if c.KeyUsage == 0 {
		return true
	}
	if purpose == Signing {
		return c.KeyUsage&(x509.KeyUsageDigitalSignature|x509.KeyUsageContentCommitment) != 0
	}
	if _, ok := c.PublicKey.(*ecdsa.PublicKey); ok {
		return c.KeyUsage&x509.KeyUsageKeyAgreement != 0
	}
	return c.KeyUsage&x509.KeyUsageKeyEncipherment != 0
}

var oidEmailAddress = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 1}

// Addresses returns the e-mail addresses a certificate is for: its
// subjectAltName rfc822Names, else the subject's emailAddress attribute
// (RFC 8550 section 3). Domains are lower-cased.
func Addresses(c *x509.Certificate) []string {
	var out []string
	add := func(a string) {
		if at := strings.LastIndexByte(a, '@'); at > 0 {
			a = a[:at] + strings.ToLower(a[at:])
		}
		for _, o := range out {
			if strings.EqualFold(o, a) {
				return
			}
		}
		out = append(out, a)
	}
	for _, a := range c.EmailAddresses {
		add(a)
	}
	if len(out) == 0 {
		for _, n := range c.Subject.Names {
			if n.Type.Equal(oidEmailAddress) {
				if s, ok := n.Value.(string); ok {
					add(s)
				}
			}
		}
	}
	return out
}

// HasAddress reports whether c is for the e-mail address addr. The local
// part is compared without regard to case, as mail systems in practice do.
func HasAddress(c *x509.Certificate, addr string) bool {
	for _, a := range Addresses(c) {
		if strings.EqualFold(a, addr) {
			return true
		}
	}
	return false
}

var oidOrganizationIdentifier = asn1.ObjectIdentifier{2, 5, 4, 97}

// CVR returns the CVR number of the organisation a Danish certificate is
// issued to: from an OCES3 subject (organizationIdentifier
// "NTRDK-<CVR>") or an OCES2 subject (serialNumber "CVR:<CVR>-FID:…",
// "-UID:…" or "-RID:…"). It returns "" for other certificates.
func CVR(c *x509.Certificate) string {
	for _, n := range c.Subject.Names {
		if n.Type.Equal(oidOrganizationIdentifier) {
			if s, ok := n.Value.(string); ok && strings.HasPrefix(s, "NTRDK-") && isCVR(s[6:]) {
				return s[6:]
			}
		}
	}
	if s := c.Subject.SerialNumber; strings.HasPrefix(s, "CVR:") {
		rest := s[4:]
		if i := strings.IndexByte(rest, '-'); i == 8 && isCVR(rest[:8]) {
			switch {
			case strings.HasPrefix(rest[8:], "-FID:"), strings.HasPrefix(rest[8:], "-UID:"), strings.HasPrefix(rest[8:], "-RID:"):
				return rest[:8]
			}
		}
	}
	return ""
}

func isCVR(s string) bool {
	if len(s) != 8 {
		return false
	}
	for i := 0; i < 8; i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
