package ui

import (
	"context"
	"slices"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"sikkermail/internal/config"
	"sikkermail/internal/core"
	"sikkermail/internal/message"
)

// Compose is the new-mail screen: subject, text and attachments first;
// the recipients wait for the secure-send pane, as the staff guide says.
type Compose struct {
	Subject    *widget.Entry
	Body       *textField
	SendSecure *widget.Button
	Attach     *widget.Button
	// InboxButton opens Indbakke, OutboxButton Udbakke, SettingsButton
	// Indstillinger, DraftsButton Kladder.
	InboxButton, OutboxButton, SettingsButton, DraftsButton *widget.Button
	// Role, in the demo only, chooses whom the demo is used as: staff,
	// a designated reader, or helpdesk.
	Role *widget.Select
	// DraftStatus says when the draft was last kept, or why it cannot be.
	DraftStatus *widget.Label
	// Files lists the attachments: name, size, and a remove button each.
	Files *fyne.Container
	// TooLarge warns when the encrypted mail would pass what mail
	// servers commonly take.
	TooLarge *widget.Label
	Content  fyne.CanvasObject

	u           *UI
	attachments []message.Attachment
	// draftID is the kept draft this mail is ("" until first kept).
	draftID string
	// pending is the draft to keep when the wait after the last change
	// ends (changed), nil when there is none. Like the widgets, it is
	// touched on Fyne's goroutine only: the timer's goroutine just asks
	// fyne.Do to keep the draft.
	pending *message.Draft
}

func newCompose(u *UI) *Compose {
	c := &Compose{
		u:           u,
		Subject:     widget.NewEntry(),
		Body:        newTextField(),
		Files:       container.NewVBox(),
		TooLarge:    widget.NewLabel(""),
		DraftStatus: widget.NewLabel(""),
	}
	c.DraftStatus.Importance = widget.LowImportance
	c.DraftStatus.Wrapping = fyne.TextWrapWord
	c.DraftStatus.Hide()
	c.TooLarge.Importance = widget.WarningImportance
	c.TooLarge.Wrapping = fyne.TextWrapWord
	c.TooLarge.Hide()
	c.Subject.SetPlaceHolder(u.t("compose.subject"))
	c.Body.SetPlaceHolder(u.t("compose.body"))
	c.SendSecure = widget.NewButtonWithIcon(u.t("compose.send_secure"), theme.MailSendIcon(), func() { u.OpenSend() })
	c.SendSecure.Importance = widget.HighImportance
	c.Attach = widget.NewButtonWithIcon(u.t("compose.attach"), theme.MailAttachmentIcon(), c.chooseFile)
	c.InboxButton = widget.NewButtonWithIcon(u.t("inbox.title"), theme.MailComposeIcon(), func() { u.OpenInbox() })
	c.OutboxButton = widget.NewButtonWithIcon(u.t("outbox.title"), theme.StorageIcon(), func() { u.OpenOutbox() })
	c.SettingsButton = widget.NewButtonWithIcon(u.t("settings.title"), theme.SettingsIcon(), func() { u.OpenSettings() })
	c.DraftsButton = widget.NewButtonWithIcon(u.t("drafts.title"), theme.DocumentIcon(), func() { u.OpenDrafts() })
	c.Subject.OnChanged = func(string) { c.changed() }
	c.Body.OnChanged = func(string) { c.changed() }
	form := widget.NewForm(widget.NewFormItem(u.t("compose.subject"), c.Subject))
	// The focus goes Emne → text → attachments → buttons (Tab), while the
	// buttons stay on top and Send som sikker e-mail first.
	buttons := container.New(&tabOrder{inner: layout.NewHBoxLayout(), visual: []int{1, 0, 2, 3, 4, 5, 6}},
		c.Attach, c.SendSecure, layout.NewSpacer(), c.DraftsButton, c.InboxButton, c.OutboxButton, c.SettingsButton)
	objects := []fyne.CanvasObject{form, c.Body, c.Files, buttons, c.TooLarge, c.DraftStatus}
	visual := []int{3, 0, 2, 4, 5, 1}
	if u.core.Config().Demo {
		banner := widget.NewLabelWithStyle(u.t("app.demo_banner"), fyne.TextAlignCenter, fyne.TextStyle{Bold: true})
		banner.Importance = widget.WarningImportance
		banner.Wrapping = fyne.TextWrapWord
		c.Role = c.roles()
		objects = append(objects, container.NewVBox(banner, container.NewCenter(container.NewHBox(widget.NewLabel(u.t("demo.role")), wide(c.Role)))))
		visual = append([]int{len(objects) - 1}, visual...)
	}
	c.Content = container.New(&tabOrder{inner: fillLast{}, visual: visual}, objects...)
	return c
}

