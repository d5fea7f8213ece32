package policy

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"regexp"
	"strconv"
	"strings"
	"time"

	"sikkermail/internal/recipient"
	"sikkermail/internal/store"
)

// SQL is the Registry, and the audit log, in the project's database
// (tables policy_*): SQLite on one PC, PostgreSQL at the gateway. The
// helpdesk role comes from the settings.
type SQL struct {
	db       *store.DB
	staff    recipient.Domains
	helpdesk map[string]bool
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

//go:embed schema
var schema embed.FS

// Open prepares the policy tables in db. staff are the institution's
// domains: only addresses there can hold rights. helpdesk lists who may
// grant and revoke.
func Open(ctx context.Context, db *store.DB, staff recipient.Domains, helpdesk []string) (*SQL, error) {
	sub, _ := fs.Sub(schema, "schema")
	if err := store.Migrate(ctx, db, "policy", sub); err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	if db.Dialect == store.SQLite {
		if err := upgradeSQLite(db); err != nil {
			return nil, fmt.Errorf("policy: %w", err)
		}
	}
	s := &SQL{db: db, staff: staff, helpdesk: map[string]bool{}}
	for _, h := range helpdesk {
		s.helpdesk[strings.ToLower(strings.TrimSpace(h))] = true
	}
	return s, nil
}

// OpenSQLite is Open on an SQLite database.
func OpenSQLite(db *sql.DB, staff recipient.Domains, helpdesk []string) (*SQL, error) {
	return Open(context.Background(), store.FromSQLite(db), staff, helpdesk)
}

// upgradeSQLite adds the columns that databases from before numbered
// migrations lack.
func upgradeSQLite(db *store.DB) error {
	for _, c := range []struct{ table, column, def string }{
		// Each entry carries the hash of the one before it and of itself,
		// so that dropping the triggers and changing or deleting a line
		// shows (VerifyAudit). Logs from before the chain keep their lines
		// as they were; the chain starts at the first entry written with it.
		{"policy_audit", "hash", "TEXT"},
		// Mailboxes from before Digital Post's contact points have none.
		{"policy_mailbox", "contact_point", "TEXT NOT NULL DEFAULT ''"},
	} {
		var n int
		if err := db.QueryRow(`SELECT COUNT(*) FROM pragma_table_info(?) WHERE name = ?`, c.table, c.column).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			if _, err := db.Exec(`ALTER TABLE ` + c.table + ` ADD COLUMN ` + c.column + ` ` + c.def); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *SQL) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// user validates and normalises a staff address.
func (s *SQL) user(u string) (string, error) {
	r, err := recipient.Parser{Internal: s.staff}.Parse(u)
	if err != nil || r.Kind != recipient.Email || !r.Internal {
		return "", &Error{Reason: UnknownUser, User: u, Err: err}
	}
	return strings.ToLower(r.Address), nil
}

// Mailboxes implements Registry.
func (s *SQL) Mailboxes(ctx context.Context) ([]Mailbox, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+mailboxColumns+` FROM policy_mailbox ORDER BY address`)
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	defer rows.Close()
	var out []Mailbox
	for rows.Next() {
		var m Mailbox
		if err := rows.Scan(m.fields()...); err != nil {
			return nil, fmt.Errorf("policy: %w", err)
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// Mailbox implements Registry.
func (s *SQL) Mailbox(ctx context.Context, address string) (*Mailbox, error) {
	var m Mailbox
	err := s.db.QueryRowContext(ctx, s.db.Q(`SELECT `+mailboxColumns+` FROM policy_mailbox WHERE address = ?`),
		strings.ToLower(address)).Scan(m.fields()...)
	if err == sql.ErrNoRows {
		return nil, &Error{Reason: UnknownMailbox, Mailbox: address}
	}
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	return &m, nil
}

// guid is the form of a Digital Post contact point's id.
var guid = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// mailboxColumns are policy_mailbox's columns, in the order of fields.
const mailboxColumns = `address, name, department, identity, password, sent, inbox, contact_point`

// fields are m's fields in the order of mailboxColumns.
func (m *Mailbox) fields() []any {
	return []any{&m.Address, &m.Name, &m.Department, &m.Identity, &m.Password, &m.SentFolder, &m.InboxFolder, &m.ContactPoint}
}

// AddMailbox implements Registry.
func (s *SQL) AddMailbox(ctx context.Context, by Actor, m Mailbox) error {
	if err := s.mustBeHelpdesk(by, "", m.Address); err != nil {
		return err
	}
	addr, err := s.user(m.Address) // a mailbox is an address of the institution too
	if err != nil {
		return &Error{Reason: BadMailbox, Mailbox: m.Address, Err: err}
	}
	m.Address = addr
	if m.ContactPoint = strings.ToLower(strings.TrimSpace(m.ContactPoint)); m.ContactPoint != "" && !guid.MatchString(m.ContactPoint) {
		return &Error{Reason: BadContactPoint, Mailbox: m.Address, Value: m.ContactPoint}
	}
	if m.SentFolder == "" {
		m.SentFolder = "Sent"
	}
	if m.InboxFolder == "" {
		m.InboxFolder = "INBOX"
	}
	if m.Password == "" {
		m.Password = "keyring"
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, s.db.Q(`INSERT INTO policy_mailbox (`+mailboxColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(address) DO UPDATE SET name=excluded.name, department=excluded.department,
			identity=excluded.identity, password=excluded.password, sent=excluded.sent, inbox=excluded.inbox,
			contact_point=excluded.contact_point`), m.fields()...)
		if err != nil {
			return err
		}
		return s.append(ctx, tx, Entry{Actor: by, Action: "mailbox", Mailbox: m.Address, Subject: m.Name})
	})
}

// Rights implements Registry.
func (s *SQL) Rights(ctx context.Context, user string) (map[string][]Right, error) {
	return s.query(ctx, `SELECT mailbox, "right" FROM policy_right WHERE "user" = ? ORDER BY mailbox, "right"`, strings.ToLower(user))
}

// Holders implements Registry.
func (s *SQL) Holders(ctx context.Context, mailbox string) (map[string][]Right, error) {
	if _, err := s.Mailbox(ctx, mailbox); err != nil {
		return nil, err
	}
	return s.query(ctx, `SELECT "user", "right" FROM policy_right WHERE mailbox = ? ORDER BY "user", "right"`, strings.ToLower(mailbox))
}

func (s *SQL) query(ctx context.Context, q, arg string) (map[string][]Right, error) {
	rows, err := s.db.QueryContext(ctx, s.db.Q(q), arg)
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	defer rows.Close()
	out := map[string][]Right{}
	for rows.Next() {
		var k, r string
		if err := rows.Scan(&k, &r); err != nil {
			return nil, fmt.Errorf("policy: %w", err)
		}
		out[k] = append(out[k], Right(r))
	}
	return out, rows.Err()
}

// Grant implements Registry: the right and its audit entry are committed
// together before Grant returns.
func (s *SQL) Grant(ctx context.Context, by Actor, user, mailbox string, r Right) error {
	return s.change(ctx, by, "grant", user, mailbox, r)
}

// Revoke implements Registry.
func (s *SQL) Revoke(ctx context.Context, by Actor, user, mailbox string, r Right) error {
	return s.change(ctx, by, "revoke", user, mailbox, r)
}

func (s *SQL) change(ctx context.Context, by Actor, action, user, mailbox string, r Right) error {
	if err := s.mustBeHelpdesk(by, user, mailbox); err != nil {
		return err
	}
	if _, err := ParseRight(string(r)); err != nil {
		return err
	}
	u, err := s.user(user)
	if err != nil {
		return err
	}
	m, err := s.Mailbox(ctx, mailbox)
	if err != nil {
		return err
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var res sql.Result
		if action == "grant" {
			res, err = tx.ExecContext(ctx, s.db.Q(`INSERT INTO policy_right ("user", mailbox, "right") VALUES (?, ?, ?) ON CONFLICT DO NOTHING`), u, m.Address, string(r))
		} else {
			res, err = tx.ExecContext(ctx, s.db.Q(`DELETE FROM policy_right WHERE "user" = ? AND mailbox = ? AND "right" = ?`), u, m.Address, string(r))
		}
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			reason := AlreadyGranted
			if action == "revoke" {
				reason = NotGranted
			}
			return &Error{Reason: reason, User: u, Mailbox: m.Address, Right: r}
		}
		return s.append(ctx, tx, Entry{Actor: by, Action: action, Mailbox: m.Address, Subject: u, Right: r})
	})
}

// IsHelpdesk implements Registry.
func (s *SQL) IsHelpdesk(_ context.Context, user string) (bool, error) {
	return s.helpdesk[strings.ToLower(user)], nil
}

func (s *SQL) mustBeHelpdesk(by Actor, user, mailbox string) error {
	if !by.Helpdesk && !s.helpdesk[strings.ToLower(by.User)] {
		return &Error{Reason: NotHelpdesk, User: by.User, Mailbox: mailbox}
	}
	return nil
}

func (s *SQL) inTx(ctx context.Context, f func(*sql.Tx) error) error {
	err := s.db.InTx(ctx, f)
	if _, ok := err.(*Error); ok || err == nil {
		return err
	}
	return fmt.Errorf("policy: %w", err)
}

// Log appends an entry to the audit log, such as a send (who, from which
// mailbox, to whom, Message-ID, receipt; never the content). It returns
// once the entry is committed.
func (s *SQL) Log(ctx context.Context, e Entry) error {
	return s.inTx(ctx, func(tx *sql.Tx) error { return s.append(ctx, tx, e) })
}

func (s *SQL) append(ctx context.Context, tx *sql.Tx, e Entry) error {
	if e.Time.IsZero() {
		e.Time = s.now()
	}
	var prev sql.NullString
	var id sql.NullInt64 // SQLite numbers the line itself
	if s.db.Dialect == store.PostgreSQL {
		// The head's row lock makes appenders, on every instance, wait
		// their turn until this transaction ends.
		if err := tx.QueryRowContext(ctx, `UPDATE policy_audit_head SET id = id + 1 RETURNING id, hash`).Scan(&id, &prev); err != nil {
			return err
		}
	} else if err := tx.QueryRowContext(ctx, `SELECT hash FROM policy_audit ORDER BY id DESC LIMIT 1`).Scan(&prev); err != nil && err != sql.ErrNoRows {
		return err
	}
	hash := chainHash(prev.String, e)
	_, err := tx.ExecContext(ctx, s.db.Q(`INSERT INTO policy_audit (id, time, actor, machine, action, mailbox, subject, "right", message_id, receipt, hash)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`), id, e.Time.UnixMilli(), e.Actor.User, e.Actor.Machine, e.Action, e.Mailbox, e.Subject,
		string(e.Right), e.MessageID, e.Receipt, hash)
	if err == nil && s.db.Dialect == store.PostgreSQL {
		_, err = tx.ExecContext(ctx, `UPDATE policy_audit_head SET hash = $1`, hash)
	}
	return err
}

// chainHash is the hash an entry carries: SHA-256 over the previous
// entry's hash and every field of this one, each with its length, so
// that no two entries can be written alike.
func chainHash(prev string, e Entry) string {
	h := sha256.New()
	for _, f := range []string{prev, strconv.FormatInt(e.Time.UnixMilli(), 10), e.Actor.User, e.Actor.Machine, e.Action, e.Mailbox, e.Subject,
		string(e.Right), e.MessageID, e.Receipt} {
		fmt.Fprintf(h, "%d:%s;", len(f), f)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// AuditCheck is what VerifyAudit found.
type AuditCheck struct {
	// Entries is how many lines the log has; Chained how many of them
	// carry the chain (lines from before it do not).
	Entries, Chained int
	// Broken is the first line whose hash does not follow from the line
	// before it and its own content (changed, or a line before it
	// removed), 0 when the chain holds; Missing says lines are gone at the
	// end or in between (numbers skipped).
	Broken  int64
	Missing bool
}

// OK reports whether the log is whole.
func (c AuditCheck) OK() bool { return c.Broken == 0 && !c.Missing }

// VerifyAudit walks the log and checks every link of the chain, that no
// number is skipped, and that the newest number handed out is the
// newest line (nothing removed at the end).
func (s *SQL) VerifyAudit(ctx context.Context) (*AuditCheck, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, time, actor, machine, action, mailbox, subject, "right", message_id, receipt, hash FROM policy_audit ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	defer rows.Close()
	c := &AuditCheck{}
	var prev string
	var last int64
	chained := false
	for rows.Next() {
		var e Entry
		var t int64
		var r string
		var hash sql.NullString
		if err := rows.Scan(&e.ID, &t, &e.Actor.User, &e.Actor.Machine, &e.Action, &e.Mailbox, &e.Subject, &r, &e.MessageID, &e.Receipt, &hash); err != nil {
			return nil, fmt.Errorf("policy: %w", err)
		}
		e.Time, e.Right = time.UnixMilli(t), Right(r)
		c.Entries++
		if last != 0 && e.ID != last+1 {
			c.Missing = true
		}
		last = e.ID
		if !hash.Valid && !chained {
			continue // from before the chain
		}
		chained = true
		c.Chained++
		if c.Broken == 0 && (!hash.Valid || hash.String != chainHash(prev, e)) {
			c.Broken = e.ID
		}
		prev = hash.String
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	// The newest number handed out.
	q := `SELECT seq FROM sqlite_sequence WHERE name = 'policy_audit'`
	if s.db.Dialect == store.PostgreSQL {
		q = `SELECT id FROM policy_audit_head`
	}
	var seq sql.NullInt64
	if err := s.db.QueryRowContext(ctx, q).Scan(&seq); err == nil && seq.Int64 > last {
		c.Missing = true
	}
	return c, nil
}

// Audit returns the audit log from since on, oldest first. There is no
// way to change or remove an entry: the API has none, and the database
// refuses.
func (s *SQL) Audit(ctx context.Context, since time.Time) ([]Entry, error) {
	return s.entries(ctx, `time >= ?`, since.UnixMilli())
}

// Sends returns the entries of the sends of the mail with a Message-ID.
func (s *SQL) Sends(ctx context.Context, messageID string) ([]Entry, error) {
	return s.entries(ctx, `message_id = ? AND action = 'send'`, messageID)
}

func (s *SQL) entries(ctx context.Context, where string, arg any) ([]Entry, error) {
	rows, err := s.db.QueryContext(ctx, s.db.Q(`SELECT id, time, actor, machine, action, mailbox, subject, "right", message_id, receipt
		FROM policy_audit WHERE `+where+` ORDER BY id`), arg)
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	defer rows.Close()
	var out []Entry
	for rows.Next() {
		var e Entry
		var t int64
		var r string
		if err := rows.Scan(&e.ID, &t, &e.Actor.User, &e.Actor.Machine, &e.Action, &e.Mailbox, &e.Subject, &r, &e.MessageID, &e.Receipt); err != nil {
			return nil, fmt.Errorf("policy: %w", err)
		}
		e.Time, e.Right = time.UnixMilli(t), Right(r)
		out = append(out, e)
	}
	return out, rows.Err()
}
