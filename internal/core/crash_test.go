package core

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/BurntSushi/toml"

	"sikkermail/internal/config"
	"sikkermail/internal/outbox"
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
			cfgFile := filepath.Join(e.dir, "config.toml")
			f, err := os.Create(cfgFile)
			if err != nil {
				t.Fatal(err)
			}
			if err := toml.NewEncoder(f).Encode(e.cfg); err != nil {
				t.Fatal(err)
			}
			f.Close()

			child := exec.Command(os.Args[0], "-test.run=^TestCrashChild$")
			child.Env = append(os.Environ(), "SIKKERMAIL_CRASH_CONFIG="+cfgFile, "SIKKERMAIL_CRASH_AT="+point)
			out, err := child.CombinedOutput()
			ws, ok := child.ProcessState.Sys().(syscall.WaitStatus)
			if !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
				t.Fatalf("the child was not killed at %s: %v\n%s", point, err, out)
			}

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
	file, point := os.Getenv("SIKKERMAIL_CRASH_CONFIG"), os.Getenv("SIKKERMAIL_CRASH_AT")
	if file == "" {
		return
	}
	cfg, err := config.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c.outbox.Hook = func(p string, _ *outbox.Mail) {
		if p == point {
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
		}
	}
	c.outbox.Process(context.Background())
	t.Fatalf("%s was never reached", point)
}