// roles offers the demo's people by their role; choosing one makes the
// whole client theirs.
func (c *Compose) roles() *widget.Select {
	var names []string
	addresses := map[string]string{}
	s := widget.NewSelect(nil, nil)
	for _, p := range config.DemoUsers {
		name := c.u.t("demo.role." + p.Role)
		names = append(names, name)
		addresses[name] = p.Address
		if p.Address == c.u.core.User() {
			s.Selected = name
		}
	}
	s.Options = names
	s.OnChanged = func(name string) {
		if addresses[name] != c.u.core.User() {
			if err := c.u.SwitchDemoUser(addresses[name]); err != nil {
				tellError(c.u.Main, c.u.t("Error"), c.u.lang.Error(err))
			}
		}
	}
	return s
}

// wide gives a Select room for its longest option, which Fyne's own
// size would cut short.
func wide(s *widget.Select) fyne.CanvasObject {
	th := s.Theme()
	w := float32(0)
	for _, o := range s.Options {
		w = max(w, fyne.MeasureText(o, th.Size(theme.SizeNameText), fyne.TextStyle{}).Width)
	}
	w += 4*th.Size(theme.SizeNameInnerPadding) + th.Size(theme.SizeNameInlineIcon)
	return container.NewGridWrap(fyne.NewSize(max(w, s.MinSize().Width), s.MinSize().Height), s)
}

// menu is the compose window's menu: its shortcuts work wherever the
// focus is, and it shows them.
func (c *Compose) menu() *fyne.MainMenu {
	return fyne.NewMainMenu(fyne.NewMenu(c.u.t("menu.mail"),
		menuItem(c.SendSecure, fyne.KeyReturn),
		menuItem(c.Attach, fyne.KeyO),
		menuItem(c.InboxButton, fyne.KeyI),
		menuItem(c.OutboxButton, fyne.KeyU),
	))
}

// HasDraft reports whether the user has written anything that is not
// sent yet.
func (c *Compose) HasDraft() bool {
	return strings.TrimSpace(c.Subject.Text) != "" || strings.TrimSpace(c.Body.Text) != "" || len(c.attachments) > 0
}

// askDiscard runs then at once when compose is empty, and otherwise only
// after the user, asked in w, says the mail being written may go
// ("Kassér kladden?"); it returns the question asked, nil if none.
func (c *Compose) askDiscard(w fyne.Window, then func()) dialog.Dialog {
	if !c.HasDraft() {
		then()
		return nil
	}
	return ask(w, c.u.t("compose.discard_title"), c.u.t("compose.discard_text"), c.u.t("compose.keep"), c.u.t("compose.discard"), func() {
		c.discardDraft()
		then()
	})
}

// Clear empties compose for a new mail: the last one is in the outbox,
// so its kept draft goes.
func (c *Compose) Clear() {
	c.discardDraft()
	c.Load("", message.Draft{})
	c.setDraftStatus("")
}

// setDraftStatus says under the text what became of the draft; nothing
// takes no room.
func (c *Compose) setDraftStatus(text string) {
	c.DraftStatus.SetText(text)
	c.DraftStatus.Hidden = text == ""
	c.DraftStatus.Refresh()
	c.Content.Refresh()
}

// Load puts a draft in compose, with its kept draft's id ("" for a new
// mail). The draft compose held before stays kept.
func (c *Compose) Load(id string, d message.Draft) {
	c.Subject.SetText(d.Subject)
	c.Body.SetText(d.Body)
	c.attachments = slices.Clone(d.Attachments)
	c.showFiles()
	c.draftID = id
	// What was just put there is kept already (or nothing at all).
	c.pending = nil
}

// takeOver carries the mail being written in old (the window is built
// again in another language) into c: text, files, the kept draft it is,
// and a change still waiting to be kept.
func (c *Compose) takeOver(old *Compose) {
	c.Load(old.draftID, old.Draft())
	if old.pending != nil {
		c.pending, old.pending = old.pending, nil
		c.u.after(draftDelay, func() { fyne.Do(func() { c.KeepDraft() }) })
	}
}

