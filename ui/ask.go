package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/widget"
)

// ask asks in w before something that cannot be undone or may leak:
// the safe answer is the blue button, which has the focus, so that
// Enter, Space and Escape all take it; only the risky button (red) does
// the risky thing. Fyne's own confirm dialog makes the risky answer the
// blue one and knows no Escape.
func ask(w fyne.Window, title, text, safe, risky string, onRisky func()) dialog.Dialog {
	label := widget.NewLabel(text)
	label.Wrapping = fyne.TextWrapWord
	var d dialog.Dialog
	safeButton := &keyButton{}
	safeButton.Text = safe
	safeButton.Importance = widget.HighImportance
	safeButton.OnTapped = func() { d.Hide() }
	safeButton.ExtendBaseWidget(safeButton)
	riskyButton := widget.NewButton(risky, func() {
		d.Hide()
		onRisky()
	})
	riskyButton.Importance = widget.DangerImportance
	content := container.NewBorder(nil, container.NewHBox(layout.NewSpacer(), riskyButton, safeButton), nil, nil, label)
	d = dialog.NewCustomWithoutButtons(title, content, w)
	d.Resize(fyne.NewSize(480, 220))
	d.Show()
	w.Canvas().Focus(safeButton)
	return d
}

// keyButton is a button that Enter and Escape press too, as Space does
// (the dialog's safe answer).
type keyButton struct{ widget.Button }

// TypedKey implements fyne.Focusable.
func (b *keyButton) TypedKey(ev *fyne.KeyEvent) {
	switch ev.Name {
	case fyne.KeyReturn, fyne.KeyEnter, fyne.KeyEscape:
		b.Tapped(nil)
	default:
		b.Button.TypedKey(ev)
	}
}
