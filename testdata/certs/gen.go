//go:build ignore

// Command gen writes the test PKI that the S/MIME, keystore and directory
// tests use: a root CA, mailbox and recipient certificates (RSA and EC),
// and deliberately broken ones (expired, not yet valid, wrong usage, short
// key, untrusted, revoked), each as cert PEM and PKCS#8 key PEM. gen.sh
// runs it and then makes the PKCS#12 files with openssl.
//
//	cd testdata/certs && ./gen.sh
package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"log"
	"math/big"
	"os"
	"time"
)

var (
	oidOrganizationIdentifier = asn1.ObjectIdentifier{2, 5, 4, 97}
	oidEmailAddress           = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 1}
	serial                    int64
)

type spec struct {
	name      string
	email     string
	subject   pkix.Name
	key       string // rsa2048, rsa1024, p256
	notBefore time.Time
	notAfter  time.Time
	eku       []x509.ExtKeyUsage
	ku        x509.KeyUsage
	issuer    string // "ca" or "rogue"
	extra     []pkix.AttributeTypeAndValue
}

type issued struct {
	cert *x509.Certificate
	key  crypto.Signer
}

func newKey(kind string) crypto.Signer {
	var k crypto.Signer
	var err error
	switch kind {
	case "rsa2048":
		k, err = rsa.GenerateKey(rand.Reader, 2048)
	case "rsa1024":
		k, err = rsa.GenerateKey(rand.Reader, 1024)
	case "p256":
		k, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	default:
		log.Fatalf("unknown key %s", kind)
	}
	if err != nil {
		log.Fatal(err)
	}
	return k
}

func ski(pub crypto.PublicKey) []byte {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		log.Fatal(err)
	}
	var spki struct {
		Algo      pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(der, &spki); err != nil {
		log.Fatal(err)
	}
	h := sha1.Sum(spki.PublicKey.Bytes)
	return h[:]
}

func write(name, typ string, der []byte) {
	f, err := os.Create(name)
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	if err := pem.Encode(f, &pem.Block{Type: typ, Bytes: der}); err != nil {
		log.Fatal(err)
	}
}

func makeCA(name, cn string, key crypto.Signer) issued {
	serial++
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(serial),
		Subject:               pkix.Name{Country: []string{"DK"}, Organization: []string{"Sikkermail Test"}, CommonName: cn},
		NotBefore:             time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:              time.Date(2049, 12, 31, 0, 0, 0, 0, time.UTC),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		SubjectKeyId:          ski(key.Public()),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		log.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	write(name+".pem", "CERTIFICATE", der)
	writeKey(name, key)
	return issued{cert, key}
}

func writeKey(name string, key crypto.Signer) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		log.Fatal(err)
	}
	write(name+".key", "PRIVATE KEY", der)
}