// changed keeps the draft a moment after the last change (KeepDraft), so
// that it survives closing the program and a crash.
func (c *Compose) changed() {
	if !c.HasDraft() && c.draftID == "" {
		return
	}
	d := c.Draft()
	first := c.pending == nil
	c.pending = &d
	if first {
		c.u.after(draftDelay, func() { fyne.Do(func() { c.KeepDraft() }) })
	}
}

// draftDelay is how long after the last change the draft is kept.
const draftDelay = 2 * time.Second

// KeepDraft keeps the draft now, if a change is waiting, and says so (or
// why it cannot be kept) under the text.
func (c *Compose) KeepDraft() error {
	d := c.pending
	c.pending = nil
	if d == nil {
		return nil
	}
	id, err := c.u.core.SaveDraft(context.Background(), c.draftID, *d)
	if err != nil {
		c.setDraftStatus(c.u.lang.Error(err))
		return err
	}
	c.draftID = id
	c.setDraftStatus(c.u.lang.T("drafts.kept", map[string]any{"Time": time.Now().Format("15:04")}))
	return nil
}

// keepNow keeps the draft as it is at once (the window closes).
func (c *Compose) keepNow() error {
	d := c.Draft()
	c.pending = &d
	return c.KeepDraft()
}

// discardDraft forgets the kept draft of the mail in compose.
func (c *Compose) discardDraft() {
	c.pending = nil
	if c.draftID != "" {
		c.u.core.DeleteDraft(c.draftID)
		c.draftID = ""
	}
}

// Draft is what the user composed.
func (c *Compose) Draft() message.Draft {
	return message.Draft{Subject: c.Subject.Text, Body: c.Body.Text, Attachments: append([]message.Attachment(nil), c.attachments...)}
}

func (c *Compose) chooseFile() { c.fileDialog() }

// fileDialog asks for a file to attach; it returns the dialog shown.
func (c *Compose) fileDialog() *dialog.FileDialog {
	d := dialog.NewFileOpen(func(r fyne.URIReadCloser, err error) {
		if err != nil || r == nil {
			return
		}
		r.Close()
		c.AddFile(r.URI().Path())
	}, c.u.Main)
	showFileDialog(d, c.u.Main)
	return d
}

// dropped adds files dragged onto the window.
func (c *Compose) dropped(_ fyne.Position, uris []fyne.URI) {
	for _, u := range uris {
		if u.Scheme() == "file" {
			c.AddFile(u.Path())
		}
	}
}

// AddFile attaches the file at path; a file that cannot be read is
// told in a dialog naming it, and nothing is added.
func (c *Compose) AddFile(path string) {
	a, err := c.u.core.ReadAttachment(path)
	if err != nil {
		tellError(c.u.Main, c.u.t("Error"), c.u.lang.Error(err))
		return
	}
	c.attachments = append(c.attachments, a)
	c.showFiles()
	c.changed()
}

// Remove drops the i'th attachment.
func (c *Compose) Remove(i int) {
	c.attachments = append(c.attachments[:i], c.attachments[i+1:]...)
	c.showFiles()
	c.changed()
}

func (c *Compose) showFiles() {
	total := core.DraftSize(message.Draft{Attachments: c.attachments})
	// The warning the plug-in lacks: too large for the mail server once
	// encrypted (Send refuses it, per channel, with the same numbers).
	if est, max := core.EncryptedSize(total), c.u.core.Limits().Email; est > max {
		c.TooLarge.SetText(c.u.lang.T("compose.too_large", map[string]any{"Size": c.u.lang.Size(total), "Encrypted": c.u.lang.Size(est), "Max": c.u.lang.Size(max)}))
		c.TooLarge.Show()
	} else {
		c.TooLarge.Hide()
	}
	c.Files.RemoveAll()
	for i, a := range c.attachments {
		c.Files.Add(container.NewHBox(
			widget.NewIcon(theme.FileIcon()),
			widget.NewLabel(a.Name+" ("+c.u.lang.Size(int64(len(a.Data)))+")"),
			widget.NewButtonWithIcon(c.u.t("compose.remove"), theme.DeleteIcon(), func() { c.Remove(i) }),
		))
	}
}
