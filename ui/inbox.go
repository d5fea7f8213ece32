package ui

import (
	"context"
	"strings"
	"sync"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"sikkermail/internal/core"
	"sikkermail/internal/message"
	"sikkermail/internal/recipient"
)

// InboxWindow is "Indbakke": the secure mailboxes the user may read, a
// mailbox's messages with a security badge each, and the opened message
// with its security panel ("was this sent securely?"), its attachments,
// and what a reader does next: forward internally, reply securely, mark
// handled.
type InboxWindow struct {
	Window fyne.Window
	// Mailbox chooses among the mailboxes the user may read.
	Mailbox *widget.Select
	// Rows lists the messages, newest first: a button each.
	Rows *fyne.Container
	// Secure is the panel's one sentence; Details its facts.
	Secure, Details *widget.Label
	Header, Text    *widget.Label
	// Files lists the attachments, each with Gem.
	Files *fyne.Container
	// Forward, Reply and Handled act on the opened message; the forward
	// form (ForwardTo, ForwardNote, ForwardSend) shows under Forward.
	Forward, Reply, Handled *widget.Button
	ForwardTo, ForwardNote  *widget.Entry
	ForwardSend             *widget.Button
	forwardForm             *fyne.Container
	details                 *widget.Accordion
	Status                  *widget.Label

	u         *UI
	addresses map[string]string // label → mailbox address
	list      []core.InboxMessage
	verdicts  map[uint32]bool // secure or not, of the mails opened
	opened    *core.OpenedMail
	// current is the UID of the message shown, marked in the list.
	current uint32
	running sync.WaitGroup
}

// OpenInbox opens the inbox window, or brings it to the front.
func (u *UI) OpenInbox() *InboxWindow {
	if u.Inbox != nil {
		u.Inbox.Window.RequestFocus()
		return u.Inbox
	}
	w := &InboxWindow{u: u, Window: u.app.NewWindow(u.t("inbox.title")), Rows: container.NewVBox(), Files: container.NewVBox(),
		Secure: widget.NewLabel(""), Details: widget.NewLabel(""), Header: widget.NewLabel(""), Text: widget.NewLabel(""),
		Status: widget.NewLabel(""), ForwardTo: widget.NewEntry(), ForwardNote: widget.NewMultiLineEntry(), addresses: map[string]string{},
		verdicts: map[uint32]bool{}}
	for _, l := range []*widget.Label{w.Secure, w.Details, w.Text, w.Status, w.Header} {
		l.Wrapping = fyne.TextWrapWord
	}
	w.Secure.TextStyle.Bold = true
	w.ForwardTo.SetPlaceHolder(u.t("inbox.forward_to"))
	w.ForwardNote.SetPlaceHolder(u.t("inbox.forward_note"))
	w.ForwardNote.SetMinRowsVisible(2)
	w.Forward = widget.NewButtonWithIcon(u.t("inbox.forward"), theme.MailForwardIcon(), func() { w.forwardForm.Show() })
	w.Reply = widget.NewButtonWithIcon(u.t("inbox.reply"), theme.MailReplyIcon(), w.reply)
	w.Handled = widget.NewButtonWithIcon(u.t("inbox.mark_handled"), theme.ConfirmIcon(), w.toggleHandled)
	w.ForwardSend = widget.NewButtonWithIcon(u.t("inbox.forward_send"), theme.MailSendIcon(), w.forward)
	w.forwardForm = container.NewVBox(w.ForwardTo, w.ForwardNote, w.ForwardSend)
	w.forwardForm.Hide()

	var labels []string
	readable, err := u.core.Readable(context.Background())
	if err != nil {
		w.Status.SetText(u.lang.Error(err))
	}
	for _, m := range readable {
		label := m.Name + " <" + m.Address + ">"
		labels = append(labels, label)
		w.addresses[label] = m.Address
	}
	if len(readable) == 0 && err == nil {
		w.Status.SetText(u.t("inbox.no_mailbox"))
	}
	w.Mailbox = widget.NewSelect(labels, nil)
	w.Mailbox.PlaceHolder = u.t("settings.choose_mailbox")
	refresh := widget.NewButtonWithIcon(u.t("outbox.refresh"), theme.ViewRefreshIcon(), w.Refresh)

	w.details = widget.NewAccordion(widget.NewAccordionItem(u.t("inbox.details"), w.Details))
	panel := widget.NewCard("", "", container.NewVBox(w.Secure, w.details))
	actions := container.NewHBox(w.Reply, w.Forward, w.Handled)
	view := container.NewBorder(container.NewVBox(panel, w.Header, actions, w.forwardForm), nil, nil, nil,
		container.NewVScroll(container.NewVBox(w.Text, w.Files)))
	split := container.NewHSplit(container.NewVScroll(w.Rows), view)
	split.SetOffset(0.38)
	w.Window.SetContent(container.NewBorder(container.NewVBox(container.NewBorder(nil, nil, nil, refresh, w.Mailbox), w.Status), nil, nil, nil, split))
	w.Window.SetIcon(Icon)
	w.Window.Resize(fyne.NewSize(1100, 720))
	w.Window.SetOnClosed(func() { u.Inbox = nil })
	w.show(nil)
	if len(labels) == 1 {
		w.Mailbox.SetSelected(labels[0])
	}
	w.Mailbox.OnChanged = func(string) {
		w.current = 0 // another mailbox's numbers
		w.Refresh()
	}
	w.Window.Show()
	u.Inbox = w
	w.Refresh() // last: its result is shown from the background
	return w
}

