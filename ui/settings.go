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

	"sikkermail/internal/i18n"
	"sikkermail/internal/policy"
)

// Settings is "Indstillinger": the user's account and servers, and —
// for the helpdesk role only — "Rettigheder": who may send from and read
// which mailbox, grant and revoke, and the audit log.
type Settings struct {
	Window fyne.Window
	Tabs   *container.AppTabs
	// Language chooses the language: every window follows at once, and
	// the app's preferences keep it for the next start; Password and SavePassword put the mail
	// password in the OS keyring; AccountStatus says how that went.
	Language      *widget.Select
	Password      *widget.Entry
	SavePassword  *widget.Button
	AccountStatus *widget.Label
	// Microsoft, SignIn and SignOut are there when the settings sign in
	// with Microsoft: who is signed in, and the buttons.
	Microsoft       *widget.Label
	SignIn, SignOut *widget.Button
	// Rights is nil unless the user has the helpdesk role.
	Rights *RightsPane
	u      *UI
}

// RightsPane is the helpdesk's tab.
type RightsPane struct {
	Holders *fyne.Container
	User    *widget.Entry
	Mailbox *widget.Select
	Right   *widget.RadioGroup
	Grant   *widget.Button
	Revoke  *widget.Button
	Status  *widget.Label
	Audit   *fyne.Container
	u       *UI
	// window asks before a right is taken away (the settings window).
	window fyne.Window
}

// OpenSettings opens the settings window, or brings it to the front.
func (u *UI) OpenSettings() *Settings {
	if u.Settings != nil {
		u.Settings.Window.RequestFocus()
		return u.Settings
	}
	s := &Settings{u: u, Window: u.app.NewWindow(u.t("settings.title"))}
	s.Tabs = container.NewAppTabs(container.NewTabItemWithIcon(u.t("settings.account"), theme.AccountIcon(), s.account()))
	ctx := context.Background()
	if ok, err := u.core.IsHelpdesk(ctx); err == nil && ok {
		s.Rights = newRightsPane(u)
		s.Rights.window = s.Window
		s.Tabs.Append(container.NewTabItemWithIcon(u.t("settings.rights"), theme.SettingsIcon(), s.Rights.content()))
	}
	s.Window.SetContent(s.Tabs)
	s.Window.SetIcon(Icon)
	s.Window.Resize(fyne.NewSize(820, 600))
	s.Window.SetOnClosed(func() { u.Settings = nil })
	s.Window.Show()
	u.Settings = s
	return s
}

