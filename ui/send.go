package ui

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"sikkermail/internal/core"
	"sikkermail/internal/directory"
	"sikkermail/internal/msauth"
	"sikkermail/internal/recipient"
)

// SendPane is the secure-send pane, the plug-in's dialog: recipients as
// e-mail addresses on the left ("Sikker mail"), CPR/CVR numbers on the
// right, and "Kontrollér adresser" to see who can receive securely.
type SendPane struct {
	Window fyne.Window
	// Sender lists the mailboxes the user may send from; Unavailable
	// shows the others, disabled, with whom to ask.
	Sender      *widget.RadioGroup
	Unavailable *fyne.Container
	Emails      *textField
	Numbers     *textField
	// EmailMarks and NumberMarks hold each line's check mark beside it
	// after a check.
	EmailMarks, NumberMarks lineMarks
	// EmailHints and NumberHints tell, as the user types, which lines are
	// not of the right form; they never block.
	EmailHints, NumberHints *widget.Label
	// AttPerson, AttPNumber and AttUnit are the optional attention data
	// for CVR recipients (att. person, P-nummer, enhed).
	AttPerson, AttPNumber, AttUnit *widget.Entry
	Check                          *widget.Button
	Status                         *widget.Label
	// Results holds one row per recipient after a check.
	Results *fyne.Container
	// SendMail is enabled when a mailbox is chosen and every recipient
	// of the last check is green; SendWhy says what is missing while it
	// is not.
	SendMail *widget.Button
	SendWhy  *widget.Label
	// Suggestions offers known recipients for the line being typed in
	// the e-mail field: tapped, one takes the line's place.
	Suggestions *fyne.Container
	// Progress shows how far the worker is with the mail; Checking spins
	// while Kontrollér adresser asks the directories.
	Progress *widget.ProgressBar
	Checking *widget.ProgressBarInfinite
	// Receipt shows the receipt once the mail is sent.
	Receipt *widget.Label

	u       *UI
	running sync.WaitGroup
	// suggesting runs while the directories are asked for completions
	// (tests wait for it once they have fired the pause's timer).
	suggesting sync.WaitGroup
	green      bool
	// sent: this pane's mail is in the outbox. The pane is done with it:
	// nothing can be checked or sent again from it (a second identical
	// mail, a second paid letter), and OpenSend gives a fresh pane.
	sent      bool
	verdicts  []directory.Verdict
	addresses map[string]string // mailbox name → address
	// typing counts the changes to the e-mail field, so that the
	// directories' completions for an older line are dropped.
	typing int
}

