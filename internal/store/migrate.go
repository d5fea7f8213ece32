package store

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
)

// Migrate applies the migrations of component (a package that keeps
// tables here) that db has not had yet, in order, each in a transaction
// with the record that it was applied. They are the files NNNN_name.sql
// in the folder of fsys named for the dialect (sqlite, postgres). Several
// instances may start at once: on PostgreSQL they take turns.
func Migrate(ctx context.Context, db *DB, component string, fsys fs.FS) error {
	dir := db.Dialect.String()
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return fmt.Errorf("store: migrations of %s: %w", component, err)
	}
	type migration struct {
		version int
		file    string
	}
	var all []migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || !strings.HasSuffix(e.Name(), ".sql") {
			return fmt.Errorf("store: migration %s/%s is not named NNNN_name.sql", dir, e.Name())
		}
		all = append(all, migration{v, path.Join(dir, e.Name())})
	}
	slices.SortFunc(all, func(a, b migration) int { return a.version - b.version })
	return db.InTx(ctx, func(tx *sql.Tx) error {
		if db.Dialect == PostgreSQL {
			// One instance migrates; the others wait, then find it done.
			if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtext('sikkermail schema'))`); err != nil {
				return fmt.Errorf("store: %w", err)
			}
		}
		if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (
			component TEXT NOT NULL, version INTEGER NOT NULL, PRIMARY KEY (component, version))`); err != nil {
			return fmt.Errorf("store: %w", err)
		}
		var have sql.NullInt64
		if err := tx.QueryRowContext(ctx, db.Q(`SELECT MAX(version) FROM schema_version WHERE component = ?`), component).Scan(&have); err != nil {
			return fmt.Errorf("store: %w", err)
		}
		if n := len(all); n > 0 && have.Int64 > int64(all[n-1].version) {
			return &Error{Reason: TooNew, Err: fmt.Errorf("the %s tables are at version %d, and this program knows %d: use a newer sikkermail", component, have.Int64, all[n-1].version)}
		}
		for _, m := range all {
			if int64(m.version) <= have.Int64 {
				continue
			}
			b, err := fs.ReadFile(fsys, m.file)
			if err != nil {
				return fmt.Errorf("store: %w", err)
			}
			if _, err := tx.ExecContext(ctx, string(b)); err != nil {
				return fmt.Errorf("store: migration %s of %s: %w", m.file, component, err)
			}
			if _, err := tx.ExecContext(ctx, db.Q(`INSERT INTO schema_version (component, version) VALUES (?, ?)`), component, m.version); err != nil {
				return fmt.Errorf("store: %w", err)
			}
		}
		return nil
	})
}
