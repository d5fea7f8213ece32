package ui

import (
	"fmt"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

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
	// Indstillinger.
	InboxButton, OutboxButton, SettingsButton *widget.Button
	// Files lists the attachments: name, size, and a remove button each.
	Files *fyne.Container
	// TooLarge warns when the encrypted mail would pass what mail
	// servers commonly take.
	TooLarge *widget.Label
	Content  fyne.CanvasObject

	u           *UI
	attachments []message.Attachment
}

func newCompose(u *UI) *Compose {
	c := &Compose{
		u:        u,
		Subject:  widget.NewEntry(),
		Body:     newTextField(),
		Files:    container.NewVBox(),
		TooLarge: widget.NewLabel(""),
	}
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
	form := widget.NewForm(widget.NewFormItem(u.t("compose.subject"), c.Subject))
	// The focus goes Emne → text → attachments → buttons (Tab), while the
	// buttons stay on top and Send som sikker e-mail first.
	buttons := container.New(&tabOrder{inner: layout.NewHBoxLayout(), visual: []int{1, 0, 2, 3, 4, 5}},
		c.Attach, c.SendSecure, layout.NewSpacer(), c.InboxButton, c.OutboxButton, c.SettingsButton)
	objects := []fyne.CanvasObject{form, c.Body, c.Files, buttons, c.TooLarge}
	visual := []int{3, 0, 2, 4, 1}
	if u.core.Config().Demo {
		banner := widget.NewLabelWithStyle(u.t("app.demo_banner"), fyne.TextAlignCenter, fyne.TextStyle{Bold: true})
		banner.Importance = widget.WarningImportance
		objects = append(objects, banner)
		visual = append([]int{len(objects) - 1}, visual...)
	}
	c.Content = container.New(&tabOrder{inner: fillLast{}, visual: visual}, objects...)
	return c
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
// ("Kassér kladden?").
func (c *Compose) askDiscard(w fyne.Window, then func()) {
	if !c.HasDraft() {
		then()
		return
	}
	ask(w, c.u.t("compose.discard_title"), c.u.t("compose.discard_text"), c.u.t("compose.keep"), c.u.t("compose.discard"), then)
}

// Clear empties compose for a new mail: the last one is in the outbox.
func (c *Compose) Clear() {
	c.Subject.SetText("")
	c.Body.SetText("")
	c.attachments = nil
	c.showFiles()
}

// Draft is what the user composed.
func (c *Compose) Draft() message.Draft {
	return message.Draft{Subject: c.Subject.Text, Body: c.Body.Text, Attachments: append([]message.Attachment(nil), c.attachments...)}
}

func (c *Compose) chooseFile() {
	d := dialog.NewFileOpen(func(r fyne.URIReadCloser, err error) {
		if err != nil || r == nil {
			return
		}
		r.Close()
		c.AddFile(r.URI().Path())
	}, c.u.Main)
	d.Show()
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
		dialog.ShowError(fmt.Errorf("%s", c.u.lang.Error(err)), c.u.Main)
		return
	}
	c.attachments = append(c.attachments, a)
	c.showFiles()
}

// Remove drops the i'th attachment.
func (c *Compose) Remove(i int) {
	c.attachments = append(c.attachments[:i], c.attachments[i+1:]...)
	c.showFiles()
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
