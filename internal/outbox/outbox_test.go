package outbox_test

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"sikkermail/internal/i18n"
	"sikkermail/internal/outbox"
)

type temporary struct{ error }

func (temporary) IsTemporary() bool { return true }

// recorder is a set of steps that log their runs and fail on demand.
type recorder struct {
	runs []string
	fail map[string]error
}

func (r *recorder) steps() []outbox.Step {
	var out []outbox.Step
	for _, name := range []string{"build", "submit", "copy"} {
		out = append(out, outbox.Step{Name: name, Run: func(_ context.Context, m *outbox.Mail) ([]byte, error) {
			r.runs = append(r.runs, name)
			if err := r.fail[name]; err != nil {
				return nil, err
			}
			if name == "submit" && string(m.Steps["build"]) != "build:"+string(m.Content) {
				return nil, errors.New("submit did not see build's output")
			}
			return []byte(name + ":" + string(m.Content)), nil
		}})
	}
	return out
}

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func open(t *testing.T, r *recorder) (*outbox.Outbox, *clock, string) {
	dir := t.TempDir()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "o.db")+"?_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	o, err := outbox.Open(db, filepath.Join(dir, "o.lock"), r.steps()...)
	if err != nil {
		t.Fatal(err)
	}
	c := &clock{time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)}
	o.Now = c.now
	return o, c, dir
}