// account shows who the user is and which servers are used; secrets
// are in the OS keyring (or where the settings file says), never here.
func (s *Settings) account() fyne.CanvasObject {
	cfg := s.u.core.Config()
	file := cfg.File
	if cfg.Demo {
		file = s.u.t("settings.demo")
	}
	dp := cfg.DigitalPost.URL
	if dp == "" {
		dp = s.u.t("settings.none")
	}
	s.AccountStatus = widget.NewLabel("")
	s.AccountStatus.Wrapping = fyne.TextWrapWord
	names := map[string]i18n.Lang{"Dansk": i18n.Danish, "English": i18n.English}
	s.Language = widget.NewSelect([]string{"Dansk", "English"}, nil)
	for n, l := range names {
		if l == s.u.lang {
			s.Language.SetSelected(n)
		}
	}
	s.Language.OnChanged = func(name string) {
		if err := s.u.SwitchLanguage(names[name]); err != nil {
			s.AccountStatus.SetText(s.u.lang.Error(err))
		}
	}
	s.Password = widget.NewPasswordEntry()
	s.Password.SetPlaceHolder(s.u.t("settings.password.hint"))
	s.SavePassword = widget.NewButtonWithIcon(s.u.t("settings.password.save"), theme.DocumentSaveIcon(), func() {
		if err := s.u.core.SavePassword([]byte(s.Password.Text)); err != nil {
			s.AccountStatus.SetText(s.u.lang.Error(err))
			return
		}
		s.Password.SetText("")
		s.AccountStatus.SetText(s.u.t("settings.password.saved"))
	})
	form := widget.NewForm(
		widget.NewFormItem(s.u.t("settings.user"), widget.NewLabel(s.u.core.UserName()+" <"+s.u.core.User()+">")),
		widget.NewFormItem(s.u.t("settings.file"), widget.NewLabel(file)),
		widget.NewFormItem("SMTP", widget.NewLabel(cfg.SMTP.Server)),
		widget.NewFormItem("IMAP", widget.NewLabel(cfg.IMAP.Server)),
		widget.NewFormItem(s.u.t("settings.digitalpost"), widget.NewLabel(dp)),
	)
	// A mail password only where a server takes one: not when both sign
	// in with Microsoft.
	if cfg.SMTP.Auth != "microsoft" || cfg.IMAP.Auth != "microsoft" {
		form.Append(s.u.t("settings.password"), container.NewBorder(nil, nil, nil, s.SavePassword, s.Password))
	}
	form.Append(s.u.t("settings.language"), s.Language)
	handled := widget.NewLabel(s.u.lang.M(s.u.core.HandledMark()))
	handled.Wrapping = fyne.TextWrapWord
	form.Append(s.u.t("settings.handled"), handled)
	if on, _ := s.u.core.Microsoft(context.Background()); on {
		s.Microsoft = widget.NewLabel("")
		s.SignIn = widget.NewButtonWithIcon(s.u.t("settings.microsoft.sign_in"), theme.LoginIcon(), func() {
			s.u.signIn(s.Window, s.showMicrosoft)
		})
		s.SignIn.Importance = widget.HighImportance
		s.SignOut = widget.NewButtonWithIcon(s.u.t("settings.microsoft.sign_out"), theme.LogoutIcon(), func() {
			if err := s.u.core.SignOut(context.Background()); err != nil {
				s.AccountStatus.SetText(s.u.lang.Error(err))
			}
			s.showMicrosoft()
		})
		s.showMicrosoft()
		form.Append("Microsoft", container.NewHBox(s.Microsoft, s.SignIn, s.SignOut))
	}
	return container.NewVBox(form, s.AccountStatus)
}

// showMicrosoft says who is signed in with Microsoft, and offers the
// button that fits.
func (s *Settings) showMicrosoft() {
	_, who := s.u.core.Microsoft(context.Background())
	if who == "" {
		s.Microsoft.SetText(s.u.t("settings.microsoft.none"))
		s.SignIn.SetText(s.u.t("settings.microsoft.sign_in"))
		s.SignIn.Show()
		s.SignOut.Hide()
		return
	}
	// Signed in, the session may still have ended (revoked, expired):
	// signing in again is always at hand.
	s.Microsoft.SetText(s.u.lang.T("settings.microsoft.signed_in", map[string]any{"User": who}))
	s.SignIn.SetText(s.u.t("settings.microsoft.sign_in_again"))
	s.SignIn.Show()
	s.SignOut.Show()
}

func newRightsPane(u *UI) *RightsPane {
	r := &RightsPane{u: u, Holders: container.NewVBox(), Audit: container.NewVBox(), User: widget.NewEntry(), Status: widget.NewLabel("")}
	r.User.SetPlaceHolder("navn@" + strings.Join(u.core.Config().Institution.Domains, ", "))
	r.Status.Wrapping = fyne.TextWrapWord
	mbs, _ := u.core.ListMailboxes(context.Background())
	var addrs []string
	for _, m := range mbs {
		addrs = append(addrs, m.Address)
	}
	r.Mailbox = widget.NewSelect(addrs, nil)
	r.Mailbox.PlaceHolder = u.t("settings.choose_mailbox") // Fyne's own is not translatable
	r.Right = widget.NewRadioGroup([]string{u.rightName(policy.Send), u.rightName(policy.Read)}, nil)
	r.Right.Horizontal = true
	r.Right.SetSelected(u.rightName(policy.Send))
	r.Grant = widget.NewButtonWithIcon(u.t("settings.grant"), theme.ContentAddIcon(), func() { r.change(true) })
	r.Revoke = widget.NewButtonWithIcon(u.t("settings.revoke"), theme.ContentRemoveIcon(), func() {
		if r.window == nil {
			r.change(false)
			return
		}
		user := strings.ToLower(strings.TrimSpace(r.User.Text))
		ask(r.window, u.t("settings.revoke_title"), u.lang.T("settings.revoke_text", map[string]any{"User": user, "Mailbox": r.Mailbox.Selected}),
			u.t("settings.keep_right"), u.t("settings.revoke"), func() { r.change(false) })
	})
	r.Refresh()
	return r
}