func main() {
	valid := [2]time.Time{time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2045, 1, 1, 0, 0, 0, 0, time.UTC)}
	ca := makeCA("ca", "Sikkermail Test Root CA", newKey("rsa2048"))
	rogue := makeCA("rogue-ca", "Rogue Test CA", newKey("rsa2048"))
	cas := map[string]issued{"ca": ca, "rogue": rogue}

	email := x509.ExtKeyUsageEmailProtection
	sign := x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment
	rsaKU := sign | x509.KeyUsageKeyEncipherment
	ecKU := sign | x509.KeyUsageKeyAgreement
	org := func(cn, o, cvr string) pkix.Name {
		n := pkix.Name{Country: []string{"DK"}, Organization: []string{o}, CommonName: cn}
		if cvr != "" {
			n.ExtraNames = []pkix.AttributeTypeAndValue{{Type: oidOrganizationIdentifier, Value: "NTRDK-" + cvr}}
		}
		return n
	}
	specs := []spec{
		// The demo institution's secure mailboxes (OCES3-style subjects).
		{name: "mailbox-rsa", email: "sikkerpost-uddservice@hoejskole.example", subject: org("Sikkerpost-uddservice", "Demo Professionshøjskole", "29403473"), key: "rsa2048", ku: rsaKU},
		{name: "mailbox-ec", email: "sikkerpost-hr@hoejskole.example", subject: org("Sikkerpost-hr", "Demo Professionshøjskole", "29403473"), key: "p256", ku: ecKU},
		// External recipients.
		{name: "recipient-rsa", email: "jens.hansen@kommune.example", subject: org("Jens Hansen", "Demo Kommune", "55133018"), key: "rsa2048", ku: rsaKU},
		{name: "recipient-ec", email: "post@firma.example", subject: org("Firma Postkasse", "Demo Firma ApS", "13585628"), key: "p256", ku: ecKU},
		// An OCES2-style subject: CVR and FID in the serialNumber.
		{name: "oces2", email: "sikkermail@region.example", subject: pkix.Name{Country: []string{"DK"}, Organization: []string{"Demo Region // CVR:35954716"}, CommonName: "Region Sikkermail", SerialNumber: "CVR:35954716-FID:94731315"}, key: "rsa2048", ku: rsaKU},
		// Broken ones.
		{name: "expired", email: "expired@kommune.example", subject: org("Expired", "Demo Kommune", ""), key: "rsa2048", ku: rsaKU,
			notBefore: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), notAfter: time.Date(2022, 1, 1, 0, 0, 0, 0, time.UTC)},
		{name: "notyet", email: "notyet@kommune.example", subject: org("Not Yet", "Demo Kommune", ""), key: "rsa2048", ku: rsaKU,
			notBefore: time.Date(2046, 1, 1, 0, 0, 0, 0, time.UTC), notAfter: time.Date(2048, 1, 1, 0, 0, 0, 0, time.UTC)},
		{name: "wrong-eku", email: "tls@kommune.example", subject: org("TLS Only", "Demo Kommune", ""), key: "rsa2048", ku: rsaKU, eku: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}},
		{name: "short-key", email: "short@kommune.example", subject: org("Short Key", "Demo Kommune", ""), key: "rsa1024", ku: rsaKU},
		{name: "untrusted", email: "rogue@kommune.example", subject: org("Rogue", "Rogue", ""), key: "rsa2048", ku: rsaKU, issuer: "rogue"},
		{name: "revoked", email: "revoked@kommune.example", subject: org("Revoked", "Demo Kommune", ""), key: "rsa2048", ku: rsaKU},
		// A second, valid certificate for jens.hansen: several certificates per address.
		{name: "recipient-rsa-2", email: "jens.hansen@kommune.example", subject: org("Jens Hansen", "Demo Kommune", "55133018"), key: "rsa2048", ku: rsaKU},
		// The user who sends on behalf of a mailbox (no certificate needed, but handy).
		{name: "user", email: "medarbejder@hoejskole.example", subject: org("Demo Medarbejder", "Demo Professionshøjskole", "29403473"), key: "rsa2048", ku: rsaKU},
	}
	var revoked []x509.RevocationListEntry
	for _, s := range specs {
		if s.notBefore.IsZero() {
			s.notBefore, s.notAfter = valid[0], valid[1]
		}
		if s.eku == nil {
			s.eku = []x509.ExtKeyUsage{email}
		}
		if s.issuer == "" {
			s.issuer = "ca"
		}
		iss := cas[s.issuer]
		key := newKey(s.key)
		serial++
		subj := s.subject
		subj.ExtraNames = append(subj.ExtraNames, pkix.AttributeTypeAndValue{Type: oidEmailAddress, Value: s.email})
		tmpl := &x509.Certificate{
			SerialNumber:   big.NewInt(serial),
			Subject:        subj,
			NotBefore:      s.notBefore,
			NotAfter:       s.notAfter,
			KeyUsage:       s.ku,
			ExtKeyUsage:    s.eku,
			EmailAddresses: []string{s.email},
			SubjectKeyId:   ski(key.Public()),
			AuthorityKeyId: iss.cert.SubjectKeyId,
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, iss.cert, key.Public(), iss.key)
		if err != nil {
			log.Fatalf("%s: %v", s.name, err)
		}
		write(s.name+".pem", "CERTIFICATE", der)
		writeKey(s.name, key)
		if s.name == "revoked" {
			revoked = append(revoked, x509.RevocationListEntry{SerialNumber: big.NewInt(serial), RevocationTime: valid[0].AddDate(0, 6, 0)})
		}
	}
	crl, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
		Number:                    big.NewInt(1),
		ThisUpdate:                valid[0],
		NextUpdate:                valid[1],
		RevokedCertificateEntries: revoked,
	}, ca.cert, ca.key)
	if err != nil {
		log.Fatal(err)
	}
	write("ca.crl", "X509 CRL", crl)
}
