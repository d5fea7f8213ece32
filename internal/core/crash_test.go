package core

import (
	"context"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/BurntSushi/toml"

	"sikkermail/internal/config"
	"sikkermail/internal/outbox"
	"sikkermail/internal/scan"
)

// TestCrashAtEveryStep kills the worker — a child process, SIGKILL, no
// chance to clean up — at every point of a send: after each step ran and
// before its completion was recorded, and after it was recorded. A new
// worker then finishes the mail. In every case the mail is delivered,
// each copy is stored once, the receipt is delivered and logged once,
// and the submission is done once — except when the crash fell between
// the server's acceptance and the record of it, the one inherent
// duplicate of SMTP, which then carries the same Message-ID.
func TestCrashAtEveryStep(t *testing.T) {
	var points []string
	for _, s := range (&Core{engine: &engine{}}).steps() {
		points = append(points, "before:"+s.Name, "after:"+s.Name)
	}
	for _, point := range points {
		t.Run(point, func(t *testing.T) {
			e := newSendEnv(t)
			c := e.core(t)
			ctx := context.Background()
			q, err := c.Send(ctx, draft, sendMailbox, []string{external, colleague}, nil)
			if err != nil {
				t.Fatal(err)
			}
			crashChild(t, e, "^TestCrashChild$", point, q.ID)

			// Start again.
			if n, err := c.outbox.Process(ctx); n != 1 || err != nil {
				m, _ := c.outbox.Get(ctx, q.ID)
				t.Fatalf("after the crash: %d, %v; %+v %v", n, err, m, m.Err)
			}
			m, r, err := c.ReceiptOf(ctx, q.ID)
			if err != nil || m.State != outbox.Done || r == nil {
				t.Fatalf("%+v %+v %v", m, r, err)
			}
			want := map[string]int{external: 1, colleague: 1}
			switch point {
			case "before:" + stepSubmit:
				want[external] = 2
			case "before:" + stepSubmitInternal:
				want[colleague] = 2
			}
			got := map[string]int{}
			for _, msg := range e.smtp.Received() {
				got[strings.Join(msg.To, ",")]++
				h := header(t, msg.Data)
				if id := h.Get("Message-ID"); id != q.MessageID {
					t.Fatalf("a submission with Message-ID %s, queued %s", id, q.MessageID)
				}
			}
			if len(got) != 2 || got[external] != want[external] || got[colleague] != want[colleague] {
				t.Fatalf("submissions %v, want %v", got, want)
			}
			srv, _ := c.imapServer()
			for _, f := range []struct{ mailbox, folder, id string }{
				{sendMailbox, "Sendt post", q.MessageID},
				{"", "Sendte elementer", q.MessageID},
				{"", "INBOX", "<receipt." + strings.Trim(q.MessageID, "<>") + ">"},
			} {
				acc, _ := c.account(ctx, c.User(), f.mailbox)
				msgs, err := srv.Fetch(ctx, acc, f.folder, f.id)
				if err != nil || len(msgs) != 1 {
					t.Fatalf("%s %s: %d copies, %v", acc.Username, f.folder, len(msgs), err)
				}
			}
			entries, _ := c.local.Audit(ctx, m.Created.AddDate(0, 0, -1))
			sends := 0
			for _, e := range entries {
				if e.Action == "send" && e.MessageID == q.MessageID {
					sends++
				}
			}
			if sends != 1 {
				t.Fatalf("%d audit entries", sends)
			}
		})
	}
}

// TestCrashChild is the worker TestCrashAtEveryStep kills; alone it does
// nothing.
func TestCrashChild(t *testing.T) {
	c, kill := crashWorker(t)
	if c == nil {
		return
	}
	c.outbox.Hook = kill
	c.outbox.Process(context.Background())
	t.Fatal("the point was never reached")
}

// crashWorker is a crash test's child: its core, opened on the parent's
// settings, and a hook that kills the process at the parent's point for
// its mail; nil when the test runs alone.
func crashWorker(t *testing.T) (*Core, func(string, *outbox.Mail)) {
	file, point := os.Getenv("SIKKERMAIL_CRASH_CONFIG"), os.Getenv("SIKKERMAIL_CRASH_AT")
	if file == "" {
		return nil, nil
	}
	cfg, err := config.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	id, _ := strconv.ParseInt(os.Getenv("SIKKERMAIL_CRASH_MAIL"), 10, 64)
	return c, func(p string, m *outbox.Mail) {
		if p == point && m.ID == id {
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
		}
	}
}

