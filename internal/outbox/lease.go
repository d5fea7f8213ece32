package outbox

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"sikkermail/internal/store"
)

// errLeaseLost: another worker took the mail over (this one was too slow
// to renew its lease: stopped, or cut off from the database), and goes on
// where the records say. Nothing more is done or recorded here.
var errLeaseLost = errors.New("outbox: another worker has taken the mail over")

// claim takes the next due mail for this worker: one no live lease
// holds, under a lease of its own. With a lock file this is the one
// worker, and any lease left is a dead process's; shared, workers skip
// the rows another is claiming at the same moment.
func (o *Outbox) claim(ctx context.Context, owner string) (int64, error) {
	at := o.now()
	now := at.UnixMilli()
	q := `SELECT id FROM outbox WHERE state = ? AND queue = ? AND next_try <= ?`
	args := []any{Queued, o.queue(), now}
	if o.lock == "" {
		q += ` AND (lease_until IS NULL OR lease_until < ?)`
		args = append(args, now)
	}
	q += ` ORDER BY next_try, id LIMIT 1`
	if o.db.Dialect == store.PostgreSQL {
		q += ` FOR UPDATE SKIP LOCKED`
	}
	var id int64
	err := o.db.InTx(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, o.db.Q(q), args...).Scan(&id); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, o.db.Q(`UPDATE outbox SET lease_owner = ?, lease_until = ? WHERE id = ?`),
			owner, at.Add(o.lease()).UnixMilli(), id)
		return err
	})
	return id, err
}

// keepLease renews the lease on mail id while it is worked, and cancels
// the returned context with errLeaseLost when it is no longer this
// worker's.
func (o *Outbox) keepLease(ctx context.Context, id int64, owner string) (context.Context, context.CancelCauseFunc) {
	ctx, cancel := context.WithCancelCause(ctx)
	go func() {
		tick := time.NewTicker(o.lease() / 3)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			if err := o.renew(ctx, o.db, id, owner); errors.Is(err, errLeaseLost) {
				cancel(errLeaseLost)
				return
			}
			// Any other error: the database is away for now; try again, the
			// lease may hold.
		}
	}()
	return ctx, cancel
}

// leased runs f in a transaction that first renews this worker's lease
// on mail id, and fails with errLeaseLost when the mail is no longer its
// own. While the transaction runs, no other worker can take the mail.
func (o *Outbox) leased(ctx context.Context, id int64, owner string, f func(*sql.Tx) error) error {
	return o.db.InTx(ctx, func(tx *sql.Tx) error {
		if err := o.renew(ctx, tx, id, owner); err != nil {
			return err
		}
		return f(tx)
	})
}

// renew extends owner's lease on mail id, through db or a transaction;
// errLeaseLost when the mail is no longer owner's.
func (o *Outbox) renew(ctx context.Context, db interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}, id int64, owner string) error {
	res, err := db.ExecContext(ctx, o.db.Q(`UPDATE outbox SET lease_until = ? WHERE id = ? AND lease_owner = ?`),
		o.now().Add(o.lease()).UnixMilli(), id, owner)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errLeaseLost
	}
	return nil
}

// release gives mail id's lease back, if it is still this worker's.
func (o *Outbox) release(ctx context.Context, id int64, owner string) {
	o.db.ExecContext(ctx, o.db.Q(`UPDATE outbox SET lease_owner = NULL, lease_until = NULL WHERE id = ? AND lease_owner = ?`), id, owner)
}
