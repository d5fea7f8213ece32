package demo

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/BurntSushi/toml"

	"sikkermail/internal/config"
	"sikkermail/internal/core"
	"sikkermail/internal/mailtest"
	"sikkermail/internal/mailtest/daemon"
	"sikkermail/internal/message"
	"sikkermail/internal/outbox"
)

const instanceEnv = "SIKKERMAIL_INSTANCE_CONFIG"

// Two gateway instances on one PostgreSQL database work one queue of 200
// mails — every fourth also to a CPR number through Digital Post — while
// one or the other is killed (SIGKILL) at random moments and started
// again. Every mail is delivered; a submission or a letter is made twice
// only where a kill fell between the service's acceptance and its record
// (the window SMTP cannot close, with the same Message-ID; for Digital
// Post, a letter whose answer was lost and whose receipt had not come by
// lost_answer_wait, with the same messageUUID); every Sent copy, receipt
// and audit entry is there once.
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
	cfg.Store.Lease = config.Duration{Duration: time.Second}
	// A letter whose answer a kill lost waits this long for its receipt
	// before it is posted again (15 minutes by default).
	cfg.DigitalPost.LostAnswerWait = config.Duration{Duration: 3 * time.Second}
	d, err := open(t, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	const mails = 200
	cpr := mailtest.Numbers[0].Number
	queued := map[string]bool{}
	var letters []string // the Message-IDs of the mails with a letter
	for i := range mails {
		to := []string{"jens.hansen@kommune.example"}
		if i%4 == 0 {
			to = append(to, cpr)
		}
		dr := message.Draft{Subject: fmt.Sprintf("Mail %d", i), Body: "Hej"}
		if i%25 == 1 {
			// More than a chunk of the database's files: the instances
			// share no folder, and read what another wrote.
			dr.Attachments = []message.Attachment{{Name: "bilag.pdf", Data: bytes.Repeat([]byte{byte(i)}, 1<<20+1000)}}
		}
		q, err := d.Send(ctx, dr, Mailboxes[0].Address,
			to, []string{"kollega@hoejskole.example"})
		if err != nil {
			t.Fatal(err)
		}
		queued[q.MessageID] = true
		if i%4 == 0 {
			letters = append(letters, q.MessageID)
		}
	}

	// The instances' settings: the demo's servers, the shared store, a
	// local database and folder each.
	var files []string
	for i := range 2 {
		c := *d.servers.settings(cfg)
		c.Demo, c.Database = false, filepath.Join(t.TempDir(), fmt.Sprintf("instance%d.db", i))
		c.Store.Files = "" // each its own scratch folder beside its database
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
			list, _ := d.OutboxList(ctx)
			var left []string
			for _, m := range list {
				if m.State != outbox.Done {
					left = append(left, fmt.Sprintf("%d %s %s %v %v", m.ID, m.Subject, m.State, slices.Sorted(maps.Keys(m.Steps)), m.Err))
				}
			}
			t.Fatalf("%d of %d mails done after 4 minutes, %d kills; not done:\n%s\n%s", done(), mails, kills, strings.Join(left, "\n"), logs.String())
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
	// Letters: one MeMo per mail with a CPR number (a letter's label is
	// its mail's subject), twice at most where a kill lost its answer.
	memos := map[string]int{}
	for _, r := range d.servers.DigitalPost.Received() {
		if r.Recipient != cpr {
			t.Errorf("a letter to %s", r.Recipient)
		}
		memos[memoLabel(t, r.XML)]++
	}
	subjects := map[string]string{}
	list, err := d.OutboxList(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range list {
		subjects[m.MessageID] = m.Subject
	}
	twice := 0
	for _, id := range letters {
		n := memos[subjects[id]]
		if n == 0 {
			t.Errorf("%s (%q): no letter", id, subjects[id])
		}
		twice += max(n-1, 0)
	}
	if len(memos) != len(letters) {
		t.Errorf("%d letters' labels for %d mails with a CPR number", len(memos), len(letters))
	}
	// A kill can leave each of the instance's workers inside a
	// submission or a post that SMTP or Digital Post took and the
	// instance did not record: at most that many made twice per kill.
	if workers := cmp.Or(cfg.Store.Workers, 4); extra+twice > kills*workers {
		t.Errorf("%d submissions and %d letters made twice with %d kills of %d workers", extra, twice, kills, workers)
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
	t.Logf("%d mails (%d with a letter), %d kills, %d submissions and %d letters made twice", mails, len(letters), kills, extra, twice)
}

// memoLabel is a MeMo's label (the mail's subject).
func memoLabel(t *testing.T, memo []byte) string {
	var m struct {
		Label string `xml:"MessageHeader>label"`
	}
	if err := xml.Unmarshal(memo, &m); err != nil || m.Label == "" {
		t.Fatalf("a MeMo without a label: %v", err)
	}
	return m.Label
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
