package outbox_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"sikkermail/internal/mailtest/daemon"
	"sikkermail/internal/outbox"
	"sikkermail/internal/store"
)

// ledger counts, across workers, how often each mail's steps ran.
type ledger struct {
	mu   sync.Mutex
	runs map[string]int // "<id> step" → runs
}

func (l *ledger) steps(block func(ctx context.Context, step string) error) []outbox.Step {
	var out []outbox.Step
	for _, name := range []string{"build", "submit", "copy"} {
		out = append(out, outbox.Step{Name: name, Run: func(ctx context.Context, m *outbox.Mail) ([]byte, error) {
			if block != nil {
				if err := block(ctx, name); err != nil {
					return nil, err
				}
			}
			l.mu.Lock()
			l.runs[m.MessageID+" "+name]++
			l.mu.Unlock()
			return []byte(name), nil
		}})
	}
	return out
}

func openShared(t *testing.T, url string, steps []outbox.Step) *outbox.Outbox {
	t.Helper()
	db, err := store.OpenPostgres(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	o, err := outbox.OpenShared(context.Background(), db, steps...)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// Two workers on one PostgreSQL database share the queue: every mail is
// taken through its steps once, by one of them, and numbers are given
// once although both add at the same time.
func TestSharedWorkers(t *testing.T) {
	url := daemon.StartPostgres(t).URL
	l := &ledger{runs: map[string]int{}}
	workers := []*outbox.Outbox{openShared(t, url, l.steps(nil)), openShared(t, url, l.steps(nil))}
	ctx := context.Background()
	const mails = 100
	var wg sync.WaitGroup
	ids := make(chan int64, mails)
	for i := range mails {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ids <- add(t, workers[i%2], fmt.Sprintf("<%d@x>", i))
		}()
	}
	wg.Wait()
	close(ids)
	seen := map[int64]bool{}
	for id := range ids {
		if seen[id] {
			t.Fatalf("number %d given twice", id)
		}
		seen[id] = true
	}
	done := make([]int, 2)
	errs := make([]error, 2)
	for i, w := range workers {
		wg.Add(1)
		go func() { defer wg.Done(); done[i], errs[i] = w.Process(ctx) }()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil || done[0]+done[1] != mails {
		t.Fatalf("finished %v: %v", done, err)
	}
	for i := range mails {
		for _, step := range []string{"build", "submit", "copy"} {
			if n := l.runs[fmt.Sprintf("<%d@x> %s", i, step)]; n != 1 {
				t.Errorf("<%d@x> %s ran %d times", i, step, n)
			}
		}
	}
	list, err := workers[1].List(ctx)
	if err != nil || len(list) != mails {
		t.Fatalf("%d mails listed: %v", len(list), err)
	}
	for _, m := range list {
		if m.State != outbox.Done {
			t.Errorf("%s: %s", m.MessageID, m.State)
		}
	}
}

// A worker that stops answering loses its mail when its lease lapses:
// another takes it from the first step not recorded, and the first,
// when it comes back, records nothing more.
func TestLeaseLapses(t *testing.T) {
	url := daemon.StartPostgres(t).URL
	l := &ledger{runs: map[string]int{}}
	inside := make(chan struct{})
	stuck := openShared(t, url, l.steps(func(ctx context.Context, step string) error {
		if step != "submit" {
			return nil
		}
		close(inside)
		<-ctx.Done() // hangs until it learns the mail is no longer its own
		return ctx.Err()
	}))
	other := openShared(t, url, l.steps(nil))
	c := &clock{time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)}
	later := &clock{c.t.Add(time.Minute)}
	stuck.Now, other.Now = c.now, later.now
	stuck.Lease, other.Lease = 300*time.Millisecond, 300*time.Millisecond
	ctx := context.Background()
	id := add(t, stuck, "<1@x>")
	result := make(chan error)
	go func() {
		n, err := stuck.Process(ctx)
		if err == nil && n != 0 {
			err = fmt.Errorf("the stuck worker finished %d", n)
		}
		result <- err
	}()
	<-inside
	// While the lease holds, the mail is being sent: it cannot be removed.
	var se *outbox.SendingError
	if err := stuck.Remove(ctx, id); !errors.As(err, &se) {
		t.Fatalf("removing a mail under a live lease: %v", err)
	}
	if n, err := other.Process(ctx); err != nil || n != 1 {
		t.Fatalf("the other worker finished %d: %v", n, err)
	}
	if err := <-result; err != nil {
		t.Fatal(err)
	}
	m, err := other.Get(ctx, id)
	if err != nil || m.State != outbox.Done {
		t.Fatalf("%+v %v", m, err)
	}
	if l.runs["<1@x> build"] != 1 || l.runs["<1@x> submit"] != 1 || l.runs["<1@x> copy"] != 1 {
		t.Errorf("runs %v", l.runs)
	}
}

// A worker killed (SIGKILL) inside a step: another worker finishes the
// mail once the lease has lapsed, doing again only the step the dead one
// was in, which it had not recorded.
func TestSharedWorkerKilled(t *testing.T) {
	if url := os.Getenv("SIKKERMAIL_OUTBOX_KILL_URL"); url != "" {
		o := openShared(t, url, (&ledger{runs: map[string]int{}}).steps(nil))
		o.Hook = func(point string, _ *outbox.Mail) {
			if point == "before:submit" {
				syscall.Kill(os.Getpid(), syscall.SIGKILL)
			}
		}
		add(t, o, "<1@x>")
		o.Process(context.Background())
		t.Fatal("not killed")
	}
	url := daemon.StartPostgres(t).URL
	cmd := exec.Command(os.Args[0], "-test.run=^TestSharedWorkerKilled$")
	cmd.Env = append(os.Environ(), "SIKKERMAIL_OUTBOX_KILL_URL="+url)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("the worker did not die by SIGKILL: %v\n%s", err, out)
	}
	l := &ledger{runs: map[string]int{}}
	o := openShared(t, url, l.steps(nil))
	ctx := context.Background()
	if n, err := o.Process(ctx); n != 0 || err != nil {
		t.Fatalf("took a mail under the dead worker's lease: %d %v", n, err)
	}
	o.Now = func() time.Time { return time.Now().Add(time.Minute) }
	if n, err := o.Process(ctx); n != 1 || err != nil {
		t.Fatalf("after the lease: %d %v", n, err)
	}
	if l.runs["<1@x> build"] != 0 || l.runs["<1@x> submit"] != 1 || l.runs["<1@x> copy"] != 1 {
		t.Errorf("runs %v", l.runs)
	}
}

