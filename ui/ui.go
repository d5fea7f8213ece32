// Package ui is sikkermail's Fyne user interface: compose with its kept
// drafts, the secure-send pane (sender, recipients with their marks,
// check, send, receipt), Udbakke, the secure inbox with a verdict per
// mail, and Indstillinger (the account, the language, sign-in with
// Microsoft, and the helpdesk's rights and audit log). It talks to
// internal/core; background work reaches widgets through fyne.Do.
package ui

import (
	"context"
	"os"
	"sync"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/lang"

	"sikkermail/assets"
	"sikkermail/internal/core"
	"sikkermail/internal/i18n"
)

// AppID is the application ID, identical to the one in
// cmd/sikkermail/FyneApp.toml.
const AppID = "dk.sikkermail.desktop"

// Icon is the application icon.
var Icon = fyne.NewStaticResource("icon.png", assets.Icon)

// SetLanguage makes Fyne's own words (OK, Cancel, file dialogs) follow l.
// Fyne chooses its language from the environment only (LC_ALL, else
// LC_MESSAGES, else LANG; LANGUAGE unless that is C), so l is put there
// before the translations are loaded. Call it before building any window.
func SetLanguage(l i18n.Lang) error {
	msgs := "LC_MESSAGES"
	if os.Getenv("LC_ALL") != "" {
		msgs = "LC_ALL"
	}
	for _, env := range []string{"LANGUAGE", msgs} {
		if err := os.Setenv(env, string(l)); err != nil {
			return err
		}
	}
	return lang.AddTranslationsFS(assets.Translations, assets.TranslationDir)
}

// PrefLanguage is the app preference holding the language the user chose
// in Indstillinger ("da", "en"); it wins over the settings file.
const PrefLanguage = "language"

// ApplyLanguage makes the language the user chose (else the settings
// file's) the core's and Fyne's. Call it after the app is made, before
// any window is built.
func ApplyLanguage(a fyne.App, c core.API) error {
	if l, err := i18n.ParseLang(a.Preferences().String(PrefLanguage)); err == nil {
		c.SetLanguage(l)
	}
	return SetLanguage(c.Lang())
}

// UI is one running user interface.
type UI struct {
	app  fyne.App
	core core.API
	lang i18n.Lang

	// Main is the compose window.
	Main    fyne.Window
	Compose *Compose
	// Send is the secure-send pane, nil until opened.
	Send *SendPane
	// Outbox is the outbox window, nil until opened.
	Outbox *OutboxWindow
	// Settings is the settings window, nil until opened.
	Settings *Settings
	// Inbox is the secure mailboxes' inbox window, nil until opened.
	Inbox *InboxWindow
	// Drafts is the kept drafts' window, nil until opened.
	Drafts *DraftsWindow

	// openURL shows the Microsoft sign-in page: nil opens the system's
	// browser; tests drive the page themselves.
	openURL func(string) error
	// signing runs while a sign-in waits for the browser.
	signing sync.WaitGroup

	// after runs f once d has passed (time.AfterFunc), every runs it each
	// time d passes until stop is called (a ticker): tests run them when
	// they choose.
	after func(d time.Duration, f func())
	every func(d time.Duration, f func()) (stop func())
}

// New builds the main window for c in a.
func New(a fyne.App, c core.API) *UI {
	u := &UI{app: a, core: c, lang: c.Lang(), after: func(d time.Duration, f func()) { time.AfterFunc(d, f) }, every: every}
	a.SetIcon(Icon)
	u.Main = a.NewWindow(u.t("app.title"))
	u.Main.SetIcon(Icon)
	u.Compose = newCompose(u)
	u.Main.SetContent(u.Compose.Content)
	u.Main.SetMainMenu(u.Compose.menu())
	u.Main.Canvas().Focus(u.Compose.Subject)
	u.Main.SetOnDropped(u.Compose.dropped)
	u.Main.Resize(fyne.NewSize(900, 640))
	u.Main.SetMaster()
	u.Main.SetCloseIntercept(u.closeRequested)
	return u
}

func (u *UI) t(key string) string { return u.lang.T(key, nil) }

