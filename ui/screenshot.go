//go:build screenshots

package ui

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/dialog"

	"sikkermail/internal/config"
	"sikkermail/internal/message"
)

// demoRecipients fill the secure-send pane for screenshots: one of each
// verdict the demo environment can give.
var demoRecipients = struct{ emails, numbers string }{
	emails:  "sikkerpost-uddservice@hoejskole.example\njens.hansen@kommune.example\njens@",
	numbers: "010190-1009\n12345100\n020280-1005\n310290-1234",
}

// Screenshots writes every screen, as the running driver paints it, to a
// PNG file in dir, and returns the files written. Each screen is filled
// with demo content before it is shown, so its first frame is complete.
// Call it from a goroutine once the app has started (after FillDemo);
// with the GL driver under Xvfb the pictures are of a real window.
func (u *UI) Screenshots(dir string) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var files []string
	last := map[fyne.Window]image.Image{}
	err := u.walkScreens(func(w fyne.Window, name string) error {
		path := filepath.Join(dir, name)
		img, err := capture(w, path, last[w])
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		last[w] = img
		files = append(files, path)
		return nil
	})
	return files, err
}

// walkScreens brings up every screen in turn, filled with demo content,
// and calls shoot with its window and a file name for it: the
// screenshots, and the test that reads every word on every screen.
func (u *UI) walkScreens(shoot func(w fyne.Window, name string) error) error {
	if err := shoot(u.Main, "compose.png"); err != nil {
		return err
	}
	// Over compose: the question before the mail being written goes, and
	// the file dialog, in the user's words.
	var question dialog.Dialog
	fyne.DoAndWait(func() { question = u.Compose.askDiscard(u.Main, func() {}) })
	if err := shoot(u.Main, "compose-discard.png"); err != nil {
		return err
	}
	var files *dialog.FileDialog
	fyne.DoAndWait(func() {
		question.Hide()
		files = u.Compose.fileDialog()
	})
	if err := shoot(u.Main, "attach.png"); err != nil {
		return err
	}
	fyne.DoAndWait(func() { files.Hide() })

	// Kladder: the mail being written, kept, and an older one; both go
	// again afterwards, so that the demo's own drafts stay as they were.
	var dw *DraftsWindow
	var older string
	fyne.DoAndWait(func() {
		older, _ = u.core.SaveDraft(context.Background(), "", message.Draft{Subject: "Svar til Studievejledningen", Body: "Tak for jeres henvendelse."})
		u.Compose.keepNow()
		dw = u.OpenDrafts()
	})
	if err := shoot(dw.Window, "drafts.png"); err != nil {
		return err
	}
	fyne.DoAndWait(func() {
		dw.Window.Close()
		u.core.DeleteDraft(older)
		u.Compose.discardDraft()
	})

	var p *SendPane
	fyne.DoAndWait(func() {
		p = newSendPane(u)
		p.Emails.SetText(demoRecipients.emails)
		p.Numbers.SetText(demoRecipients.numbers)
		u.Send = p
		p.Window.Show()
	})
	// Before the check: each line's form is judged as it is typed.
	if err := shoot(p.Window, "secure-send-before.png"); err != nil {
		return err
	}
	// Typing part of a known recipient: the completions.
	fyne.DoAndWait(func() { p.Emails.SetText("kollega@hoejskole.example\njens") })
	if err := shoot(p.Window, "secure-send-suggest.png"); err != nil {
		return err
	}
	fyne.DoAndWait(func() { p.Emails.SetText(demoRecipients.emails) })
	fyne.DoAndWait(p.startCheck)
	p.Wait()
	if err := shoot(p.Window, "secure-send.png"); err != nil {
		return err
	}

	// All green, sent, with the receipt (the worker runs beside the window).
	fyne.DoAndWait(func() {
		for _, o := range p.Sender.Options {
			if p.addresses[o] == "sikkerpost-uddservice@hoejskole.example" {
				p.Sender.SetSelected(o)
			}
		}
		p.Emails.SetText("jens.hansen@kommune.example\nkollega@hoejskole.example")
		p.Numbers.SetText("010190-1009\n12345100")
		p.startCheck()
	})
	p.Wait()
	fyne.DoAndWait(p.send)
	p.Wait()
	if err := shoot(p.Window, "receipt.png"); err != nil {
		return err
	}

	var o *OutboxWindow
	fyne.DoAndWait(func() { o = u.OpenOutbox() })
	if err := shoot(o.Window, "outbox.png"); err != nil {
		return err
	}

	// Indbakke: a mail that came securely, its panel open; then one that
	// did not.
	var in *InboxWindow
	fyne.DoAndWait(func() { in = u.OpenInbox() })
	in.Wait()
	for i, name := range []string{"inbox.png", "inbox-not-secure.png"} {
		fyne.DoAndWait(func() { in.Open(in.list[len(in.list)-1-i].UID) })
		in.Wait()
		if i == 0 {
			fyne.DoAndWait(func() { in.details.Open(0) })
		}
		if err := shoot(in.Window, name); err != nil {
			return err
		}
	}
	fyne.DoAndWait(func() { in.Window.Close() })

	var st *Settings
	fyne.DoAndWait(func() { st = u.OpenSettings() })
	if err := shoot(st.Window, "settings.png"); err != nil {
		return err
	}

	// The same settings as helpdesk sees them, with Rettigheder: the demo
	// used as helpdesk, and then as staff again.
	var err error
	fyne.DoAndWait(func() {
		err = u.SwitchDemoUser(config.DemoUsers[2].Address)
	})
	if err != nil {
		return err
	}
	fyne.DoAndWait(func() {
		st = u.Settings
		st.Tabs.SelectIndex(len(st.Tabs.Items) - 1)
	})
	if err := shoot(st.Window, "helpdesk.png"); err != nil {
		return err
	}
	fyne.DoAndWait(func() { err = u.SwitchDemoUser(config.DemoUsers[0].Address) })
	return err
}