func add(t *testing.T, o *outbox.Outbox, id string) int64 {
	n, err := o.Add(context.Background(), &outbox.Mail{MessageID: id, User: "u@x", Mailbox: "m@x",
		Recipients: []string{"a@b.example", "c@d.example"}, Subject: "Emne", Content: []byte("draft")})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestStepsInOrderThenForgotten(t *testing.T) {
	r := &recorder{}
	o, _, _ := open(t, r)
	ctx := context.Background()
	id := add(t, o, "<1@x>")
	if n, err := o.Process(ctx); err != nil || n != 1 {
		t.Fatalf("%d, %v", n, err)
	}
	if strings.Join(r.runs, ",") != "build,submit,copy" {
		t.Fatalf("ran %v", r.runs)
	}
	m, err := o.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if m.State != outbox.Done || m.Content != nil || m.Err != nil || m.Finished.IsZero() || len(m.Steps) != 3 {
		t.Fatalf("%+v", m)
	}
	for step, out := range m.Steps {
		if out != nil {
			t.Fatalf("step %s output kept after done", step)
		}
	}
	if m.Recipients[1] != "c@d.example" || m.Subject != "Emne" || m.MessageID != "<1@x>" {
		t.Fatalf("%+v", m)
	}
	// Nothing more to do.
	if n, _ := o.Process(ctx); n != 0 || len(r.runs) != 3 {
		t.Fatal("ran again")
	}
	// The Message-ID is unique: the same mail cannot be queued twice.
	if _, err := o.Add(ctx, &outbox.Mail{MessageID: "<1@x>"}); err == nil {
		t.Fatal("duplicate Message-ID accepted")
	}
}

func TestTemporaryFailureBacksOff(t *testing.T) {
	r := &recorder{fail: map[string]error{"submit": temporary{errors.New("451 later")}}}
	o, c, _ := open(t, r)
	ctx := context.Background()
	id := add(t, o, "<2@x>")
	o.Process(ctx)
	m, _ := o.Get(ctx, id)
	if m.State != outbox.Queued || m.Attempts != 1 || !m.NextTry.Equal(c.t.Add(30*time.Second)) || m.Err == nil || !m.Err.Temporary {
		t.Fatalf("%+v", m)
	}
	// Not due yet: nothing runs.
	o.Process(ctx)
	if len(r.runs) != 2 {
		t.Fatalf("ran before due: %v", r.runs)
	}
	c.t = c.t.Add(30 * time.Second)
	o.Process(ctx)
	m, _ = o.Get(ctx, id)
	if m.Attempts != 2 || !m.NextTry.Equal(c.t.Add(time.Minute)) {
		t.Fatalf("second backoff: %+v", m)
	}
	// The server recovers: build is not run again.
	delete(r.fail, "submit")
	c.t = c.t.Add(time.Minute)
	if n, _ := o.Process(ctx); n != 1 {
		t.Fatal("not finished")
	}
	if strings.Join(r.runs, ",") != "build,submit,submit,submit,copy" {
		t.Fatalf("ran %v", r.runs)
	}
	if next, ok, _ := o.Next(ctx); ok {
		t.Fatalf("still waiting: %v", next)
	}
}

func TestPermanentFailureWaitsForTheUser(t *testing.T) {
	r := &recorder{fail: map[string]error{"copy": errors.New("550 no")}}
	o, _, _ := open(t, r)
	ctx := context.Background()
	id := add(t, o, "<3@x>")
	o.Process(ctx)
	m, _ := o.Get(ctx, id)
	if m.State != outbox.Failed || m.Err.Temporary || m.Err.Message.Key != "outbox.failed" || !strings.Contains(i18n.Danish.Error(m.Err), "550 no") {
		t.Fatalf("%+v", m)
	}
	if m.Content == nil {
		t.Fatal("the draft is gone from a failed mail")
	}
	o.Process(ctx)
	if len(r.runs) != 3 {
		t.Fatal("a failed mail was tried again by itself")
	}
	delete(r.fail, "copy")
	if err := o.Retry(ctx, id); err != nil {
		t.Fatal(err)
	}
	o.Process(ctx)
	if strings.Join(r.runs, ",") != "build,submit,copy,copy" {
		t.Fatalf("retry did not resume at the failed step: %v", r.runs)
	}
	if err := o.Retry(ctx, id); err == nil {
		t.Fatal("a done mail was retried")
	}
	list, _ := o.List(ctx)
	if len(list) != 1 || list[0].State != outbox.Done {
		t.Fatalf("%+v", list)
	}
	if err := o.Remove(ctx, id); err != nil {
		t.Fatal(err)
	}
	var nf *outbox.NotFoundError
	if err := o.Remove(ctx, id); !errors.As(err, &nf) {
		t.Fatal(err)
	}
	if _, err := o.Get(ctx, id); !errors.As(err, &nf) {
		t.Fatal(err)
	}
}

// Two workers on one database: the second is told another is busy.
func TestOneWorker(t *testing.T) {
	r := &recorder{}
	o, _, dir := open(t, r)
	db2, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "o.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	other, err := outbox.Open(db2, filepath.Join(dir, "o.lock"), r.steps()...)
	if err != nil {
		t.Fatal(err)
	}
	add(t, o, "<4@x>")
	o.Hook = func(point string, _ *outbox.Mail) {
		if point == "after:build" {
			if _, err := other.Process(context.Background()); !errors.Is(err, outbox.ErrBusy) {
				t.Errorf("second worker: %v", err)
			}
		}
	}
	if n, err := o.Process(context.Background()); n != 1 || err != nil {
		t.Fatal(n, err)
	}
	if len(r.runs) != 3 {
		t.Fatalf("ran %v", r.runs)
	}
}

func TestRunWakesOnAdd(t *testing.T) {
	r := &recorder{}
	o, _, _ := open(t, r)
	o.Now = nil
	ctx, cancel := context.WithCancel(context.Background())
	finished := make(chan struct{})
	o.Hook = func(point string, _ *outbox.Mail) {
		if point == "after:copy" {
			close(finished)
		}
	}
	done := make(chan error)
	go func() { done <- o.Run(ctx) }()
	add(t, o, "<5@x>")
	select {
	case <-finished:
	case <-time.After(time.Minute): // a failsafe, not a synchronisation
		t.Fatal("the worker did not send the mail")
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
}

// A database made before Cc existed gains the column and keeps its mail.
func TestUpgrade(t *testing.T) {
	dir := t.TempDir()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "o.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TABLE outbox (id INTEGER PRIMARY KEY, message_id TEXT NOT NULL UNIQUE, created INTEGER NOT NULL,
		user TEXT NOT NULL, mailbox TEXT NOT NULL, recipients TEXT NOT NULL, subject TEXT NOT NULL, content BLOB, state TEXT NOT NULL,
		attempts INTEGER NOT NULL DEFAULT 0, next_try INTEGER NOT NULL, error TEXT, finished INTEGER);
		INSERT INTO outbox (message_id, created, user, mailbox, recipients, subject, state, next_try) VALUES ('<old@x>', 0, 'u', 'm', '["a@b"]', 's', 'failed', 0)`); err != nil {
		t.Fatal(err)
	}
	o, err := outbox.Open(db, filepath.Join(dir, "o.lock"))
	if err != nil {
		t.Fatal(err)
	}
	list, err := o.List(context.Background())
	if err != nil || len(list) != 1 || list[0].Recipients[0] != "a@b" || len(list[0].Cc) != 0 {
		t.Fatalf("%+v %v", list, err)
	}
	add(t, o, "<new@x>")
}

// TestRemoveWhileSending: a mail the worker is inside a step of cannot be
// removed (its step's work would go unrecorded); before and after, it can.
func TestRemoveWhileSending(t *testing.T) {
	inside, release := make(chan struct{}), make(chan struct{})
	dir := t.TempDir()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "o.db")+"?_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	o, err := outbox.Open(db, filepath.Join(dir, "o.lock"), outbox.Step{Name: "submit", Run: func(context.Context, *outbox.Mail) ([]byte, error) {
		close(inside)
		<-release
		return nil, nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	id := add(t, o, "<1@x>")
	done := make(chan error)
	go func() { _, err := o.Process(ctx); done <- err }()
	<-inside
	var se *outbox.SendingError
	if err := o.Remove(ctx, id); !errors.As(err, &se) || !strings.Contains(i18n.Danish.Error(err), "blive sendt lige nu") {
		t.Errorf("removed mid-step: %v", err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if m, err := o.Get(ctx, id); err != nil || m.State != outbox.Done {
		t.Fatalf("the mail: %+v %v", m, err)
	}
	if err := o.Remove(ctx, id); err != nil {
		t.Errorf("removing the sent mail: %v", err)
	}
}

// TestIDsNotReused: a removed mail's number is not given to the next.
func TestIDsNotReused(t *testing.T) {
	o, _, _ := open(t, &recorder{})
	ctx := context.Background()
	first := add(t, o, "<1@x>")
	second := add(t, o, "<2@x>")
	if err := o.Remove(ctx, second); err != nil {
		t.Fatal(err)
	}
	if third := add(t, o, "<3@x>"); third <= second || first >= second {
		t.Errorf("ids %d %d %d", first, second, third)
	}
}

// A mail's files live while it waits and go when it is done or removed;
// files no mail owns go an hour after they were written.
func TestFiles(t *testing.T) {
	r := &recorder{fail: map[string]error{"copy": errors.New("550 no")}}
	o, c, dir := open(t, r)
	c.t = time.Now() // file times are the real clock's
	ctx := context.Background()
	spool := filepath.Join(dir, "files")
	if err := o.KeepFilesIn(spool); err != nil {
		t.Fatal(err)
	}
	write := func(messageID string) string {
		d, err := o.Files(messageID)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, "draft"), []byte("sealed"), 0o600); err != nil {
			t.Fatal(err)
		}
		return d
	}
	exists := func(d string) bool { _, err := os.Stat(d); return err == nil }
	failed, done, orphan := write("<f@x>"), write("<d@x>"), write("<o@x>")
	if st, _ := os.Stat(spool); st.Mode().Perm() != 0o700 {
		t.Errorf("the folder is %o", st.Mode().Perm())
	}
	id := add(t, o, "<f@x>")
	o.Process(ctx)
	if !exists(failed) {
		t.Fatal("a failed mail lost its files")
	}
	delete(r.fail, "copy")
	add(t, o, "<d@x>")
	o.Process(ctx)
	if exists(done) {
		t.Error("a done mail kept its files")
	}
	if err := o.Remove(ctx, id); err != nil {
		t.Fatal(err)
	}
	if exists(failed) {
		t.Error("a removed mail kept its files")
	}
	// Opened again: the orphan stays within the hour, then goes.
	if err := o.KeepFilesIn(spool); err != nil || !exists(orphan) {
		t.Fatalf("orphan removed at once: %v", err)
	}
	waiting := write("<w@x>")
	add(t, o, "<w@x>")
	c.t = c.t.Add(2 * time.Hour)
	if err := o.KeepFilesIn(spool); err != nil || exists(orphan) || !exists(waiting) {
		t.Fatalf("after two hours: orphan %v, waiting mail's %v (%v)", exists(orphan), exists(waiting), err)
	}
}
