package directory

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"sikkermail/internal/i18n"
	"sikkermail/internal/mailtest/daemon"
	"sikkermail/internal/recipient"
	"sikkermail/internal/smime"
	"sikkermail/internal/testenv"
)

func certFile(name string) string { return testenv.Path("testdata", "certs", name+".pem") }

func loadCert(t testing.TB, name string) *x509.Certificate {
	t.Helper()
	cs, err := smime.ReadCertificates(certFile(name))
	if err != nil {
		t.Fatal(err)
	}
	return cs[0]
}

func loadKey(t testing.TB, name string) crypto.Signer {
	t.Helper()
	b, err := os.ReadFile(testenv.Path("testdata", "certs", name+".key"))
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return k.(crypto.Signer)
}

// issue makes a certificate for email from the test CA, valid from nb to na.
func issue(t testing.TB, email string, nb, na time.Time) *x509.Certificate {
	t.Helper()
	ca, caKey := loadCert(t, "ca"), loadKey(t, "ca")
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: email},
		NotBefore: nb, NotAfter: na, KeyUsage: x509.KeyUsageKeyEncipherment | x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageEmailProtection}, EmailAddresses: []string{email}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, loadKey(t, "recipient-rsa").Public(), caKey)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return c
}

func policy(t testing.TB) *smime.Trust {
	t.Helper()
	roots := x509.NewCertPool()
	roots.AddCert(loadCert(t, "ca"))
	b, _ := os.ReadFile(testenv.Path("testdata", "certs", "ca.crl"))
	blk, _ := pem.Decode(b)
	crl, err := x509.ParseRevocationList(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return &smime.Trust{Roots: roots, CRLs: []*x509.RevocationList{crl}}
}

func parse(t testing.TB, inputs ...string) []*recipient.Recipient {
	t.Helper()
	internal, _ := recipient.NewDomains("hoejskole.example")
	var rs []*recipient.Recipient
	for _, in := range inputs {
		r, err := recipient.Parser{Internal: internal}.Parse(in)
		if err != nil {
			t.Fatal(err)
		}
		rs = append(rs, r)
	}
	return rs
}

func p7c(t testing.TB, certs ...*x509.Certificate) []byte {
	t.Helper()
	// A certs-only SignedData, as directories hold in userSMIMECertificate:
	// made by signing nothing with a throw-away identity is not it, so
	// build it through openssl, the reference.
	dir := t.TempDir()
	var args []string
	for i, c := range certs {
		f := filepath.Join(dir, string(rune('a'+i))+".pem")
		os.WriteFile(f, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}), 0o600)
		args = append(args, "-certfile", f)
	}
	out := filepath.Join(dir, "c.p7c")
	cmd := append([]string{"crl2pkcs7", "-nocrl", "-outform", "DER", "-out", out}, args...)
	if b, err := runCmd(testenv.Need(t, "openssl"), cmd...); err != nil {
		t.Fatalf("openssl: %v %s", err, b)
	}
	b, _ := os.ReadFile(out)
	return b
}

func wantErr[T error](t *testing.T, v Verdict) T {
	t.Helper()
	var target T
	if v.OK() || !errors.As(v.Err, &target) {
		t.Fatalf("%s: verdict %v / %v, want %T", v.Input, v.Channel, v.Err, target)
	}
	for _, l := range i18n.Langs {
		if s := l.Error(v.Err); !strings.Contains(s, v.Recipient.String()) {
			t.Errorf("%s: %q does not name the recipient", l, s)
		}
	}
	return target
}

