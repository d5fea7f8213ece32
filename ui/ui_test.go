package ui

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"sikkermail/internal/config"
	"sikkermail/internal/core"
	"sikkermail/internal/demo"
	"sikkermail/internal/i18n"
	"sikkermail/internal/mailtest/daemon"
	"sikkermail/internal/message"
	"sikkermail/internal/smime"
	"sikkermail/internal/testenv"
)

func newTestUI(t *testing.T, cfg *config.Config) *UI {
	t.Helper()
	cfg.Database = filepath.Join(t.TempDir(), "test.db")
	c, err := demo.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return newTestUIOn(t, c)
}

// newTestUIOn is the GUI on c, which the test ends by closing.
func newTestUIOn(t *testing.T, c core.API) *UI {
	t.Helper()
	a := test.NewTempApp(t)
	t.Cleanup(func() { c.Close() })
	u := New(a, c)
	// The test's own clock: what waits (the draft kept after a change)
	// runs when the test says (fireTimers), never behind its back.
	timers := &[]func(){}
	u.after = func(_ time.Duration, f func()) { *timers = append(*timers, f) }
	u.every = func(_ time.Duration, f func()) func() {
		testTickers[u] = append(testTickers[u], f)
		return func() {}
	}
	testTimers[u] = timers
	u.Main.Show()
	return u
}

var (
	testTimers  = map[*UI]*[]func(){}
	testTickers = map[*UI][]func(){}
)

// tick runs each ticker once, as if its period had passed.
func tick(u *UI) {
	for _, f := range testTickers[u] {
		f()
	}
}

// fireTimers runs what is waiting, as if the time had passed.
func fireTimers(u *UI) int {
	ts := testTimers[u]
	fns := *ts
	*ts = nil
	for _, f := range fns {
		f()
	}
	return len(fns)
}

// runWorker runs the outbox's worker beside the window, as cmd/sikkermail
// does, until the test ends.
func runWorker(t *testing.T, u *UI) {
	ctx, cancel := context.WithCancel(context.Background())
	worked := make(chan struct{})
	go func() {
		defer close(worked)
		u.core.Run(ctx)
	}()
	t.Cleanup(func() { cancel(); <-worked })
}

// findButton returns the last button under o with the text, nil if none.
func findButton(o fyne.CanvasObject, text string) *widget.Button {
	var found *widget.Button
	var walk func(fyne.CanvasObject)
	walk = func(c fyne.CanvasObject) {
		switch w := c.(type) {
		case *widget.Button:
			if w.Text == text {
				found = w
			}
		case *keyButton:
			if w.Text == text {
				found = &w.Button
			}
		case *fyne.Container:
			for _, x := range w.Objects {
				walk(x)
			}
		case *container.Scroll:
			walk(w.Content)
		case *widget.PopUp:
			walk(w.Content)
		}
	}
	walk(o)
	return found
}

// labels returns the texts of every label under o, in order.
func labels(o fyne.CanvasObject) []string {
	var out []string
	var walk func(fyne.CanvasObject)
	walk = func(o fyne.CanvasObject) {
		switch w := o.(type) {
		case *widget.Label:
			out = append(out, w.Text)
		case *fyne.Container:
			for _, c := range w.Objects {
				walk(c)
			}
		case *container.Scroll:
			walk(w.Content)
		case *widget.PopUp:
			walk(w.Content)
		}
	}
	walk(o)
	return out
}

func TestComposeThenCheck(t *testing.T) {
	u := newTestUI(t, config.Demo())
	if got := u.Compose.SendSecure.Text; got != "Send som sikker e-mail" {
		t.Errorf("button %q", got)
	}
	test.Type(u.Compose.Subject, "Journalnotat")
	if u.Send != nil {
		t.Fatal("the secure-send pane is open before it was asked for")
	}
	test.Tap(u.Compose.SendSecure)
	p := u.Send
	if p == nil {
		t.Fatal("Send som sikker e-mail did not open the secure-send pane")
	}
	if got := p.Check.Text; got != "Kontrollér adresser" {
		t.Errorf("check button %q", got)
	}

	// Nothing entered: a sentence, no verdicts.
	test.Tap(p.Check)
	p.Wait()
	if p.Status.Text != "Skriv mindst én modtager." || len(p.Results.Objects) != 0 {
		t.Errorf("empty check: status %q, %d rows", p.Status.Text, len(p.Results.Objects))
	}

	p.Emails.SetText("sikkerpost@hoejskole.example\n\njens@\n")
	p.Numbers.SetText("310290-1234")
	test.Tap(p.Check)
	p.Wait()
	rows := p.Results.Objects
	if len(rows) != 3 {
		t.Fatalf("%d result rows, want 3 (blank lines are not recipients)", len(rows))
	}
	want := []string{
		"sikkerpost@hoejskole.example — intern",
		"»jens@« er ikke en gyldig e-mailadresse",
		"datoen 31.02.1990 findes ikke",
	}
	for i, w := range want {
		got := strings.Join(labels(rows[i]), "\n")
		if !strings.Contains(got, w) {
			t.Errorf("row %d %q does not contain %q", i, got, w)
		}
	}
	if !strings.Contains(p.Status.Text, "2 modtager(e) kan ikke modtage sikkert") {
		t.Errorf("status %q", p.Status.Text)
	}
	if p.Check.Disabled() || p.Checking.Visible() || p.Checking.Running() {
		t.Error("check button stays disabled, or the spinner spins, after the check")
	}

	// Changing a recipient clears the verdicts: they no longer hold.
	test.Type(p.Numbers, "0")
	if len(p.Results.Objects) != 0 || p.Status.Text != "" {
		t.Errorf("after an edit: %d rows, status %q", len(p.Results.Objects), p.Status.Text)
	}

	// Asking again brings the open pane back instead of a second one.
	test.Tap(u.Compose.SendSecure)
	if u.Send != p {
		t.Error("a second secure-send pane was opened")
	}
	p.Window.Close()
	if u.Send != nil {
		t.Error("the closed pane is still referenced")
	}
}

func TestEnglish(t *testing.T) {
	cfg := config.Demo()
	cfg.Language = "en"
	u := newTestUI(t, cfg)
	if got := u.Compose.SendSecure.Text; got != "Send as secure e-mail" {
		t.Errorf("button %q", got)
	}
	p := u.OpenSend()
	p.Emails.SetText("sikkerpost@hoejskole.example")
	test.Tap(p.Check)
	p.Wait()
	if got := strings.Join(labels(p.Results.Objects[0]), ""); got != "sikkerpost@hoejskole.example — internal" {
		t.Errorf("row %q", got)
	}
	if p.Status.Text != "Every recipient can receive securely." {
		t.Errorf("status %q", p.Status.Text)
	}
}

