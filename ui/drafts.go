package ui

import (
	"context"
	"strconv"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// DraftsWindow lists the kept drafts, the newest first, each with Åbn
// and Slet.
type DraftsWindow struct {
	Window fyne.Window
	Rows   *fyne.Container
	u      *UI
}

// OpenDrafts opens the drafts window, or brings it to the front.
func (u *UI) OpenDrafts() *DraftsWindow {
	if u.Drafts != nil {
		u.Drafts.Refresh()
		u.Drafts.Window.RequestFocus()
		return u.Drafts
	}
	d := &DraftsWindow{u: u, Window: u.app.NewWindow(u.t("drafts.title")), Rows: container.NewVBox()}
	d.Window.SetContent(container.NewVScroll(d.Rows))
	d.Window.SetOnClosed(func() { u.Drafts = nil })
	d.Window.Resize(fyne.NewSize(640, 420))
	d.Refresh()
	u.Drafts = d
	d.Window.Show()
	return d
}

// Refresh lists the drafts again.
func (d *DraftsWindow) Refresh() {
	l := d.u.lang
	d.Rows.RemoveAll()
	list, err := d.u.core.Drafts(context.Background())
	if err != nil {
		d.Rows.Add(widget.NewLabel(l.Error(err)))
		return
	}
	if len(list) == 0 {
		d.Rows.Add(widget.NewLabel(l.T("drafts.none", nil)))
		return
	}
	for _, info := range list {
		id := info.ID
		subject := info.Subject
		if subject == "" {
			subject = l.T("drafts.no_subject", nil)
		}
		text := subject + "\n" + l.T("drafts.saved", map[string]any{"Time": info.Saved.Local().Format("2006-01-02 15:04"), "Files": strconv.Itoa(info.Attachments)})
		label := widget.NewLabel(text)
		label.Wrapping = fyne.TextWrapWord
		open := widget.NewButtonWithIcon(l.T("drafts.open", nil), theme.DocumentIcon(), func() { d.open(id) })
		remove := widget.NewButtonWithIcon(l.T("drafts.delete", nil), theme.DeleteIcon(), func() {
			ask(d.Window, l.T("drafts.delete_title", nil), l.T("drafts.delete_text", map[string]any{"Subject": subject}),
				l.T("compose.keep", nil), l.T("drafts.delete", nil), func() {
					if id == d.u.Compose.draftID {
						d.u.Compose.draftID = ""
					}
					if err := d.u.core.DeleteDraft(id); err != nil {
						d.Rows.Add(widget.NewLabel(l.Error(err)))
						return
					}
					d.Refresh()
				})
		})
		d.Rows.Add(container.NewBorder(nil, nil, nil, container.NewHBox(open, remove), label))
		d.Rows.Add(widget.NewSeparator())
	}
}

// open puts a kept draft in compose; the one being written stays kept.
func (d *DraftsWindow) open(id string) {
	c := d.u.Compose
	if c.HasDraft() {
		if err := c.keepNow(); err != nil {
			return // the sentence is under the text; nothing is replaced
		}
	}
	draft, err := d.u.core.OpenDraft(context.Background(), id)
	if err != nil {
		d.Rows.Add(widget.NewLabel(d.u.lang.Error(err)))
		return
	}
	c.Load(id, draft)
	d.Window.Close()
	d.u.Main.RequestFocus()
	d.u.Main.Canvas().Focus(c.Subject)
}
