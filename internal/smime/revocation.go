package smime

import (
	"bytes"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"math/big"
	"strings"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
	"golang.org/x/crypto/ocsp"
)

// Revocation (RFC 5280 sections 5 and 6.3, RFC 6960): every certificate
// of the chain but the trust anchor is looked up, in the CRLs the
// settings give, the CRLs the signed message carries, the CRLs the
// certificate's distribution points serve, and its OCSP responder. A CRL
// counts only when it is signed by the certificate's issuer (or by a
// CRL-signing certificate of the same name that chains to a trust
// anchor), names the issuer, is current, has no critical extension we do
// not understand, and covers the certificate (issuingDistributionPoint).
// A delta CRL is applied to a base CRL it names; its removeFromCRL
// entries lift a hold, they never revoke. Indirect CRLs and CRLs for some
// reasons only are not used. When a source exists but none of them gives
// a valid answer, the status is unknown, which the reader is told
// (Signer.Revocation), and which RevocationRequire refuses.

var (
	oidExtCRLNumber           = asn1.ObjectIdentifier{2, 5, 29, 20}
	oidExtReasonCode          = asn1.ObjectIdentifier{2, 5, 29, 21}
	oidExtInvalidityDate      = asn1.ObjectIdentifier{2, 5, 29, 24}
	oidExtDeltaCRLIndicator   = asn1.ObjectIdentifier{2, 5, 29, 27}
	oidExtIssuingDistPoint    = asn1.ObjectIdentifier{2, 5, 29, 28}
	oidExtCRLDistPoints       = asn1.ObjectIdentifier{2, 5, 29, 31}
	oidExtAuthorityKeyID      = asn1.ObjectIdentifier{2, 5, 29, 35}
	oidExtFreshestCRL         = asn1.ObjectIdentifier{2, 5, 29, 46}
	oidExtIssuerAltName       = asn1.ObjectIdentifier{2, 5, 29, 18}
	oidExtAuthorityInfoAccess = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 1, 1}
)

// removeFromCRL is the reason code of a delta CRL entry that lifts a hold.
const removeFromCRL = 8

// Online fetches revocation information over the network, with a cache:
// the DER of the CRL a distribution point serves, and an OCSP
// responder's answer to a request. Nil Online fetches nothing.
type Online interface {
	CRL(url string) ([]byte, error)
	OCSP(url string, request []byte) ([]byte, error)
}

// RevocationMode says what an unknown revocation status does.
type RevocationMode int

const (
	// RevocationWarn accepts a certificate whose status is unknown and
	// says so (Signer.Revocation); a revoked one is refused.
	RevocationWarn RevocationMode = iota
	// RevocationRequire refuses a certificate unless every certificate
	// of its chain is known not to be revoked.
	RevocationRequire
	// RevocationOff checks nothing.
	RevocationOff
)

// ParseRevocationMode reads the mode as the settings and the command
// line name it: "warn", "require" or "off". Any other word reports
// false, with RevocationWarn, the default.
func ParseRevocationMode(s string) (RevocationMode, bool) {
	switch s {
	case "warn":
		return RevocationWarn, true
	case "require":
		return RevocationRequire, true
	case "off":
		return RevocationOff, true
	}
	return RevocationWarn, false
}

// revStatus is what is known of one certificate.
type revStatus int

const (
	revNoSource revStatus = iota // nothing names where to look
	revGood
	revUnknown
	revRevoked
)

type revResult struct {
	status revStatus
	cert   *x509.Certificate
	when   time.Time // revocation time
	why    []string  // for unknown: what was tried and why it did not count
}

// revocation judges every certificate of chain (leaf first, the trust
// anchor last) and returns the worst (rank): a revoked one at once, else
// the first unknown, else the first without a source, else good.
func (p *Trust) revocation(chain []*x509.Certificate, crls []*x509.RevocationList, extra []*x509.Certificate, depth int) revResult {
	out := revResult{status: revGood}
	for i := 0; i+1 < len(chain); i++ {
		r := p.certStatus(chain[i], chain[i+1], crls, extra, depth)
		if r.status == revRevoked {
			return r
		}
		if rank(r.status) > rank(out.status) {
			out = r
		}
	}
	return out
}

// rank orders revocation outcomes, best first.
func rank(s revStatus) int {
	switch s {
	case revGood:
		return 0
	case revNoSource:
		return 1
	case revUnknown:
		return 2
	}
	return 3
}