func (r *RightsPane) content() fyne.CanvasObject {
	form := widget.NewForm(
		widget.NewFormItem(r.u.t("settings.person"), r.User),
		widget.NewFormItem(r.u.t("settings.mailbox"), r.Mailbox),
		widget.NewFormItem(r.u.t("settings.right"), r.Right),
	)
	top := container.NewVBox(form, container.NewHBox(r.Grant, r.Revoke), r.Status, widget.NewSeparator(), r.Holders)
	audit := container.NewBorder(widget.NewLabelWithStyle(r.u.t("settings.audit"), fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		nil, nil, nil, container.NewVScroll(r.Audit))
	split := container.NewVSplit(container.NewVScroll(top), audit)
	split.SetOffset(0.6)
	return split
}

// change grants or revokes the chosen right; the sentence says what
// happened, or why not.
func (r *RightsPane) change(grant bool) {
	l := r.u.lang
	user, mailbox, right := strings.ToLower(strings.TrimSpace(r.User.Text)), r.Mailbox.Selected, policy.Send
	if r.Right.Selected == r.u.rightName(policy.Read) {
		right = policy.Read
	}
	do, done := r.u.core.Grant, "settings.rights.granted"
	if !grant {
		do, done = r.u.core.Revoke, "settings.rights.revoked"
	}
	if err := do(context.Background(), user, mailbox, right); err != nil {
		r.Status.SetText(l.Error(err))
		return
	}
	r.Status.SetText(l.T(done, map[string]any{"User": user, "Mailbox": mailbox, "Right": i18n.Message{Key: "right." + string(right)}}))
	r.Refresh()
}

// rightName is a right as the user's language says it.
func (u *UI) rightName(r policy.Right) string { return u.t("right." + string(r)) }

// Refresh shows each mailbox's holders and the audit log, newest first.
func (r *RightsPane) Refresh() {
	ctx := context.Background()
	r.Holders.RemoveAll()
	all, err := r.u.core.AllHolders(ctx)
	if err != nil {
		r.Holders.Add(widget.NewLabel(r.u.lang.Error(err)))
	}
	for _, m := range all {
		var lines []string
		for _, h := range m.Holders {
			var rights []string
			for _, x := range h.Rights {
				rights = append(rights, r.u.rightName(x))
			}
			lines = append(lines, "  "+h.User+": "+strings.Join(rights, ", "))
		}
		cert := r.u.t("settings.no_identity")
		switch {
		case m.Certificate != nil:
			cert = r.u.lang.T("settings.cert_expires", map[string]any{"Date": m.Certificate.NotAfter.Local().Format(time.DateOnly)})
		case m.CertErr != nil:
			cert = r.u.lang.Error(m.CertErr)
		}
		r.Holders.Add(widget.NewLabel(m.Mailbox.Address + " — " + cert + "\n" + strings.Join(lines, "\n")))
	}
	r.Audit.RemoveAll()
	entries, err := r.u.core.AuditLog(ctx, time.Time{})
	if err != nil {
		r.Audit.Add(widget.NewLabel(r.u.lang.Error(err)))
		return
	}
	for _, e := range slices.Backward(entries) {
		right := ""
		if e.Right != "" {
			right = r.u.rightName(e.Right)
		}
		line := widget.NewLabel(fmt.Sprintf("%s  %s  %s  %s  %s %s", e.Time.Local().Format("2006-01-02 15:04"), e.Actor.User,
			r.u.t("audit.action."+e.Action), e.Mailbox, e.Subject, right))
		line.Wrapping = fyne.TextWrapWord
		r.Audit.Add(line)
	}
}