// Several workers in one instance share its queue as instances do:
// each mail's steps run once, by one of them, and two mails are in
// submission at the same moment (the first two wait for each other
// there, which one worker alone could never bring about).
func TestWorkersInOneInstance(t *testing.T) {
	url := daemon.StartPostgres(t).URL
	l := &ledger{runs: map[string]int{}}
	var mu sync.Mutex
	entered := 0
	arrived, release := make(chan struct{}, 2), make(chan struct{})
	o := openShared(t, url, l.steps(func(ctx context.Context, step string) error {
		if step != "submit" {
			return nil
		}
		mu.Lock()
		entered++
		first := entered <= 2
		mu.Unlock()
		if first {
			arrived <- struct{}{}
			<-release
		}
		return nil
	}))
	o.Workers = 4
	const mails = 40
	for i := range mails {
		add(t, o, fmt.Sprintf("<w%d@x>", i))
	}
	finished := make(chan struct{})
	var done sync.Map
	var count atomic.Int32
	o.Hook = func(point string, m *outbox.Mail) {
		if point == "after:copy" {
			if _, again := done.LoadOrStore(m.ID, true); !again && count.Add(1) == mails {
				close(finished)
			}
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error)
	go func() { ran <- o.Run(ctx) }()
	failsafe := time.After(time.Minute) // not a synchronisation: a bound on a test that failed
	for range 2 {
		select {
		case <-arrived:
		case <-failsafe:
			t.Fatal("no two mails were in submission at once")
		}
	}
	close(release)
	select {
	case <-finished:
	case <-failsafe:
		t.Fatal("the workers did not finish")
	}
	cancel()
	<-ran
	for i := range mails {
		for _, step := range []string{"build", "submit", "copy"} {
			if n := l.runs[fmt.Sprintf("<w%d@x> %s", i, step)]; n != 1 {
				t.Errorf("<w%d@x> %s ran %d times", i, step, n)
			}
		}
	}
}

// A mail's files are in the database: written by one worker, read by
// another, whole or not at all, and gone with the mail.
func TestDatabaseFiles(t *testing.T) {
	url := daemon.StartPostgres(t).URL
	l := &ledger{runs: map[string]int{}}
	a, b := openShared(t, url, l.steps(nil)), openShared(t, url, l.steps(nil))
	ctx := context.Background()
	if !a.FilesInDatabase() {
		t.Fatal("files not in PostgreSQL")
	}
	data := make([]byte, 5<<19+7) // two chunks and a half
	for i := range data {
		data[i] = byte(i * 7)
	}
	write := func(o *outbox.Outbox, name string, p []byte, keep bool) {
		t.Helper()
		f := o.CreateFile(ctx, "<f@x>", name)
		for len(p) > 0 { // in odd pieces, as a sealed writer gives them
			n := min(len(p), 100_003)
			if _, err := f.Write(p[:n]); err != nil {
				t.Fatal(err)
			}
			p = p[n:]
		}
		if keep {
			if err := f.Commit(); err != nil {
				t.Fatal(err)
			}
		} else {
			f.Abort()
		}
	}
	read := func(o *outbox.Outbox, name string) ([]byte, error) {
		r, size, err := o.OpenFile(ctx, "<f@x>", name)
		if err != nil {
			return nil, err
		}
		defer r.Close()
		got, err := io.ReadAll(r)
		if err == nil && int64(len(got)) != size {
			t.Errorf("%s: %d bytes read, %d said", name, len(got), size)
		}
		return got, err
	}
	write(a, "external.eml", data, true)
	write(a, "external.eml", []byte("half written"), false) // a worker that died
	write(a, "internal.eml", []byte("never kept"), false)
	write(a, "empty", nil, true)
	if got, err := read(b, "external.eml"); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read back %d bytes: %v", len(got), err)
	}
	if _, err := read(b, "internal.eml"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a file aborted: %v", err)
	}
	if got, err := read(b, "empty"); err != nil || len(got) != 0 {
		t.Errorf("the empty file: %q %v", got, err)
	}
	write(b, "external.eml", []byte("again"), true)
	if got, err := read(a, "external.eml"); err != nil || string(got) != "again" {
		t.Errorf("written again: %q %v", got, err)
	}
	if names, err := b.FileNames(ctx, "<f@x>"); err != nil || !slices.Equal(names, []string{"empty", "external.eml"}) {
		t.Errorf("names %q: %v", names, err)
	}
	if err := a.RemoveFile(ctx, "<f@x>", "empty"); err != nil {
		t.Fatal(err)
	}
	if _, err := read(b, "empty"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a file removed: %v", err)
	}
	add(t, a, "<f@x>")
	if n, err := b.Process(ctx); n != 1 || err != nil {
		t.Fatalf("processed %d: %v", n, err)
	}
	if _, err := read(a, "external.eml"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a file of a mail done: %v", err)
	}
}

