// Package outbox is the durable queue between pressing Send and a
// delivered mail. A mail is written to SQLite before Send returns; a
// worker then takes it through the caller's steps (build, submit, copy,
// receipt), recording each step's completion — and its output — in the
// same transaction before the next starts. A crash at any point resumes
// at the first step not recorded, so each step is done once, except the
// one the process was in when it died.
//
// A step that fails temporarily (its error has IsTemporary() true) is
// tried again with growing delays, or after the time its error's
// RetryAfter() gives (a step waiting for an answer); any other failure
// stops the mail as failed, with the reason, until the user retries or
// removes it.
//
// On one PC (SQLite) one worker runs per database: it holds a lock file
// next to it, which the operating system releases when the process ends,
// however it ends. At the gateway (PostgreSQL, OpenShared) every instance
// is a worker: each claims one mail at a time, with a lease it renews
// while it works and that lapses when the instance dies, so another
// instance goes on from the first step not recorded.
package outbox

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"sikkermail/internal/i18n"
	"sikkermail/internal/store"
)

// State is where a mail is.
type State string

// The states.
const (
	// Queued: waiting for its next step (at NextTry).
	Queued State = "queued"
	// Failed: stopped by a permanent error; the user retries or removes.
	Failed State = "failed"
	// Done: every step completed.
	Done State = "done"
)

// Localize names the state's word for a user.
func (s State) Localize() i18n.Message {
	switch s {
	case Failed:
		return i18n.Message{Key: "outbox.state.failed"}
	case Done:
		return i18n.Message{Key: "outbox.state.done"}
	}
	return i18n.Message{Key: "outbox.state.queued"}
}

// ErrBusy means another process is the outbox's worker right now.
var ErrBusy = errors.New("outbox: another process is sending")

// WriteError is a record the outbox could not write to its database: the
// disk is full, or the file cannot be written. Nothing is lost: the mail
// waits at the step it was at, and goes on when writing works again.
type WriteError struct {
	File string
	Err  error
	// NotQueued: the write that failed was the mail's going into the
	// outbox, so it is not there: it was not sent, and its draft is
	// still the user's.
	NotQueued bool
}

func (e *WriteError) Error() string { return fmt.Sprintf("outbox: %s: %v", e.File, e.Err) }
func (e *WriteError) Unwrap() error { return e.Err }

// Localize names the sentence for a user.
func (e *WriteError) Localize() i18n.Message {
	key := "outbox.write"
	if e.NotQueued {
		key = "outbox.write_not_queued"
	}
	return i18n.Message{Key: key, Args: map[string]any{"File": e.File, "Err": e.Err.Error()}}
}

func (o *Outbox) writeError(err error) error {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, errLeaseLost) {
		return err
	}
	return &WriteError{File: o.where, Err: err}
}

// Stalled returns the write error that stopped the worker's last round,
// nil when it went well.
func (o *Outbox) Stalled() error {
	o.stallMu.Lock()
	defer o.stallMu.Unlock()
	return o.stalled
}

// Mail is one queued mail.
type Mail struct {
	ID        int64
	MessageID string
	Created   time.Time
	User      string
	Mailbox   string
	// Recipients (To) and Cc as the user entered them, in order.
	Recipients, Cc []string
	// Subject is kept for the outbox list (never the body).
	Subject string
	// Content is the caller's sealed draft; it is erased when the mail is
	// done.
	Content []byte
	State   State
	// Steps holds the output of each completed step, by name.
	Steps    map[string][]byte
	Attempts int
	NextTry  time.Time
	// Err is the last failure, as it can be told to the user.
	Err *StoredError
	// Finished is when the last step completed.
	Finished time.Time
}

// All returns the recipients, To then Cc, in a new slice.
func (m *Mail) All() []string {
	return append(append([]string(nil), m.Recipients...), m.Cc...)
}

// Did reports whether step has completed.
func (m *Mail) Did(step string) bool {
	_, ok := m.Steps[step]
	return ok
}

// Step is one stage of sending. Run returns what later steps need (it is
// stored with the step's completion; nil is fine).
type Step struct {
	Name string
	Run  func(ctx context.Context, m *Mail) ([]byte, error)
}

