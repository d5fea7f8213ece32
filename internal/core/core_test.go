package core

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"sikkermail/internal/config"
	"sikkermail/internal/directory"
	"sikkermail/internal/i18n"
	"sikkermail/internal/smime"
	"sikkermail/internal/testenv"
)

// demo returns the demo configuration with a database of the test's own.
func demo(t *testing.T) *config.Config {
	cfg := config.Demo()
	cfg.Database = filepath.Join(t.TempDir(), "test.db")
	return cfg
}

func newCore(t testing.TB, cfg *config.Config) (*Core, error) {
	c, err := New(cfg)
	if err == nil {
		t.Cleanup(func() { c.Close() })
	}
	return c, err
}

// Without Digital Post set up, CPR and CVR are red for that reason.
func TestCheckWithoutDigitalPost(t *testing.T) {
	c2, err := newCore(t, demo(t))
	if err != nil {
		t.Fatal(err)
	}
	var unset *directory.DigitalPostUnavailableError
	if v := c2.Check(context.Background(), []string{"010190-1009"})[0]; v.OK() || !errors.As(v.Err, &unset) {
		t.Errorf("CPR without Digital Post: %+v", v)
	}
}

func TestNewRejectsBadDomains(t *testing.T) {
	cfg := demo(t)
	cfg.Institution.Domains = []string{"not a domain"}
	if _, err := newCore(t, cfg); err == nil {
		t.Error("New accepted an invalid internal domain")
	}
}

func TestCheckWithStoreAndAnchors(t *testing.T) {
	store := t.TempDir()
	b, err := os.ReadFile(testenv.Path("testdata", "certs", "recipient-rsa.pem"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(store, "jens.pem"), b, 0o644)
	cfg := demo(t)
	cfg.Directory.Store = store
	cfg.SMIME.TrustAnchors = []string{testenv.Path("testdata", "certs", "ca.pem")}
	cfg.SMIME.CBC = []string{"kommune.example"}
	c, err := newCore(t, cfg)
	if err != nil {
		t.Fatal(err)
	}
	v := c.Check(context.Background(), []string{"jens.hansen@kommune.example", "x@"})
	if !v[0].OK() || v[0].Channel != directory.SMIME || len(v[0].Certs) != 1 || v[0].Cipher != smime.AES256CBC {
		t.Errorf("jens: %+v", v[0])
	}
	if v[1].OK() || v[1].Input != "x@" {
		t.Errorf("bad input keeps its place: %+v", v[1])
	}

	// Without the trust anchor the same certificate is not trusted.
	cfg.SMIME.TrustAnchors = nil
	cfg.Database = filepath.Join(t.TempDir(), "fresh.db") // nothing cached
	c, err = newCore(t, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var inv *directory.InvalidCertificatesError
	if v := c.Check(context.Background(), []string{"jens.hansen@kommune.example"}); !errors.As(v[0].Err, &inv) {
		t.Errorf("untrusted: %+v", v[0])
	}

	cfg.SMIME.TrustAnchors = []string{filepath.Join(store, "missing.pem")}
	_, err = newCore(t, cfg)
	var fe *FileError
	if !errors.As(err, &fe) || !strings.Contains(i18n.Danish.Error(err), "missing.pem") {
		t.Errorf("missing anchor: %v", err)
	}
}

// The password typed in Indstillinger goes to the OS keyring (a real
// Secret Service), where the SMTP and IMAP logins find it; a setting that
// takes it from elsewhere refuses, saying where.
func TestSavePassword(t *testing.T) {
	if !testenv.InSecretService(t) {
		return
	}
	cfg := demo(t)
	cfg.SMTP.Server, cfg.IMAP.Server = "smtp.example:587", "imap.example:993"
	cfg.IMAP.Username = "imap-login@hoejskole.example"
	c, err := newCore(t, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var se *SecretError
	if err := c.SavePassword(nil); !errors.As(err, &se) || se.Reason != "empty" {
		t.Errorf("empty: %v", err)
	}
	if err := c.SavePassword([]byte("hemmelig")); err != nil {
		t.Fatal(i18n.Danish.Error(err))
	}
	srv, err := c.smtpServer(context.Background(), c.User())
	if err != nil || srv.Secret != "hemmelig" || srv.Username != "medarbejder@hoejskole.example" {
		t.Fatalf("smtp login %q: %v", srv.Username, err)
	}
	acc, err := c.account(context.Background(), c.User(), "")
	if err != nil || acc.Secret != "hemmelig" || acc.Username != "imap-login@hoejskole.example" {
		t.Fatalf("imap login %q: %v", acc.Username, err)
	}
	// Written nowhere in the clear: not under the home folder (where the
	// keyring keeps it, encrypted) nor beside the database.
	for _, root := range []string{os.Getenv("HOME"), filepath.Dir(cfg.Database)} {
		filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				if b, _ := os.ReadFile(p); bytes.Contains(b, []byte("hemmelig")) {
					t.Errorf("%s holds the password", p)
				}
			}
			return nil
		})
	}
	c.cfg.SMTP.Password = "file:/run/secrets/smtp"
	err = c.SavePassword([]byte("x"))
	if !errors.As(err, &se) || !strings.Contains(i18n.Danish.Error(err), "file:/run/secrets/smtp") {
		t.Errorf("from a file: %v", err)
	}
}

