package demo

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/BurntSushi/toml"

	"sikkermail/internal/config"
	"sikkermail/internal/core"
	"sikkermail/internal/mailtest/daemon"
	"sikkermail/internal/message"
	"sikkermail/internal/outbox"
)

const instanceEnv = "SIKKERMAIL_INSTANCE_CONFIG"

// Two gateway instances on one PostgreSQL database work one queue of 200
// mails while one or the other is killed (SIGKILL) at random moments and
// started again. Every mail is delivered; a submission is made twice
// only where a kill fell between the server's acceptance and its record
// (the window SMTP cannot close, with the same Message-ID); every Sent
// copy, receipt and audit entry is there once.
func TestInstancesKilled(t *testing.T) {
	if os.Getenv(instanceEnv) != "" {
		runInstance(t)
		return
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))

	cfg := testConfig(t)
	cfg.Store.URL = daemon.StartPostgres(t).URL
	cfg.Store.Files = filepath.Join(t.TempDir(), "files") // shared by the instances
	cfg.Store.Lease = config.Duration{Duration: time.Second}
	d, err := open(t, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	const mails = 200
	queued := map[string]bool{}
	for i := range mails {
		q, err := d.Send(ctx, message.Draft{Subject: fmt.Sprintf("Mail %d", i), Body: "Hej"}, Mailboxes[0].Address,
			[]string{"jens.hansen@kommune.example"}, []string{"kollega@hoejskole.example"})
		if err != nil {
			t.Fatal(err)
		}
		queued[q.MessageID] = true
	}

	// The instances' settings: the demo's servers, the shared store, a
	// local database each.
	var files []string
	for i := range 2 {
		c := *d.servers.settings(cfg)
		c.Demo, c.Database = false, filepath.Join(t.TempDir(), fmt.Sprintf("instance%d.db", i))
		f := filepath.Join(t.TempDir(), "gateway.toml")
		var b bytes.Buffer
		if err := toml.NewEncoder(&b).Encode(&c); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f, b.Bytes(), 0o600); err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	events := make(chan string, 4096)
	var logMu sync.Mutex
	var logs bytes.Buffer
	type instance struct {
		cmd   *exec.Cmd
		stdin io.Closer
		read  sync.WaitGroup
	}
	startInstance := func(i int) *instance {
		in := &instance{cmd: exec.Command(os.Args[0], "-test.run=^TestInstancesKilled$")}
		in.cmd.Env = append(os.Environ(), instanceEnv+"="+files[i])
		in.stdin, _ = in.cmd.StdinPipe()
		out, _ := in.cmd.StdoutPipe()
		in.cmd.Stderr = &lockedWriter{&logMu, &logs}
		if err := in.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		in.read.Add(1)
		go func() {
			defer in.read.Done()
			s := bufio.NewScanner(out)
			for s.Scan() {
				if line, ok := strings.CutPrefix(s.Text(), "step "); ok {
					events <- line
				}
			}
		}()
		return in
	}
	instances := []*instance{startInstance(0), startInstance(1)}
	defer func() {
		for _, in := range instances {
			in.stdin.Close()
			in.cmd.Wait()
		}
	}()

	done := func() int {
		list, err := d.OutboxList(ctx)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, m := range list {
			if m.State == outbox.Done {
				n++
			}
		}
		return n
	}
	kills, nextKill, seen := 0, 50+rng.IntN(300), 0
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(4 * time.Minute) // a failsafe, not a synchronisation
	for finished := 0; finished < mails; {
		select {
		case e := <-events:
			seen++
			if seen >= nextKill && kills < 6 {
				i := rng.IntN(2)
				instances[i].cmd.Process.Kill()
				instances[i].cmd.Wait()
				instances[i].read.Wait()
				instances[i] = startInstance(i)
				kills++
				nextKill = seen + 50 + rng.IntN(300)
				t.Logf("killed instance %d after %d steps (at %s)", i, seen, e)
			}
			if strings.HasPrefix(e, "receipt ") {
				finished = done()
			}
		case <-tick.C:
			finished = done()
		case <-deadline:
			logMu.Lock()
			t.Fatalf("%d of %d mails done after 4 minutes, %d kills\n%s", done(), mails, kills, logs.String())
		}
	}
	if kills == 0 {
		t.Fatal("no instance was killed")
	}

	// Submissions: every mail to each recipient, twice at most where a
	// kill fell in the window.
	type key struct{ id, to string }
	sent := map[key]int{}
	for _, m := range d.servers.SMTP.Received() {
		msg, err := mail.ReadMessage(bytes.NewReader(m.Data))
		if err != nil {
			t.Fatal(err)
		}
		sent[key{msg.Header.Get("Message-ID"), strings.Join(m.To, ",")}]++
	}
	extra := 0
	for id := range queued {
		for _, to := range []string{"jens.hansen@kommune.example", "kollega@hoejskole.example"} {
			n := sent[key{id, to}]
			if n == 0 {
				t.Errorf("%s never reached %s", id, to)
			}
			extra += max(n-1, 0)
		}
	}
	if extra > kills {
		t.Errorf("%d submissions made twice with %d kills", extra, kills)
	}
	// Copies and receipts: once each.
	user := config.DemoUsers[0].Address
	for _, f := range []struct {
		account, folder, prefix string
	}{
		{Mailboxes[0].Address, Mailboxes[0].SentFolder, ""},
		{user, "Sendte elementer", ""},
		{user, "INBOX", "receipt."},
	} {
		count := map[string]int{}
		for _, id := range d.servers.IMAP.Appended(f.account, f.folder) {
			count[id]++
		}
		for id := range queued {
			if n := count["<"+f.prefix+strings.Trim(id, "<>")+">"]; n != 1 {
				t.Errorf("%s in %s/%s: %d", id, f.account, f.folder, n)
			}
		}
	}
	entries, err := d.AuditLog(ctx, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	sends := map[string]int{}
	for _, e := range entries {
		if e.Action == "send" {
			sends[e.MessageID]++
		}
	}
	for id := range queued {
		if sends[id] != 1 {
			t.Errorf("%s: %d audit entries", id, sends[id])
		}
	}
	if c, err := d.VerifyAudit(ctx); err != nil || !c.OK() {
		t.Errorf("audit chain %+v %v", c, err)
	}
	t.Logf("%d mails, %d kills, %d submissions made twice", mails, kills, extra)
}

// runInstance is one gateway instance's worker: it tells each step it
// records on standard output, and stops when standard input ends.
func runInstance(t *testing.T) {
	cfg, err := config.Load(os.Getenv(instanceEnv))
	if err != nil {
		t.Fatal(err)
	}
	c, err := core.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var mu sync.Mutex
	c.OnStep(func(step string, id int64) {
		mu.Lock()
		fmt.Printf("step %s %d\n", step, id)
		mu.Unlock()
	})
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		io.Copy(io.Discard, os.Stdin)
		cancel()
	}()
	c.Run(ctx)
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