// Outbox is the queue in a database.
type Outbox struct {
	db    *store.DB
	steps []Step
	// lock is the lock file of the one worker; "" when the queue is
	// shared and leases keep the workers apart.
	lock string
	// where names the database in errors.
	where string
	// owner names this worker in the leases it takes.
	owner string
	// Lease is how long a claim holds unless renewed (every third of
	// it, while a mail is worked); the default is 30 s. The instances'
	// clocks must agree to well within it.
	Lease time.Duration
	// Workers is how many mails a shared outbox's Run works at once (1
	// when not set); with a lock file there is one.
	Workers int
	// Queue names the queue in the table this outbox works ("" is
	// "send", the mails being sent); the gateway's inbound mails are
	// another. Each outbox lists, claims and wakes its own queue's
	// alone. Set it before the first use.
	Queue string
	// Now is the clock (tests set it).
	Now func() time.Time
	// Backoff is the delay before try n+1 after n temporary failures;
	// the default doubles from 30 s up to 30 min.
	Backoff func(n int) time.Duration
	// Hook, when set, is called at "before:STEP" (the step ran, its
	// completion is not recorded yet) and "after:STEP" (recorded). The
	// crash tests kill the process there.
	Hook func(point string, m *Mail)

	// files is the folder of the mails' files (KeepFilesIn).
	files string

	kick chan struct{}
	mu   sync.Mutex // one Process at a time within the process

	stallMu sync.Mutex
	stalled error
}

//go:embed schema
var schema embed.FS

// Open prepares the outbox tables in the SQLite database db. lockFile is
// the file whose lock makes this process the one worker; steps are run
// in order.
func Open(db *sql.DB, lockFile string, steps ...Step) (*Outbox, error) {
	o, err := open(context.Background(), store.FromSQLite(db), steps)
	if err != nil {
		return nil, err
	}
	for _, c := range []struct{ column, decl string }{
		{"cc", `TEXT NOT NULL DEFAULT '[]'`},
		// working was set while the worker was inside a step (now: the lease).
		{"working", `INTEGER`},
	} {
		if err := addColumn(db, "outbox", c.column, c.decl); err != nil {
			return nil, fmt.Errorf("outbox: %w", err)
		}
	}
	o.lock, o.where = lockFile, strings.TrimSuffix(lockFile, ".lock")
	return o, nil
}

// OpenShared prepares the outbox tables in db for workers that share it:
// the gateway's instances on one PostgreSQL database.
func OpenShared(ctx context.Context, db *store.DB, steps ...Step) (*Outbox, error) {
	o, err := open(ctx, db, steps)
	if err != nil {
		return nil, err
	}
	o.where = "PostgreSQL"
	return o, nil
}

func open(ctx context.Context, db *store.DB, steps []Step) (*Outbox, error) {
	sub, _ := fs.Sub(schema, "schema")
	if err := store.Migrate(ctx, db, "outbox", sub); err != nil {
		return nil, fmt.Errorf("outbox: %w", err)
	}
	host, _ := os.Hostname()
	var b [6]byte
	rand.Read(b[:])
	owner := fmt.Sprintf("%s/%d/%x", host, os.Getpid(), b)
	return &Outbox{db: db, steps: steps, owner: owner, kick: make(chan struct{}, 1)}, nil
}

func (o *Outbox) queue() string {
	if o.Queue == "" {
		return "send"
	}
	return o.Queue
}

func (o *Outbox) lease() time.Duration {
	if o.Lease > 0 {
		return o.Lease
	}
	return 30 * time.Second
}

// KeepFilesIn makes dir (created readable by the user alone) the place
// of the mails' files: what is too large for the database, kept there
// by the steps (Files). A mail's files go when it is done or removed;
// files left by a process that stopped between writing them and queueing
// the mail are removed after an hour.
func (o *Outbox) KeepFilesIn(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if runtime.GOOS != "windows" {
		// Ours alone, also if it was made otherwise.
		if err := os.Chmod(dir, 0o700); err != nil {
			return err
		}
	}
	o.files = dir
	rows, err := o.db.Query(o.db.Q(`SELECT message_id FROM outbox WHERE state != ? AND queue = ?`), Done, o.queue())
	if err != nil {
		return err
	}
	live := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return err
		}
		live[filesName(id)] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		info, err := e.Info()
		if err == nil && !live[e.Name()] && o.now().Sub(info.ModTime()) > time.Hour {
			os.RemoveAll(filepath.Join(dir, e.Name()))
		}
	}
	return nil
}

// filesName is the folder name of a mail's files: its Message-ID may hold
// any character.
func filesName(messageID string) string {
	sum := sha256.Sum256([]byte(messageID))
	return hex.EncodeToString(sum[:16])
}

