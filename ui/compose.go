package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// Compose is the new-mail screen: subject and text first; the recipients
// wait for the secure-send pane, as the staff guide says.
type Compose struct {
	Subject    *widget.Entry
	Body       *widget.Entry
	SendSecure *widget.Button
	Content    fyne.CanvasObject
}

func newCompose(u *UI) *Compose {
	c := &Compose{
		Subject: widget.NewEntry(),
		Body:    widget.NewMultiLineEntry(),
	}
	c.Subject.SetPlaceHolder(u.t("compose.subject"))
	c.Body.SetPlaceHolder(u.t("compose.body"))
	c.Body.Wrapping = fyne.TextWrapWord
	c.SendSecure = widget.NewButtonWithIcon(u.t("compose.send_secure"), theme.MailSendIcon(), func() { u.OpenSend() })
	c.SendSecure.Importance = widget.HighImportance
	form := widget.NewForm(widget.NewFormItem(u.t("compose.subject"), c.Subject))
	c.Content = container.NewBorder(
		container.NewVBox(container.NewHBox(c.SendSecure), form),
		nil, nil, nil,
		c.Body,
	)
	return c
}
