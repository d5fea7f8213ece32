package smime

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// issue makes a certificate for addr by the test CA, valid from nb to na.
func issue(t *testing.T, addr string, nb, na time.Time) Identity {
	t.Helper()
	ca, caKey := testCert(t, "ca")
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{
		SerialNumber:   big.NewInt(time.Now().UnixNano()),
		Subject:        pkix.Name{CommonName: addr},
		NotBefore:      nb,
		NotAfter:       na,
		KeyUsage:       x509.KeyUsageDigitalSignature | x509.KeyUsageKeyAgreement,
		ExtKeyUsage:    []x509.ExtKeyUsage{x509.ExtKeyUsageEmailProtection},
		EmailAddresses: []string{addr},
	}, ca, key.Public(), caKey)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return Identity{Cert: c, Key: key}
}

// TestJudgeAtSigningTime: a signature made while the certificate was
// valid stays valid after it expires, said so; a signing time the
// certificate, the clock or the arrival rules out does not count.
func TestJudgeAtSigningTime(t *testing.T) {
	day := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 12, 0, 0, 0, time.UTC) }
	id := issue(t, "tidligere@kommune.example", day(2025, 1, 1), day(2025, 12, 31))
	now := day(2026, 11, 1)
	sign := func(at time.Time) []byte {
		der, err := Sign(mimeEntity, id, SignOptions{Time: at})
		if err != nil {
			t.Fatal(err)
		}
		return der
	}
	base := testPolicy(t)
	base.Time = now
	for _, tc := range []struct {
		name    string
		signed  time.Time
		at      Judge
		arrived time.Time
		want    Reason // "" is valid, with ExpiredSince set
	}{
		{"valid when signed", day(2025, 6, 1), JudgeBoth, time.Time{}, ""},
		{"valid when signed, arrived after", day(2025, 6, 1), JudgeBoth, day(2025, 6, 2), ""},
		{"judged now only", day(2025, 6, 1), JudgeNow, time.Time{}, CertExpired},
		{"judged at signing only", day(2025, 6, 1), JudgeSigning, time.Time{}, ""},
		{"signing time after arrival", day(2025, 6, 1), JudgeBoth, day(2025, 5, 1), CertExpired},
		{"signed after the certificate expired", day(2026, 3, 1), JudgeBoth, time.Time{}, CertExpired},
		{"signing time in the future", day(2027, 1, 1), JudgeBoth, time.Time{}, CertExpired},
	} {
		p := *base
		p.At, p.Arrived = tc.at, tc.arrived
		v, err := Verify(sign(tc.signed), nil, &p)
		if reasonOf(err) != tc.want {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
			continue
		}
		if tc.want == "" {
			s := v.Signers[0]
			if (s.ExpiredSince == nil) != (tc.at == JudgeSigning) || (s.ExpiredSince != nil && reasonOf(s.ExpiredSince) != CertExpired) {
				t.Errorf("%s: ExpiredSince %v", tc.name, s.ExpiredSince)
			}
		}
	}
}

// TestVerifyPSS: RSASSA-PSS signatures from openssl (as Outlook can
// send them) verify, opaque and detached.
func TestVerifyPSS(t *testing.T) {
	p := testPolicy(t)
	dir := t.TempDir()
	in := filepath.Join(dir, "entity")
	os.WriteFile(in, mimeEntity, 0o600)
	for _, detached := range []bool{false, true} {
		args := []string{"cms", "-sign", "-binary", "-in", in, "-signer", certPath("mailbox-rsa"), "-inkey", keyPath("mailbox-rsa"),
			"-md", "sha256", "-keyopt", "rsa_padding_mode:pss", "-outform", "DER"}
		var content []byte
		if detached {
			content = mimeEntity
		} else {
			args = append(args, "-nodetach")
		}
		der := openssl(t, nil, args...)
		v, err := Verify(der, content, p)
		if err != nil {
			t.Fatalf("detached %v: %v", detached, err)
		}
		if v.Signers[0].Signature != "RSASSA-PSS" {
			t.Errorf("signature %q", v.Signers[0].Signature)
		}
	}
	// PSS with SHA-1 everywhere (its defaults) is refused, by name.
	if _, err := pssOptions([]byte{0x30, 0x00}, 0); err == nil {
		t.Error("PSS with default (SHA-1) parameters accepted")
	}
}

