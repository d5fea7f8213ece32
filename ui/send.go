package ui

import (
	"context"
	"strings"
	"sync"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"sikkermail/internal/directory"
)

// SendPane is the secure-send pane, the plug-in's dialog: recipients as
// e-mail addresses on the left ("Sikker mail"), CPR/CVR numbers on the
// right, and "Kontrollér adresser" to see who can receive securely.
type SendPane struct {
	Window  fyne.Window
	Emails  *widget.Entry
	Numbers *widget.Entry
	Check   *widget.Button
	Status  *widget.Label
	// Results holds one row per recipient after a check.
	Results *fyne.Container

	u       *UI
	running sync.WaitGroup
}

func newSendPane(u *UI) *SendPane {
	p := &SendPane{
		u:       u,
		Window:  u.app.NewWindow(u.t("compose.send_secure")),
		Emails:  widget.NewMultiLineEntry(),
		Numbers: widget.NewMultiLineEntry(),
		Status:  widget.NewLabel(""),
		Results: container.NewVBox(),
	}
	p.Emails.SetPlaceHolder(u.t("send.recipients.email.hint"))
	p.Numbers.SetPlaceHolder(u.t("send.recipients.number.hint"))
	p.Status.Wrapping = fyne.TextWrapWord
	p.Check = widget.NewButtonWithIcon(u.t("send.check"), theme.ConfirmIcon(), p.startCheck)
	// Changing a recipient clears the verdicts: they no longer hold.
	clear := func(string) { p.Results.RemoveAll(); p.Status.SetText("") }
	p.Emails.OnChanged = clear
	p.Numbers.OnChanged = clear

	recipients := container.NewGridWithColumns(2,
		container.NewBorder(widget.NewLabelWithStyle(u.t("send.recipients.email"), fyne.TextAlignLeading, fyne.TextStyle{Bold: true}), nil, nil, nil, p.Emails),
		container.NewBorder(widget.NewLabelWithStyle(u.t("send.recipients.number"), fyne.TextAlignLeading, fyne.TextStyle{Bold: true}), nil, nil, nil, p.Numbers),
	)
	verdicts := container.NewBorder(
		container.NewVBox(container.NewHBox(p.Check), p.Status), nil, nil, nil,
		container.NewVScroll(p.Results))
	split := container.NewVSplit(recipients, verdicts)
	split.SetOffset(0.35)
	p.Window.SetContent(container.NewBorder(
		widget.NewLabelWithStyle(u.t("send.recipients"), fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		nil, nil, nil, split))
	p.Window.SetIcon(Icon)
	p.Window.Resize(fyne.NewSize(820, 640))
	return p
}

// Inputs returns the recipients typed on both sides, one per non-empty line.
func (p *SendPane) Inputs() []string {
	var in []string
	for _, e := range []*widget.Entry{p.Emails, p.Numbers} {
		for _, line := range strings.Split(e.Text, "\n") {
			if strings.TrimSpace(line) != "" {
				in = append(in, line)
			}
		}
	}
	return in
}

// startCheck runs core.Check in the background and shows the verdicts.
func (p *SendPane) startCheck() {
	inputs := p.Inputs()
	p.Results.RemoveAll()
	if len(inputs) == 0 {
		p.Status.SetText(p.u.t("send.none"))
		return
	}
	p.Status.SetText(p.u.t("send.checking"))
	p.Check.Disable()
	p.running.Add(1)
	go func() {
		defer p.running.Done()
		verdicts := p.u.core.Check(context.Background(), inputs)
		fyne.DoAndWait(func() { p.show(verdicts) })
	}()
}

// Wait blocks until a running check has shown its verdicts.
func (p *SendPane) Wait() { p.running.Wait() }

func (p *SendPane) show(verdicts []directory.Verdict) {
	l := p.u.lang
	red := 0
	for _, v := range verdicts {
		var icon fyne.Resource
		var text string
		if v.OK() {
			icon = theme.NewSuccessThemedResource(theme.ConfirmIcon())
			text = v.Recipient.String() + " — " + l.M(v.Channel.Localize())
		} else {
			red++
			icon = theme.NewErrorThemedResource(theme.CancelIcon())
			text = l.Error(v.Err)
		}
		if v.Recipient != nil {
			for _, n := range v.Recipient.Notes() {
				text += "\n" + l.M(n)
			}
		}
		label := widget.NewLabel(text)
		label.Wrapping = fyne.TextWrapWord
		p.Results.Add(container.NewBorder(nil, nil, widget.NewIcon(icon), nil, label))
	}
	if red == 0 {
		p.Status.SetText(l.T("send.all_green", nil))
	} else {
		p.Status.SetText(l.T("send.some_red", map[string]any{"Count": red}))
	}
	p.Check.Enable()
}