// TestDatabaseIsPrivate: the database and SQLite's -wal and -shm files
// beside it are readable by the user alone, also when an older version
// left the database readable by others.
func TestDatabaseIsPrivate(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("file modes are ACLs on Windows")
	}
	e := newSendEnv(t)
	os.WriteFile(e.cfg.Database, nil, 0o644)
	os.Chmod(e.cfg.Database, 0o644)
	c := e.core(t)
	if _, err := c.Mailboxes(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{e.cfg.Database, e.cfg.Database + "-wal", e.cfg.Database + "-shm"} {
		st, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s is %v", filepath.Base(f), st.Mode().Perm())
		}
	}
}

// The settings folder an older version left open to others is narrowed
// to the user; a folder the settings name for the database is not the
// program's to change.
func TestSettingsFolderIsPrivate(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("file modes are ACLs on Windows")
	}
	home := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", home)
	def := filepath.Join(home, "sikkermail")
	other := filepath.Join(home, "fælles")
	for _, d := range []string{def, other} {
		os.Mkdir(d, 0o755)
		os.Chmod(d, 0o755)
	}
	for _, path := range []string{filepath.Join(def, "sikkermail.db"), filepath.Join(other, "sikkermail.db")} {
		db, err := OpenDatabase(path)
		if err != nil {
			t.Fatal(err)
		}
		db.Close()
	}
	if st, _ := os.Stat(def); st.Mode().Perm() != 0o700 {
		t.Errorf("the settings folder is %v", st.Mode().Perm())
	}
	if st, _ := os.Stat(other); st.Mode().Perm() != 0o755 {
		t.Errorf("a folder of the user's choosing became %v", st.Mode().Perm())
	}
}

// TestDamagedDatabase: a database cut short, or a file that is no
// database, is told at start with the sentence, and left as it is.
func TestDamagedDatabase(t *testing.T) {
	e := newSendEnv(t)
	c := e.core(t)
	ctx := context.Background()
	if _, err := c.Send(ctx, draft, sendMailbox, []string{external}, nil); err != nil {
		t.Fatal(err)
	}
	c.Close()
	full, err := os.ReadFile(e.cfg.Database)
	if err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string][]byte{
		"cut short":     full[:len(full)/2],
		"no database":   []byte("Dette er ikke en database, men en tekst, som nogen har gemt med det forkerte navn."),
		"header broken": append(append([]byte{}, full[:100]...), bytes.Repeat([]byte{0xff}, len(full)-100)...),
	} {
		os.Remove(e.cfg.Database + "-wal")
		os.Remove(e.cfg.Database + "-shm")
		if err := os.WriteFile(e.cfg.Database, content, 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := New(e.cfg)
		var fe *FileError
		if !errors.As(err, &fe) || !fe.Damaged || !strings.Contains(i18n.Danish.Error(err), e.cfg.Database) || !strings.Contains(i18n.Danish.Error(err), "Slet den ikke") {
			t.Errorf("%s: %v", name, err)
		}
		if after, _ := os.ReadFile(e.cfg.Database); !bytes.Equal(after, content) {
			t.Errorf("%s: the file was changed", name)
		}
	}
}