// TestBoundaryCrashAtEveryStep kills the boundary's worker (SIGKILL) at
// every point of an inbound mail's way — after each step ran and before
// it was recorded, and after — once for a mail delivered as secure and
// once for one that goes to quarantine with a notice, with a plain one
// in the queue beside them. A new worker finishes the queue against a
// real Dovecot: every mail is in its folder once with its verdict, each
// archived once, the notice in INBOX once.
func TestBoundaryCrashAtEveryStep(t *testing.T) {
	clamd := clamdScanner(t)
	byName := map[string][]byte{}
	for _, k := range kinds(t) {
		byName[k.name] = k.raw
	}
	var points []string
	for _, s := range []string{stepInspect, stepArchive, stepDeliver, stepNotify} {
		points = append(points, "before:"+s, "after:"+s)
	}
	for _, target := range []string{"ours", "tampered"} {
		for _, point := range points {
			t.Run(target+"/"+point, func(t *testing.T) {
				e := newSendEnv(t)
				d := e.withDovecot(t)
				e.cfg.Boundary.Scanner = "unix:" + clamd.Address
				c := e.core(t)
				ctx := context.Background()
				b := boundaryOn(t, c, clamd)
				ids := map[string]int64{}
				for _, name := range []string{"ours", "plain", "tampered"} {
					id, err := b.Receive(ctx, sendMailbox, byName[name])
					if err != nil {
						t.Fatal(err)
					}
					ids[name] = id
				}
				crashChild(t, e, "^TestBoundaryCrashChild$", point, ids[target])

				if _, err := b.Process(ctx); err != nil {
					t.Fatal(err)
				}
				for name, id := range ids {
					if m, err := b.Queue().Get(ctx, id); err != nil || m.State != outbox.Done {
						t.Fatalf("%s: %+v %v", name, m, err)
					}
				}
				verdicts := func(folder string) map[string]int {
					got := map[string]int{}
					for _, m := range d.Messages(t, sendMailbox, folder) {
						h, _ := delivered(t, m)
						got[h.Get(HeaderVerdict)+" "+h.Get(HeaderInbound)]++
					}
					return got
				}
				key := func(name string) string { return inboundKey(sendMailbox, byName[name]) }
				want := map[string]int{
					VerdictSecure + " " + key("ours"):                     1,
					VerdictNotSecure + " " + key("plain"):                 1,
					VerdictQuarantine + " " + key("tampered") + "/notice": 1,
				}
				if got := verdicts("INBOX"); !maps.Equal(got, want) {
					t.Errorf("INBOX %v, want %v", got, want)
				}
				if got := verdicts("Sikkermail/Karant&AOY-ne"); !maps.Equal(got, map[string]int{VerdictQuarantine + " " + key("tampered"): 1}) {
					t.Errorf("quarantine %v", got)
				}
				archived := map[string]int{}
				for _, m := range d.Messages(t, sendMailbox, "Sikkermail/Arkiv") {
					h := header(t, m)
					archived[h.Get(HeaderInbound)]++
				}
				if !maps.Equal(archived, map[string]int{key("ours"): 1, key("plain"): 1, key("tampered"): 1}) {
					t.Errorf("archive %v", archived)
				}
			})
		}
	}
}

// crashChild runs the test run names in a child process on e's settings,
// and asserts it was killed at point, reached by the mail id.
func crashChild(t *testing.T, e *sendEnv, run, point string, id int64) {
	t.Helper()
	cfgFile := filepath.Join(e.dir, "config.toml")
	f, err := os.Create(cfgFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := toml.NewEncoder(f).Encode(e.cfg); err != nil {
		t.Fatal(err)
	}
	f.Close()
	child := exec.Command(os.Args[0], "-test.run="+run)
	child.Env = append(os.Environ(), "SIKKERMAIL_CRASH_CONFIG="+cfgFile, "SIKKERMAIL_CRASH_AT="+point,
		"SIKKERMAIL_CRASH_MAIL="+strconv.FormatInt(id, 10))
	out, err := child.CombinedOutput()
	ws, ok := child.ProcessState.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("the child was not killed at %s: %v\n%s", point, err, out)
	}
}

// TestBoundaryCrashChild is the boundary's worker
// TestBoundaryCrashAtEveryStep kills; alone it does nothing.
func TestBoundaryCrashChild(t *testing.T) {
	c, kill := crashWorker(t)
	if c == nil {
		return
	}
	s, err := scan.Parse(c.cfg.Boundary.Scanner)
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.OpenBoundary(context.Background(), s, nil)
	if err != nil {
		t.Fatal(err)
	}
	b.Queue().Hook = kill
	b.Process(context.Background())
	t.Fatal("the point was never reached")
}
