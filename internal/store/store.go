// Package store is where the rights, the audit log and the outbox are
// kept: in one SQLite file on one PC, or in a PostgreSQL database
// (through pgx) that the gateway's instances share. The packages that
// keep data here (policy, outbox) write their SQL once, with ?
// placeholders that Q turns into PostgreSQL's $n, and ask Dialect where
// the two differ. Each brings its schema as numbered migrations,
// embedded in the binary, that Migrate applies once each, in order.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
)

// Dialect is the SQL a database speaks.
type Dialect int

// The dialects.
const (
	SQLite Dialect = iota
	PostgreSQL
)

func (d Dialect) String() string {
	if d == PostgreSQL {
		return "postgres"
	}
	return "sqlite"
}

// DB is a database with the dialect it speaks.
type DB struct {
	*sql.DB
	Dialect Dialect
}

// FromSQLite is db, an open SQLite database.
func FromSQLite(db *sql.DB) *DB { return &DB{DB: db, Dialect: SQLite} }

// Q returns query, written with ? placeholders, in the database's
// dialect. A ? inside a quoted string or identifier is left alone.
func (db *DB) Q(query string) string {
	if db.Dialect != PostgreSQL || !strings.Contains(query, "?") {
		return query
	}
	var b strings.Builder
	n := 0
	var quote byte
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '?':
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// maxIdle is how many connections to PostgreSQL are kept for reuse.
const maxIdle = 16

// OpenPostgres connects to the PostgreSQL database at url (a
// postgres:// URL or key=value string, as libpq takes). Over the network
// the server's certificate must be verified, as everywhere here:
// sslmode=verify-full, with sslrootcert naming its CA when it is not a
// public one. A Unix socket (host=/path) needs no TLS.
func OpenPostgres(ctx context.Context, url string) (*DB, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, &Error{Reason: BadURL, Err: err}
	}
	hosts := []*pgconn.FallbackConfig{{Host: cfg.Host, Port: cfg.Port, TLSConfig: cfg.TLSConfig}}
	hosts = append(hosts, cfg.Fallbacks...)
	for _, h := range hosts {
		if !strings.HasPrefix(h.Host, "/") && (h.TLSConfig == nil || h.TLSConfig.InsecureSkipVerify) {
			return nil, &Error{Reason: Unverified, Host: h.Host}
		}
	}
	db := &DB{DB: stdlib.OpenDB(*cfg), Dialect: PostgreSQL}
	// The workers, their leases and the files read as a mail is sent
	// hold connections at once; database/sql keeps only two idle by
	// default, and a new PostgreSQL connection is a new server process.
	db.SetMaxIdleConns(maxIdle)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, &Error{Reason: Unreachable, Host: cfg.Host, Err: err}
	}
	return db, nil
}

// InTx runs f in a transaction and commits it when f returns nil.
func (db *DB) InTx(ctx context.Context, f func(*sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := f(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// Reason says why a database cannot be used.
type Reason string

// The reasons.
const (
	// BadURL: the connection string cannot be read.
	BadURL Reason = "bad_url"
	// Unverified: the server would be reached without verifying its
	// certificate.
	Unverified Reason = "unverified"
	// Unreachable: the server did not answer, or refused the login.
	Unreachable Reason = "unreachable"
	// TooNew: the database was set up by a newer version.
	TooNew Reason = "too_new"
)

// Error is a database that cannot be used.
type Error struct {
	Reason Reason
	Host   string
	Err    error
}

func (e *Error) Error() string {
	switch e.Reason {
	case Unverified:
		return fmt.Sprintf("store: the connection to PostgreSQL at %s does not verify the server's certificate: use sslmode=verify-full", e.Host)
	case Unreachable:
		return fmt.Sprintf("store: PostgreSQL at %s: %v", e.Host, e.Err)
	case TooNew:
		return fmt.Sprintf("store: %v", e.Err)
	}
	return fmt.Sprintf("store: the PostgreSQL connection string: %v", e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// IsUniqueViolation reports whether err is a unique or primary key
// constraint refusing a row.
func IsUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "23505"
	}
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
}