// Files returns the folder (created) for the files of the mail with
// messageID, which need not be queued yet.
func (o *Outbox) Files(messageID string) (string, error) {
	if o.files == "" {
		return "", errors.New("outbox: no folder for files (KeepFilesIn)")
	}
	dir := filepath.Join(o.files, filesName(messageID))
	return dir, os.MkdirAll(dir, 0o700)
}

// RemoveFiles removes the files of a mail that was not queued after all.
func (o *Outbox) RemoveFiles(messageID string) { o.removeFiles(messageID) }

// removeFiles removes a mail's files.
func (o *Outbox) removeFiles(messageID string) {
	if o.FilesInDatabase() {
		o.db.ExecContext(context.Background(), o.db.Q(`DELETE FROM outbox_file WHERE message_id = ?`), messageID)
	}
	if o.files != "" {
		os.RemoveAll(filepath.Join(o.files, filesName(messageID)))
	}
}

func (o *Outbox) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}

func (o *Outbox) backoff(n int) time.Duration {
	if o.Backoff != nil {
		return o.Backoff(n)
	}
	d := 30 * time.Second
	for i := 1; i < n && d < 30*time.Minute; i++ {
		d *= 2
	}
	return min(d, 30*time.Minute)
}

// addColumn adds a column that a database made by an earlier version
// lacks.
func addColumn(db *sql.DB, table, column, decl string) error {
	var n int
	if err := db.QueryRow(`SELECT COUNT(*) FROM pragma_table_info(?) WHERE name = ?`, table, column).Scan(&n); err != nil || n > 0 {
		return err
	}
	_, err := db.Exec(`ALTER TABLE ` + table + ` ADD COLUMN ` + column + ` ` + decl)
	return err
}

// Add writes m durably and returns its ID; the worker is woken.
func (o *Outbox) Add(ctx context.Context, m *Mail) (int64, error) {
	rcpts, _ := json.Marshal(m.Recipients)
	cc, _ := json.Marshal(m.Cc)
	now := o.now()
	// A number is never given twice, also after the newest mail was
	// removed: a receipt or a note that says "mail 7" means one mail.
	var id int64
	// The row of outbox_last is locked until the mail is in, so that
	// workers adding at once take turns. (Databases from before it have
	// mails but no row: the first number follows the newest mail.)
	greatest := "MAX"
	if o.db.Dialect == store.PostgreSQL {
		greatest = "GREATEST"
	}
	err := o.db.InTx(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `INSERT INTO outbox_last (one, last) VALUES (1, (SELECT COALESCE(MAX(id), 0) + 1 FROM outbox))
			ON CONFLICT (one) DO UPDATE SET last = `+greatest+`(outbox_last.last + 1, excluded.last) RETURNING last`).Scan(&id); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, o.db.Q(`INSERT INTO outbox (id, message_id, created, "user", mailbox, recipients, cc, subject, content, state, next_try, queue)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`), id, m.MessageID, now.UnixMilli(), m.User, m.Mailbox, string(rcpts), string(cc), m.Subject, m.Content, Queued, now.UnixMilli(), o.queue())
		return err
	})
	if err != nil {
		err = o.writeError(err)
		var we *WriteError
		if errors.As(err, &we) {
			we.NotQueued = true
		}
		return 0, err
	}
	o.Kick()
	return id, nil
}

// StepCount is how many steps a mail goes through.
func (o *Outbox) StepCount() int { return len(o.steps) }

// Kick wakes the worker.
func (o *Outbox) Kick() {
	select {
	case o.kick <- struct{}{}:
	default:
	}
}

const columns = `id, message_id, created, "user", mailbox, recipients, cc, subject, content, state, attempts, next_try, error, finished`

func scan(row interface{ Scan(...any) error }) (*Mail, error) {
	var m Mail
	var created, next int64
	var finished sql.NullInt64
	var rcpts, cc string
	var stored sql.NullString
	if err := row.Scan(&m.ID, &m.MessageID, &created, &m.User, &m.Mailbox, &rcpts, &cc, &m.Subject, &m.Content, &m.State, &m.Attempts, &next, &stored, &finished); err != nil {
		return nil, err
	}
	m.Created, m.NextTry = time.UnixMilli(created), time.UnixMilli(next)
	if finished.Valid {
		m.Finished = time.UnixMilli(finished.Int64)
	}
	if err := json.Unmarshal([]byte(rcpts), &m.Recipients); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(cc), &m.Cc); err != nil {
		return nil, err
	}
	if stored.Valid {
		m.Err = new(StoredError)
		if err := json.Unmarshal([]byte(stored.String), m.Err); err != nil {
			return nil, err
		}
	}
	return &m, nil
}

