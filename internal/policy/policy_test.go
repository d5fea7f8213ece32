package policy

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"sikkermail/internal/i18n"
	"sikkermail/internal/mailtest/daemon"
	"sikkermail/internal/recipient"
	"sikkermail/internal/store"
)

var (
	helpdesk = Actor{User: "helpdesk@hoejskole.example", Machine: "HD-PC-01"}
	staff    = Actor{User: "medarbejder@hoejskole.example", Machine: "PC-1234"}
	uddserv  = Mailbox{Address: "Sikkerpost-Uddservice@hoejskole.example", Name: "Sikkerpost-uddservice", Department: "Uddannelsesservice"}
)

func reason(err error) Reason {
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return ""
}

// storeCases is the table of cases every Registry must pass.
func storeCases(t *testing.T, s Registry) {
	ctx := context.Background()
	mustReason := func(what string, err error, want Reason) {
		t.Helper()
		if reason(err) != want {
			t.Fatalf("%s: %v, want %s", what, err, want)
		}
		for _, l := range i18n.Langs {
			if s := l.Error(err); strings.HasPrefix(s, "policy.") || !strings.HasSuffix(s, ".") {
				t.Errorf("%s: %s sentence %q", what, l, s)
			}
		}
	}
	if err := s.AddMailbox(ctx, helpdesk, uddserv); err != nil {
		t.Fatal(err)
	}
	mustReason("staff adds a mailbox", s.AddMailbox(ctx, staff, Mailbox{Address: "x@hoejskole.example"}), NotHelpdesk)
	mbs, err := s.Mailboxes(ctx)
	if err != nil || len(mbs) != 1 || mbs[0].Address != "sikkerpost-uddservice@hoejskole.example" || mbs[0].SentFolder == "" {
		t.Fatalf("mailboxes %+v, %v", mbs, err)
	}

	// Grant.
	if err := s.Grant(ctx, helpdesk, "Medarbejder@hoejskole.example", uddserv.Address, Send); err != nil {
		t.Fatal(err)
	}
	if ok, err := Has(ctx, s, "medarbejder@hoejskole.example", "sikkerpost-uddservice@hoejskole.example", Send); !ok || err != nil {
		t.Errorf("granted right not held: %v", err)
	}
	if ok, _ := Has(ctx, s, "medarbejder@hoejskole.example", "sikkerpost-uddservice@hoejskole.example", Read); ok {
		t.Error("read held without a grant")
	}
	// Duplicate grant, unknown user and mailbox, staff granting, a bad right.
	mustReason("duplicate grant", s.Grant(ctx, helpdesk, "medarbejder@hoejskole.example", uddserv.Address, Send), AlreadyGranted)
	mustReason("unknown mailbox", s.Grant(ctx, helpdesk, "medarbejder@hoejskole.example", "nope@hoejskole.example", Send), UnknownMailbox)
	mustReason("external user", s.Grant(ctx, helpdesk, "jens@kommune.example", uddserv.Address, Send), UnknownUser)
	mustReason("not an address", s.Grant(ctx, helpdesk, "medarbejder", uddserv.Address, Send), UnknownUser)
	mustReason("staff grants", s.Grant(ctx, staff, "anna@hoejskole.example", uddserv.Address, Send), NotHelpdesk)
	mustReason("staff revokes", s.Revoke(ctx, staff, "medarbejder@hoejskole.example", uddserv.Address, Send), NotHelpdesk)
	mustReason("bad right", s.Grant(ctx, helpdesk, "medarbejder@hoejskole.example", uddserv.Address, "admin"), BadRight)

	if err := s.Grant(ctx, helpdesk, "anna@hoejskole.example", uddserv.Address, Read); err != nil {
		t.Fatal(err)
	}
	holders, err := s.Holders(ctx, uddserv.Address)
	if err != nil || len(holders) != 2 || holders["anna@hoejskole.example"][0] != Read {
		t.Errorf("holders %v, %v", holders, err)
	}
	// Revoke.
	if err := s.Revoke(ctx, helpdesk, "medarbejder@hoejskole.example", uddserv.Address, Send); err != nil {
		t.Fatal(err)
	}
	if ok, _ := Has(ctx, s, "medarbejder@hoejskole.example", uddserv.Address, Send); ok {
		t.Error("revoked right still held")
	}
	mustReason("revoke again", s.Revoke(ctx, helpdesk, "medarbejder@hoejskole.example", uddserv.Address, Send), NotGranted)
	if ok, _ := s.IsHelpdesk(ctx, helpdesk.User); !ok {
		t.Error("helpdesk is not helpdesk")
	}
	if ok, _ := s.IsHelpdesk(ctx, staff.User); ok {
		t.Error("staff is helpdesk")
	}
}

