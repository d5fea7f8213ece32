package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/widget"
)

// showFileDialog shows d, one of Fyne's file dialogs, in w with the
// names of its places (Home, Computer, Desktop, Documents, …) in the
// user's language. Fyne translates its buttons but writes those names
// as they are; the translations (assets/translation) hold them as keys.
//
// The places are the list on the left of the dialog's split, reached
// through exported fields only; should a Fyne release build the dialog
// otherwise, the names stay English and TestFileDialogWords says so.
func showFileDialog(d *dialog.FileDialog, w fyne.Window) {
	d.Show()
	places := fileDialogPlaces(w.Canvas().Overlays().Top())
	if places == nil {
		return
	}
	update := places.UpdateItem
	places.UpdateItem = func(id widget.ListItemID, item fyne.CanvasObject) {
		update(id, item)
		if box, ok := item.(*fyne.Container); ok {
			for _, o := range box.Objects {
				if l, ok := o.(*widget.Label); ok {
					l.SetText(lang.L(l.Text))
				}
			}
		}
	}
	places.Refresh()
}

// fileDialogPlaces finds the list of places in a file dialog's pop-up:
// the leading side of its split.
func fileDialogPlaces(o fyne.CanvasObject) *widget.List {
	switch o := o.(type) {
	case *widget.PopUp:
		return fileDialogPlaces(o.Content)
	case *fyne.Container:
		for _, c := range o.Objects {
			if l := fileDialogPlaces(c); l != nil {
				return l
			}
		}
	case *container.Split:
		if l, ok := o.Leading.(*widget.List); ok {
			return l
		}
	}
	return nil
}