// List returns every mail in the outbox, oldest first, without content
// or step outputs.
func (o *Outbox) List(ctx context.Context) ([]Mail, error) {
	rows, err := o.db.QueryContext(ctx, o.db.Q(`SELECT `+columns+` FROM outbox WHERE queue = ? ORDER BY id`), o.queue())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Mail
	for rows.Next() {
		m, err := scan(rows)
		if err != nil {
			return nil, err
		}
		m.Content = nil
		out = append(out, *m)
	}
	return out, rows.Err()
}

// ByMessageID returns the ID of the mail with messageID, and false when
// the outbox holds none.
func (o *Outbox) ByMessageID(ctx context.Context, messageID string) (int64, bool, error) {
	var id int64
	err := o.db.QueryRowContext(ctx, o.db.Q(`SELECT id FROM outbox WHERE message_id = ? AND queue = ?`), messageID, o.queue()).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	return id, err == nil, err
}

// Get returns one mail with its steps' outputs.
func (o *Outbox) Get(ctx context.Context, id int64) (*Mail, error) {
	m, err := scan(o.db.QueryRowContext(ctx, o.db.Q(`SELECT `+columns+` FROM outbox WHERE id = ? AND queue = ?`), id, o.queue()))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, &NotFoundError{ID: id}
	}
	if err != nil {
		return nil, err
	}
	rows, err := o.db.QueryContext(ctx, o.db.Q(`SELECT step, output FROM outbox_step WHERE mail = ?`), id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	m.Steps = map[string][]byte{}
	for rows.Next() {
		var step string
		var out []byte
		if err := rows.Scan(&step, &out); err != nil {
			return nil, err
		}
		m.Steps[step] = out
	}
	return m, rows.Err()
}

// Retry puts a failed or waiting mail back in line now. It resumes at the
// step that failed: nothing already done is done again.
func (o *Outbox) Retry(ctx context.Context, id int64) error {
	res, err := o.db.ExecContext(ctx, o.db.Q(`UPDATE outbox SET state = ?, next_try = ? WHERE id = ? AND state != ? AND queue = ?`), Queued, o.now().UnixMilli(), id, Done, o.queue())
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return &NotFoundError{ID: id}
	}
	o.Kick()
	return nil
}

// Wake makes every waiting mail due now and kicks the worker: what it
// waited for (a sign-in, say) has come, so the reason it waited for is
// dropped; the next try records its own if it fails again.
func (o *Outbox) Wake(ctx context.Context) error {
	if _, err := o.db.ExecContext(ctx, o.db.Q(`UPDATE outbox SET next_try = ?, error = NULL WHERE state = ? AND queue = ?`), o.now().UnixMilli(), Queued, o.queue()); err != nil {
		return o.writeError(err)
	}
	o.Kick()
	return nil
}

// Remove deletes a mail and its records: the user gives up on it (or
// clears a delivered one from the list). A mail the worker is inside a
// step of (submitting it, say) is not removed: what that step does
// would then go unrecorded, with no audit entry, copy or receipt.
func (o *Outbox) Remove(ctx context.Context, id int64) error {
	// A mail under a live lease is being worked. Without a lock file
	// (shared) or with it held by another process, that is the question;
	// holding it, no worker runs and every lease left is a dead one's.
	live := o.lock == ""
	if !live {
		unlock, err := lockFile(o.lock)
		switch {
		case err == nil:
			defer unlock()
		case errors.Is(err, ErrBusy):
			live = true
		default:
			return err
		}
	}
	q := `DELETE FROM outbox WHERE id = ? AND queue = ? RETURNING message_id`
	args := []any{id, o.queue()}
	if live {
		q = `DELETE FROM outbox WHERE id = ? AND queue = ? AND (lease_until IS NULL OR lease_until < ?) RETURNING message_id`
		args = append(args, o.now().UnixMilli())
	}
	var messageID string
	err := o.db.QueryRowContext(ctx, o.db.Q(q), args...).Scan(&messageID)
	if errors.Is(err, sql.ErrNoRows) {
		var n int
		if err := o.db.QueryRowContext(ctx, o.db.Q(`SELECT COUNT(*) FROM outbox WHERE id = ? AND queue = ?`), id, o.queue()).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return &SendingError{ID: id}
		}
		return &NotFoundError{ID: id}
	}
	if err != nil {
		return err
	}
	o.removeFiles(messageID)
	return nil
}