// The whole flow of the guide against the demo: compose, open the pane,
// choose the mailbox (the ones without the right cannot be chosen), check
// (one red), fix, check (all green), send, see the receipt.
func TestSendFlow(t *testing.T) {
	u := newTestUI(t, config.Demo())
	runWorker(t, u)

	test.Type(u.Compose.Subject, "Afgørelse")
	test.Type(u.Compose.Body, "Hermed afgørelsen.")
	file := filepath.Join(t.TempDir(), "bilag æøå.txt")
	os.WriteFile(file, bytes.Repeat([]byte("x"), 3000), 0o600)
	u.Compose.AddFile(file)
	u.Compose.AddFile(file)
	u.Compose.AddFile(filepath.Join(t.TempDir(), "mangler.pdf")) // unreadable: nothing added
	u.Compose.Remove(1)
	if got := strings.Join(labels(u.Compose.Files), "|"); got != "bilag æøå.txt (3 kB)" || len(u.Compose.Draft().Attachments) != 1 {
		t.Fatalf("attachments %q", got)
	}
	test.Tap(u.Compose.SendSecure)
	p := u.Send
	if len(p.Sender.Options) != 2 || len(p.Unavailable.Objects) != 2 {
		t.Fatalf("sender options %v, %d unavailable", p.Sender.Options, len(p.Unavailable.Objects))
	}
	for _, row := range p.Unavailable.Objects {
		box := row.(*fyne.Container)
		if !box.Objects[0].(*widget.RadioGroup).Disabled() || !strings.Contains(strings.Join(labels(box), ""), "Kontakt Helpdesk (helpdesk@hoejskole.example, tlf. 7012 3456) for rettigheder") {
			t.Fatalf("unavailable mailbox row %v", labels(box))
		}
	}
	var udd string
	for _, o := range p.Sender.Options {
		if strings.Contains(o, "sikkerpost-uddservice@") {
			udd = o
		}
	}
	p.Sender.SetSelected(udd)
	if !p.SendMail.Disabled() {
		t.Fatal("Send mail enabled before a check")
	}
	p.Emails.SetText("jens.hansen@kommune.example\n\nukendt@andetsted.example")
	p.Numbers.SetText("12345100")
	test.Tap(p.Check)
	p.Wait()
	if !p.SendMail.Disabled() || !strings.Contains(p.Status.Text, "1 modtager(e)") {
		t.Fatalf("one red: send enabled %v, status %q", !p.SendMail.Disabled(), p.Status.Text)
	}
	// Each line has its own mark beside it; the empty line none.
	if got := marks(p.EmailMarks); got != "ok,,red" {
		t.Fatalf("marks beside the e-mail lines: %q", got)
	}
	if got := marks(p.NumberMarks); got != "ok" {
		t.Fatalf("marks beside the numbers: %q", got)
	}
	p.Numbers.SetText("")
	if got := marks(p.EmailMarks) + marks(p.NumberMarks); got != "" {
		t.Fatalf("marks left after a change: %q", got)
	}
	p.Emails.SetText("jens.hansen@kommune.example\nkollega@hoejskole.example")
	test.Tap(p.Check)
	p.Wait()
	if p.SendMail.Disabled() {
		t.Fatalf("all green but Send mail disabled: %q", p.Status.Text)
	}
	sendForReceipt(t, p)
	// The pane is done with the mail: nothing can check or send it again,
	// and compose is empty, as in Outlook.
	test.Tap(p.Check)
	p.Wait()
	if !p.Check.Disabled() || !p.SendMail.Disabled() || !p.Emails.Disabled() || u.Compose.Subject.Text != "" || len(u.Compose.Draft().Attachments) != 0 {
		t.Fatalf("after the send: check %v, send %v, compose %q", !p.Check.Disabled(), !p.SendMail.Disabled(), u.Compose.Subject.Text)
	}
	if list, _ := u.core.OutboxList(context.Background()); len(list) != 1 {
		t.Fatalf("%d mails in the outbox, want 1", len(list))
	}
	// A new mail gets a fresh pane: no recipients, no old receipt.
	test.Type(u.Compose.Subject, "Næste")
	test.Tap(u.Compose.SendSecure)
	q := u.Send
	if q == p || q.Emails.Text != "" || q.Receipt.Visible() || q.Check.Disabled() || q.Status.Text != "" {
		t.Fatalf("the next mail's pane: same %v, recipients %q, receipt shown %v", q == p, q.Emails.Text, q.Receipt.Visible())
	}
}

// sendForReceipt presses Send mail and waits for the receipt of a mail
// from Uddannelsesservice to Jens Hansen and a colleague.
func sendForReceipt(t *testing.T, p *SendPane) {
	t.Helper()
	test.Tap(p.SendMail)
	p.Wait()
	if !strings.HasPrefix(p.Status.Text, "Din sikre mail er sendt.") {
		t.Fatalf("status %q", p.Status.Text)
	}
	for _, want := range []string{"Kvittering", "sikkerpost-uddservice@hoejskole.example", "jens.hansen@kommune.example (S/MIME)", "kollega@hoejskole.example (intern)"} {
		if !strings.Contains(p.Receipt.Text, want) {
			t.Fatalf("receipt lacks %q:\n%s", want, p.Receipt.Text)
		}
	}
}

