package daemon

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"sikkermail/internal/testenv"
)

// Postgres is a throwaway PostgreSQL cluster: initdb in a temporary
// folder, listening on a Unix socket there and on no TCP port, with one
// superuser who needs no password on that socket.
type Postgres struct {
	// URL connects to the cluster's database "sikkermail".
	URL string
	// Dir holds the cluster and its socket.
	Dir  string
	bin  string
	cred *syscall.Credential
}

// StartPostgres starts a cluster for the test and removes it when the
// test ends. It trades durability for speed (fsync off): the tests kill
// the gateway, never the database.
func StartPostgres(t testing.TB) *Postgres {
	t.Helper()
	bin := postgresBin(t)
	// As root the server runs as the postgres user, who must be able to
	// enter the folder: not t.TempDir (mode 0700, the test's).
	dir := daemonDir(t, "sikkermail-pg-")
	p := &Postgres{Dir: dir, bin: bin}
	data := filepath.Join(dir, "data")
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("postgres: the server does not run as root, and there is no postgres user: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		p.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	initdb := p.command(filepath.Join(bin, "initdb"), "-D", data, "-U", "sikkermail", "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync")
	if out, err := initdb.CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	server := p.command(filepath.Join(bin, "postgres"), "-D", data, "-k", dir, "-c", "listen_addresses=",
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off", "-c", "max_connections=200")
	admin := (&url.URL{Scheme: "postgres", User: url.User("sikkermail"), Path: "/postgres", RawQuery: "host=" + url.QueryEscape(dir)}).String()
	// Immediate shutdown: the postmaster takes its backends with it.
	startDaemon(t, "postgres", server, syscall.SIGQUIT, "", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, admin)
		if err != nil {
			return false
		}
		c.Close(ctx)
		return true
	})
	p.URL = p.CreateDatabase(t, "sikkermail")
	return p
}

// CreateDatabase makes an empty database in the cluster and returns its
// URL.
func (p *Postgres) CreateDatabase(t testing.TB, name string) string {
	t.Helper()
	ctx := context.Background()
	c, err := pgx.Connect(ctx, p.url("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	return p.url(name)
}

func (p *Postgres) url(db string) string {
	return (&url.URL{Scheme: "postgres", User: url.User("sikkermail"), Path: "/" + db, RawQuery: "host=" + url.QueryEscape(p.Dir)}).String()
}

func (p *Postgres) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	if p.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: p.cred}
	}
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	return cmd
}

// postgresBin is the folder of the newest PostgreSQL server installed
// (Debian keeps it off PATH).
func postgresBin(t testing.TB) string {
	t.Helper()
	found, _ := filepath.Glob("/usr/lib/postgresql/*/bin/postgres")
	slices.SortFunc(found, func(a, b string) int { return version(a) - version(b) })
	if len(found) > 0 {
		return filepath.Dir(found[len(found)-1])
	}
	return filepath.Dir(testenv.Need(t, "postgres"))
}

func version(path string) int {
	var v int
	fmt.Sscanf(filepath.Base(filepath.Dir(filepath.Dir(path))), "%d", &v)
	return v
}
