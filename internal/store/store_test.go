package store_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"testing/fstest"

	_ "modernc.org/sqlite"

	"sikkermail/internal/mailtest/daemon"
	"sikkermail/internal/store"
)

func TestQ(t *testing.T) {
	pg := &store.DB{Dialect: store.PostgreSQL}
	for in, want := range map[string]string{
		`SELECT a FROM t WHERE b = ? AND c = ?`:  `SELECT a FROM t WHERE b = $1 AND c = $2`,
		`SELECT '?' FROM "q?" WHERE x = ?`:       `SELECT '?' FROM "q?" WHERE x = $1`,
		`INSERT INTO t VALUES (?, 'it''s ?', ?)`: `INSERT INTO t VALUES ($1, 'it''s ?', $2)`,
		`SELECT 1`:                               `SELECT 1`,
	} {
		if got := pg.Q(in); got != want {
			t.Errorf("%s: %s, want %s", in, got, want)
		}
		if got := (&store.DB{Dialect: store.SQLite}).Q(in); got != in {
			t.Errorf("SQLite changed %s to %s", in, got)
		}
	}
}

// Over the network the server's certificate is verified, or there is no
// connection: every sslmode short of verify-full is refused before any
// byte is sent.
func TestPostgresMustVerify(t *testing.T) {
	for _, url := range []string{
		"postgres://gw@db.example/sikkermail",
		"postgres://gw@db.example/sikkermail?sslmode=disable",
		"postgres://gw@db.example/sikkermail?sslmode=prefer",
		"postgres://gw@db.example/sikkermail?sslmode=require",
		"postgres://gw@db.example/sikkermail?sslmode=verify-ca",
		"host=db.example,db2.example user=gw sslmode=require",
	} {
		_, err := store.OpenPostgres(context.Background(), url)
		var se *store.Error
		if !errors.As(err, &se) || se.Reason != store.Unverified {
			t.Errorf("%s: %v", url, err)
		}
	}
	var se *store.Error
	if _, err := store.OpenPostgres(context.Background(), "postgres://%zz"); !errors.As(err, &se) || se.Reason != store.BadURL {
		t.Errorf("bad URL: %v", err)
	}
}

var migrations = fstest.MapFS{
	"sqlite/0001_first.sql":    {Data: []byte(`CREATE TABLE m (a TEXT);`)},
	"sqlite/0002_second.sql":   {Data: []byte(`ALTER TABLE m ADD COLUMN b TEXT; INSERT INTO m VALUES ('x', 'y');`)},
	"postgres/0001_first.sql":  {Data: []byte(`CREATE TABLE m (a TEXT);`)},
	"postgres/0002_second.sql": {Data: []byte(`ALTER TABLE m ADD COLUMN b TEXT; INSERT INTO m VALUES ('x', 'y');`)},
}

// Migrations run once each, in order, also when several instances start
// at once; a database from a newer version is refused.
func TestMigrate(t *testing.T) {
	ctx := context.Background()
	t.Run("sqlite", func(t *testing.T) {
		raw, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "m.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer raw.Close()
		db := store.FromSQLite(raw)
		for range 2 {
			if err := store.Migrate(ctx, db, "test", migrations); err != nil {
				t.Fatal(err)
			}
		}
		checkMigrated(t, db)
	})
	t.Run("postgres", func(t *testing.T) {
		url := daemon.StartPostgres(t).URL
		var wg sync.WaitGroup
		dbs := make([]*store.DB, 4)
		errs := make([]error, 4)
		for i := range dbs {
			db, err := store.OpenPostgres(ctx, url)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			dbs[i] = db
			wg.Add(1)
			go func() { defer wg.Done(); errs[i] = store.Migrate(ctx, db, "test", migrations) }()
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		checkMigrated(t, dbs[0])
	})
}

func checkMigrated(t *testing.T, db *store.DB) {
	t.Helper()
	ctx := context.Background()
	var n int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM m WHERE b = 'y'`).Scan(&n); err != nil || n != 1 {
		t.Errorf("%d rows after the migrations: %v", n, err)
	}
	older := fstest.MapFS{db.Dialect.String() + "/0001_first.sql": migrations[db.Dialect.String()+"/0001_first.sql"]}
	var se *store.Error
	if err := store.Migrate(ctx, db, "test", older); !errors.As(err, &se) || se.Reason != store.TooNew {
		t.Errorf("an older program on a newer database: %v", err)
	}
}
