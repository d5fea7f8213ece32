package outbox

// The mails' files in the shared database: at the gateway, every
// instance must read the files of a mail that another began.

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"io/fs"

	"sikkermail/internal/store"
)

// fileChunk is the size of a file's rows in the database.
const fileChunk = 1 << 20

// FilesInDatabase reports whether the mails' files are kept in the
// database (PostgreSQL, shared by the gateway's instances) rather than
// in the folder of Files.
func (o *Outbox) FilesInDatabase() bool { return o.db.Dialect == store.PostgreSQL }

// DBFile is one of a mail's files being written to the database: it is
// there, whole, only when Commit succeeds; written again, it replaces
// what was there. A file of one row is written in one statement; a
// larger one in a transaction begun at its first full row.
type DBFile struct {
	ctx       context.Context
	o         *Outbox
	tx        *sql.Tx
	id, name  string
	seq       int
	buf       []byte
	committed bool
}

// CreateFile starts the file name of the mail with messageID, which need
// not be queued yet, in the database. Nothing is written before the
// first full row or Commit.
func (o *Outbox) CreateFile(ctx context.Context, messageID, name string) *DBFile {
	return &DBFile{ctx: ctx, o: o, id: messageID, name: name, buf: make([]byte, 0, fileChunk)}
}

func (f *DBFile) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		k := min(len(p), fileChunk-len(f.buf))
		f.buf, p = append(f.buf, p[:k]...), p[k:]
		if len(f.buf) == fileChunk {
			if err := f.flush(); err != nil {
				return n - len(p), err
			}
		}
	}
	return n, nil
}

// flush writes the full row in the buffer, in the file's transaction.
func (f *DBFile) flush() error {
	if f.tx == nil {
		tx, err := f.o.db.BeginTx(f.ctx, nil)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(f.ctx, f.o.db.Q(`DELETE FROM outbox_file WHERE message_id = ? AND name = ?`), f.id, f.name); err != nil {
			tx.Rollback()
			return err
		}
		f.tx = tx
	}
	if _, err := f.tx.ExecContext(f.ctx, f.o.db.Q(`INSERT INTO outbox_file (message_id, name, seq, data) VALUES (?, ?, ?, ?)`),
		f.id, f.name, f.seq, f.buf); err != nil {
		return err
	}
	f.seq++
	f.buf = f.buf[:0]
	return nil
}

// Commit keeps the file.
func (f *DBFile) Commit() error {
	if f.tx == nil {
		// One row: it replaces the file's first, and the others go, in
		// one statement.
		f.committed = true
		_, err := f.o.db.ExecContext(f.ctx, f.o.db.Q(`WITH gone AS (DELETE FROM outbox_file WHERE message_id = ? AND name = ? AND seq > 0)
			INSERT INTO outbox_file (message_id, name, seq, data) VALUES (?, ?, 0, ?)
			ON CONFLICT (message_id, name, seq) DO UPDATE SET data = EXCLUDED.data`), f.id, f.name, f.id, f.name, f.buf)
		return err
	}
	if len(f.buf) > 0 {
		if err := f.flush(); err != nil {
			f.tx.Rollback()
			f.committed = true
			return err
		}
	}
	f.committed = true
	return f.tx.Commit()
}

// Abort gives the file up.
func (f *DBFile) Abort() {
	if !f.committed && f.tx != nil {
		f.tx.Rollback()
	}
	f.committed = true
}

// OpenFile opens the file name of the mail with messageID in the
// database, and returns its length; one not there is fs.ErrNotExist. Its
// rows come in one query, as they are read.
func (o *Outbox) OpenFile(ctx context.Context, messageID, name string) (io.ReadCloser, int64, error) {
	rows, err := o.db.QueryContext(ctx, o.db.Q(`SELECT data, SUM(LENGTH(data)) OVER () FROM outbox_file
		WHERE message_id = ? AND name = ? ORDER BY seq`), messageID, name)
	if err != nil {
		return nil, 0, err
	}
	r := &dbReader{rows: rows, what: name + " of " + messageID}
	size, err := r.next()
	if err == io.EOF {
		err = fmt.Errorf("outbox: %s: %w", r.what, fs.ErrNotExist)
	}
	if err != nil {
		rows.Close()
		return nil, 0, err
	}
	return r, size, nil
}

// dbReader reads a file's rows one after the other.
type dbReader struct {
	rows *sql.Rows
	what string
	buf  []byte
}

func (r *dbReader) Read(p []byte) (int, error) {
	for len(r.buf) == 0 {
		if _, err := r.next(); err != nil {
			return 0, err
		}
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}

// next reads the next row into buf, with the file's length; after the
// last, io.EOF.
func (r *dbReader) next() (size int64, err error) {
	if !r.rows.Next() {
		if err := r.rows.Err(); err != nil {
			return 0, fmt.Errorf("outbox: %s: %w", r.what, err)
		}
		return 0, io.EOF
	}
	if err := r.rows.Scan(&r.buf, &size); err != nil {
		return 0, fmt.Errorf("outbox: %s: %w", r.what, err)
	}
	return size, nil
}

func (r *dbReader) Close() error { return r.rows.Close() }

// FileNames lists the names of the files kept under key in the
// database: a mail's (its Message-ID), or another owner's of sealed
// files that every instance reads, as a user's drafts.
func (o *Outbox) FileNames(ctx context.Context, key string) ([]string, error) {
	rows, err := o.db.QueryContext(ctx, o.db.Q(`SELECT DISTINCT name FROM outbox_file WHERE message_id = ? ORDER BY name`), key)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, err
		}
		out = append(out, name)
	}
	return out, rows.Err()
}

// RemoveFile removes the file name kept under key in the database; one
// not there is no error.
func (o *Outbox) RemoveFile(ctx context.Context, key, name string) error {
	_, err := o.db.ExecContext(ctx, o.db.Q(`DELETE FROM outbox_file WHERE message_id = ? AND name = ?`), key, name)
	return err
}
