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
// what was there.
type DBFile struct {
	ctx       context.Context
	tx        *sql.Tx
	q         string
	id, name  string
	seq       int
	buf       []byte
	committed bool
}

// CreateFile starts the file name of the mail with messageID, which need
// not be queued yet, in the database.
func (o *Outbox) CreateFile(ctx context.Context, messageID, name string) (*DBFile, error) {
	tx, err := o.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	if _, err := tx.ExecContext(ctx, o.db.Q(`DELETE FROM outbox_file WHERE message_id = ? AND name = ?`), messageID, name); err != nil {
		tx.Rollback()
		return nil, err
	}
	return &DBFile{ctx: ctx, tx: tx, q: o.db.Q(`INSERT INTO outbox_file (message_id, name, seq, data) VALUES (?, ?, ?, ?)`),
		id: messageID, name: name, buf: make([]byte, 0, fileChunk)}, nil
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

func (f *DBFile) flush() error {
	if _, err := f.tx.ExecContext(f.ctx, f.q, f.id, f.name, f.seq, f.buf); err != nil {
		return err
	}
	f.seq++
	f.buf = f.buf[:0]
	return nil
}

// Commit keeps the file.
func (f *DBFile) Commit() error {
	if len(f.buf) > 0 || f.seq == 0 {
		if err := f.flush(); err != nil {
			f.tx.Rollback()
			return err
		}
	}
	f.committed = true
	return f.tx.Commit()
}

// Abort gives the file up.
func (f *DBFile) Abort() {
	if !f.committed {
		f.tx.Rollback()
	}
}

// OpenFile opens the file name of the mail with messageID in the
// database, and returns its length; one not there is fs.ErrNotExist.
func (o *Outbox) OpenFile(ctx context.Context, messageID, name string) (io.ReadCloser, int64, error) {
	var n, size int64
	if err := o.db.QueryRowContext(ctx, o.db.Q(`SELECT COUNT(*), COALESCE(SUM(LENGTH(data)), 0) FROM outbox_file WHERE message_id = ? AND name = ?`),
		messageID, name).Scan(&n, &size); err != nil {
		return nil, 0, err
	}
	if n == 0 {
		return nil, 0, fmt.Errorf("outbox: %s of %s: %w", name, messageID, fs.ErrNotExist)
	}
	return &dbReader{ctx: ctx, o: o, id: messageID, name: name, chunks: int(n)}, size, nil
}

// dbReader reads a file's chunks one after the other.
type dbReader struct {
	ctx      context.Context
	o        *Outbox
	id, name string
	seq      int
	chunks   int
	buf      []byte
}

func (r *dbReader) Read(p []byte) (int, error) {
	for len(r.buf) == 0 {
		if r.seq == r.chunks {
			return 0, io.EOF
		}
		if err := r.o.db.QueryRowContext(r.ctx, r.o.db.Q(`SELECT data FROM outbox_file WHERE message_id = ? AND name = ? AND seq = ?`),
			r.id, r.name, r.seq).Scan(&r.buf); err != nil {
			return 0, fmt.Errorf("outbox: %s of %s: %w", r.name, r.id, err)
		}
		r.seq++
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}

func (r *dbReader) Close() error { return nil }