// Process takes every mail that is due through its remaining steps, one
// mail at a time, and returns how many it finished. When another process
// is the worker, it returns ErrBusy at once.
func (o *Outbox) Process(ctx context.Context) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.lock != "" {
		unlock, err := lockFile(o.lock)
		if err != nil {
			return 0, err
		}
		defer unlock()
	}
	return o.roundAs(ctx, o.owner)
}

// roundAs is round, its write error (or none) kept for Stalled.
func (o *Outbox) roundAs(ctx context.Context, owner string) (int, error) {
	done, err := o.round(ctx, owner)
	var we *WriteError
	o.stallMu.Lock()
	if errors.As(err, &we) {
		o.stalled = we
	} else if err == nil {
		o.stalled = nil
	}
	o.stallMu.Unlock()
	return done, err
}

// round works every due mail, as the worker owner.
func (o *Outbox) round(ctx context.Context, owner string) (int, error) {
	done := 0
	for {
		id, err := o.claim(ctx, owner)
		if errors.Is(err, sql.ErrNoRows) {
			return done, nil
		}
		if err != nil {
			return done, o.writeError(err)
		}
		finished, err := o.process(ctx, id, owner)
		if errors.Is(err, errLeaseLost) {
			continue // the other worker goes on with it
		}
		if err != nil {
			return done, err
		}
		if finished {
			done++
		}
	}
}

// process runs one mail's remaining steps. It reports whether the mail
// is done; a step's failure is recorded on the mail, not returned.
func (o *Outbox) process(ctx context.Context, id int64, owner string) (bool, error) {
	defer o.release(context.WithoutCancel(ctx), id, owner)
	ctx, lost := o.keepLease(ctx, id, owner)
	defer lost(nil)
	m, err := o.Get(ctx, id)
	if err != nil {
		return false, err
	}
	for _, st := range o.steps {
		if m.Did(st.Name) {
			continue
		}
		out, err := st.Run(ctx, m)
		var we *WriteError
		switch {
		case err == nil:
		case ctx.Err() != nil:
			return false, context.Cause(ctx)
		case errors.As(err, &we):
			// A step that could not write its files meets the disk, not
			// the mail: the mail waits at the step, as for the database.
			return false, we
		default:
			return false, o.fail(ctx, m, err, owner)
		}
		o.hook("before:"+st.Name, m)
		if err := o.leased(ctx, m.ID, owner, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, o.db.Q(`INSERT INTO outbox_step (mail, step, time, output) VALUES (?, ?, ?, ?)`),
				m.ID, st.Name, o.now().UnixMilli(), out)
			return err
		}); err != nil {
			return false, o.writeError(err)
		}
		m.Steps[st.Name] = out
		o.hook("after:"+st.Name, m)
	}
	// Done: the draft, the steps' outputs and the files are no longer needed.
	err = o.writeError(o.leased(ctx, m.ID, owner, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, o.db.Q(`UPDATE outbox SET state = ?, content = NULL, error = NULL, finished = ? WHERE id = ?`),
			Done, o.now().UnixMilli(), m.ID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, o.db.Q(`UPDATE outbox_step SET output = NULL WHERE mail = ?`), m.ID)
		return err
	}))
	if err == nil {
		o.removeFiles(m.MessageID)
	}
	return true, err
}

func (o *Outbox) hook(point string, m *Mail) {
	if o.Hook != nil {
		o.Hook(point, m)
	}
}

// fail records a step's failure: a temporary one is tried again after
// the backoff, any other stops the mail.
func (o *Outbox) fail(ctx context.Context, m *Mail, err error, owner string) error {
	stored, _ := json.Marshal(Store(err))
	state, next := Failed, o.now()
	var after interface{ RetryAfter() time.Duration }
	switch {
	case Temporary(err) && errors.As(err, &after):
		// A step that waits for an answer says when to look again.
		state, next = Queued, o.now().Add(after.RetryAfter())
	case Temporary(err):
		state, next = Queued, o.now().Add(o.backoff(m.Attempts+1))
	}
	return o.writeError(o.leased(ctx, m.ID, owner, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, o.db.Q(`UPDATE outbox SET state = ?, attempts = attempts + 1, next_try = ?, error = ? WHERE id = ?`),
			state, next.UnixMilli(), string(stored), m.ID)
		return err
	}))
}