func newSendPane(u *UI) *SendPane {
	p := &SendPane{
		u:           u,
		Window:      u.app.NewWindow(u.t("compose.send_secure")),
		Emails:      newTextField(),
		Numbers:     newTextField(),
		EmailHints:  hintLabel(),
		NumberHints: hintLabel(),
		AttPerson:   widget.NewEntry(),
		AttPNumber:  widget.NewEntry(),
		AttUnit:     widget.NewEntry(),
		Status:      widget.NewLabel(""),
		Results:     container.NewVBox(),
		Progress:    widget.NewProgressBar(),
		Checking:    widget.NewProgressBarInfinite(),
	}
	p.Progress.Hide()
	p.Checking.Stop()
	p.Checking.Hide()
	p.Emails.SetPlaceHolder(u.t("send.recipients.email.hint"))
	p.Numbers.SetPlaceHolder(u.t("send.recipients.number.hint"))
	p.Status.Wrapping = fyne.TextWrapWord
	p.Check = widget.NewButtonWithIcon(u.t("send.check"), theme.ConfirmIcon(), p.startCheck)
	p.SendMail = widget.NewButtonWithIcon(u.t("send.send"), theme.MailSendIcon(), p.confirmSend)
	p.Suggestions = container.NewVBox()
	p.SendWhy = widget.NewLabel("")
	p.SendWhy.Importance = widget.LowImportance
	p.SendMail.Importance = widget.HighImportance
	p.SendMail.Disable()
	p.Receipt = widget.NewLabel("")
	p.Receipt.Wrapping = fyne.TextWrapWord
	p.Receipt.Hide() // until there is one, above the verdicts
	// Changing a recipient clears the verdicts: they no longer hold.
	clear := func() {
		p.Results.RemoveAll()
		p.EmailMarks.clear()
		p.NumberMarks.clear()
		p.Status.SetText("")
		p.green, p.verdicts = false, nil
		p.updateSend()
	}
	p.Emails.OnChanged = func(text string) {
		// Recipients pasted from Outlook ("Jens Hansen <…>; Anne <…>")
		// become one per line.
		if strings.Contains(text, ";") {
			if lines := strings.Join(recipient.SplitList(text), "\n"); lines != text {
				p.Emails.SetText(lines)
				return
			}
		}
		clear()
		p.hint(p.EmailHints, text, true)
		p.suggest(text)
	}
	p.Numbers.OnChanged = func(text string) { clear(); p.hint(p.NumberHints, text, false) }
	for _, e := range []*widget.Entry{p.AttPerson, p.AttPNumber, p.AttUnit} {
		e.OnChanged = func(string) { clear() }
	}
	p.senders()

	bold := func(key string) *widget.Label {
		return widget.NewLabelWithStyle(u.t(key), fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	}
	attention := widget.NewAccordion(widget.NewAccordionItem(u.t("send.attention"), widget.NewForm(
		widget.NewFormItem(u.t("send.attention.person"), p.AttPerson),
		widget.NewFormItem(u.t("send.attention.pnumber"), p.AttPNumber),
		widget.NewFormItem(u.t("send.attention.unit"), p.AttUnit))))
	var emails, numbers fyne.CanvasObject
	p.EmailMarks, emails = withMarks(p.Emails)
	p.NumberMarks, numbers = withMarks(p.Numbers)
	recipients := container.NewGridWithColumns(2,
		container.NewBorder(bold("send.recipients.email"), container.NewVBox(p.Suggestions, p.EmailHints), nil, nil, emails),
		container.NewBorder(bold("send.recipients.number"), container.NewVBox(p.NumberHints, attention), nil, nil, numbers),
	)
	verdicts := container.NewBorder(
		container.NewVBox(container.NewHBox(p.Check, p.SendMail, p.SendWhy), p.Status, p.Checking, p.Progress), nil, nil, nil,
		container.NewVScroll(container.NewVBox(p.Receipt, p.Results)))
	split := container.NewVSplit(container.NewBorder(bold("send.recipients"), nil, nil, nil, recipients), verdicts)
	split.SetOffset(0.5)
	// The focus goes as the guide's steps: sender, recipients, check, send.
	top := container.NewVBox(bold("send.sender"), p.Sender, p.Unavailable)
	p.Window.SetContent(container.New(layout.NewBorderLayout(top, nil, nil, nil), top, split))
	p.Window.SetMainMenu(fyne.NewMainMenu(fyne.NewMenu(u.t("menu.mail"),
		menuItem(p.Check, fyne.KeyK), menuItem(p.SendMail, fyne.KeyReturn))))
	p.Window.Canvas().Focus(p.Emails)
	p.updateSend()
	p.Window.SetIcon(Icon)
	p.Window.Resize(fyne.NewSize(980, 700)) // within a 1366×768 screen, taskbar and all
	return p
}

// takeOver carries what old held (the window is built again in another
// language) into p: sender, recipients, attention, and the verdicts of
// the last check, shown again in p's words.
func (p *SendPane) takeOver(old *SendPane) {
	if slices.Contains(p.Sender.Options, old.Sender.Selected) { // the same user, or one who may too
		p.Sender.SetSelected(old.Sender.Selected)
	}
	p.Emails.SetText(old.Emails.Text)
	p.Numbers.SetText(old.Numbers.Text)
	p.AttPerson.SetText(old.AttPerson.Text)
	p.AttPNumber.SetText(old.AttPNumber.Text)
	p.AttUnit.SetText(old.AttUnit.Text)
	p.Suggestions.RemoveAll()
	if old.verdicts != nil {
		p.show(old.verdicts, p.inputLines())
	}
}

func hintLabel() *widget.Label {
	l := widget.NewLabel("")
	l.Importance = widget.WarningImportance
	l.Wrapping = fyne.TextWrapWord
	l.Hide()
	return l
}

// hint checks the form of each line as the user types: e-mail addresses
// on the left, CPR and CVR numbers on the right. It asks no one and
// blocks nothing; Kontrollér adresser gives the verdict.
func (p *SendPane) hint(l *widget.Label, text string, emails bool) {
	lang := p.u.lang
	var lines []string
	for i, line := range strings.Split(text, "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		r, err := p.u.core.Parse(line)
		var msg string
		switch {
		case err != nil:
			msg = lang.Error(err)
		case emails && r.Kind != recipient.Email:
			msg = lang.T("send.hint.number_left", map[string]any{"Input": r.String()})
		case !emails && r.Kind == recipient.Email:
			msg = lang.T("send.hint.email_right", map[string]any{"Input": r.Address})
		default:
			continue
		}
		lines = append(lines, lang.T("send.hint.line", map[string]any{"Line": i + 1, "Text": msg}))
	}
	l.SetText(strings.Join(lines, "\n"))
	if len(lines) == 0 {
		l.Hide()
	} else {
		l.Show()
	}
}

// Inputs returns the recipients typed on both sides, one per non-empty line.
func (p *SendPane) Inputs() []string {
	var in []string
	for _, l := range p.inputLines() {
		in = append(in, l.text)
	}
	return in
}

// inputLine is one recipient typed: its text, and where its mark goes.
type inputLine struct {
	text  string
	marks lineMarks
	line  int
}

func (p *SendPane) inputLines() []inputLine {
	var in []inputLine
	for _, f := range []struct {
		field *textField
		marks lineMarks
	}{{p.Emails, p.EmailMarks}, {p.Numbers, p.NumberMarks}} {
		for i, line := range strings.Split(f.field.Text, "\n") {
			if strings.TrimSpace(line) != "" {
				in = append(in, inputLine{line, f.marks, i})
			}
		}
	}
	return in
}

// startCheck runs core.Check in the background and shows the verdicts.
func (p *SendPane) startCheck() {
	lines := p.inputLines()
	inputs := p.Inputs()
	p.Results.RemoveAll()
	if len(inputs) == 0 {
		p.Status.SetText(p.u.t("send.none"))
		return
	}
	p.Status.SetText(p.u.t("send.checking"))
	p.Checking.Show()
	p.Checking.Start()
	p.Check.Disable()
	p.running.Add(1)
	go func() {
		defer p.running.Done()
		verdicts := p.u.core.Check(context.Background(), inputs)
		fyne.DoAndWait(func() {
			if !slices.Equal(p.Inputs(), inputs) {
				// Typed into while it ran: the verdicts are for other
				// recipients, so the check runs again for these.
				p.Check.Enable()
				p.startCheck()
				return
			}
			p.show(verdicts, lines)
		})
	}()
}

// Wait blocks until a running check has shown its verdicts.
func (p *SendPane) Wait() { p.running.Wait() }

// show lists the verdicts and marks each line of lines, the recipients
// checked, with its own.
func (p *SendPane) show(verdicts []directory.Verdict, lines []inputLine) {
	l := p.u.lang
	p.Checking.Stop()
	p.Checking.Hide()
	red := 0
	for i, v := range verdicts {
		var icon fyne.Resource
		var text string
		if v.OK() {
			icon = theme.NewSuccessThemedResource(theme.ConfirmIcon())
			text = v.Recipient.String() + " — " + l.M(v.Channel.Localize())
			// Whose certificate the mail is encrypted for, as the CLI says.
			if v.Channel == directory.SMIME && len(v.Certs) > 0 {
				c := v.Certs[0]
				text += "\n" + l.T("send.holder", map[string]any{"Name": c.Subject.CommonName, "Org": strings.Join(c.Subject.Organization, ", "),
					"Expiry": c.NotAfter.Local().Format(time.DateOnly)})
			}
		} else {
			red++
			icon = theme.NewErrorThemedResource(theme.CancelIcon())
			text = l.Error(v.Err)
		}
		for _, n := range v.Notes() {
			text += "\n" + l.M(n)
		}
		label := widget.NewLabel(text)
		label.Wrapping = fyne.TextWrapWord
		p.Results.Add(container.NewBorder(nil, nil, widget.NewIcon(icon), nil, label))
		lines[i].marks.mark(lines[i].line, icon)
	}
	p.green = red == 0 && len(verdicts) > 0
	switch {
	case red > 0:
		p.Status.SetText(l.T("send.some_red", map[string]any{"Count": red}))
	case p.green:
		// What Send would refuse in the draft (a file type Digital Post
		// does not take, a size) is said now, not after the green.
		if err := p.u.core.CheckDraft(context.Background(), p.u.Compose.Draft(), p.addresses[p.Sender.Selected], verdicts); err != nil {
			p.green = false
			p.Status.SetText(l.Error(err))
			break
		}
		p.Status.SetText(l.T("send.all_green", nil))
	}
	p.verdicts = verdicts
	p.Check.Enable()
	p.updateSend()
}

// senders lists every mailbox: those the user may send from to choose,
// the others disabled with the reason.
func (p *SendPane) senders() {
	p.addresses = map[string]string{}
	p.Unavailable = container.NewVBox()
	var names []string
	choices, err := p.u.core.Mailboxes(context.Background())
	if err != nil {
		p.Status.SetText(p.u.lang.Error(err))
	}
	for _, m := range choices {
		label := m.Name + " <" + m.Address + ">"
		if m.CanSend {
			names = append(names, label)
			p.addresses[label] = m.Address
			continue
		}
		off := widget.NewRadioGroup([]string{label}, nil)
		off.Disable()
		p.Unavailable.Add(container.NewHBox(off, widget.NewLabel(p.u.t("send.sender.no_right"))))
	}
	p.Sender = widget.NewRadioGroup(names, func(string) { p.updateSend() })
	if len(names) == 1 {
		p.Sender.SetSelected(names[0])
	}
}

// suggestPause is how long the typing must pause before the certificate
// directories are asked to complete the line: not at every key.
const suggestPause = 400 * time.Millisecond

// suggest offers the recipients known here for the last line of the
// e-mail field, while it is not a whole address yet, at once; once the
// typing pauses, the directories' people join them.
func (p *SendPane) suggest(text string) {
	lines := strings.Split(text, "\n")
	typed := strings.TrimSpace(lines[len(lines)-1])
	p.offer(lines, typed, p.u.core.Suggest(context.Background(), typed))
	p.typing++
	now := p.typing
	if len([]rune(typed)) < 3 {
		return
	}
	p.u.after(suggestPause, func() {
		p.suggesting.Add(1)
		go func() {
			defer p.suggesting.Done()
			found := p.u.core.SuggestFromDirectories(context.Background(), typed)
			fyne.DoAndWait(func() {
				if p.typing == now { // else typed on, and asked again
					p.offer(lines, typed, found)
				}
			})
		}()
	})
}

// offer shows found as buttons: tapped, one takes the last line's place.
func (p *SendPane) offer(lines []string, typed string, found []directory.Suggestion) {
	p.Suggestions.RemoveAll()
	for _, s := range found {
		if strings.EqualFold(s.Address, typed) {
			continue
		}
		label := s.Address
		if s.Name != "" {
			label = s.Name + " <" + s.Address + ">"
		}
		b := widget.NewButtonWithIcon(label, theme.AccountIcon(), func() {
			lines[len(lines)-1] = s.Address
			p.Emails.SetText(strings.Join(lines, "\n") + "\n")
			p.Emails.CursorRow = len(lines)
			p.Window.Canvas().Focus(p.Emails)
		})
		b.Alignment = widget.ButtonAlignLeading
		b.Importance = widget.LowImportance
		p.Suggestions.Add(b)
	}
}

func (p *SendPane) updateSend() {
	if p.sent {
		// The status says the mail is sent and what to do for another.
		p.SendWhy.SetText("")
		p.SendMail.Disable()
		return
	}
	why := ""
	switch {
	case p.Sender.Selected == "":
		why = "send.why.sender"
	case !p.green && p.verdicts != nil:
		why = "send.why.red"
	case !p.green:
		why = "send.why.check"
	}
	p.SendWhy.SetText("")
	if why != "" {
		p.SendWhy.SetText(p.u.t(why))
	}
	if why == "" {
		p.SendMail.Enable()
	} else {
		p.SendMail.Disable()
	}
}

// attention is the attention data typed, for every CVR recipient of the
// last check; nil when none is typed.
func (p *SendPane) attention() map[string]core.Attention {
	a := core.Attention{Person: strings.TrimSpace(p.AttPerson.Text), PNumber: strings.Join(strings.Fields(p.AttPNumber.Text), ""),
		Unit: strings.TrimSpace(p.AttUnit.Text)}
	if a.IsZero() {
		return nil
	}
	out := map[string]core.Attention{}
	for _, v := range p.verdicts {
		if v.Recipient != nil && v.Recipient.Kind == recipient.CVR {
			out[v.Recipient.Number] = a
		}
	}
	return out
}

// confirmSend warns about a CPR number in the subject, which travels
// unencrypted, or in the text of a mail to internal addresses only,
// which is not encrypted, before sending.
func (p *SendPane) confirmSend() {
	d := p.u.Compose.Draft()
	if err := core.SendWarning(d, p.verdicts); err != nil {
		title := p.u.t("send.subject_warning")
		var se *core.SendError
		if errors.As(err, &se) && se.Reason == core.CPRInInternalBody {
			title = p.u.t("send.body_warning")
		}
		ask(p.Window, title, p.u.lang.Error(err), p.u.t("send.correct"), p.u.t("send.send_anyway"), p.sendUnlessEmpty)
		return
	}
	p.sendUnlessEmpty()
}

// sendUnlessEmpty asks before a mail without a subject or a text goes.
func (p *SendPane) sendUnlessEmpty() {
	d := p.u.Compose.Draft()
	var key string
	switch {
	case strings.TrimSpace(d.Subject) == "":
		key = "send.empty_subject"
	case strings.TrimSpace(d.Body) == "":
		key = "send.empty_body"
	default:
		p.send()
		return
	}
	ask(p.Window, p.u.t(key+"_title"), p.u.t(key), p.u.t("send.correct"), p.u.t("send.send_anyway"), p.send)
}

// send queues the mail and waits for its receipt, in the background:
// queueing seals the draft, which takes a moment for large attachments.
func (p *SendPane) send() {
	l := p.u.lang
	draft, mailbox := p.u.Compose.Draft(), p.addresses[p.Sender.Selected]
	rs := core.Recipients{To: p.Inputs(), Attention: p.attention()}
	p.SendMail.Disable()
	p.Check.Disable()
	p.Receipt.Hide() // a receipt belongs to one mail
	p.Status.SetText(l.T("send.sending", nil))
	p.Progress.SetValue(0)
	p.Progress.Show()
	p.running.Add(1)
	go func() {
		defer p.running.Done()
		q, err := p.u.core.SendTo(context.Background(), draft, mailbox, rs)
		var me *msauth.Error
		if errors.As(err, &me) && me.Reason == "sign_in_needed" {
			// Nobody is signed in with Microsoft: ask to, and then send.
			fyne.DoAndWait(func() {
				p.Progress.Hide()
				p.Status.SetText("")
				p.Check.Enable()
				p.updateSend()
				ask(p.Window, p.u.t("send.sign_in_title"), p.u.t("send.sign_in"), p.u.t("send.correct"), p.u.t("settings.microsoft.sign_in"), func() {
					p.u.signIn(p.Window, func() {
						if on, who := p.u.core.Microsoft(context.Background()); on && who != "" {
							p.send()
						}
					})
				})
			})
			return
		}
		if err != nil {
			fyne.DoAndWait(func() {
				p.Progress.Hide()
				p.Status.SetText(l.Error(err))
				p.Check.Enable()
				p.updateSend()
			})
			return
		}
		fyne.DoAndWait(func() {
			// The mail is in the outbox: as in Outlook, the draft is gone
			// from compose and the pane is done with it.
			p.sent = true
			p.updateSend()
			p.Emails.Disable()
			p.Numbers.Disable()
			p.u.Compose.Clear()
			p.Status.SetText(l.T("send.queued", nil))
		})
		m, r, err := p.u.core.Await(context.Background(), q.ID, func(done, total int) {
			fyne.Do(func() { p.Progress.SetValue(float64(done) / float64(total)) })
		})
		fyne.DoAndWait(func() {
			if r != nil {
				p.Progress.SetValue(1)
			} else {
				p.Progress.Hide()
			}
			switch {
			case err != nil:
				p.Status.SetText(l.Error(err))
			case r != nil:
				p.Status.SetText(l.T("send.sent", nil) + " " + l.T("send.new_mail", nil))
				p.Receipt.SetText(r.Text(l))
				p.Receipt.Show()
			default:
				p.Status.SetText(l.Error(m.Err) + " " + l.T("send.in_outbox", nil))
			}
		})
	}()
}
