package ui

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"sikkermail/internal/outbox"
)

// OutboxWindow is "Udbakke": every mail sent or being sent, with its
// state; a waiting or failed one with the reason, Prøv igen and Fjern.
type OutboxWindow struct {
	Window fyne.Window
	Rows   *fyne.Container
	u      *UI
	// shown is the state the list shows.
	shown string
}

// OpenOutbox opens the outbox window, or brings it to the front.
func (u *UI) OpenOutbox() *OutboxWindow {
	if u.Outbox != nil {
		u.Outbox.Refresh()
		u.Outbox.Window.RequestFocus()
		return u.Outbox
	}
	o := &OutboxWindow{u: u, Window: u.app.NewWindow(u.t("outbox.title")), Rows: container.NewVBox()}
	refresh := widget.NewButtonWithIcon(u.t("outbox.refresh"), theme.ViewRefreshIcon(), o.Refresh)
	o.Window.SetContent(container.NewBorder(container.NewHBox(refresh), nil, nil, nil, container.NewVScroll(o.Rows)))
	o.Window.SetIcon(Icon)
	o.Window.Resize(fyne.NewSize(820, 480))
	// It follows the worker by itself: the list is read again every few
	// seconds, and redrawn only when something changed.
	stop := u.every(outboxPoll, func() { fyne.Do(o.refreshIfChanged) })
	o.Window.SetOnClosed(func() {
		stop()
		u.Outbox = nil
	})
	o.Refresh()
	o.Window.Show()
	u.Outbox = o
	return o
}

// outboxPoll is how often an open Udbakke looks at the outbox.
const outboxPoll = 2 * time.Second

// refreshIfChanged redraws the list when a mail came, went, or moved on.
func (o *OutboxWindow) refreshIfChanged() {
	if o.u.Outbox != o {
		return
	}
	mails, err := o.u.core.OutboxList(context.Background())
	if stateOf(mails, err) != o.shown {
		o.show(mails, err)
	}
}

// stateOf sums up the outbox: each mail's number, state and steps done.
func stateOf(mails []outbox.Mail, err error) string {
	if err != nil {
		return err.Error()
	}
	var b strings.Builder
	for _, m := range mails {
		fmt.Fprintf(&b, "%d %s %d %d;", m.ID, m.State, len(m.Steps), m.Attempts)
	}
	return b.String()
}

// Refresh reads the outbox again and lists it, the newest mail first.
func (o *OutboxWindow) Refresh() { o.show(o.u.core.OutboxList(context.Background())) }

// show lists mails (or the sentence for err).
func (o *OutboxWindow) show(mails []outbox.Mail, err error) {
	l := o.u.lang
	o.Rows.RemoveAll()
	o.shown = stateOf(mails, err)
	if err != nil {
		o.Rows.Add(widget.NewLabel(l.Error(err)))
		return
	}
	if len(mails) == 0 {
		o.Rows.Add(widget.NewLabel(l.T("outbox.empty", nil)))
	}
	for _, m := range slices.Backward(mails) {
		head := widget.NewLabelWithStyle(m.Subject, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
		state := l.M(m.State.Localize())
		if done, total := o.u.core.Progress(&m); m.State == outbox.Queued && done > 0 {
			state = l.T("outbox.state.sending", map[string]any{"Done": done, "Total": total})
		}
		text := state + " · " + m.Created.Local().Format("2006-01-02 15:04") + " · " + m.Mailbox +
			" → " + strings.Join(m.All(), ", ")
		if m.Err != nil && m.State != outbox.Done {
			text += "\n" + l.Error(m.Err)
		}
		info := widget.NewLabel(text)
		info.Wrapping = fyne.TextWrapWord
		row := container.NewVBox(head, info)
		id := m.ID
		buttons := container.NewHBox()
		if m.State == outbox.Done || m.Did("audit") {
			buttons.Add(widget.NewButtonWithIcon(l.T("outbox.receipt", nil), theme.DocumentIcon(), func() { o.showReceipt(id) }))
		}
		if m.State != outbox.Done {
			buttons.Add(widget.NewButtonWithIcon(l.T("outbox.retry", nil), theme.ViewRefreshIcon(), func() {
				if err := o.u.core.Retry(context.Background(), id); err != nil {
					info.SetText(l.Error(err))
					return
				}
				o.Refresh()
			}))
		}
		buttons.Add(widget.NewButtonWithIcon(l.T("outbox.remove", nil), theme.DeleteIcon(), func() {
			text := "outbox.remove_text"
			if m.State == outbox.Done {
				text = "outbox.remove_done_text"
			}
			ask(o.Window, l.T("outbox.remove_title", map[string]any{"ID": id}), l.T(text, nil), l.T("outbox.keep", nil), l.T("outbox.remove", nil), func() {
				if err := o.u.core.Remove(context.Background(), id); err != nil {
					info.SetText(l.Error(err))
					return
				}
				o.Refresh()
			})
		}))
		o.Rows.Add(container.NewBorder(nil, nil, nil, buttons, row))
		o.Rows.Add(widget.NewSeparator())
	}
}

// showReceipt shows a sent mail's receipt.
func (o *OutboxWindow) showReceipt(id int64) {
	l := o.u.lang
	_, r, err := o.u.core.ReceiptOf(context.Background(), id)
	if err != nil || r == nil {
		msg := l.T("outbox.no_receipt", nil)
		if err != nil {
			msg = l.Error(err)
		}
		tellError(o.Window, l.T("Error", nil), msg)
		return
	}
	text := widget.NewLabel(r.Text(l))
	text.Wrapping = fyne.TextWrapWord
	tell(o.Window, l.T("outbox.receipt", nil), container.NewVScroll(text), fyne.NewSize(720, 460))
}