func TestCheckAgainstSlapd(t *testing.T) {
	s := daemon.StartSlapd(t)
	jens1, jens2 := loadCert(t, "recipient-rsa"), loadCert(t, "recipient-rsa-2")
	stale := issue(t, "jens.hansen@kommune.example", time.Date(2019, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2021, 3, 1, 0, 0, 0, 0, time.UTC))
	s.AddPerson(t, daemon.Person{CN: "Jens Hansen", Mail: []string{"jens.hansen@kommune.example"}, Certs: [][]byte{stale.Raw, jens1.Raw, jens2.Raw}})
	s.AddPerson(t, daemon.Person{CN: "Firma", Mail: []string{"post@firma.example"}, SMIME: [][]byte{p7c(t, loadCert(t, "recipient-ec"))}})
	for _, n := range []string{"expired", "untrusted", "wrong-eku", "revoked", "short-key"} {
		c := loadCert(t, n)
		s.AddPerson(t, daemon.Person{CN: n, Mail: smime.Addresses(c), Certs: [][]byte{c.Raw}})
	}
	s.AddPerson(t, daemon.Person{CN: "No Cert", Mail: []string{"nocert@kommune.example"}})

	src := &LDAP{URL: s.URL, StartTLS: true, TLS: s.TLS.Client(), BaseDN: s.BaseDN}
	d := &Directory{Sources: []Source{src}, Trust: policy(t), NeedsCBC: func(a string) bool { return strings.HasSuffix(a, "@firma.example") }}
	v := d.Check(context.Background(), parse(t,
		"Jens.Hansen@Kommune.example", "post@firma.example", "expired@kommune.example", "rogue@kommune.example",
		"tls@kommune.example", "revoked@kommune.example", "short@kommune.example", "nocert@kommune.example",
		"missing@kommune.example", "sikkerpost@hoejskole.example", "jens.hansen@kommune.example", "0101901234"))
	if got := src.RoundTrips.Load(); got != 1 {
		t.Errorf("%d LDAP round trips for one check, want 1", got)
	}
	// Several certificates for one address: every valid one, the stale one ignored.
	if !v[0].OK() || v[0].Channel != SMIME || len(v[0].Certs) != 2 || v[0].Source != s.URL || v[0].Cipher != smime.AES256GCM {
		t.Errorf("jens: %+v", v[0])
	}
	if !v[1].OK() || len(v[1].Certs) != 1 || v[1].Cipher != smime.AES256CBC {
		t.Errorf("firma (userSMIMECertificate, needs CBC): %+v", v[1])
	}
	for i, want := range map[int]smime.Reason{2: smime.CertExpired, 3: smime.CertUntrusted, 4: smime.CertWrongUsage, 5: smime.CertRevoked, 6: smime.CertShortKey} {
		inv := wantErr[*InvalidCertificatesError](t, v[i])
		var se *smime.Error
		if !errors.As(inv.Problems[0], &se) || se.Reason != want {
			t.Errorf("%s: %v, want %s", v[i].Input, inv.Problems[0], want)
		}
	}
	if s := i18n.Danish.Error(v[2].Err); !strings.Contains(s, "udløb 2022-01-01") {
		t.Errorf("expired: %q does not say when", s)
	}
	wantErr[*NoCertificateError](t, v[7])
	wantErr[*NoCertificateError](t, v[8])
	if !v[9].OK() || v[9].Channel != Internal {
		t.Errorf("internal: %+v", v[9])
	}
	if !v[10].OK() || len(v[10].Certs) != 2 {
		t.Errorf("the same address twice: %+v", v[10])
	}
	wantErr[*DigitalPostUnavailableError](t, v[11])
}

func TestSourcesInOrder(t *testing.T) {
	s := daemon.StartSlapd(t)
	c := loadCert(t, "recipient-ec")
	s.AddPerson(t, daemon.Person{CN: "Firma", Mail: []string{"post@firma.example"}, Certs: [][]byte{c.Raw}})
	store, err := OpenStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Add(loadCert(t, "recipient-rsa")); err != nil {
		t.Fatal(err)
	}
	src := &LDAP{URL: s.URL, StartTLS: true, TLS: s.TLS.Client(), BaseDN: s.BaseDN}
	d := &Directory{Sources: []Source{store, src}, Trust: policy(t)}
	v := d.Check(context.Background(), parse(t, "jens.hansen@kommune.example", "post@firma.example"))
	if !v[0].OK() || v[0].Source != store.Name() || !v[1].OK() || v[1].Source != s.URL {
		t.Fatalf("verdicts %+v", v)
	}
	// Only the address the store did not know was asked for.
	if src.RoundTrips.Load() != 1 {
		t.Errorf("round trips %d", src.RoundTrips.Load())
	}
	d.Sources = []Source{store}
	v = d.Check(context.Background(), parse(t, "jens.hansen@kommune.example"))
	if !v[0].OK() {
		t.Errorf("store alone: %+v", v[0])
	}
}

