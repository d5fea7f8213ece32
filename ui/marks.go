package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// lineMarks is the column beside a recipient field that holds each
// line's check mark after Kontrollér adresser, as Outlook marks the names
// it has resolved: one icon per line, hidden where a line has no verdict
// (an empty one, or before a check).
type lineMarks struct{ *fyne.Container }

// withMarks gives field a column of marks. The field then neither scrolls
// nor wraps by itself: field and marks scroll together, so each mark
// stays on its line. view is what goes into the window.
func withMarks(field *textField) (marks lineMarks, view fyne.CanvasObject) {
	field.Wrapping = fyne.TextWrapOff
	field.Scroll = container.ScrollNone
	marks = lineMarks{container.New(&marksLayout{field})}
	return marks, container.NewScroll(container.NewBorder(nil, nil, marks.Container, nil, field))
}

// mark shows res beside line (counted from 0 in the field's text).
func (m lineMarks) mark(line int, res fyne.Resource) {
	for len(m.Objects) <= line {
		icon := widget.NewIcon(nil)
		icon.Hide()
		m.Add(icon)
	}
	icon := m.Objects[line].(*widget.Icon)
	icon.SetResource(res)
	icon.Show()
}

// clear takes every mark away: the verdicts no longer hold.
func (m lineMarks) clear() { m.RemoveAll() }

// marksLayout puts the i-th icon beside the i-th line of field.
type marksLayout struct{ field *textField }

// lineHeight is the height of one line of the field's text, as the entry
// lays its rows out.
func (m *marksLayout) lineHeight() float32 {
	th := m.field.Theme()
	return fyne.MeasureText("M", th.Size(theme.SizeNameText), m.field.TextStyle).Height
}

// Layout implements fyne.Layout.
func (m *marksLayout) Layout(objects []fyne.CanvasObject, size fyne.Size) {
	th := m.field.Theme()
	top, h := th.Size(theme.SizeNameInnerPadding), m.lineHeight()
	side := min(th.Size(theme.SizeNameInlineIcon), h)
	for i, o := range objects {
		o.Resize(fyne.NewSquareSize(side))
		o.Move(fyne.NewPos((size.Width-side)/2, top+float32(i)*h+(h-side)/2))
	}
}

// MinSize implements fyne.Layout: as wide as an icon, whether or not
// there are marks, so the field does not move when they come.
func (m *marksLayout) MinSize([]fyne.CanvasObject) fyne.Size {
	th := m.field.Theme()
	return fyne.NewSize(th.Size(theme.SizeNameInlineIcon)+th.Size(theme.SizeNamePadding), 0)
}