// certStatus looks one certificate up.
func (p *Trust) certStatus(c, issuer *x509.Certificate, given []*x509.RevocationList, extra []*x509.Certificate, depth int) revResult {
	res := revResult{cert: c}
	crls := append([]*x509.RevocationList(nil), given...)
	sourced := false
	if p.Online != nil {
		for _, u := range c.CRLDistributionPoints {
			if !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
				continue
			}
			sourced = true
			der, err := p.Online.CRL(u)
			if err == nil {
				var crl *x509.RevocationList
				if crl, err = x509.ParseRevocationList(der); err == nil {
					crls = append(crls, crl)
					continue
				}
			}
			res.why = append(res.why, fmt.Sprintf("%s: %v", u, err))
		}
	}
	var bases, deltas []*x509.RevocationList
	badDelta := false
	for _, crl := range crls {
		if !bytes.Equal(crl.RawIssuer, c.RawIssuer) {
			continue
		}
		sourced = true
		_, delta := extValue(crl.Extensions, oidExtDeltaCRLIndicator)
		if why := p.usableCRL(crl, c, issuer, given, extra, depth); why != "" {
			res.why = append(res.why, "the revocation list of "+issuer.Subject.CommonName+" "+why)
			badDelta = badDelta || delta
			continue
		}
		if delta {
			deltas = append(deltas, crl)
		} else {
			bases = append(bases, crl)
		}
	}
	if len(bases) > 0 {
		for _, base := range bases {
			if r, ok := revokedIn(base, deltas, c); ok {
				return r
			}
		}
		// A delta that cannot be used may hold a newer revocation.
		res.status = revGood
		if badDelta {
			res.status = revUnknown
		}
		return res
	}
	if p.Online != nil && len(c.OCSPServer) > 0 {
		r := p.askOCSP(c, issuer)
		if r.status == revGood || r.status == revRevoked {
			return r
		}
		res.why = append(res.why, r.why...)
		sourced = true
	}
	if sourced || len(c.CRLDistributionPoints) > 0 || len(c.OCSPServer) > 0 {
		res.status = revUnknown
		if len(res.why) == 0 {
			res.why = []string{"no revocation list or OCSP answer could be had"}
		}
	}
	return res
}

// revokedIn reports whether base (with the newest delta that applies to
// it) lists c, and the result if so.
func revokedIn(base *x509.RevocationList, deltas []*x509.RevocationList, c *x509.Certificate) (revResult, bool) {
	var delta *x509.RevocationList
	for _, d := range deltas {
		baseNum := deltaBase(d)
		if baseNum == nil || base.Number == nil || d.Number == nil || base.Number.Cmp(baseNum) < 0 || d.Number.Cmp(base.Number) <= 0 ||
			!sameScope(d, base) {
			continue
		}
		if delta == nil || d.Number.Cmp(delta.Number) > 0 {
			delta = d
		}
	}
	if delta != nil {
		for _, e := range delta.RevokedCertificateEntries {
			if e.SerialNumber.Cmp(c.SerialNumber) == 0 {
				if e.ReasonCode == removeFromCRL {
					return revResult{}, false
				}
				return revResult{status: revRevoked, cert: c, when: e.RevocationTime}, true
			}
		}
	}
	for _, e := range base.RevokedCertificateEntries {
		if e.SerialNumber.Cmp(c.SerialNumber) == 0 && e.ReasonCode != removeFromCRL {
			return revResult{status: revRevoked, cert: c, when: e.RevocationTime}, true
		}
	}
	return revResult{}, false
}

// usableCRL says why crl cannot be used for c ("is out of date …", to
// follow "the revocation list of ISSUER"), or "" when it can.
func (p *Trust) usableCRL(crl *x509.RevocationList, c, issuer *x509.Certificate, given []*x509.RevocationList, extra []*x509.Certificate, depth int) string {
	if !p.crlSigned(crl, issuer, given, extra, depth) {
		return "is not signed by its issuer"
	}
	now := p.clock()
	if crl.ThisUpdate.After(now.Add(clockSkew)) {
		return "is dated in the future"
	}
	if crl.NextUpdate.IsZero() || now.After(crl.NextUpdate.Add(clockSkew)) {
		return "is out of date (next update " + crl.NextUpdate.UTC().Format(dateLayout) + ")"
	}
	for _, e := range crl.Extensions {
		switch {
		case e.Id.Equal(oidExtIssuingDistPoint), e.Id.Equal(oidExtDeltaCRLIndicator), e.Id.Equal(oidExtCRLNumber),
			e.Id.Equal(oidExtAuthorityKeyID), e.Id.Equal(oidExtIssuerAltName), e.Id.Equal(oidExtFreshestCRL),
			e.Id.Equal(oidExtAuthorityInfoAccess):
		case e.Critical:
			return "has an unknown critical extension"
		}
	}
	for _, r := range crl.RevokedCertificateEntries {
		for _, e := range r.Extensions {
			switch {
			case e.Id.Equal(oidExtReasonCode), e.Id.Equal(oidExtInvalidityDate):
			case e.Critical:
				return "has an entry with an unknown critical extension"
			}
		}
	}
	return idpCovers(crl, c)
}