// TestDeadline: a directory that accepts the connection and never answers
// makes its recipients red within the deadline, and no one else.
func TestDeadline(t *testing.T) {
	silent := &LDAP{URL: "ldap://" + daemon.SilentServer(t), StartTLS: true, BaseDN: "dc=x"}
	d := &Directory{Sources: []Source{silent}, Trust: policy(t), Timeout: 300 * time.Millisecond}
	start := time.Now()
	v := d.Check(context.Background(), parse(t, "jens.hansen@kommune.example", "sikkerpost@hoejskole.example"))
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("check took %v with a 300 ms deadline", took)
	}
	te := wantErr[*TimeoutError](t, v[0])
	if te.Source != silent.URL {
		t.Errorf("timeout names %q", te.Source)
	}
	if !v[1].OK() {
		t.Errorf("the internal recipient suffered: %+v", v[1])
	}
	// A store before the silent directory still answers for what it knows.
	store, _ := OpenStore(t.TempDir())
	store.Add(loadCert(t, "recipient-rsa"))
	d.Sources = []Source{store, silent}
	v = d.Check(context.Background(), parse(t, "jens.hansen@kommune.example", "post@firma.example"))
	if !v[0].OK() {
		t.Errorf("store answer lost to a silent directory: %+v", v[0])
	}
	wantErr[*TimeoutError](t, v[1])
}

func TestUnreachable(t *testing.T) {
	closed := &LDAP{URL: "ldap://127.0.0.1:1", StartTLS: true, BaseDN: "dc=x"}
	d := &Directory{Sources: []Source{closed}, Trust: policy(t)}
	v := d.Check(context.Background(), parse(t, "jens.hansen@kommune.example"))
	u := wantErr[*UnreachableError](t, v[0])
	if u.Source != closed.URL {
		t.Errorf("unreachable names %q", u.Source)
	}
	if s := i18n.Danish.Error(v[0].Err); !strings.Contains(s, "Prøv igen") {
		t.Errorf("%q does not say it may be retried", s)
	}
}

func TestNoSource(t *testing.T) {
	d := &Directory{Trust: policy(t)}
	v := d.Check(context.Background(), parse(t, "jens.hansen@kommune.example"))
	wantErr[*NoSourceError](t, v[0])
}

// BenchmarkCheck100 checks 100 external recipients, each with its own
// certificate in slapd, without a cache: the time of one whole check and
// the LDAP round trips it costs (make bench reports both).
func BenchmarkCheck100(b *testing.B) {
	s := daemon.StartSlapd(b)
	nb, na := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2045, 1, 1, 0, 0, 0, 0, time.UTC)
	var inputs []string
	for i := 0; i < 100; i++ {
		addr := fmt.Sprintf("person%03d@kommune.example", i)
		c := issue(b, addr, nb, na)
		s.AddPerson(b, daemon.Person{CN: addr, Mail: []string{addr}, Certs: [][]byte{c.Raw}})
		inputs = append(inputs, addr)
	}
	rs := parse(b, inputs...)
	src := &LDAP{URL: s.URL, StartTLS: true, TLS: s.TLS.Client(), BaseDN: s.BaseDN}
	d := &Directory{Sources: []Source{src}, Trust: policy(b)}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, v := range d.Check(context.Background(), rs) {
			if !v.OK() {
				b.Fatalf("%s: %v", v.Input, v.Err)
			}
		}
	}
	b.ReportMetric(float64(src.RoundTrips.Load())/float64(b.N), "roundtrips/op")
}