func openTestDB(t *testing.T, path string) *SQL {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	staffDomains, _ := recipient.NewDomains("hoejskole.example")
	s, err := OpenSQLite(db, staffDomains, []string{"HelpDesk@hoejskole.example"})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// databases runs f in each dialect, with open opening the policy
// database called name (made empty at its first opening): an SQLite
// file, or a database in a throwaway PostgreSQL cluster.
func databases(t *testing.T, f func(t *testing.T, open func(name string) *SQL)) {
	t.Run("sqlite", func(t *testing.T) {
		dir := t.TempDir()
		f(t, func(name string) *SQL { return openTestDB(t, filepath.Join(dir, name+".db")) })
	})
	t.Run("postgres", func(t *testing.T) {
		pg := daemon.StartPostgres(t)
		made := map[string]string{}
		f(t, func(name string) *SQL {
			if made[name] == "" {
				made[name] = pg.CreateDatabase(t, name)
			}
			return openPostgres(t, made[name])
		})
	})
}

func openPostgres(t *testing.T, url string) *SQL {
	t.Helper()
	db, err := store.OpenPostgres(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	staffDomains, _ := recipient.NewDomains("hoejskole.example")
	s, err := Open(context.Background(), db, staffDomains, []string{"HelpDesk@hoejskole.example"})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestStore(t *testing.T) { databases(t, testStore) }

func testStore(t *testing.T, open func(string) *SQL) {
	s := open("store")
	storeCases(t, s)

	// Every change is in the audit log: who, what, when, from which machine.
	log, err := s.Audit(context.Background(), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range log {
		got = append(got, e.Action+" "+e.Subject+" "+string(e.Right)+" by "+e.Actor.User+"@"+e.Actor.Machine)
		if e.Time.IsZero() {
			t.Errorf("entry without time: %+v", e)
		}
	}
	want := []string{
		"mailbox Sikkerpost-uddservice  by helpdesk@hoejskole.example@HD-PC-01",
		"grant medarbejder@hoejskole.example send by helpdesk@hoejskole.example@HD-PC-01",
		"grant anna@hoejskole.example read by helpdesk@hoejskole.example@HD-PC-01",
		"revoke medarbejder@hoejskole.example send by helpdesk@hoejskole.example@HD-PC-01",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("audit log:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// A send is logged without content.
	if err := s.Log(context.Background(), Entry{Actor: staff, Action: "send", Mailbox: uddserv.Address, Subject: "jens@kommune.example", MessageID: "<x@y>", Receipt: "250 2.0.0 queued"}); err != nil {
		t.Fatal(err)
	}
	// The database refuses to change the log, whatever the caller.
	for _, q := range []string{`UPDATE policy_audit SET actor = 'someone'`, `DELETE FROM policy_audit`, truncate(s)} {
		if _, err := s.db.Exec(q); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: %v", q, err)
		}
	}
	if log, _ := s.Audit(context.Background(), time.Time{}); len(log) != 5 || log[4].MessageID != "<x@y>" {
		t.Errorf("after tampering attempts: %d entries", len(log))
	}
	// Opened again (a restart, another instance), the tables are as they
	// were: the migrations do not run twice.
	again := open("store")
	if c, err := again.VerifyAudit(context.Background()); err != nil || !c.OK() || c.Entries != 5 {
		t.Errorf("opened again: %+v, %v", c, err)
	}
}

// truncate empties the log the quickest way the dialect has.
func truncate(s *SQL) string {
	if s.db.Dialect == store.PostgreSQL {
		return `TRUNCATE policy_audit`
	}
	return `DELETE FROM policy_audit WHERE 1`
}

// Several gateway instances append at once: the chain stays one line
// after another, no number skipped or given twice.
func TestAuditFromManyInstances(t *testing.T) {
	url := daemon.StartPostgres(t).URL
	instances := []*SQL{openPostgres(t, url), openPostgres(t, url)}
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- instances[i%2].Log(ctx, Entry{Actor: staff, Action: "send", Mailbox: uddserv.Address, Subject: fmt.Sprintf("m%d@kommune.example", i)})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	c, err := instances[0].VerifyAudit(ctx)
	if err != nil || !c.OK() || c.Entries != 40 || c.Chained != 40 {
		t.Errorf("%+v, %v", c, err)
	}
}

// TestAuditSurvivesCrash: a grant reported done is in the audit log, even
// if the process dies the instant after.
func TestAuditSurvivesCrash(t *testing.T) {
	if path := os.Getenv("SIKKERMAIL_POLICY_CRASH_DB"); path != "" {
		s := openTestDB(t, path)
		if err := s.AddMailbox(context.Background(), helpdesk, uddserv); err != nil {
			t.Fatal(err)
		}
		if err := s.Grant(context.Background(), helpdesk, "medarbejder@hoejskole.example", uddserv.Address, Send); err != nil {
			t.Fatal(err)
		}
		syscall.Kill(os.Getpid(), syscall.SIGKILL) // no close, no flush: a crash
		return
	}
	path := filepath.Join(t.TempDir(), "crash.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestAuditSurvivesCrash$")
	cmd.Env = append(os.Environ(), "SIKKERMAIL_POLICY_CRASH_DB="+path)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("the child did not die by SIGKILL: %v\n%s", err, out)
	}
	s := openTestDB(t, path)
	log, err := s.Audit(context.Background(), time.Time{})
	if err != nil || len(log) != 2 || log[1].Action != "grant" || log[1].Subject != "medarbejder@hoejskole.example" {
		t.Fatalf("audit after a crash: %+v, %v", log, err)
	}
	if ok, _ := Has(context.Background(), s, "medarbejder@hoejskole.example", uddserv.Address, Send); !ok {
		t.Error("the right granted before the crash is lost")
	}
}

func TestSentences(t *testing.T) {
	for _, r := range Reasons {
		e := &Error{Reason: r, User: "medarbejder@hoejskole.example", Mailbox: "sikkerpost@hoejskole.example", Right: Send}
		for _, l := range i18n.Langs {
			if !l.Has(e.Localize().Key) {
				t.Errorf("%s has no text for %s", l, r)
			}
		}
	}
}

// TestAuditChain: with the triggers dropped (as a local admin could),
// a changed line, a line removed in between and lines removed at the
// end all show.
func TestAuditChain(t *testing.T) { databases(t, testAuditChain) }

func testAuditChain(t *testing.T, open func(string) *SQL) {
	for i, tamper := range []struct {
		name   string
		sql    string
		broken int64
		gone   bool
	}{
		{"untouched", "", 0, false},
		{"a line changed", `UPDATE policy_audit SET subject = 'nogen@andre.example' WHERE id = 2`, 2, false},
		{"a line removed in between", `DELETE FROM policy_audit WHERE id = 2`, 3, true},
		{"the last line removed", `DELETE FROM policy_audit WHERE id = 4`, 0, true},
	} {
		t.Run(tamper.name, func(t *testing.T) {
			s := open(fmt.Sprintf("chain%d", i))
			ctx := context.Background()
			for i := 0; i < 4; i++ {
				if err := s.Log(ctx, Entry{Actor: staff, Action: "send", Mailbox: uddserv.Address, Subject: fmt.Sprintf("modtager%d@kommune.example", i), MessageID: fmt.Sprintf("<%d@x>", i)}); err != nil {
					t.Fatal(err)
				}
			}
			if tamper.sql != "" {
				drop := []string{`DROP TRIGGER policy_audit_no_update`, `DROP TRIGGER policy_audit_no_delete`}
				if s.db.Dialect == store.PostgreSQL {
					drop = []string{`DROP TRIGGER policy_audit_no_change ON policy_audit`}
				}
				for _, q := range append(drop, tamper.sql) {
					if _, err := s.db.Exec(q); err != nil {
						t.Fatal(err)
					}
				}
			}
			c, err := s.VerifyAudit(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if c.Broken != tamper.broken || c.Missing != tamper.gone || c.OK() != (tamper.sql == "") {
				t.Errorf("%+v, want broken at %d, missing %v", c, tamper.broken, tamper.gone)
			}
		})
	}
}
