package directory

import (
	"context"
	"crypto/x509"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// DefaultCacheTTL is how long a green S/MIME answer is reused.
const DefaultCacheTTL = 24 * time.Hour

// Cache remembers which certificates vouched for an address, and when, in
// the project's SQLite database (table directory_cache). Only green S/MIME
// answers are kept: a red one is asked again at every check. A Directory
// asks the cache before its sources, and judges what it returns under the
// policy like any source's answer, so a certificate that has expired or
// been revoked since it was cached is never used.
type Cache struct {
	db  *sql.DB
	ttl time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// OpenCache prepares the cache table in db. A ttl of zero means
// DefaultCacheTTL.
func OpenCache(db *sql.DB, ttl time.Duration) (*Cache, error) {
	if ttl == 0 {
		ttl = DefaultCacheTTL
	}
	_, err := db.Exec(`CREATE TABLE IF NOT EXISTS directory_cache (
		address TEXT NOT NULL,
		cert    BLOB NOT NULL,
		source  TEXT NOT NULL,
		checked INTEGER NOT NULL,
		PRIMARY KEY (address, cert)
	)`)
	if err != nil {
		return nil, fmt.Errorf("directory: cache: %w", err)
	}
	return &Cache{db: db, ttl: ttl}, nil
}

func (c *Cache) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// TTL is how long an answer is reused.
func (c *Cache) TTL() time.Duration { return c.ttl }

// cached is what the cache holds for one address.
type cached struct {
	certs   []*x509.Certificate
	source  string
	checked time.Time
}

// get returns what is cached for each address within the TTL.
func (c *Cache) get(ctx context.Context, addrs []string) (map[string]cached, error) {
	if len(addrs) == 0 {
		return nil, nil
	}
	args := make([]any, 0, len(addrs)+1)
	args = append(args, c.now().Add(-c.ttl).UnixMilli())
	marks := make([]string, len(addrs))
	byKey := make(map[string]string, len(addrs))
	for i, a := range addrs {
		marks[i] = "?"
		k := strings.ToLower(a)
		byKey[k] = a
		args = append(args, k)
	}
	rows, err := c.db.QueryContext(ctx, `SELECT address, cert, source, checked FROM directory_cache WHERE checked > ? AND address IN (`+strings.Join(marks, ",")+`)`, args...)
	if err != nil {
		return nil, fmt.Errorf("directory: cache: %w", err)
	}
	defer rows.Close()
	out := make(map[string]cached)
	for rows.Next() {
		var addr, source string
		var der []byte
		var checked int64
		if err := rows.Scan(&addr, &der, &source, &checked); err != nil {
			return nil, fmt.Errorf("directory: cache: %w", err)
		}
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			continue
		}
		e := out[byKey[addr]]
		e.certs = append(e.certs, cert)
		e.source, e.checked = source, time.UnixMilli(checked)
		out[byKey[addr]] = e
	}
	return out, rows.Err()
}

// Save remembers that source vouched for address with certs, now.
func (c *Cache) Save(ctx context.Context, address, source string, certs []*x509.Certificate) error {
	tx, err := c.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("directory: cache: %w", err)
	}
	defer tx.Rollback()
	k := strings.ToLower(address)
	if _, err := tx.ExecContext(ctx, `DELETE FROM directory_cache WHERE address = ?`, k); err != nil {
		return fmt.Errorf("directory: cache: %w", err)
	}
	now := c.now().UnixMilli()
	for _, cert := range certs {
		if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO directory_cache (address, cert, source, checked) VALUES (?, ?, ?, ?)`,
			k, cert.Raw, source, now); err != nil {
			return fmt.Errorf("directory: cache: %w", err)
		}
	}
	return tx.Commit()
}

// Forget drops what is cached for address, e.g. when a send to it failed
// for a reason the certificate may explain.
func (c *Cache) Forget(ctx context.Context, address string) error {
	_, err := c.db.ExecContext(ctx, `DELETE FROM directory_cache WHERE address = ?`, strings.ToLower(address))
	return err
}

// Suggest returns the recipients the cache has known (green once, at any
// time) whose address or certificate holder's name holds typed.
func (c *Cache) Suggest(ctx context.Context, typed string) ([]Suggestion, error) {
	rows, err := c.db.QueryContext(ctx, `SELECT address, cert FROM directory_cache`)
	if err != nil {
		return nil, fmt.Errorf("directory: cache: %w", err)
	}
	defer rows.Close()
	seen := map[string]bool{}
	var out []Suggestion
	for rows.Next() {
		var addr string
		var der []byte
		if err := rows.Scan(&addr, &der); err != nil {
			return nil, fmt.Errorf("directory: cache: %w", err)
		}
		if seen[addr] {
			continue
		}
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			continue
		}
		if matches(typed, addr, cert.Subject.CommonName) {
			seen[addr] = true
			out = append(out, Suggestion{Address: addr, Name: cert.Subject.CommonName})
		}
	}
	return out, rows.Err()
}