// clockSkew is how far a CRL's or OCSP answer's dates may be off.
const clockSkew = 5 * time.Minute

// crlSigned reports whether crl is signed by issuer, or by another
// certificate of the issuer's name that may sign CRLs, chains to a trust
// anchor and is not itself revoked (RFC 5280 section 6.3.3 (f)).
func (p *Trust) crlSigned(crl *x509.RevocationList, issuer *x509.Certificate, given []*x509.RevocationList, extra []*x509.Certificate, depth int) bool {
	if crl.CheckSignatureFrom(issuer) == nil {
		return true
	}
	if depth > 1 {
		return false
	}
	inter := x509.NewCertPool()
	for _, e := range extra {
		inter.AddCert(e)
	}
	for _, s := range extra {
		// A CRL signer need not be a CA (RFC 5280 section 4.2.1.3): its
		// key usage must allow CRL signing, that is all.
		if !bytes.Equal(s.RawSubject, crl.RawIssuer) || s.KeyUsage&x509.KeyUsageCRLSign == 0 ||
			s.CheckSignature(crl.SignatureAlgorithm, crl.RawTBSRevocationList, crl.Signature) != nil {
			continue
		}
		chains, err := s.Verify(x509.VerifyOptions{Roots: p.roots(), Intermediates: inter, CurrentTime: p.now(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
		if err != nil {
			continue
		}
		for _, chain := range chains {
			if r := p.revocation(chain, given, extra, depth+1); r.status == revGood || r.status == revNoSource {
				return true
			}
		}
	}
	return false
}

// idp is a parsed issuingDistributionPoint (RFC 5280 section 5.2.5).
type idp struct {
	names                                []string // raw GeneralName elements of the full name
	relative                             bool     // nameRelativeToCRLIssuer
	userOnly, caOnly, attrOnly, indirect bool
	someReasons                          bool
}

func parseIDP(v []byte) (*idp, bool) {
	in := cryptobyte.String(v)
	var seq cryptobyte.String
	if !in.ReadASN1(&seq, cbasn1.SEQUENCE) {
		return nil, false
	}
	out := &idp{}
	if seq.PeekASN1Tag(tagC0) {
		var dpn cryptobyte.String
		if !seq.ReadASN1(&dpn, tagC0) {
			return nil, false
		}
		switch {
		case dpn.PeekASN1Tag(tagC0):
			var full cryptobyte.String
			if !dpn.ReadASN1(&full, tagC0) {
				return nil, false
			}
			for !full.Empty() {
				var gn cryptobyte.String
				if !full.ReadAnyASN1Element(&gn, nil) {
					return nil, false
				}
				out.names = append(out.names, string(gn))
			}
		case dpn.PeekASN1Tag(tagC1):
			out.relative = true
		}
	}
	flag := func(tag cbasn1.Tag, dst *bool) bool {
		if !seq.PeekASN1Tag(tag) {
			return true
		}
		var b cryptobyte.String
		if !seq.ReadASN1(&b, tag) || len(b) != 1 {
			return false
		}
		*dst = b[0] != 0
		return true
	}
	if !flag(cbasn1.Tag(1).ContextSpecific(), &out.userOnly) || !flag(cbasn1.Tag(2).ContextSpecific(), &out.caOnly) {
		return nil, false
	}
	if seq.PeekASN1Tag(cbasn1.Tag(3).ContextSpecific()) {
		var r cryptobyte.String
		if !seq.ReadASN1(&r, cbasn1.Tag(3).ContextSpecific()) {
			return nil, false
		}
		out.someReasons = true
	}
	if !flag(cbasn1.Tag(4).ContextSpecific(), &out.indirect) || !flag(cbasn1.Tag(5).ContextSpecific(), &out.attrOnly) || !seq.Empty() {
		return nil, false
	}
	return out, true
}

// certDPNames returns the raw GeneralName elements of the full names in
// c's CRL distribution points, and whether any point names another CRL
// issuer.
func certDPNames(c *x509.Certificate) (names []string, otherIssuer bool) {
	v, ok := extValue(c.Extensions, oidExtCRLDistPoints)
	if !ok {
		return nil, false
	}
	in := cryptobyte.String(v)
	var dps cryptobyte.String
	if !in.ReadASN1(&dps, cbasn1.SEQUENCE) {
		return nil, false
	}
	for !dps.Empty() {
		var dp cryptobyte.String
		if !dps.ReadASN1(&dp, cbasn1.SEQUENCE) {
			return names, otherIssuer
		}
		if dp.PeekASN1Tag(tagC0) {
			var dpn, full cryptobyte.String
			if dp.ReadASN1(&dpn, tagC0) && dpn.PeekASN1Tag(tagC0) && dpn.ReadASN1(&full, tagC0) {
				for !full.Empty() {
					var gn cryptobyte.String
					if !full.ReadAnyASN1Element(&gn, nil) {
						break
					}
					names = append(names, string(gn))
				}
			}
		}
		dp.SkipOptionalASN1(cbasn1.Tag(1).ContextSpecific().Constructed())
		if dp.PeekASN1Tag(tagC2) {
			otherIssuer = true
		}
	}
	return names, otherIssuer
}

// idpCovers says why crl's scope leaves c out, or "".
func idpCovers(crl *x509.RevocationList, c *x509.Certificate) string {
	names, otherIssuer := certDPNames(c)
	if otherIssuer {
		return "is not the one the certificate names (an indirect CRL)"
	}
	raw, ok := extValue(crl.Extensions, oidExtIssuingDistPoint)
	if !ok {
		return ""
	}
	d, ok := parseIDP(raw)
	switch {
	case !ok:
		return "has a malformed distribution point"
	case d.indirect:
		return "is an indirect CRL, which sikkermail does not use"
	case d.someReasons:
		return "covers only some reasons for revocation"
	case d.attrOnly:
		return "covers attribute certificates only"
	case d.userOnly && c.BasicConstraintsValid && c.IsCA:
		return "covers end certificates only"
	case d.caOnly && !(c.BasicConstraintsValid && c.IsCA):
		return "covers CA certificates only"
	case d.relative:
		return "names its distribution point in a form sikkermail does not read"
	}
	if len(d.names) > 0 {
		for _, n := range names {
			for _, m := range d.names {
				if n == m {
					return ""
				}
			}
		}
		return "is for another distribution point than the certificate's"
	}
	return ""
}

// sameScope reports whether two CRLs have the same issuingDistributionPoint.
func sameScope(a, b *x509.RevocationList) bool {
	va, _ := extValue(a.Extensions, oidExtIssuingDistPoint)
	vb, _ := extValue(b.Extensions, oidExtIssuingDistPoint)
	return bytes.Equal(va, vb)
}

// deltaBase is the BaseCRLNumber of a delta CRL.
func deltaBase(crl *x509.RevocationList) *big.Int {
	v, ok := extValue(crl.Extensions, oidExtDeltaCRLIndicator)
	n := new(big.Int)
	if s := cryptobyte.String(v); !ok || !s.ReadASN1Integer(n) {
		return nil
	}
	return n
}

// extValue returns the value of the extension oid among exts, and
// whether there is one.
func extValue(exts []pkix.Extension, oid asn1.ObjectIdentifier) ([]byte, bool) {
	for _, e := range exts {
		if e.Id.Equal(oid) {
			return e.Value, true
		}
	}
	return nil, false
}

// askOCSP asks c's OCSP responder. The answer counts when it is signed by
// the issuer or by a responder certificate the issuer issued for OCSP
// signing, and is current.
func (p *Trust) askOCSP(c, issuer *x509.Certificate) revResult {
	res := revResult{status: revUnknown, cert: c}
	req, err := ocsp.CreateRequest(c, issuer, nil)
	if err != nil {
		res.why = append(res.why, "OCSP: "+err.Error())
		return res
	}
	now := p.clock()
	for _, url := range c.OCSPServer {
		body, err := p.Online.OCSP(url, req)
		if err != nil {
			res.why = append(res.why, fmt.Sprintf("%s: %v", url, err))
			continue
		}
		resp, err := ocsp.ParseResponseForCert(body, c, issuer)
		if err != nil {
			res.why = append(res.why, fmt.Sprintf("%s: %v", url, err))
			continue
		}
		if rc := resp.Certificate; rc != nil && !bytes.Equal(rc.Raw, issuer.Raw) {
			ok := now.After(rc.NotBefore) && now.Before(rc.NotAfter)
			eku := false
			for _, u := range rc.ExtKeyUsage {
				eku = eku || u == x509.ExtKeyUsageOCSPSigning
			}
			if !ok || !eku {
				res.why = append(res.why, url+": the OCSP responder's certificate may not answer for "+issuer.Subject.CommonName)
				continue
			}
		}
		if resp.ThisUpdate.After(now.Add(clockSkew)) || (!resp.NextUpdate.IsZero() && now.After(resp.NextUpdate.Add(clockSkew))) {
			res.why = append(res.why, url+": the OCSP answer is out of date")
			continue
		}
		switch resp.Status {
		case ocsp.Good:
			return revResult{status: revGood, cert: c}
		case ocsp.Revoked:
			return revResult{status: revRevoked, cert: c, when: resp.RevokedAt}
		}
		res.why = append(res.why, url+": the OCSP responder does not know the certificate")
	}
	return res
}