// every runs f each time d passes, until stop is called.
func every(d time.Duration, f func()) (stop func()) {
	t := time.NewTicker(d)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-t.C:
				f()
			case <-done:
				return
			}
		}
	}()
	var once sync.Once
	return func() { once.Do(func() { t.Stop(); close(done) }) }
}

// closeRequested is the main window's close button: the mail half
// written is kept among the drafts, and only a draft that cannot be
// kept asks first.
func (u *UI) closeRequested() {
	if !u.Compose.HasDraft() || u.Compose.keepNow() == nil {
		u.Main.Close()
		return
	}
	ask(u.Main, u.t("drafts.not_kept_title"), u.Compose.DraftStatus.Text, u.t("drafts.stay"), u.t("drafts.close_anyway"), u.Main.Close)
}

// OpenSend opens the secure-send pane for the composed mail, or brings it
// to the front when it is already open.
func (u *UI) OpenSend() *SendPane {
	if u.Send != nil && u.Send.sent {
		// Done with its mail: a new mail gets a pane of its own.
		old := u.Send
		u.Send = nil
		old.Window.SetOnClosed(nil)
		old.Window.Close()
	}
	if u.Send != nil {
		u.Send.Window.RequestFocus()
		return u.Send
	}
	u.Send = newSendPane(u)
	u.Send.Window.SetOnClosed(func() { u.Send = nil })
	u.Send.Window.Show()
	return u.Send
}

// SwitchLanguage makes l the language of every window at once, and of
// the next start: each open window is built again in l, holding what it
// held (rebuild).
func (u *UI) SwitchLanguage(l i18n.Lang) error {
	if err := SetLanguage(l); err != nil {
		return err
	}
	u.app.Preferences().SetString(PrefLanguage, string(l))
	u.core.SetLanguage(l)
	u.lang = l
	u.rebuild(true)
	return nil
}

// SwitchDemoUser makes the demo's user the one at address: every open
// window is built again for them (their mailboxes, their rights), the
// mail being written kept, the inbox mail opened closed.
func (u *UI) SwitchDemoUser(address string) error {
	if err := u.core.SwitchDemoUser(address); err != nil {
		return err
	}
	u.rebuild(false)
	return nil
}

// rebuild builds every open window again, holding what it held: the mail
// being written and its kept draft, the recipients with their marks and
// verdicts, the settings tab, and — for the same user (sameUser) — the
// opened inbox mail. A secure-send pane busy with a check or done with
// its mail stays as it is: its mail is not touched.
func (u *UI) rebuild(sameUser bool) {
	old := u.Compose
	u.Compose = newCompose(u)
	u.Compose.takeOver(old)
	u.Main.SetTitle(u.t("app.title"))
	u.Main.SetContent(u.Compose.Content)
	u.Main.SetMainMenu(u.Compose.menu())
	u.Main.Canvas().Focus(u.Compose.Subject)

	if p := u.Send; p != nil && !p.Check.Disabled() {
		p.Window.SetOnClosed(nil)
		p.Window.Close()
		u.Send = nil
		u.OpenSend().takeOver(p)
	}
	if o := u.Outbox; o != nil {
		o.Window.Close()
		u.OpenOutbox()
	}
	if d := u.Drafts; d != nil {
		d.Window.Close()
		u.OpenDrafts()
	}
	if w := u.Inbox; w != nil {
		w.Window.Close()
		n := u.OpenInbox()
		if sameUser {
			n.Mailbox.SetSelected(w.Mailbox.Selected)
			if w.opened != nil {
				n.current = w.opened.UID
				n.show(w.opened)
			}
		}
	}
	if s := u.Settings; s != nil {
		tab := s.Tabs.SelectedIndex()
		s.Window.Close()
		if n := u.OpenSettings(); tab < len(n.Tabs.Items) {
			n.Tabs.SelectIndex(tab)
		}
	}
}

// signIn signs in with Microsoft in the background, the browser showing
// the sign-in page, and then runs done; a sign-in that does not come
// about is told in w.
func (u *UI) signIn(w fyne.Window, done func()) {
	u.signing.Add(1)
	go func() {
		defer u.signing.Done()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		_, err := u.core.SignIn(ctx, u.openURL)
		fyne.DoAndWait(func() {
			if err != nil {
				tellError(w, u.t("Error"), u.lang.Error(err))
			}
			if done != nil {
				done()
			}
		})
	}()
}