// Next returns when the earliest waiting mail is due, and false when
// none is waiting. Shared, a mail another worker holds is due when its
// lease lapses, not before: idle workers do not spin on it.
func (o *Outbox) Next(ctx context.Context) (time.Time, bool, error) {
	due := `next_try`
	if o.lock == "" {
		due = `CASE WHEN lease_until IS NOT NULL AND lease_until > next_try THEN lease_until ELSE next_try END`
	}
	var next sql.NullInt64
	err := o.db.QueryRowContext(ctx, o.db.Q(`SELECT MIN(`+due+`) FROM outbox WHERE state = ? AND queue = ?`), Queued, o.queue()).Scan(&next)
	if err != nil || !next.Valid {
		return time.Time{}, false, err
	}
	return time.UnixMilli(next.Int64), true, nil
}

// Run is the worker: it processes due mail, then sleeps until the next
// is due or Kick is called, until ctx ends. When another process is the
// worker it waits and tries again, so one of them always is. Shared,
// Workers workers run, each claiming its own mails.
func (o *Outbox) Run(ctx context.Context) error {
	if o.lock != "" || o.Workers <= 1 {
		return o.work(ctx, o.Process)
	}
	errs := make(chan error, o.Workers)
	for i := range o.Workers {
		owner := fmt.Sprintf("%s/%d", o.owner, i)
		go func() {
			errs <- o.work(ctx, func(ctx context.Context) (int, error) { return o.roundAs(ctx, owner) })
		}()
	}
	err := <-errs
	for range o.Workers - 1 {
		<-errs
	}
	return err
}

// work runs rounds of process until ctx ends, sleeping between them.
func (o *Outbox) work(ctx context.Context, process func(context.Context) (int, error)) error {
	for {
		_, err := process(ctx)
		wait := time.Minute
		switch {
		case errors.Is(err, ErrBusy):
			wait = 5 * time.Second
		case err != nil && ctx.Err() == nil:
			wait = 10 * time.Second
		case err == nil:
			if next, ok, err := o.Next(ctx); err == nil && ok {
				wait = max(next.Sub(o.now()), 0)
			}
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return ctx.Err()
		case <-o.kick:
			timer.Stop()
		case <-timer.C:
		}
	}
}

// StoredError is a failure as it was told, kept with the mail: its
// sentence (key and values) and its technical text.
type StoredError struct {
	Message   i18n.Message `json:"message"`
	Text      string       `json:"text"`
	Temporary bool         `json:"temporary,omitempty"`
}

// Store turns err into what the outbox keeps of it.
func Store(err error) *StoredError {
	s := &StoredError{Text: err.Error()}
	var l i18n.Localizer
	if errors.As(err, &l) {
		s.Message = l.Localize()
	} else {
		s.Message = i18n.Message{Key: "outbox.failed", Args: map[string]any{"Detail": err.Error()}}
	}
	s.Temporary = Temporary(err)
	return s
}

// Temporary reports whether err says trying again later may succeed
// (an IsTemporary method anywhere in its chain that says so): the
// outbox then waits and tries again by itself.
func Temporary(err error) bool {
	var t interface{ IsTemporary() bool }
	return errors.As(err, &t) && t.IsTemporary()
}

func (e *StoredError) Error() string { return e.Text }

// Localize implements i18n.Localizer.
func (e *StoredError) Localize() i18n.Message { return e.Message }

// SendingError is a mail that cannot be removed now: the worker is in
// the middle of one of its steps.
type SendingError struct{ ID int64 }

func (e *SendingError) Error() string { return fmt.Sprintf("outbox: mail %d is being sent", e.ID) }

// Localize implements i18n.Localizer.
func (e *SendingError) Localize() i18n.Message {
	return i18n.Message{Key: "outbox.sending", Args: map[string]any{"ID": e.ID}}
}

// NotFoundError is an ID the outbox does not hold (any longer).
type NotFoundError struct{ ID int64 }

func (e *NotFoundError) Error() string { return fmt.Sprintf("outbox: no mail %d", e.ID) }

// Localize implements i18n.Localizer.
func (e *NotFoundError) Localize() i18n.Message {
	return i18n.Message{Key: "outbox.not_found", Args: map[string]any{"ID": e.ID}}
}