// Udbakke lists a queued mail with its state and removes it.
func TestOutboxWindow(t *testing.T) {
	u := newTestUI(t, config.Demo())
	if _, err := u.core.Send(context.Background(), message.Draft{Subject: "Venter", Body: "x"}, "sikkerpost-uddservice@hoejskole.example",
		[]string{"jens.hansen@kommune.example"}, nil); err != nil {
		t.Fatal(err)
	}
	test.Tap(u.Compose.OutboxButton)
	o := u.Outbox
	got := strings.Join(labels(o.Rows), "|")
	if !strings.Contains(got, "Venter|venter · ") || !strings.Contains(got, "jens.hansen@kommune.example") {
		t.Fatalf("rows %q", got)
	}
	// Fjern asks first; the safe answer has the focus, and Escape keeps.
	test.Tap(findButton(o.Rows, "Fjern"))
	ask := o.Window.Canvas().Overlays().Top()
	if ask == nil || !strings.Contains(strings.Join(labels(ask), "\n"), "Det kan ikke fortrydes") {
		t.Fatalf("no question before removal: %v", ask)
	}
	focused, ok := o.Window.Canvas().Focused().(*keyButton)
	if !ok || focused.Text != "Behold den" {
		t.Fatalf("focus on %v, want Behold den", o.Window.Canvas().Focused())
	}
	focused.TypedKey(&fyne.KeyEvent{Name: fyne.KeyEscape})
	if list, _ := u.core.OutboxList(context.Background()); len(list) != 1 || o.Window.Canvas().Overlays().Top() != nil {
		t.Fatalf("Escape: %d in the outbox, dialog %v", len(list), o.Window.Canvas().Overlays().Top())
	}
	test.Tap(findButton(o.Rows, "Fjern"))
	test.Tap(findButton(o.Window.Canvas().Overlays().Top(), "Fjern"))
	if got := strings.Join(labels(o.Rows), "|"); got != "Udbakken er tom." {
		t.Fatalf("after remove %q", got)
	}

	// A sent mail: sendt, with its receipt a tap away.
	q, err := u.core.Send(context.Background(), message.Draft{Subject: "Sendt", Body: "x"}, "sikkerpost-uddservice@hoejskole.example",
		[]string{"jens.hansen@kommune.example", "010190-1009"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := u.core.Process(context.Background()); n != 1 || err != nil {
		t.Fatal(n, err)
	}
	o.Refresh()
	if got := strings.Join(labels(o.Rows), "|"); !strings.Contains(got, "Sendt|sendt · ") || !strings.Contains(got, "010190-xxxx") {
		t.Fatalf("rows %q", got)
	}
	if findButton(o.Rows, "Prøv igen") != nil {
		t.Error("a sent mail offers Prøv igen")
	}
	test.Tap(findButton(o.Rows, "Kvittering"))
	top := o.Window.Canvas().Overlays().Top()
	if top == nil {
		t.Fatal("no receipt dialog")
	}
	texts := labels(top)
	if got := strings.Join(texts, "\n"); !strings.Contains(got, q.MessageID) || !strings.Contains(got, "010190-xxxx (Digital Post") {
		t.Fatalf("receipt dialog %q", got)
	}
	// Its OK has the focus; Escape closes it.
	okButton, isKey := o.Window.Canvas().Focused().(*keyButton)
	if !isKey || okButton.Text != "OK" {
		t.Fatalf("focus on %v", o.Window.Canvas().Focused())
	}
	okButton.TypedKey(&fyne.KeyEvent{Name: fyne.KeyEscape})
	if o.Window.Canvas().Overlays().Top() != nil {
		t.Fatal("Escape left the receipt open")
	}
}

// Indstillinger: staff see no Rettigheder tab; helpdesk does, grants a
// right there, and the grant is in the audit log.
func TestSettingsRights(t *testing.T) {
	staff := newTestUI(t, config.Demo())
	test.Tap(staff.Compose.SettingsButton)
	if s := staff.Settings; s.Rights != nil || len(s.Tabs.Items) != 1 {
		t.Fatalf("staff see %d tabs", len(s.Tabs.Items))
	}

	cfg := config.Demo()
	cfg.User.Address = "helpdesk@hoejskole.example"
	u := newTestUI(t, cfg)
	test.Tap(u.Compose.SettingsButton)
	r := u.Settings.Rights
	if r == nil || len(u.Settings.Tabs.Items) != 2 || u.Settings.Tabs.Items[1].Text != "Rettigheder" {
		t.Fatal("helpdesk has no Rettigheder tab")
	}
	test.Type(r.User, "anna@hoejskole.example")
	r.Mailbox.SetSelected("sikkerpost-hr@hoejskole.example")
	r.Right.SetSelected("send")
	test.Tap(r.Grant)
	if r.Status.Text != "anna@hoejskole.example har nu retten »sende« til sikkerpost-hr@hoejskole.example." {
		t.Fatalf("status %q", r.Status.Text)
	}
	if h := strings.Join(labels(r.Holders), "\n"); !strings.Contains(h, "anna@hoejskole.example: sende") || !strings.Contains(h, "sikkerpost-hr@hoejskole.example — certifikat udløber 20") {
		t.Fatalf("holders %q", labels(r.Holders))
	}
	audit := labels(r.Audit)
	if len(audit) == 0 || !strings.Contains(audit[0], "helpdesk@hoejskole.example  gav ret  sikkerpost-hr@hoejskole.example  anna@hoejskole.example sende") {
		t.Fatalf("audit %q", audit)
	}
	// An outsider cannot be given a right; the sentence says why.
	r.User.SetText("jens@kommune.example")
	test.Tap(r.Grant)
	if !strings.Contains(r.Status.Text, "er ikke en medarbejder") {
		t.Fatalf("status %q", r.Status.Text)
	}
}

// Golden renders of the compose window and the secure-send pane, in
// Danish and in English: any change to what a user sees shows up here
// (regenerate by copying testdata/failed/* over testdata/ after looking).
func TestGolden(t *testing.T) {
	for _, lang := range []string{"da", "en"} {
		cfg := config.Demo()
		cfg.Language = lang
		u := newTestUI(t, cfg)
		u.FillDemo()
		u.Main.Resize(fyne.NewSize(900, 640))
		test.AssertRendersToMarkup(t, "compose_"+lang+".xml", u.Main.Canvas())
		p := u.OpenSend()
		p.Window.Resize(fyne.NewSize(820, 640))
		test.AssertRendersToMarkup(t, "secure_send_"+lang+".xml", p.Window.Canvas())
	}
}

// Attachments too large for most mail servers once encrypted are warned
// about in the compose window; removing them clears the warning.
func TestTooLarge(t *testing.T) {
	u := newTestUI(t, config.Demo())
	big := filepath.Join(t.TempDir(), "scanning.pdf")
	os.WriteFile(big, make([]byte, 16<<20), 0o600)
	u.Compose.AddFile(big)
	if !u.Compose.TooLarge.Visible() || !strings.Contains(u.Compose.TooLarge.Text, "krypteret bliver mailen ca. 28,5 MB") {
		t.Fatalf("warning %v %q", u.Compose.TooLarge.Visible(), u.Compose.TooLarge.Text)
	}
	u.Compose.Remove(0)
	if u.Compose.TooLarge.Visible() {
		t.Fatal("warning stays after the file is removed")
	}
}

// The pane against the demo's Digital Post: as the user types, lines of
// the wrong form or on the wrong side are named; the check shows the
// channel, the registered name and the CPR fee; the send reaches a CPR
// and a CVR recipient (with attention data), and the receipt covers both.
func TestSendFlowDigitalPost(t *testing.T) {
	u := newTestUI(t, config.Demo())
	runWorker(t, u)

	test.Type(u.Compose.Subject, "Afgørelse")
	test.Type(u.Compose.Body, "Hermed afgørelsen.")
	test.Tap(u.Compose.SendSecure)
	p := u.Send
	for _, o := range p.Sender.Options {
		if strings.Contains(o, "sikkerpost-uddservice@") {
			p.Sender.SetSelected(o)
		}
	}
	test.Type(p.Numbers, "jens@kommune.example\n310290-1234")
	if p.NumberHints.Hidden || !strings.Contains(p.NumberHints.Text, "Linje 1: jens@kommune.example er en e-mailadresse") ||
		!strings.Contains(p.NumberHints.Text, "Linje 2: »310290-1234« er ikke et gyldigt CPR-nummer") {
		t.Fatalf("hints %q", p.NumberHints.Text)
	}
	test.Type(p.Emails, "12345100")
	if !strings.Contains(p.EmailHints.Text, "12345100 er et CPR-/CVR-nummer; skriv det i højre side") {
		t.Fatalf("hints %q", p.EmailHints.Text)
	}
	p.Emails.SetText("")
	p.Numbers.SetText("010190-1009\n020280-1005\nDK 12345100")
	if !p.NumberHints.Hidden || !p.EmailHints.Hidden {
		t.Fatalf("hints for valid lines: %q %q", p.NumberHints.Text, p.EmailHints.Text)
	}
	test.Tap(p.Check)
	p.Wait()
	rows := p.Results.Objects
	if len(rows) != 3 || !p.SendMail.Disabled() {
		t.Fatalf("%d rows, send enabled %v", len(rows), !p.SendMail.Disabled())
	}
	for i, want := range [][]string{
		{"010190-1009 — Digital Post", "Der betales et mindre gebyr"},
		{"020280-1005 er fritaget for Digital Post"},
		{"12345100 — Digital Post", "CVR-nummeret tilhører Demo Firma ApS"},
	} {
		got := strings.Join(labels(rows[i]), "\n")
		for _, w := range want {
			if !strings.Contains(got, w) {
				t.Errorf("row %d %q lacks %q", i, got, w)
			}
		}
		if i == 2 && strings.Contains(got, "gebyr") {
			t.Errorf("a fee note for a CVR number: %q", got)
		}
	}
	p.Numbers.SetText("010190-1009\nDK 12345100")
	test.Type(p.AttPerson, "Jens Hansen")
	test.Type(p.AttPNumber, "1012345678")
	test.Tap(p.Check)
	p.Wait()
	if p.SendMail.Disabled() {
		t.Fatalf("all green but Send mail disabled: %q", p.Status.Text)
	}
	test.Tap(p.SendMail)
	p.Wait()
	if !strings.HasPrefix(p.Status.Text, "Din sikre mail er sendt.") || p.Progress.Value != 1 {
		t.Fatalf("status %q, progress %v", p.Status.Text, p.Progress.Value)
	}
	for _, want := range []string{"010190-xxxx (Digital Post, leveret i postkassen", "12345100 (Digital Post, Demo Firma ApS, leveret i postkassen"} {
		if !strings.Contains(p.Receipt.Text, want) {
			t.Fatalf("receipt lacks %q:\n%s", want, p.Receipt.Text)
		}
	}
	if strings.Contains(p.Receipt.Text, "0101901009") || strings.Contains(p.Receipt.Text, "010190-1009") {
		t.Error("the receipt shows the whole CPR number")
	}
}

// Konto: the language chosen applies at once to every open window, which
// keeps what it held, and is kept for the next start (where it wins over
// the settings file); the password goes to the keyring — in the demo,
// whose password is no keyring's, the refusal says where it is.
func TestSettingsAccount(t *testing.T) {
	u := newTestUI(t, config.Demo())
	t.Cleanup(func() { SetLanguage(i18n.Danish) })
	u.Compose.Subject.SetText("Afgørelse")
	u.Compose.Body.SetText("Se vedhæftet.")
	test.Tap(u.Compose.SendSecure)
	p := u.Send
	p.Emails.SetText("jens.hansen@kommune.example\nukendt@andetsted.example")
	test.Tap(p.Check)
	p.Wait()
	test.Tap(u.Compose.SettingsButton)
	s := u.Settings
	if s.Language.Selected != "Dansk" {
		t.Fatalf("language %q", s.Language.Selected)
	}
	s.Language.SetSelected("English")
	if got := u.app.Preferences().String(PrefLanguage); got != "en" || u.core.Lang() != i18n.English {
		t.Fatalf("preference %q, core %s", got, u.core.Lang())
	}
	// Every window speaks English now, holding what it held.
	c := u.Compose
	if c.SendSecure.Text != "Send as secure e-mail" || c.Subject.Text != "Afgørelse" || c.Body.Text != "Se vedhæftet." || u.Main.Title() != "Secure mail" {
		t.Fatalf("compose: %q, %q / %q, title %q", c.SendSecure.Text, c.Subject.Text, c.Body.Text, u.Main.Title())
	}
	q := u.Send
	if q == p || q.Check.Text != "Check addresses" || q.Emails.Text != p.Emails.Text || marks(q.EmailMarks) != "ok,red" ||
		!strings.Contains(strings.Join(labels(q.Results), "\n"), "No certificate was found") {
		t.Fatalf("send pane: %q, %q, marks %q, results %q", q.Check.Text, q.Emails.Text, marks(q.EmailMarks), labels(q.Results))
	}
	s = u.Settings
	if s == nil || s.Language.Selected != "English" || s.Tabs.Items[0].Text != "Account" {
		t.Fatalf("settings after the switch: %+v", s)
	}
	if got := lang.L("Cancel"); got != "Cancel" {
		t.Fatalf("Fyne's own words: %q", got)
	}
	s.Language.SetSelected("Dansk")
	if u.Compose.SendSecure.Text != "Send som sikker e-mail" || lang.L("Cancel") != "Annullér" || u.Send.Check.Text != "Kontrollér adresser" {
		t.Fatalf("back in Danish: %q, %q", u.Compose.SendSecure.Text, lang.L("Cancel"))
	}
	s = u.Settings
	s.Language.SetSelected("English")
	if err := ApplyLanguage(u.app, u.core); err != nil || u.core.Lang() != "en" {
		t.Fatalf("next start: %v, %s", err, u.core.Lang())
	}
	s.Language.SetSelected("Dansk")

	test.Type(s.Password, "hemmelig")
	test.Tap(s.SavePassword)
	if !strings.Contains(s.AccountStatus.Text, "env:SIKKERMAIL_DEMO_PASSWORD") || s.Password.Text != "hemmelig" {
		t.Fatalf("status %q", s.AccountStatus.Text)
	}
}

// Indbakke: the reader opens a mail, sees how securely it came, forwards
// it to a colleague (an outside address is refused with the sentence),
// saves its attachment, marks it handled, and replies securely through
// the secure-send pane.
func TestInboxFlow(t *testing.T) {
	t.Run("local", func(t *testing.T) { inboxFlow(t, newTestUI(t, config.Demo())) })
	// In gateway mode the gateway opens each mail; the PC holds no key.
	t.Run("gateway", func(t *testing.T) { inboxFlow(t, newTestUIOn(t, startGateway(t))) })
}

func inboxFlow(t *testing.T, u *UI) {
	runWorker(t, u)

	test.Tap(u.Compose.InboxButton)
	w := u.Inbox
	w.Wait()
	if len(w.Mailbox.Options) != 1 || !strings.Contains(w.Mailbox.Selected, "sikkerpost-uddservice@") {
		t.Fatalf("mailboxes %v, chosen %q", w.Mailbox.Options, w.Mailbox.Selected)
	}
	if len(w.Rows.Objects) != 3 {
		t.Fatalf("%d rows", len(w.Rows.Objects))
	}
	oldest := w.Rows.Objects[2].(*widget.Button)
	if !strings.Contains(oldest.Text, "Jens Hansen — Ansøgning om merit") || !strings.Contains(oldest.Text, "krypteret") {
		t.Fatalf("row %q", oldest.Text)
	}
	test.Tap(oldest)
	w.Wait()
	// The opened mail is marked in the list, and only it.
	for i, o := range w.Rows.Objects {
		if b := o.(*widget.Button); (b.Importance == widget.HighImportance) != (i == 2) {
			t.Errorf("row %d %q: importance %v", i, b.Text, b.Importance)
		}
	}
	if !strings.HasPrefix(w.Secure.Text, "Sendt sikkert: krypteret (AES-256-GCM) og signeret af Jens Hansen") || w.Secure.Importance != widget.SuccessImportance {
		t.Fatalf("panel %q", w.Secure.Text)
	}
	if !strings.Contains(w.Details.Text, "Den, der signerede, er afsenderen: Ja") || !strings.Contains(w.Text.Text, "ansøgning om merit") {
		t.Fatalf("details %q, text %q", w.Details.Text, w.Text.Text)
	}
	if got := strings.Join(labels(w.Files), "|"); !strings.HasPrefix(got, "Eksamensbevis.pdf (") {
		t.Fatalf("files %q", got)
	}
	dir := t.TempDir()
	saved, err := w.SaveAttachment(0, dir)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(saved); filepath.Base(saved) != "Eksamensbevis.pdf" || !strings.HasPrefix(string(b), "%PDF") {
		t.Fatalf("saved %s: %q", saved, b)
	}
	// Saved again: beside it, never over it.
	if again, err := w.SaveAttachment(0, dir); err != nil || filepath.Base(again) != "Eksamensbevis (2).pdf" || !strings.Contains(w.Status.Text, again) {
		t.Fatalf("saved again: %s %v; %q", again, err, w.Status.Text)
	}

	test.Tap(w.Forward)
	w.ForwardTo.SetText("jens.hansen@kommune.example")
	test.Tap(w.ForwardSend)
	w.Wait()
	if !strings.Contains(w.Status.Text, "jens.hansen@kommune.example er ikke en intern adresse") {
		t.Fatalf("forward external: %q", w.Status.Text)
	}
	w.ForwardTo.SetText("kollega@hoejskole.example")
	test.Type(w.ForwardNote, "Kan du tage denne?")
	test.Tap(w.ForwardSend)
	w.Wait()
	if w.Status.Text != "Videresendt til kollega@hoejskole.example." {
		t.Fatalf("forward: %q", w.Status.Text)
	}

	test.Tap(w.Handled)
	w.Wait()
	if !strings.Contains(w.Rows.Objects[2].(*widget.Button).Text, "behandlet") || w.Handled.Text != "Markér som ubehandlet" {
		t.Fatalf("handled: %q / %q", w.Rows.Objects[2].(*widget.Button).Text, w.Handled.Text)
	}

	// The plain one is said not to be secure, in red.
	test.Tap(w.Rows.Objects[1].(*widget.Button))
	w.Wait()
	if !strings.HasPrefix(w.Secure.Text, "Ikke sendt sikkert: mailen var ikke krypteret") || w.Secure.Importance != widget.DangerImportance {
		t.Fatalf("plain: %q", w.Secure.Text)
	}

	// Reply securely to the first: the pane, the mailbox chosen, the
	// sender filled in and green (his certificate is known). A mail being
	// written is not replaced without asking.
	test.Tap(w.Rows.Objects[2].(*widget.Button))
	w.Wait()
	test.Type(u.Compose.Subject, "Halvfærdig")
	test.Tap(w.Reply)
	ask := w.Window.Canvas().Overlays().Top()
	if ask == nil || !strings.Contains(strings.Join(labels(ask), "\n"), "går tabt") || u.Compose.Subject.Text != "Halvfærdig" {
		t.Fatalf("reply over a draft did not ask: %v, subject %q", ask, u.Compose.Subject.Text)
	}
	test.Tap(findButton(ask, "Behold den"))
	if u.Compose.Subject.Text != "Halvfærdig" || u.Send != nil {
		t.Fatalf("kept, yet the draft is %q", u.Compose.Subject.Text)
	}
	test.Tap(w.Reply)
	test.Tap(findButton(w.Window.Canvas().Overlays().Top(), "Kassér kladden"))
	p := u.Send
	if p == nil || p.Emails.Text != "jens.hansen@kommune.example" || p.addresses[p.Sender.Selected] != "sikkerpost-uddservice@hoejskole.example" ||
		u.Compose.Subject.Text != "SV: Ansøgning om merit" || !strings.Contains(u.Compose.Body.Text, "> Vedhæftet er min ansøgning") {
		t.Fatalf("reply: pane %v, subject %q", p != nil, u.Compose.Subject.Text)
	}
	test.Tap(p.Check)
	p.Wait()
	if p.SendMail.Disabled() {
		t.Fatalf("the sender is not green: %q", p.Status.Text)
	}
}

// A user who may read no mailbox is told whom to ask.
func TestInboxNoRight(t *testing.T) {
	cfg := config.Demo()
	cfg.User.Address = "helpdesk@hoejskole.example"
	u := newTestUI(t, cfg)
	w := u.OpenInbox()
	if len(w.Mailbox.Options) != 0 || !strings.Contains(w.Status.Text, "Kontakt Helpdesk") {
		t.Fatalf("%v %q", w.Mailbox.Options, w.Status.Text)
	}
}

// A CPR number in the text of a mail to internal addresses only, which
// goes signed but not encrypted, is asked about before it is queued.
func TestSendWarnsCPRInUnencryptedMail(t *testing.T) {
	u := newTestUI(t, config.Demo())
	test.Type(u.Compose.Subject, "Sag")
	test.Type(u.Compose.Body, "Borgeren 010190–1009 har ringet.")
	p := checkedPane(t, u, "kollega@hoejskole.example")
	test.Tap(p.SendMail)
	top := p.Window.Canvas().Overlays().Top()
	if top == nil || !strings.Contains(strings.Join(labels(top), "\n"), "Mailen krypteres ikke") {
		t.Fatalf("no warning before sending: %v", top)
	}
	if list, _ := u.core.OutboxList(context.Background()); len(list) != 0 {
		t.Fatalf("queued before the user answered: %d", len(list))
	}
	runWorker(t, u)
	test.Tap(findButton(top, "Send alligevel"))
	p.Wait()
	if list, _ := u.core.OutboxList(context.Background()); len(list) != 1 || !strings.HasPrefix(p.Status.Text, "Din sikre mail er sendt.") {
		t.Fatalf("%d queued after the user said send; %q", len(list), p.Status.Text)
	}
}

// Recipients pasted from Outlook, ';'-separated with names, become one
// per line, and each is checked.
func TestPasteFromOutlook(t *testing.T) {
	u := newTestUI(t, config.Demo())
	test.Tap(u.Compose.SendSecure)
	p := u.Send
	p.Emails.SetText("Jens Hansen <jens.hansen@kommune.example>; Hansen, Kollega <kollega@hoejskole.example>;")
	if got := p.Inputs(); len(got) != 2 || got[1] != `"Hansen, Kollega" <kollega@hoejskole.example>` {
		t.Fatalf("inputs %q (text %q)", got, p.Emails.Text)
	}
	if p.EmailHints.Visible() {
		t.Errorf("hints %q", p.EmailHints.Text)
	}
}

// A file Digital Post does not take is said at the check, with its
// name, and Send mail stays off: not after the check said green.
func TestCheckSaysFileType(t *testing.T) {
	u := newTestUI(t, config.Demo())
	test.Type(u.Compose.Subject, "Program")
	test.Type(u.Compose.Body, "Se vedhæftede.")
	file := filepath.Join(t.TempDir(), "installer.exe")
	os.WriteFile(file, []byte("MZ"), 0o600)
	u.Compose.AddFile(file)
	test.Tap(u.Compose.SendSecure)
	p := u.Send
	p.Sender.SetSelected(p.Sender.Options[0])
	p.Numbers.SetText("010190-1009")
	test.Tap(p.Check)
	p.Wait()
	if !strings.Contains(p.Status.Text, "installer.exe") || !strings.Contains(p.Status.Text, "Digital Post") || !p.SendMail.Disabled() {
		t.Errorf("status %q, Send mail enabled %v", p.Status.Text, !p.SendMail.Disabled())
	}
	// Without the file, the same check is green.
	u.Compose.Remove(0)
	test.Tap(p.Check)
	p.Wait()
	if p.Status.Text != "Alle modtagere kan modtage sikkert." || p.SendMail.Disabled() {
		t.Errorf("status %q, Send mail enabled %v", p.Status.Text, !p.SendMail.Disabled())
	}
}

// A mail without a subject asks first; the safe answer (focused) sends
// nothing, Send alligevel sends it.
func TestEmptySubjectAsks(t *testing.T) {
	u := newTestUI(t, config.Demo())
	test.Type(u.Compose.Body, "Kun tekst.")
	p := checkedPane(t, u, "kollega@hoejskole.example")
	test.Tap(p.SendMail)
	top := p.Window.Canvas().Overlays().Top()
	if top == nil || !strings.Contains(strings.Join(labels(top), "\n"), "Mailen har intet emne") {
		t.Fatalf("no question: %v", top)
	}
	focused, ok := p.Window.Canvas().Focused().(*keyButton)
	if !ok || focused.Text != "Ret mailen" {
		t.Fatalf("focus on %v", p.Window.Canvas().Focused())
	}
	focused.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	if list, _ := u.core.OutboxList(context.Background()); len(list) != 0 {
		t.Fatalf("Enter on the safe answer queued %d", len(list))
	}
	runWorker(t, u)
	test.Tap(p.SendMail)
	test.Tap(findButton(p.Window.Canvas().Overlays().Top(), "Send alligevel"))
	p.Wait()
	if list, _ := u.core.OutboxList(context.Background()); len(list) != 1 {
		t.Fatalf("%d queued after Send alligevel", len(list))
	}
}

// Fjern ret asks, naming the person and the mailbox, before the right goes.
func TestRevokeAsks(t *testing.T) {
	cfg := config.Demo()
	cfg.User.Address = cfg.Policy.Helpdesk[0]
	u := newTestUI(t, cfg)
	s := u.OpenSettings()
	r := s.Rights
	if r == nil {
		t.Fatal("no rights pane for helpdesk")
	}
	r.User.SetText("medarbejder@hoejskole.example")
	for _, m := range r.Mailbox.Options {
		if strings.HasPrefix(m, "sikkerpost-uddservice@") {
			r.Mailbox.SetSelected(m)
		}
	}
	before := strings.Join(labels(r.Holders), "|")
	test.Tap(r.Revoke)
	top := s.Window.Canvas().Overlays().Top()
	if top == nil || !strings.Contains(strings.Join(labels(top), "\n"), "medarbejder@hoejskole.example mister retten") {
		t.Fatalf("no question: %v", top)
	}
	test.Tap(findButton(top, "Behold retten"))
	if after := strings.Join(labels(r.Holders), "|"); after != before || r.Status.Text != "" {
		t.Fatalf("kept: status %q, holders changed %v", r.Status.Text, after != before)
	}
	test.Tap(r.Revoke)
	test.Tap(findButton(s.Window.Canvas().Overlays().Top(), "Fjern ret"))
	if !strings.Contains(r.Status.Text, "»sende«") {
		t.Fatalf("Fjern ret said %q", r.Status.Text)
	}
	// Rights and audit actions in Danish, not the program's own words.
	if strings.Join(r.Right.Options, ",") != "sende,læse" {
		t.Errorf("rights offered: %v", r.Right.Options)
	}
	audit := strings.Join(labels(r.Audit), "\n")
	if !strings.Contains(audit, "fjernede ret") || strings.Contains(audit, " revoke ") || strings.Contains(audit, " grant ") {
		t.Errorf("audit lines:\n%s", audit)
	}
	if holders := strings.Join(labels(r.Holders), "\n"); regexp.MustCompile(`: (send|read)(,|$)`).MatchString(holders) {
		t.Errorf("holders:\n%s", holders)
	}
}

// pressShortcut does what the desktop driver does with a key and Ctrl: a
// main-menu item with that shortcut runs, wherever the focus is.
func pressShortcut(t *testing.T, w fyne.Window, key fyne.KeyName) {
	t.Helper()
	want := shortcut(key).ShortcutName()
	for _, m := range w.MainMenu().Items {
		for _, it := range m.Items {
			if it.Shortcut != nil && it.Shortcut.ShortcutName() == want {
				it.Action()
				return
			}
		}
	}
	t.Fatalf("no menu item for %s", want)
}

// pressSpace is the Space bar as the desktop driver gives it: the key,
// then its character (buttons take the one, radio items the other).
func pressSpace(f fyne.Focusable) {
	f.TypedKey(&fyne.KeyEvent{Name: fyne.KeySpace})
	f.TypedRune(' ')
}

// The whole send by keyboard alone: the focus starts in Emne, Tab goes
// Emne → text → attachments → buttons and leaves the text field (Ctrl+Tab
// types a tab), Space presses a button, and Ctrl+K and Ctrl+Enter check
// and send in the secure-send pane, whose focus goes sender → recipients.
func TestKeyboardOnlySend(t *testing.T) {
	u := newTestUI(t, config.Demo())
	runWorker(t, u)
	c := u.Main.Canvas()
	if c.Focused() != u.Compose.Subject {
		t.Fatalf("the focus starts on %T, not Emne", c.Focused())
	}
	test.Type(c.Focused(), "Journalnotat")
	test.FocusNext(c)
	if c.Focused() != u.Compose.Body {
		t.Fatalf("Tab from Emne went to %T", c.Focused())
	}
	if u.Compose.Body.AcceptsTab() {
		t.Fatal("the text field keeps Tab for itself")
	}
	test.Type(c.Focused(), "Hermed notatet.")
	u.Compose.Body.TypedShortcut(shortcut(fyne.KeyTab))
	if u.Compose.Body.Text != "Hermed notatet.\t" {
		t.Fatalf("Ctrl+Tab: %q", u.Compose.Body.Text)
	}
	test.FocusNext(c)
	if c.Focused() != u.Compose.Attach {
		t.Fatalf("Tab from the text went to %T", c.Focused())
	}
	test.FocusNext(c)
	if c.Focused() != u.Compose.SendSecure {
		t.Fatalf("Tab from Vedhæft fil went to %T", c.Focused())
	}
	pressSpace(c.Focused())
	p := u.Send
	if p == nil {
		t.Fatal("Space on Send som sikker e-mail opened nothing")
	}
	pc := p.Window.Canvas()
	if pc.Focused() != p.Emails {
		t.Fatalf("the pane's focus starts on %T", pc.Focused())
	}
	test.Type(pc.Focused(), "kollega@hoejskole.example")
	pressShortcut(t, p.Window, fyne.KeyK)
	p.Wait()
	if !strings.Contains(p.Status.Text, "Alle modtagere kan modtage sikkert") {
		t.Fatalf("Ctrl+K: %q", p.Status.Text)
	}
	// Shift+Tab from the recipients reaches the sender; Space chooses it.
	test.FocusPrevious(pc)
	if pc.Focused() == nil || pc.Focused() == fyne.Focusable(p.Emails) {
		t.Fatalf("Shift+Tab from the recipients went to %T", pc.Focused())
	}
	pressSpace(pc.Focused())
	if p.Sender.Selected == "" || p.SendMail.Disabled() {
		t.Fatalf("Space chose %q; Send mail enabled %v", p.Sender.Selected, !p.SendMail.Disabled())
	}
	pressShortcut(t, p.Window, fyne.KeyReturn)
	p.Wait()
	if !strings.HasPrefix(p.Status.Text, "Din sikre mail er sendt.") {
		t.Fatalf("Ctrl+Enter: %q", p.Status.Text)
	}
}

// A mail being written is kept, encrypted, a moment after each change,
// survives closing the window and a new start, is listed in Kladder and
// opened from there; once sent, its draft is gone.
func TestDraftsKeptAndReopened(t *testing.T) {
	t.Run("local", func(t *testing.T) {
		u := newTestUI(t, config.Demo())
		draftsKeptAndReopened(t, u, u.core)
	})
	// In gateway mode the draft is kept at the gateway: it opens on
	// another PC of the same user.
	t.Run("gateway", func(t *testing.T) {
		pc := startGatewayPCs(t)
		draftsKeptAndReopened(t, newTestUIOn(t, pc()), pc())
	})
}

// draftsKeptAndReopened writes a draft in u and opens it in a new window
// on again.
func draftsKeptAndReopened(t *testing.T, u *UI, again core.API) {
	test.Type(u.Compose.Subject, "Notat om mødet")
	test.Type(u.Compose.Body, "Første udkast.")
	if n := fireTimers(u); n != 1 {
		t.Fatalf("%d waits after typing, want one (changes are kept together)", n)
	}
	if !strings.Contains(u.Compose.DraftStatus.Text, "Kladden er gemt krypteret") {
		t.Fatalf("status %q", u.Compose.DraftStatus.Text)
	}
	test.Type(u.Compose.Body, " Rettet.")
	// Closing keeps it at once, without asking.
	u.closeRequested()
	if top := u.Main.Canvas().Overlays().Top(); top != nil {
		t.Fatalf("closing asked: %v", labels(top))
	}
	list, err := u.core.Drafts(context.Background())
	if err != nil || len(list) != 1 || list[0].Subject != "Notat om mødet" {
		t.Fatalf("%+v %v", list, err)
	}

	// A new window, as after a new start.
	v := New(test.NewTempApp(t), again)
	v.after = func(time.Duration, func()) {}
	d := v.OpenDrafts()
	test.Tap(findButton(d.Rows, "Åbn"))
	if v.Compose.Subject.Text != "Notat om mødet" || v.Compose.Body.Text != "Første udkast. Rettet." {
		t.Fatalf("reopened %q / %q", v.Compose.Subject.Text, v.Compose.Body.Text)
	}

	// Sent: the draft is gone.
	runWorker(t, v)
	p := checkedPane(t, v, "kollega@hoejskole.example")
	test.Tap(p.SendMail)
	p.Wait()
	if !strings.HasPrefix(p.Status.Text, "Din sikre mail er sendt.") {
		t.Fatalf("%q", p.Status.Text)
	}
	if list, _ := v.core.Drafts(context.Background()); len(list) != 0 {
		t.Fatalf("%d drafts after the send", len(list))
	}
}

// checkedPane opens the secure-send pane for the mail in compose, sends
// from Sikkerpost-uddservice, and checks the e-mail recipients given.
func checkedPane(t *testing.T, u *UI, emails string) *SendPane {
	t.Helper()
	test.Tap(u.Compose.SendSecure)
	p := u.Send
	for _, o := range p.Sender.Options {
		if strings.Contains(o, "sikkerpost-uddservice@") {
			p.Sender.SetSelected(o)
		}
	}
	p.Emails.SetText(emails)
	test.Tap(p.Check)
	p.Wait()
	return p
}

// Send mail that cannot be pressed says why, step by step: the sender,
// the check, the red lines; and after the send, that the mail is sent.
func TestSendMailSaysWhy(t *testing.T) {
	u := newTestUI(t, config.Demo())
	test.Type(u.Compose.Subject, "Hvorfor")
	test.Type(u.Compose.Body, "Tekst.")
	runWorker(t, u)
	test.Tap(u.Compose.SendSecure)
	p := u.Send
	say := func(want string) {
		t.Helper()
		if p.SendWhy.Text != want || p.SendMail.Disabled() != (want != "") {
			t.Fatalf("why %q (Send mail enabled %v), want %q", p.SendWhy.Text, !p.SendMail.Disabled(), want)
		}
	}
	say("Vælg afsender under 1.")
	for _, o := range p.Sender.Options {
		if strings.Contains(o, "sikkerpost-uddservice@") {
			p.Sender.SetSelected(o)
		}
	}
	say("Tryk Kontrollér adresser først.")
	p.Emails.SetText("ukendt@andetsted.example")
	test.Tap(p.Check)
	p.Wait()
	say("Ret det, der står nedenfor, og kontrollér igen.")
	p.Emails.SetText("kollega@hoejskole.example")
	say("Tryk Kontrollér adresser først.")
	test.Tap(p.Check)
	p.Wait()
	say("")
	test.Tap(p.SendMail)
	p.Wait()
	// Sent: the status says so, and Send mail stays off.
	if p.SendWhy.Text != "" || !p.SendMail.Disabled() || !strings.HasPrefix(p.Status.Text, "Din sikre mail er sendt.") {
		t.Fatalf("why %q, status %q", p.SendWhy.Text, p.Status.Text)
	}
}

// Udbakke lists the newest first and follows the worker by itself.
func TestOutboxFollows(t *testing.T) {
	u := newTestUI(t, config.Demo())
	ctx := context.Background()
	for _, subject := range []string{"Først", "Sidst"} {
		if _, err := u.core.Send(ctx, message.Draft{Subject: subject, Body: "x"}, "sikkerpost-uddservice@hoejskole.example",
			[]string{"kollega@hoejskole.example"}, nil); err != nil {
			t.Fatal(err)
		}
	}
	o := u.OpenOutbox()
	got := strings.Join(labels(o.Rows), "|")
	if !strings.HasPrefix(got, "Sidst|venter") {
		t.Fatalf("rows %q: the newest is not first", got)
	}
	rows := o.Rows.Objects[0]
	tick(u) // nothing changed: the list is not drawn again
	if o.Rows.Objects[0] != rows {
		t.Error("redrawn with nothing changed")
	}
	if n, err := u.core.Process(ctx); n != 2 || err != nil {
		t.Fatal(n, err)
	}
	tick(u)
	if got := strings.Join(labels(o.Rows), "|"); !strings.HasPrefix(got, "Sidst|sendt") || strings.Contains(got, "venter") {
		t.Fatalf("after the worker: %q", got)
	}
}

// A green S/MIME line names whose certificate the mail is encrypted for.
func TestCheckNamesHolder(t *testing.T) {
	u := newTestUI(t, config.Demo())
	test.Type(u.Compose.Subject, "Til Jens")
	p := checkedPane(t, u, "jens.hansen@kommune.example")
	got := strings.Join(labels(p.Results), "\n")
	if !strings.Contains(got, "jens.hansen@kommune.example — S/MIME\ncertifikat til Jens Hansen (Demo Kommune), udløber 20") {
		t.Fatalf("%q", got)
	}
}

// Typing part of a known recipient offers the whole address with its
// holder's name; tapping it puts the address on the line.
func TestSuggestRecipients(t *testing.T) {
	u := newTestUI(t, config.Demo())
	test.Tap(u.Compose.SendSecure)
	p := u.Send
	test.Type(p.Emails, "kollega@hoejskole.example\njens")
	b := findButton(p.Suggestions, "Jens Hansen <jens.hansen@kommune.example>")
	if b == nil {
		t.Fatalf("suggestions %v", labels(p.Suggestions))
	}
	test.Tap(b)
	if p.Emails.Text != "kollega@hoejskole.example\njens.hansen@kommune.example\n" || len(p.Suggestions.Objects) != 0 {
		t.Fatalf("%q, %d suggestions left", p.Emails.Text, len(p.Suggestions.Objects))
	}
	// One letter offers nothing; a name offers by the name.
	p.Emails.SetText("h")
	if len(p.Suggestions.Objects) != 0 {
		t.Errorf("one letter offered %d", len(p.Suggestions.Objects))
	}
	p.Emails.SetText("hansen")
	if findButton(p.Suggestions, "Jens Hansen <jens.hansen@kommune.example>") == nil {
		t.Errorf("by name: %v", labels(p.Suggestions))
	}
}

// Once the typing pauses, the certificate directory's people complete
// the line too; what was typed on since then is not overwritten.
func TestSuggestFromDirectory(t *testing.T) {
	s := daemon.StartSlapd(t)
	pem, err := os.ReadFile(testenv.Path("testdata", "certs", "oces2.pem"))
	if err != nil {
		t.Fatal(err)
	}
	certs, err := smime.ParseCertificates(pem)
	if err != nil {
		t.Fatal(err)
	}
	s.AddPerson(t, daemon.Person{CN: "Region", Mail: smime.Addresses(certs[0]), Certs: [][]byte{certs[0].Raw}})
	cfg := config.Demo()
	cfg.Directory.LDAP = []config.LDAP{{URL: s.URL, StartTLS: true, CA: s.TLS.CAFile, BaseDN: s.BaseDN}}
	u := newTestUI(t, cfg)
	test.Tap(u.Compose.SendSecure)
	p := u.Send
	want := certs[0].Subject.CommonName + " <" + smime.Addresses(certs[0])[0] + ">"
	test.Type(p.Emails, "regio")
	if len(p.Suggestions.Objects) != 0 {
		t.Fatalf("before the pause: %v", labels(p.Suggestions))
	}
	fireTimers(u)
	p.suggesting.Wait()
	if findButton(p.Suggestions, want) == nil {
		t.Fatalf("after the pause: %v, want %q", labels(p.Suggestions), want)
	}
	// An answer for a line typed on is dropped.
	p.Emails.SetText("")
	p.Emails.SetText("regio")
	paused := *testTimers[u]
	*testTimers[u] = nil
	test.Type(p.Emails, "x")
	if len(paused) != 1 {
		t.Fatalf("%d pauses waiting", len(paused))
	}
	paused[0]()
	p.suggesting.Wait()
	if len(p.Suggestions.Objects) != 0 {
		t.Fatalf("for a line typed on: %v", labels(p.Suggestions))
	}
}

// marks says which mark stands beside each line: "ok", "red" or nothing.
func marks(m lineMarks) string {
	var out []string
	for _, o := range m.Objects {
		icon := o.(*widget.Icon)
		switch {
		case !icon.Visible():
			out = append(out, "")
		case icon.Resource.Name() == theme.NewSuccessThemedResource(theme.ConfirmIcon()).Name():
			out = append(out, "ok")
		case icon.Resource.Name() == theme.NewErrorThemedResource(theme.CancelIcon()).Name():
			out = append(out, "red")
		default:
			out = append(out, icon.Resource.Name())
		}
	}
	return strings.Join(out, ",")
}

// The demo is used as staff, a designated reader or helpdesk, chosen
// under the banner: each window is built again for that person, and the
// mail being written stays.
func TestDemoRoles(t *testing.T) {
	u := newTestUI(t, config.Demo())
	u.Compose.Subject.SetText("Halvt skrevet")
	role := u.Compose.Role
	if role == nil || role.Selected != "Medarbejder (sender)" || len(role.Options) != 3 {
		t.Fatalf("role chooser %+v", role)
	}
	test.Tap(u.Compose.SettingsButton)
	if u.Settings.Rights != nil {
		t.Fatal("staff see Rettigheder")
	}
	u.Compose.Role.SetSelected("Helpdesk (rettigheder)")
	if u.core.User() != "helpdesk@hoejskole.example" || u.Settings == nil || u.Settings.Rights == nil {
		t.Fatalf("as helpdesk: user %s, rights pane %v", u.core.User(), u.Settings != nil && u.Settings.Rights != nil)
	}
	u.Settings.Tabs.SelectIndex(0)
	if shown := shownTexts(u.Settings.Window); !slices.Contains(shown, "Demo Helpdesk <helpdesk@hoejskole.example>") {
		t.Errorf("Konto: %q", shown)
	}
	if u.Compose.Subject.Text != "Halvt skrevet" || u.Compose.Role.Selected != "Helpdesk (rettigheder)" {
		t.Fatalf("compose after the switch: %q, role %q", u.Compose.Subject.Text, u.Compose.Role.Selected)
	}
	u.Compose.Role.SetSelected("Læser af postkasser")
	if u.Settings.Rights != nil {
		t.Fatal("the reader sees Rettigheder")
	}
	in := u.OpenInbox()
	in.Wait()
	if len(in.Mailbox.Options) != 2 {
		t.Fatalf("the reader reads %v", in.Mailbox.Options)
	}
	p := u.OpenSend()
	if len(p.Sender.Options) != 0 {
		t.Fatalf("the reader may send from %v", p.Sender.Options)
	}
}

// shownTexts is every text painted in w: its title, its menus, and the
// texts of its content and of what lies over it (dialogs), hidden ones
// left out.
func shownTexts(w fyne.Window) []string {
	out := []string{w.Title()}
	if m := w.MainMenu(); m != nil {
		for _, menu := range m.Items {
			out = append(out, menu.Label)
			for _, item := range menu.Items {
				out = append(out, item.Label)
			}
		}
	}
	var walk func(o fyne.CanvasObject)
	walk = func(o fyne.CanvasObject) {
		if o == nil || !o.Visible() {
			return
		}
		switch o := o.(type) {
		case *canvas.Text:
			out = append(out, o.Text)
		case *fyne.Container:
			for _, c := range o.Objects {
				walk(c)
			}
		case fyne.Widget:
			for _, c := range test.WidgetRenderer(o).Objects() {
				walk(c)
			}
		}
	}
	walk(w.Canvas().Content())
	for _, o := range w.Canvas().Overlays().List() {
		walk(o)
	}
	return out
}

// A reply to a letter that came through Digital Post goes back there:
// the sender's number is put among the CPR/CVR numbers, not the e-mail
// addresses.
func TestReplyToLetter(t *testing.T) {
	u := newTestUI(t, config.Demo())
	test.Tap(u.Compose.InboxButton)
	w := u.Inbox
	w.Wait()
	w.startReply(&core.Reply{Mailbox: "sikkerpost-uddservice@hoejskole.example", To: "0101901009",
		Draft: message.Draft{Subject: "SV: Spørgsmål om optagelse", Body: "Svar"}})
	p := u.Send
	if p == nil || p.Numbers.Text != "0101901009" || p.Emails.Text != "" || u.Compose.Subject.Text != "SV: Spørgsmål om optagelse" {
		t.Fatalf("pane %v: numbers %q, emails %q", p != nil, p.Numbers.Text, p.Emails.Text)
	}
}