// Two queues share the table: each outbox lists, gets, processes and
// removes its own queue's mails alone.
func TestQueues(t *testing.T) {
	url := daemon.StartPostgres(t).URL
	l := &ledger{runs: map[string]int{}}
	send, inbound := openShared(t, url, l.steps(nil)), openShared(t, url, l.steps(nil))
	inbound.Queue = "inbound"
	ctx := context.Background()
	out := add(t, send, "<out@x>")
	in := add(t, inbound, "<in@x>")
	if list, err := send.List(ctx); err != nil || len(list) != 1 || list[0].ID != out {
		t.Fatalf("send lists %+v %v", list, err)
	}
	var nf *outbox.NotFoundError
	if _, err := send.Get(ctx, in); !errors.As(err, &nf) {
		t.Errorf("the send queue gets an inbound mail: %v", err)
	}
	if err := send.Remove(ctx, in); !errors.As(err, &nf) {
		t.Errorf("the send queue removes an inbound mail: %v", err)
	}
	if n, err := inbound.Process(ctx); n != 1 || err != nil || l.runs["<out@x> build"] != 0 || l.runs["<in@x> build"] != 1 {
		t.Fatalf("inbound processed %d (%v): %v", n, l.runs, err)
	}
	if m, err := send.Get(ctx, out); err != nil || m.State != outbox.Queued {
		t.Errorf("the send queue's mail: %+v %v", m, err)
	}
}