// capture waits until the window has painted a frame with content (a
// freshly shown window is blank until the driver has drawn it) that is
// not the frame before (a window changed since its last picture is
// repainted a moment later) and that holds still for two looks, then
// writes it to path and returns it. Under X11 the picture is taken from the X server with
// xwd, so it is what a person would see; elsewhere (the test driver) from
// the canvas.
func capture(w fyne.Window, path string, before image.Image) (image.Image, error) {
	const tries = 200
	grab := func() (image.Image, error) { return w.Canvas().Capture(), nil }
	if os.Getenv("DISPLAY") != "" {
		xwd, err := exec.LookPath("xwd")
		if err != nil {
			return nil, fmt.Errorf("xwd is needed to photograph the window under X11 (Debian package x11-apps): %w", err)
		}
		grab = func() (image.Image, error) {
			out, err := exec.Command(xwd, "-silent", "-name", w.Title()).Output()
			if err != nil {
				return nil, fmt.Errorf("xwd -name %q: %w", w.Title(), err)
			}
			return decodeXWD(out)
		}
	}
	var img, prev image.Image
	var err error
	for i := 0; i < tries; i++ {
		img, err = grab()
		// Painted, new, and the same twice running: the driver is done.
		if err == nil && painted(img) && !same(img, before) && same(img, prev) {
			break
		}
		prev, img = img, nil
		time.Sleep(25 * time.Millisecond) // polling the X server, which cannot signal a finished frame
	}
	if img == nil {
		if err != nil {
			return nil, err
		}
		return nil, errors.New("the window painted nothing new within 5 s")
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return nil, err
	}
	return img, f.Close()
}

// same reports whether two pictures are identical.
func same(a, b image.Image) bool {
	if a == nil || b == nil || a.Bounds() != b.Bounds() {
		return false
	}
	r := a.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if a.At(x, y) != b.At(x, y) {
				return false
			}
		}
	}
	return true
}

// painted reports whether img shows more than a blank background: rendered
// text and widgets give many distinct colours.
func painted(img image.Image) bool {
	if img == nil || img.Bounds().Dx() < 100 || img.Bounds().Dy() < 100 {
		return false
	}
	seen := map[[4]uint32]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 3 {
		for x := b.Min.X; x < b.Max.X; x += 3 {
			r, g, bl, a := img.At(x, y).RGBA()
			seen[[4]uint32{r, g, bl, a}] = true
			if len(seen) > 16 {
				return true
			}
		}
	}
	return false
}

// QuitAfterScreenshots arranges for u.Screenshots(dir) to run once a has
// started, prints the files written, and quits a. A failure ends the
// process with exit status 1 and the reason on standard error.
func QuitAfterScreenshots(a fyne.App, u *UI, dir string) {
	u.FillDemo()
	a.Lifecycle().SetOnStarted(func() {
		go func() {
			files, err := u.Screenshots(dir)
			for _, f := range files {
				fmt.Println(f)
			}
			if err != nil {
				fmt.Fprintln(os.Stderr, "sikkermail: screenshots:", err)
				os.Exit(1)
			}
			fyne.Do(a.Quit)
		}()
	})
}