// attr is one signed attribute with values, as a test writes it.
func attr(oid []int, values ...func(*cryptobyte.Builder)) func(*cryptobyte.Builder) {
	return func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1ObjectIdentifier(oid)
			b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
				for _, v := range values {
					v(b)
				}
			})
		})
	}
}

// TestSignedAttributes: what openssl refuses in signed attributes, we
// refuse: a type twice, two values, a signing time that does not parse.
func TestSignedAttributes(t *testing.T) {
	ct := func(b *cryptobyte.Builder) { b.AddASN1ObjectIdentifier(oidData) }
	md := func(b *cryptobyte.Builder) { b.AddASN1OctetString(make([]byte, 32)) }
	goodTime := func(b *cryptobyte.Builder) { b.AddASN1UTCTime(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)) }
	badTime := func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.UTCTime, func(b *cryptobyte.Builder) { b.AddBytes([]byte("26010203")) })
	}
	intTime := func(b *cryptobyte.Builder) { b.AddASN1Int64(1) }
	set := func(attrs ...func(*cryptobyte.Builder)) cryptobyte.String {
		b := cryptobyte.NewBuilder(nil)
		for _, a := range attrs {
			a(b)
		}
		return cryptobyte.String(b.BytesOrPanic())
	}
	for _, tc := range []struct {
		name string
		in   cryptobyte.String
		ok   bool
	}{
		{"good", set(attr(oidAttrContentType, ct), attr(oidAttrSigningTime, goodTime), attr(oidAttrMessageDigest, md)), true},
		{"content type twice", set(attr(oidAttrContentType, ct), attr(oidAttrContentType, ct), attr(oidAttrMessageDigest, md)), false},
		{"two content types in one", set(attr(oidAttrContentType, ct, ct), attr(oidAttrMessageDigest, md)), false},
		{"two digests", set(attr(oidAttrContentType, ct), attr(oidAttrMessageDigest, md, md)), false},
		{"no value", set(attr(oidAttrContentType), attr(oidAttrMessageDigest, md)), false},
		{"malformed signing time", set(attr(oidAttrContentType, ct), attr(oidAttrSigningTime, badTime), attr(oidAttrMessageDigest, md)), false},
		{"signing time not a time", set(attr(oidAttrContentType, ct), attr(oidAttrSigningTime, intTime), attr(oidAttrMessageDigest, md)), false},
		{"no digest", set(attr(oidAttrContentType, ct)), false},
	} {
		a, err := readSignedAttributes(tc.in)
		if (err == nil) != tc.ok {
			t.Errorf("%s: %v", tc.name, err)
		}
		if tc.ok && a.signingTime.IsZero() {
			t.Errorf("%s: no signing time", tc.name)
		}
		if err != nil && reasonOf(err) != Malformed {
			t.Errorf("%s: reason %v", tc.name, err)
		}
	}
}