// Wait blocks until the window's background work is shown.
func (w *InboxWindow) Wait() { w.running.Wait() }

func (w *InboxWindow) mailbox() string { return w.addresses[w.Mailbox.Selected] }

// background runs f off the UI thread and then done on it.
func (w *InboxWindow) background(f func() error, done func()) {
	w.Status.SetText(w.u.t("inbox.loading"))
	w.running.Add(1)
	go func() {
		defer w.running.Done()
		err := f()
		fyne.DoAndWait(func() {
			w.Status.SetText("")
			if err != nil {
				w.Status.SetText(w.u.lang.Error(err))
				return
			}
			done()
		})
	}()
}

// Refresh lists the chosen mailbox again.
func (w *InboxWindow) Refresh() {
	mailbox := w.mailbox()
	if mailbox == "" {
		return
	}
	var list []core.InboxMessage
	w.background(func() (err error) {
		list, err = w.u.core.InboxList(context.Background(), mailbox)
		return err
	}, func() {
		w.list = list
		clear(w.verdicts) // another mailbox, or changed
		w.rows()
	})
}

func (w *InboxWindow) rows() {
	l := w.u.lang
	w.Rows.RemoveAll()
	if len(w.list) == 0 {
		w.Rows.Add(widget.NewLabel(w.u.t("inbox.empty")))
	}
	for _, m := range w.list {
		// Before it is opened, a mail only looks encrypted or signed (its
		// content type); once opened, the verdict is known.
		var icon fyne.Resource = theme.NewErrorThemedResource(theme.WarningIcon())
		switch secure, known := w.verdicts[m.UID]; {
		case known && secure:
			icon = theme.NewSuccessThemedResource(theme.ConfirmIcon())
		case known:
			icon = theme.NewErrorThemedResource(theme.CancelIcon())
		case m.Badge == core.BadgeEncrypted:
			icon = theme.VisibilityOffIcon()
		case m.Badge == core.BadgeSigned:
			icon = theme.DocumentCreateIcon()
		}
		from := m.From
		if m.FromName != "" {
			from = m.FromName
		}
		text := from + " — " + m.Subject + "\n" + m.Date.Local().Format("2006-01-02 15:04") + " · " + l.M(m.Badge.Localize()) + " · " + l.Size(m.Size)
		if m.Handled {
			text += " · " + w.u.t("inbox.handled")
		}
		uid := m.UID
		b := widget.NewButtonWithIcon(text, icon, func() { w.Open(uid) })
		b.Alignment = widget.ButtonAlignLeading
		if uid == w.current {
			b.Importance = widget.HighImportance // the one shown
		}
		w.Rows.Add(b)
	}
}

// Open fetches, opens and shows one message.
func (w *InboxWindow) Open(uid uint32) {
	mailbox := w.mailbox()
	var m *core.OpenedMail
	w.background(func() (err error) {
		m, err = w.u.core.InboxOpen(context.Background(), mailbox, uid)
		return err
	}, func() {
		w.verdicts[uid] = m.Report.Secure()
		w.current = uid
		w.rows()
		w.show(m)
	})
}

// show fills the message view; nil empties it.
func (w *InboxWindow) show(m *core.OpenedMail) {
	l := w.u.lang
	w.opened = m
	w.forwardForm.Hide()
	w.Files.RemoveAll()
	for _, b := range []*widget.Button{w.Forward, w.Reply, w.Handled} {
		b.Disable()
	}
	if m == nil {
		w.Secure.SetText(w.u.t("inbox.choose"))
		w.Details.SetText("")
		w.Header.SetText("")
		w.Text.SetText("")
		return
	}
	w.Secure.SetText(message.Printable(m.Report.Summary(l), false))
	w.Secure.Importance = widget.DangerImportance
	if m.Report.Secure() {
		w.Secure.Importance = widget.SuccessImportance
	}
	w.Secure.Refresh()
	details := ""
	for _, d := range m.Report.Details(l) {
		details += "• " + message.Printable(d, false) + "\n"
	}
	w.Details.SetText(details)
	// What the mail brings is shown printable: control characters as
	// their pictures, bidi controls as ⟨U+202E⟩, never obeyed.
	line := func(s string) string { return message.Printable(s, false) }
	w.Header.SetText(l.T("inbox.header.from", nil) + ": " + line(m.FromLine()) + "\n" + l.T("inbox.header.date", nil) + ": " +
		m.Date.Local().Format("2006-01-02 15:04") + "\n" + l.T("inbox.header.subject", nil) + ": " + line(m.Subject))
	w.Text.SetText("")
	if m.Content != nil {
		w.Text.SetText(message.Printable(m.Content.Text, true))
		for i, a := range m.Content.Attachments {
			w.Files.Add(container.NewBorder(nil, nil, nil,
				widget.NewButtonWithIcon(w.u.t("inbox.save"), theme.DocumentSaveIcon(), func() { w.chooseSave(i) }),
				widget.NewLabel(line(a.Name)+" ("+l.Size(int64(len(a.Data)))+")")))
		}
		w.Forward.Enable()
	}
	w.Reply.Enable()
	w.Handled.Enable()
	w.Handled.SetText(w.u.t("inbox.mark_handled"))
	if w.isHandled(m.UID) {
		w.Handled.SetText(w.u.t("inbox.mark_unhandled"))
	}
}

