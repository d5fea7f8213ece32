package daemon

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/go-ldap/ldap/v3"

	"sikkermail/internal/mailtest"
	"sikkermail/internal/testenv"
)

// Slapd is a running OpenLDAP server with an empty mdb database under
// BaseDN and the inetOrgPerson schema (mail, userCertificate,
// userSMIMECertificate).
type Slapd struct {
	URL     string
	BaseDN  string
	AdminDN string
	// AdminPassword is a throw-away password for this test's server.
	AdminPassword string
	Addr          string
	// LDAPSURL is the ldaps:// address.
	LDAPSURL string
	// TLS is the server's throw-away PKI (its own certificate files when
	// StartSlapdTLS named some): clients trust TLS.Roots or TLS.CAFile
	// and speak STARTTLS on URL or TLS on LDAPSURL, never plaintext.
	TLS *mailtest.TLS
}

// slapdPaths are where Debian and others keep slapd.
var slapdPaths = []string{"/usr/sbin/slapd", "/usr/libexec/slapd", "/usr/local/libexec/slapd"}

// SlapdTLS gives slapd a server certificate of the test's own: it speaks
// STARTTLS on its ldap:// port and TLS on a second, ldaps:// port
// (LDAPSURL).
type SlapdTLS struct {
	CertFile, KeyFile string
}

// StartSlapd starts slapd for the test on a free loopback port, with a
// server certificate from a throw-away CA (Slapd.TLS), and stops it when
// the test ends. Without slapd the test skips (fails when strict).
func StartSlapd(t testing.TB) *Slapd {
	return StartSlapdTLS(t, nil)
}

// StartSlapdTLS is StartSlapd with the server certificate in tlsFiles
// when it is not nil.
func StartSlapdTLS(t testing.TB, tlsFiles *SlapdTLS) *Slapd {
	t.Helper()
	bin := ""
	for _, p := range slapdPaths {
		if _, err := os.Stat(p); err == nil {
			bin = p
			break
		}
	}
	if bin == "" {
		bin = testenv.Need(t, "slapd")
	}
	schema := "/etc/ldap/schema"
	if _, err := os.Stat(filepath.Join(schema, "inetorgperson.schema")); err != nil {
		schema = "/etc/openldap/schema"
	}
	dir := t.TempDir()
	db := filepath.Join(dir, "db")
	if err := os.Mkdir(db, 0o700); err != nil {
		t.Fatal(err)
	}
	s := &Slapd{BaseDN: "dc=directory,dc=example", AdminDN: "cn=admin,dc=directory,dc=example", AdminPassword: "admin-" + filepath.Base(dir)}
	if tlsFiles == nil {
		s.TLS = mailtest.NewTLS(t)
		tlsFiles = &SlapdTLS{CertFile: s.TLS.CertFile, KeyFile: s.TLS.KeyFile}
	}
	conf := fmt.Sprintf(`include %[1]s/core.schema
include %[1]s/cosine.schema
include %[1]s/inetorgperson.schema
modulepath /usr/lib/ldap
moduleload back_mdb
pidfile %[2]s/slapd.pid
database mdb
maxsize 104857600
suffix "%[3]s"
rootdn "%[4]s"
rootpw %[5]s
directory %[6]s
index mail eq
`, schema, dir, s.BaseDN, s.AdminDN, s.AdminPassword, db)
	conf = fmt.Sprintf("TLSCertificateFile %s\nTLSCertificateKeyFile %s\n", tlsFiles.CertFile, tlsFiles.KeyFile) + conf
	confPath := filepath.Join(dir, "slapd.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	s.Addr = fmt.Sprintf("127.0.0.1:%d", port)
	s.URL = "ldap://" + s.Addr
	s.LDAPSURL = fmt.Sprintf("ldaps://127.0.0.1:%d", freePort(t))
	listen := s.URL + "/ " + s.LDAPSURL + "/"
	// Ready when it accepts a bind.
	startDaemon(t, "slapd", exec.Command(bin, "-f", confPath, "-h", listen, "-d", "0"), os.Kill, "", func() bool {
		c, err := ldap.DialURL(s.URL)
		if err != nil {
			return false
		}
		defer c.Close()
		return c.Bind(s.AdminDN, s.AdminPassword) == nil
	})
	s.add(t, s.BaseDN, map[string][]string{"objectClass": {"dcObject", "organization"}, "o": {"Directory"}, "dc": {"directory"}})
	s.add(t, "ou=people,"+s.BaseDN, map[string][]string{"objectClass": {"organizationalUnit"}, "ou": {"people"}})
	s.add(t, "ou=groups,"+s.BaseDN, map[string][]string{"objectClass": {"organizationalUnit"}, "ou": {"groups"}})
	return s
}

// PeopleDN and GroupsDN are where people and groups live.
func (s *Slapd) PeopleDN() string { return "ou=people," + s.BaseDN }

// GroupsDN is where groups live.
func (s *Slapd) GroupsDN() string { return "ou=groups," + s.BaseDN }

// Person is a directory entry with an address and certificates (DER).
type Person struct {
	CN    string
	Mail  []string
	Certs [][]byte
	// SMIME holds userSMIMECertificate values (PKCS #7 DER).
	SMIME [][]byte
}

// AddPerson adds an inetOrgPerson entry under ou=people.
func (s *Slapd) AddPerson(t testing.TB, p Person) {
	t.Helper()
	attrs := map[string][]string{"objectClass": {"inetOrgPerson"}, "cn": {p.CN}, "sn": {p.CN}, "mail": p.Mail}
	var certs, smime []string
	for _, c := range p.Certs {
		certs = append(certs, string(c))
	}
	for _, c := range p.SMIME {
		smime = append(smime, string(c))
	}
	if len(certs) > 0 {
		attrs["userCertificate;binary"] = certs
	}
	if len(smime) > 0 {
		attrs["userSMIMECertificate"] = smime
	}
	s.add(t, "cn="+ldap.EscapeDN(p.CN)+",ou=people,"+s.BaseDN, attrs)
}

func (s *Slapd) add(t testing.TB, dn string, attrs map[string][]string) {
	t.Helper()
	c, err := ldap.DialURL(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Bind(s.AdminDN, s.AdminPassword); err != nil {
		t.Fatal(err)
	}
	req := ldap.NewAddRequest(dn, nil)
	for k, v := range attrs {
		req.Attribute(k, v)
	}
	if err := c.Add(req); err != nil {
		t.Fatalf("add %s: %v", dn, err)
	}
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// SilentServer accepts TCP connections on loopback and never answers: a
// directory that hangs. It is closed when the test ends.
func SilentServer(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	t.Cleanup(func() {
		l.Close()
		<-done
		for _, c := range conns {
			c.Close()
		}
	})
	return l.Addr().String()
}