// signWithAttributes is a SignedData over content signed by id with the
// given signed attributes, as a careless or hostile signer writes it.
func signWithAttributes(t *testing.T, id Identity, content []byte, attrs ...func(*cryptobyte.Builder)) []byte {
	t.Helper()
	b := cryptobyte.NewBuilder(nil)
	b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
		for _, a := range attrs {
			a(b)
		}
	})
	set := b.BytesOrPanic()
	sum := sha256.Sum256(set)
	sig, err := id.Key.Sign(rand.Reader, sum[:], crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	der, err := contentInfo(oidSignedData, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1Int64(1)
			b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) { addAlgorithm(b, algorithm{oid: oidSHA256}) })
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1ObjectIdentifier(oidData)
				b.AddASN1(tagC0, func(b *cryptobyte.Builder) { b.AddASN1OctetString(content) })
			})
			b.AddASN1(tagC0, func(b *cryptobyte.Builder) { b.AddBytes(id.Cert.Raw) })
			b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
					b.AddASN1Int64(1)
					addIssuerAndSerial(b, id.Cert)
					addAlgorithm(b, algorithm{oid: oidSHA256})
					b.AddBytes(append([]byte{0xa0}, set[1:]...))
					addAlgorithm(b, algorithm{oid: oidECDSAWithSHA256})
					b.AddASN1OctetString(sig)
				})
			})
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// TestSignedAttributesLikeOpenSSL: a validly signed SignedData whose
// signed attributes break RFC 5652's counts (a type twice, two values)
// is refused by openssl and by us alike, and the well-formed control
// passes both. A signing time that is no time at all we refuse too;
// openssl 3.0 does not look at its form.
func TestSignedAttributesLikeOpenSSL(t *testing.T) {
	id := testIdentity(t, "mailbox-ec")
	sum := sha256.Sum256(mimeEntity)
	ct := attr(oidAttrContentType, func(b *cryptobyte.Builder) { b.AddASN1ObjectIdentifier(oidData) })
	md := attr(oidAttrMessageDigest, func(b *cryptobyte.Builder) { b.AddASN1OctetString(sum[:]) })
	st := attr(oidAttrSigningTime, func(b *cryptobyte.Builder) { b.AddASN1UTCTime(time.Date(2026, 10, 1, 12, 0, 0, 0, time.UTC)) })
	badST := attr(oidAttrSigningTime, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.UTCTime, func(b *cryptobyte.Builder) { b.AddBytes([]byte("2610011200")) })
	})
	intST := attr(oidAttrSigningTime, func(b *cryptobyte.Builder) { b.AddASN1Int64(1) })
	twoST := attr(oidAttrSigningTime, func(b *cryptobyte.Builder) { b.AddASN1UTCTime(time.Date(2026, 10, 1, 12, 0, 0, 0, time.UTC)) },
		func(b *cryptobyte.Builder) { b.AddASN1UTCTime(time.Date(2026, 10, 2, 12, 0, 0, 0, time.UTC)) })
	garbageST := attr(oidAttrSigningTime, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.UTCTime, func(b *cryptobyte.Builder) { b.AddBytes([]byte("not a time")) })
	})
	dir := t.TempDir()
	for _, tc := range []struct {
		name       string
		attrs      []func(*cryptobyte.Builder)
		ok, osslOK bool // we accept it; openssl accepts it
	}{
		{"well formed", []func(*cryptobyte.Builder){ct, st, md}, true, true},
		{"content type twice", []func(*cryptobyte.Builder){ct, ct, st, md}, false, false},
		{"two signing times", []func(*cryptobyte.Builder){ct, twoST, md}, false, false},
		{"signing time without seconds and zone", []func(*cryptobyte.Builder){ct, badST, md}, false, true},
		{"signing time an integer", []func(*cryptobyte.Builder){ct, intST, md}, false, true},
		{"signing time of letters", []func(*cryptobyte.Builder){ct, garbageST, md}, false, true},
	} {
		der := signWithAttributes(t, id, mimeEntity, tc.attrs...)
		f := filepath.Join(dir, "sd.der")
		os.WriteFile(f, der, 0o600)
		_, oerr := runOpenSSL(t, nil, "cms", "-verify", "-binary", "-inform", "DER", "-in", f, "-noverify")
		_, err := Verify(der, nil, testPolicy(t))
		if (err == nil) != tc.ok || (oerr == nil) != tc.osslOK {
			t.Errorf("%s: we %v (want ok=%v); openssl %v (want ok=%v)", tc.name, err, tc.ok, oerr, tc.osslOK)
		}
	}
}