func (w *InboxWindow) isHandled(uid uint32) bool {
	for _, m := range w.list {
		if m.UID == uid {
			return m.Handled
		}
	}
	return false
}

// chooseSave asks for a folder and saves the attachment there, under
// its own name made safe, never over a file (core.SaveAttachment): so no
// file is written over, and Fyne's own, English "Overwrite?" never shows.
func (w *InboxWindow) chooseSave(i int) {
	d := dialog.NewFolderOpen(func(dir fyne.ListableURI, err error) {
		if err != nil || dir == nil {
			return
		}
		if _, err := w.SaveAttachment(i, dir.Path()); err != nil {
			tellError(w.Window, w.u.t("Error"), w.u.lang.Error(err))
		}
	}, w.Window)
	showFileDialog(d, w.Window)
}

// SaveAttachment saves the opened message's i'th attachment in dir and
// returns where it went.
func (w *InboxWindow) SaveAttachment(i int, dir string) (string, error) {
	path, err := core.SaveAttachment(dir, w.opened.Content.Attachments[i])
	if err != nil {
		return "", err
	}
	w.Status.SetText(w.u.lang.T("inbox.saved", map[string]any{"File": path}))
	return path, nil
}

// forward sends the opened message to the colleagues typed, with the
// note; core refuses an address outside the institution.
func (w *InboxWindow) forward() {
	m, to, note := w.opened, splitList(w.ForwardTo.Text), w.ForwardNote.Text
	var q *core.Queued
	w.background(func() (err error) {
		if q, err = w.u.core.Forward(context.Background(), m, to, note); err != nil {
			return err
		}
		_, _, err = w.u.core.Await(context.Background(), q.ID, nil)
		return err
	}, func() {
		w.forwardForm.Hide()
		w.ForwardTo.SetText("")
		w.ForwardNote.SetText("")
		w.Status.SetText(w.u.lang.T("inbox.forwarded_to", map[string]any{"To": strings.Join(to, ", ")}))
	})
}

// reply starts a secure reply: the compose window with the quoted
// message, and the secure-send pane with the mailbox and the sender.
func (w *InboxWindow) reply() {
	r, err := w.u.core.Reply(context.Background(), w.opened)
	if err != nil {
		w.Status.SetText(w.u.lang.Error(err))
		return
	}
	// The mail being written is not replaced without asking.
	w.u.Compose.askDiscard(w.Window, func() { w.startReply(r) })
}

// startReply puts the reply in compose and the secure-send pane.
func (w *InboxWindow) startReply(r *core.Reply) {
	c := w.u.Compose
	c.Subject.SetText(r.Draft.Subject)
	c.Body.SetText(r.Draft.Body)
	c.attachments = []message.Attachment(nil)
	c.showFiles()
	p := w.u.OpenSend()
	for label, addr := range p.addresses {
		if addr == r.Mailbox {
			p.Sender.SetSelected(label)
		}
	}
	p.Emails.SetText(r.To)
	p.Numbers.SetText("")
	if rc, err := w.u.core.Parse(r.To); err == nil && rc.Kind != recipient.Email {
		// A letter through Digital Post: the reply goes back there.
		p.Emails.SetText("")
		p.Numbers.SetText(r.To)
	}
	w.u.Main.RequestFocus()
}

// toggleHandled marks the opened message handled, or not.
func (w *InboxWindow) toggleHandled() {
	mailbox, uid, handled := w.mailbox(), w.opened.UID, !w.isHandled(w.opened.UID)
	w.background(func() error { return w.u.core.MarkHandled(context.Background(), mailbox, uid, handled) }, func() {
		if w.u.core.Config().Inbox.HandledFolder != "" {
			w.show(nil) // moved away
			w.Refresh()
			return
		}
		for i := range w.list {
			if w.list[i].UID == uid {
				w.list[i].Handled = handled
			}
		}
		w.rows()
		w.show(w.opened)
	})
}

// splitList reads addresses separated by commas, semicolons or lines.
func splitList(s string) []string {
	var out []string
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ';' || r == '\n' }) {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
