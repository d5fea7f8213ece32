package smime

import (
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"sikkermail/internal/testenv"
)

// NIST's Public Key Interoperability Test Suite (testdata/pkits, see its
// README), sections 4.4 (basic revocation), 4.14 (distribution points)
// and 4.15 (delta CRLs), run against the revocation check with every
// certificate of the path required to be known not revoked.

// errRefused is a certificate Go's x509 does not parse (a negative
// serial number, a distribution point named relative to the CRL issuer):
// it can be used for nothing, so nothing is accepted.
var errRefused = errors.New("refused by crypto/x509")

func pkitsCert(t *testing.T, name string) (*x509.Certificate, error) {
	t.Helper()
	b, err := os.ReadFile(testenv.Path("testdata", "pkits", "certs", name+".crt"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", errRefused, name, err)
	}
	return c, nil
}

func pkitsCRL(t *testing.T, name string) *x509.RevocationList {
	t.Helper()
	b, err := os.ReadFile(testenv.Path("testdata", "pkits", "crls", name+".crl"))
	if err != nil {
		t.Fatal(err)
	}
	crl, err := x509.ParseRevocationList(b)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return crl
}

// Our outcomes.
const (
	good    = "good"
	revoked = "revoked"
	unknown = "unknown"  // RevocationUnknown: the status could not be had
	notGood = "not good" // PKITS says invalid; revoked or unknown are both right
	notRevd = "not revoked"
	refused = "refused" // crypto/x509 does not parse a certificate of the path
)

type pkitsCase struct {
	section string
	ee      string
	cas     []string // intermediates, the trust anchor's side first
	crls    []string // besides the trust anchor's
	valid   bool     // PKITS's verdict
	want    string   // ours
}

var pkitsCases = []pkitsCase{
	{"4.4.1", "InvalidMissingCRLTest1EE", []string{"NoCRLCACert"}, nil, false, unknown},
	{"4.4.2", "InvalidRevokedCATest2EE", []string{"GoodCACert", "RevokedsubCACert"}, []string{"GoodCACRL", "RevokedsubCACRL"}, false, revoked},
	{"4.4.3", "InvalidRevokedEETest3EE", []string{"GoodCACert"}, []string{"GoodCACRL"}, false, revoked},
	{"4.4.4", "InvalidBadCRLSignatureTest4EE", []string{"BadCRLSignatureCACert"}, []string{"BadCRLSignatureCACRL"}, false, unknown},
	{"4.4.5", "InvalidBadCRLIssuerNameTest5EE", []string{"BadCRLIssuerNameCACert"}, []string{"BadCRLIssuerNameCACRL"}, false, unknown},
	{"4.4.6", "InvalidWrongCRLTest6EE", []string{"WrongCRLCACert"}, []string{"WrongCRLCACRL"}, false, unknown},
	{"4.4.7", "ValidTwoCRLsTest7EE", []string{"TwoCRLsCACert"}, []string{"TwoCRLsCAGoodCRL", "TwoCRLsCABadCRL"}, true, good},
	{"4.4.8", "InvalidUnknownCRLEntryExtensionTest8EE", []string{"UnknownCRLEntryExtensionCACert"}, []string{"UnknownCRLEntryExtensionCACRL"}, false, unknown},
	{"4.4.9", "InvalidUnknownCRLExtensionTest9EE", []string{"UnknownCRLExtensionCACert"}, []string{"UnknownCRLExtensionCACRL"}, false, unknown},
	{"4.4.10", "InvalidUnknownCRLExtensionTest10EE", []string{"UnknownCRLExtensionCACert"}, []string{"UnknownCRLExtensionCACRL"}, false, unknown},
	{"4.4.11", "InvalidOldCRLnextUpdateTest11EE", []string{"OldCRLnextUpdateCACert"}, []string{"OldCRLnextUpdateCACRL"}, false, unknown},
	{"4.4.12", "Invalidpre2000CRLnextUpdateTest12EE", []string{"pre2000CRLnextUpdateCACert"}, []string{"pre2000CRLnextUpdateCACRL"}, false, unknown},
	{"4.4.13", "ValidGeneralizedTimeCRLnextUpdateTest13EE", []string{"GeneralizedTimeCRLnextUpdateCACert"}, []string{"GeneralizedTimeCRLnextUpdateCACRL"}, true, good},
	{"4.4.14", "ValidNegativeSerialNumberTest14EE", []string{"NegativeSerialNumberCACert"}, []string{"NegativeSerialNumberCACRL"}, true, good},
	{"4.4.15", "InvalidNegativeSerialNumberTest15EE", []string{"NegativeSerialNumberCACert"}, []string{"NegativeSerialNumberCACRL"}, false, refused},
	{"4.4.16", "ValidLongSerialNumberTest16EE", []string{"LongSerialNumberCACert"}, []string{"LongSerialNumberCACRL"}, true, good},
	{"4.4.17", "ValidLongSerialNumberTest17EE", []string{"LongSerialNumberCACert"}, []string{"LongSerialNumberCACRL"}, true, good},
	{"4.4.18", "InvalidLongSerialNumberTest18EE", []string{"LongSerialNumberCACert"}, []string{"LongSerialNumberCACRL"}, false, revoked},
	{"4.4.19", "ValidSeparateCertificateandCRLKeysTest19EE", []string{"SeparateCertificateandCRLKeysCertificateSigningCACert", "SeparateCertificateandCRLKeysCRLSigningCert"},
		[]string{"SeparateCertificateandCRLKeysCRL"}, true, good},
	{"4.4.20", "InvalidSeparateCertificateandCRLKeysTest20EE", []string{"SeparateCertificateandCRLKeysCertificateSigningCACert", "SeparateCertificateandCRLKeysCRLSigningCert"},
		[]string{"SeparateCertificateandCRLKeysCRL"}, false, revoked},
	{"4.4.21", "InvalidSeparateCertificateandCRLKeysTest21EE", []string{"SeparateCertificateandCRLKeysCA2CertificateSigningCACert", "SeparateCertificateandCRLKeysCA2CRLSigningCert"},
		[]string{"SeparateCertificateandCRLKeysCA2CRL"}, false, notGood},

	{"4.14.1", "ValiddistributionPointTest1EE", []string{"distributionPoint1CACert"}, []string{"distributionPoint1CACRL"}, true, good},
	{"4.14.2", "InvaliddistributionPointTest2EE", []string{"distributionPoint1CACert"}, []string{"distributionPoint1CACRL"}, false, revoked},
	{"4.14.3", "InvaliddistributionPointTest3EE", []string{"distributionPoint1CACert"}, []string{"distributionPoint1CACRL"}, false, unknown},
	// Go's x509 refuses a distribution point named relative to the CRL
	// issuer (and a negative serial number, 4.4.15): such a certificate
	// is accepted for nothing.
	{"4.14.4", "ValiddistributionPointTest4EE", []string{"distributionPoint1CACert"}, []string{"distributionPoint1CACRL"}, true, refused},
	{"4.14.5", "ValiddistributionPointTest5EE", []string{"distributionPoint2CACert"}, []string{"distributionPoint2CACRL"}, true, refused},
	{"4.14.6", "InvaliddistributionPointTest6EE", []string{"distributionPoint2CACert"}, []string{"distributionPoint2CACRL"}, false, refused},
	{"4.14.7", "ValiddistributionPointTest7EE", []string{"distributionPoint2CACert"}, []string{"distributionPoint2CACRL"}, true, notRevd},
	{"4.14.8", "InvaliddistributionPointTest8EE", []string{"distributionPoint2CACert"}, []string{"distributionPoint2CACRL"}, false, notGood},
	{"4.14.9", "InvaliddistributionPointTest9EE", []string{"distributionPoint2CACert"}, []string{"distributionPoint2CACRL"}, false, notGood},
	{"4.14.10", "ValidNoissuingDistributionPointTest10EE", []string{"NoissuingDistributionPointCACert"}, []string{"NoissuingDistributionPointCACRL"}, true, good},
	{"4.14.11", "InvalidonlyContainsUserCertsTest11EE", []string{"onlyContainsUserCertsCACert"}, []string{"onlyContainsUserCertsCACRL"}, false, unknown},
	{"4.14.12", "InvalidonlyContainsCACertsTest12EE", []string{"onlyContainsCACertsCACert"}, []string{"onlyContainsCACertsCACRL"}, false, unknown},
	{"4.14.13", "ValidonlyContainsCACertsTest13EE", []string{"onlyContainsCACertsCACert"}, []string{"onlyContainsCACertsCACRL"}, true, good},
	{"4.14.14", "InvalidonlyContainsAttributeCertsTest14EE", []string{"onlyContainsAttributeCertsCACert"}, []string{"onlyContainsAttributeCertsCACRL"}, false, unknown},
	// CRLs for some reasons only are not used: unknown.
	{"4.14.15", "InvalidonlySomeReasonsTest15EE", []string{"onlySomeReasonsCA1Cert"}, []string{"onlySomeReasonsCA1compromiseCRL", "onlySomeReasonsCA1otherreasonsCRL"}, false, unknown},
	{"4.14.16", "InvalidonlySomeReasonsTest16EE", []string{"onlySomeReasonsCA1Cert"}, []string{"onlySomeReasonsCA1compromiseCRL", "onlySomeReasonsCA1otherreasonsCRL"}, false, unknown},
	{"4.14.17", "InvalidonlySomeReasonsTest17EE", []string{"onlySomeReasonsCA2Cert"}, []string{"onlySomeReasonsCA2CRL1", "onlySomeReasonsCA2CRL2"}, false, unknown},
	{"4.14.18", "ValidonlySomeReasonsTest18EE", []string{"onlySomeReasonsCA3Cert"}, []string{"onlySomeReasonsCA3compromiseCRL", "onlySomeReasonsCA3otherreasonsCRL"}, true, unknown},
	{"4.14.19", "ValidonlySomeReasonsTest19EE", []string{"onlySomeReasonsCA4Cert"}, []string{"onlySomeReasonsCA4compromiseCRL", "onlySomeReasonsCA4otherreasonsCRL"}, true, unknown},
	{"4.14.20", "InvalidonlySomeReasonsTest20EE", []string{"onlySomeReasonsCA4Cert"}, []string{"onlySomeReasonsCA4compromiseCRL", "onlySomeReasonsCA4otherreasonsCRL"}, false, unknown},
	{"4.14.21", "InvalidonlySomeReasonsTest21EE", []string{"onlySomeReasonsCA4Cert"}, []string{"onlySomeReasonsCA4compromiseCRL", "onlySomeReasonsCA4otherreasonsCRL"}, false, unknown},
	// Indirect CRLs and CRL issuers other than the certificate's issuer
	// are not used: unknown, never good.
	{"4.14.22", "ValidIDPwithindirectCRLTest22EE", []string{"indirectCRLCA1Cert"}, []string{"indirectCRLCA1CRL"}, true, unknown},
	{"4.14.23", "InvalidIDPwithindirectCRLTest23EE", []string{"indirectCRLCA1Cert"}, []string{"indirectCRLCA1CRL"}, false, notGood},
	{"4.14.24", "ValidIDPwithindirectCRLTest24EE", []string{"indirectCRLCA1Cert", "indirectCRLCA2Cert"}, []string{"indirectCRLCA1CRL"}, true, unknown},
	{"4.14.25", "ValidIDPwithindirectCRLTest25EE", []string{"indirectCRLCA1Cert", "indirectCRLCA2Cert"}, []string{"indirectCRLCA1CRL"}, true, unknown},
	{"4.14.26", "InvalidIDPwithindirectCRLTest26EE", []string{"indirectCRLCA1Cert", "indirectCRLCA2Cert"}, []string{"indirectCRLCA1CRL"}, false, notGood},
	{"4.14.27", "InvalidcRLIssuerTest27EE", []string{"GoodCACert", "indirectCRLCA2Cert"}, []string{"GoodCACRL"}, false, notGood},
	{"4.14.28", "ValidcRLIssuerTest28EE", []string{"indirectCRLCA3Cert", "indirectCRLCA3cRLIssuerCert"}, []string{"indirectCRLCA3CRL", "indirectCRLCA3cRLIssuerCRL"}, true, notRevd},
	{"4.14.29", "ValidcRLIssuerTest29EE", []string{"indirectCRLCA3Cert", "indirectCRLCA3cRLIssuerCert"}, []string{"indirectCRLCA3CRL", "indirectCRLCA3cRLIssuerCRL"}, true, refused},
	{"4.14.30", "ValidcRLIssuerTest30EE", []string{"indirectCRLCA4Cert", "indirectCRLCA4cRLIssuerCert"}, []string{"indirectCRLCA4cRLIssuerCRL"}, true, notRevd},
	{"4.14.31", "InvalidcRLIssuerTest31EE", []string{"indirectCRLCA5Cert", "indirectCRLCA6Cert"}, []string{"indirectCRLCA5CRL"}, false, notGood},
	{"4.14.32", "InvalidcRLIssuerTest32EE", []string{"indirectCRLCA5Cert", "indirectCRLCA6Cert"}, []string{"indirectCRLCA5CRL"}, false, notGood},
	{"4.14.33", "ValidcRLIssuerTest33EE", []string{"indirectCRLCA5Cert", "indirectCRLCA6Cert"}, []string{"indirectCRLCA5CRL"}, true, notRevd},
	{"4.14.34", "InvalidcRLIssuerTest34EE", []string{"indirectCRLCA5Cert"}, []string{"indirectCRLCA5CRL"}, false, notGood},
	{"4.14.35", "InvalidcRLIssuerTest35EE", []string{"indirectCRLCA5Cert", "indirectCRLCA6Cert"}, []string{"indirectCRLCA5CRL"}, false, notGood},

	{"4.15.1", "InvaliddeltaCRLIndicatorNoBaseTest1EE", []string{"deltaCRLIndicatorNoBaseCACert"}, []string{"deltaCRLIndicatorNoBaseCACRL"}, false, unknown},
	{"4.15.2", "ValiddeltaCRLTest2EE", []string{"deltaCRLCA1Cert"}, []string{"deltaCRLCA1CRL", "deltaCRLCA1deltaCRL"}, true, good},
	{"4.15.3", "InvaliddeltaCRLTest3EE", []string{"deltaCRLCA1Cert"}, []string{"deltaCRLCA1CRL", "deltaCRLCA1deltaCRL"}, false, revoked},
	{"4.15.4", "InvaliddeltaCRLTest4EE", []string{"deltaCRLCA1Cert"}, []string{"deltaCRLCA1CRL", "deltaCRLCA1deltaCRL"}, false, revoked},
	{"4.15.5", "ValiddeltaCRLTest5EE", []string{"deltaCRLCA1Cert"}, []string{"deltaCRLCA1CRL", "deltaCRLCA1deltaCRL"}, true, good},
	{"4.15.6", "InvaliddeltaCRLTest6EE", []string{"deltaCRLCA1Cert"}, []string{"deltaCRLCA1CRL", "deltaCRLCA1deltaCRL"}, false, revoked},
	{"4.15.7", "ValiddeltaCRLTest7EE", []string{"deltaCRLCA1Cert"}, []string{"deltaCRLCA1CRL", "deltaCRLCA1deltaCRL"}, true, good},
	{"4.15.8", "ValiddeltaCRLTest8EE", []string{"deltaCRLCA2Cert"}, []string{"deltaCRLCA2CRL", "deltaCRLCA2deltaCRL"}, true, good},
	{"4.15.9", "InvaliddeltaCRLTest9EE", []string{"deltaCRLCA2Cert"}, []string{"deltaCRLCA2CRL", "deltaCRLCA2deltaCRL"}, false, revoked},
	{"4.15.10", "InvaliddeltaCRLTest10EE", []string{"deltaCRLCA3Cert"}, []string{"deltaCRLCA3CRL", "deltaCRLCA3deltaCRL"}, false, unknown},
}

func TestPKITSRevocation(t *testing.T) {
	anchor, err := pkitsCert(t, "TrustAnchorRootCertificate")
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(anchor)
	// PKITS's certificates and CRLs are valid from 2010 to 2030.
	at := time.Date(2020, 6, 15, 0, 0, 0, 0, time.UTC)
	for _, tc := range pkitsCases {
		if !tc.valid && (tc.want == good || tc.want == notRevd) {
			t.Fatalf("%s: the table calls good what PKITS calls invalid", tc.section)
		}
		if tc.valid && (tc.want == revoked || tc.want == notGood) {
			t.Fatalf("%s: the table calls revoked what PKITS calls valid", tc.section)
		}
		t.Run(tc.section, func(t *testing.T) {
			ee, err := pkitsCert(t, tc.ee)
			inter := x509.NewCertPool()
			var extra []*x509.Certificate
			for _, n := range tc.cas {
				c, cerr := pkitsCert(t, n)
				if cerr != nil {
					err = cerr
					continue
				}
				inter.AddCert(c)
				extra = append(extra, c)
			}
			if (err != nil) != (tc.want == refused) {
				t.Fatalf("%v, want %s", err, tc.want)
			}
			if err != nil {
				return
			}
			crls := []*x509.RevocationList{pkitsCRL(t, "TrustAnchorRootCRL")}
			for _, n := range tc.crls {
				crls = append(crls, pkitsCRL(t, n))
			}
			chains, err := ee.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: at, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
			if err != nil {
				// The path itself does not hold (a CA's key may not sign
				// certificates, say): nothing is valid, as PKITS would have it
				// for an invalid test.
				if tc.valid {
					t.Fatalf("path: %v", err)
				}
				return
			}
			p := &Trust{Roots: roots, Time: at, CRLs: crls, Revocation: RevocationRequire}
			_, err = p.revoked(ee, chains, nil, extra, nil)
			got := good
			switch reasonOf(err) {
			case CertRevoked:
				got = revoked
			case RevocationUnknown:
				got = unknown
			case "":
			default:
				t.Fatalf("error %v", err)
			}
			ok := got == tc.want || tc.want == notGood && got != good || tc.want == notRevd && got != revoked
			if !ok {
				t.Errorf("%s: %s (%v), want %s", tc.ee, got, err, tc.want)
			}
			if got == unknown && !strings.Contains(err.Error(), "revocation_unknown") {
				t.Errorf("%v", err)
			}
		})
	}
}
