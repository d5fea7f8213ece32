package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/lang"
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

// tell shows content in w under title with one button, OK, which has
// the focus, so that Enter, Space and Escape close it (Fyne's own
// dialogs know no Escape).
func tell(w fyne.Window, title string, content fyne.CanvasObject, size fyne.Size) dialog.Dialog {
	var d dialog.Dialog
	ok := &keyButton{}
	ok.Text = lang.L("OK")
	ok.Importance = widget.HighImportance
	ok.OnTapped = func() { d.Hide() }
	ok.ExtendBaseWidget(ok)
	d = dialog.NewCustomWithoutButtons(title, container.NewBorder(nil, container.NewHBox(layout.NewSpacer(), ok), nil, nil, content), w)
	if size.Width > 0 {
		d.Resize(size)
	}
	d.Show()
	w.Canvas().Focus(ok)
	return d
}

// tellError is tell for a sentence that says what went wrong.
func tellError(w fyne.Window, title, sentence string) {
	l := widget.NewLabel(sentence)
	l.Wrapping = fyne.TextWrapWord
	tell(w, title, l, fyne.NewSize(480, 200))
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