// TestLDAPTLS: STARTTLS and ldaps, with the server certificate verified
// against the configured roots, and refused when it is not trusted.
func TestLDAPTLS(t *testing.T) {
	dir := t.TempDir()
	ca, caKey := loadCert(t, "ca"), loadKey(t, "ca")
	key := loadKey(t, "mailbox-rsa")
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(4242), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: ca.NotBefore, NotAfter: ca.NotAfter, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, key.Public(), caKey)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile := filepath.Join(dir, "server.pem"), filepath.Join(dir, "server.key")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	keyDER, _ := os.ReadFile(testenv.Path("testdata", "certs", "mailbox-rsa.key"))
	os.WriteFile(keyFile, keyDER, 0o600)

	s := daemon.StartSlapdTLS(t, &daemon.SlapdTLS{CertFile: certFile, KeyFile: keyFile})
	s.AddPerson(t, daemon.Person{CN: "Jens", Mail: []string{"jens.hansen@kommune.example"}, Certs: [][]byte{loadCert(t, "recipient-rsa").Raw}})
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	trusted := &tls.Config{RootCAs: roots}
	for _, src := range []*LDAP{
		{URL: s.URL, StartTLS: true, TLS: trusted, BaseDN: s.BaseDN},
		{URL: s.LDAPSURL, TLS: trusted, BaseDN: s.BaseDN},
	} {
		d := &Directory{Sources: []Source{src}, Trust: policy(t)}
		if v := d.Check(context.Background(), parse(t, "jens.hansen@kommune.example")); !v[0].OK() {
			t.Errorf("%s starttls=%v: %v", src.URL, src.StartTLS, v[0].Err)
		}
		// The same server, not trusted: refused, never read in the clear.
		src.TLS = &tls.Config{RootCAs: x509.NewCertPool()}
		v := d.Check(context.Background(), parse(t, "jens.hansen@kommune.example"))
		var u *UnreachableError
		if !errors.As(v[0].Err, &u) {
			t.Errorf("%s starttls=%v with an untrusted server: %+v", src.URL, src.StartTLS, v[0])
		}
	}
}

// What a directory sends is outside input: no value makes the reading of
// a search's entries panic, and a certificate is filed only under an
// address it is for.
func FuzzLDAPEntries(f *testing.F) {
	pemCert, _ := os.ReadFile(certFile("recipient-rsa"))
	f.Add(pemCert, []byte{0x30, 0x80, 0x00, 0x00})
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"), []byte{})
	f.Fuzz(func(t *testing.T, a, b []byte) {
		entries := []*ldap.Entry{{DN: "cn=x", Attributes: []*ldap.EntryAttribute{{Name: "userCertificate;binary", ByteValues: [][]byte{a, b}}}}}
		for addr, certs := range certsByAddress(entries, []string{"jens.hansen@kommune.example", "x@y"}) {
			for _, c := range certs {
				if !smime.HasAddress(c, addr) {
					t.Fatalf("a certificate for %v filed under %s", smime.Addresses(c), addr)
				}
			}
		}
	})
}

// The directory completes what is typed with the people who hold a
// certificate for their address, by address or by name.
func TestSuggestFromSlapd(t *testing.T) {
	s := daemon.StartSlapd(t)
	jens := loadCert(t, "recipient-rsa")
	s.AddPerson(t, daemon.Person{CN: "Jens Hansen", Mail: []string{"jens.hansen@kommune.example"}, Certs: [][]byte{jens.Raw}})
	s.AddPerson(t, daemon.Person{CN: "Hansen uden certifikat", Mail: []string{"nocert@kommune.example"}})
	s.AddPerson(t, daemon.Person{CN: "Firma", Mail: []string{"post@firma.example"}, SMIME: [][]byte{p7c(t, loadCert(t, "recipient-ec"))}})
	src := &LDAP{URL: s.URL, StartTLS: true, TLS: s.TLS.Client(), BaseDN: s.BaseDN}
	d := &Directory{Sources: []Source{src}}
	for typed, want := range map[string]string{
		"hansen":    "jens.hansen@kommune.example=" + jens.Subject.CommonName,
		"JENS.HAN":  "jens.hansen@kommune.example=" + jens.Subject.CommonName,
		"firma":     "post@firma.example=" + loadCert(t, "recipient-ec").Subject.CommonName,
		"kommune":   "jens.hansen@kommune.example=" + jens.Subject.CommonName,
		"nobody":    "",
		"*)(mail=*": "",
	} {
		var got []string
		for _, s := range d.Suggest(context.Background(), typed) {
			got = append(got, s.Address+"="+s.Name)
		}
		if strings.Join(got, ",") != want {
			t.Errorf("%q: %q, want %q", typed, got, want)
		}
	}
	// A directory that hangs gives nothing, and lets go when the
	// caller does.
	down := &Directory{Sources: []Source{&LDAP{URL: "ldap://" + daemon.SilentServer(t), StartTLS: true, BaseDN: s.BaseDN}, src}}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if got := down.Suggest(ctx, "hansen"); len(got) != 1 || got[0].Address != "jens.hansen@kommune.example" {
		t.Errorf("beside a directory that does not answer: %v", got)
	}
}
