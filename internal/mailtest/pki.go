package mailtest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"math/big"
	"sync/atomic"
	"time"
)

// PasswordEnv names the environment variable the simulators' throwaway
// keys and logins take their password from; NewDigitalPost sets it.
const PasswordEnv = "SIKKERMAIL_DEMO_PASSWORD"

// Password is that password.
const Password = "demo"

// Numbers are CPR and CVR numbers in each state Digital Post can give
// (Register them); any other number is unknown there.
var Numbers = []DPNumber{
	{Kind: "CPR", Number: "0101901009", Public: "REGISTERED", Registration: "AUTOMATIC_REGISTRATION"},
	{Kind: "CPR", Number: "0202801005", Public: "EXEMPT", Registration: "EXEMPT_OTHER_REASON"},
	{Kind: "CPR", Number: "0303701001", Public: "CLOSED"},
	{Kind: "CPR", Number: "0404701002", Public: "EXEMPT", Registration: "EXEMPT_LEFT_THE_COUNTRY"},
	{Kind: "CPR", Number: "0505701003"}, // about to be registered: no mailbox subscription yet
	{Kind: "CVR", Number: "12345100", Public: "REGISTERED", Registration: "AUTOMATIC_REGISTRATION", Name: "Demo Firma ApS"},
	{Kind: "CVR", Number: "87654109", Public: "CLOSED", Name: "Lukket Firma ApS"},
}

var serial atomic.Int64

// Issue signs tmpl with a fresh P-256 key, by parent (nil: itself).
func Issue(parent *x509.Certificate, parentKey crypto.Signer, tmpl *x509.Certificate) (*x509.Certificate, crypto.Signer, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl.SerialNumber = big.NewInt(time.Now().UnixNano() + serial.Add(1))
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
