package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// textField is a multi-line entry that Tab leaves for the next field and
// Shift+Tab for the one before, as in Outlook's forms; Ctrl+Tab types a
// tab where one is wanted. Fyne's multi-line entry keeps Tab for itself,
// which traps the keyboard in it.
type textField struct{ widget.Entry }

func newTextField() *textField {
	e := &textField{}
	e.MultiLine = true
	e.Wrapping = fyne.TextWrapWord
	e.ExtendBaseWidget(e)
	return e
}

// AcceptsTab implements fyne.Tabbable: Tab moves the focus.
func (e *textField) AcceptsTab() bool { return false }

// TypedShortcut implements fyne.Shortcutable: Ctrl+Tab types a tab.
func (e *textField) TypedShortcut(s fyne.Shortcut) {
	if cs, ok := s.(*desktop.CustomShortcut); ok && cs.KeyName == fyne.KeyTab && cs.Modifier == fyne.KeyModifierControl {
		e.TypedRune('\t')
		return
	}
	e.Entry.TypedShortcut(s)
}

// tabOrder lays its objects out with inner in the order visual gives,
// while the container keeps them in the order the focus moves through
// them (Fyne moves it in the order of a container's objects).
type tabOrder struct {
	inner  fyne.Layout
	visual []int
}

func (t *tabOrder) arranged(objects []fyne.CanvasObject) []fyne.CanvasObject {
	out := make([]fyne.CanvasObject, 0, len(objects))
	for _, i := range t.visual {
		if i < len(objects) {
			out = append(out, objects[i])
		}
	}
	return out
}

// Layout implements fyne.Layout.
func (t *tabOrder) Layout(objects []fyne.CanvasObject, size fyne.Size) {
	t.inner.Layout(t.arranged(objects), size)
}

// MinSize implements fyne.Layout.
func (t *tabOrder) MinSize(objects []fyne.CanvasObject) fyne.Size {
	return t.inner.MinSize(t.arranged(objects))
}

// fillLast stacks objects from the top, each at its least height, and
// gives the last one the height that is left (the text of a mail).
type fillLast struct{}

// Layout implements fyne.Layout.
func (fillLast) Layout(objects []fyne.CanvasObject, size fyne.Size) {
	pad := theme.Padding()
	y := float32(0)
	for i, o := range objects {
		h := o.MinSize().Height
		if i == len(objects)-1 {
			h = max(h, size.Height-y)
		}
		o.Move(fyne.NewPos(0, y))
		o.Resize(fyne.NewSize(size.Width, h))
		if o.Visible() && h > 0 {
			y += h + pad
		}
	}
}

// MinSize implements fyne.Layout.
func (fillLast) MinSize(objects []fyne.CanvasObject) fyne.Size {
	var s fyne.Size
	for _, o := range objects {
		if !o.Visible() {
			continue
		}
		m := o.MinSize()
		s.Width = max(s.Width, m.Width)
		s.Height += m.Height + theme.Padding()
	}
	return s
}

// shortcut is a key with Ctrl (Cmd on a Mac, as Fyne maps it).
func shortcut(key fyne.KeyName) *desktop.CustomShortcut {
	return &desktop.CustomShortcut{KeyName: key, Modifier: fyne.KeyModifierShortcutDefault}
}

// menuItem is a menu entry for a button, with the button's shortcut: the
// menu shows the shortcut, and its shortcut works whatever has the focus.
func menuItem(b *widget.Button, key fyne.KeyName) *fyne.MenuItem {
	item := fyne.NewMenuItem(b.Text, func() {
		if !b.Disabled() && b.OnTapped != nil {
			b.OnTapped()
		}
	})
	item.Shortcut = shortcut(key)
	return item
}
