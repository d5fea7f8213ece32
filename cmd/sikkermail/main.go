// Command sikkermail is the desktop client for sending secure mail.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"fyne.io/fyne/v2/app"

	"sikkermail/internal/config"
	"sikkermail/internal/core"
	"sikkermail/internal/frontend"
	"sikkermail/internal/i18n"
	"sikkermail/ui"
)

func main() {
	cfgPath := flag.String("config", "", "settings file (default: the user's config dir; none: the demo environment)")
	demoFlag := flag.Bool("demo", false, "use the built-in demo environment, whatever the settings file says")
	shots := flag.String("screenshots", "", "render every screen to PNG files in this folder, then quit")
	language := flag.String("lang", "", "language for this run, da or en (default: the one chosen in Indstillinger, else the settings file's)")
	ready := flag.Bool("ready-and-quit", false, "print \"ready\" once the compose window is shown and usable, then quit (make bench times it)")
	flag.Parse()
	if *shots != "" && !screenshotsBuilt {
		fmt.Fprintln(os.Stderr, "sikkermail: -screenshots needs a build with -tags screenshots (make screenshots)")
		os.Exit(2)
	}

	cfg, err := config.Load(*cfgPath)
	if *demoFlag {
		cfg, err = config.Demo(), nil
	}
	if err == nil && *shots != "" {
		// Pictures are taken of a fresh demo: nothing of the user's.
		dir, derr := os.MkdirTemp("", "sikkermail-screenshots-")
		if derr != nil {
			err = derr
		} else {
			defer os.RemoveAll(dir)
			cfg.Database = filepath.Join(dir, "screenshots.db")
		}
	}
	var c core.API
	if err == nil {
		c, err = frontend.Open(cfg)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "sikkermail:", i18n.FromEnv().Error(err))
		os.Exit(1)
	}
	a := app.NewWithID(ui.AppID)
	switch {
	case *language != "":
		var l i18n.Lang
		if l, err = i18n.ParseLang(*language); err == nil {
			c.SetLanguage(l)
			err = ui.SetLanguage(l)
		}
	case *shots == "":
		err = ui.ApplyLanguage(a, c) // the user's choice in Indstillinger
	default:
		err = ui.SetLanguage(c.Lang()) // pictures in the settings' language
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "sikkermail:", err)
	}
	u := ui.New(a, c)
	if *shots != "" {
		takeScreenshots(a, u, *shots)
	}
	if *ready {
		a.Lifecycle().SetOnStarted(func() {
			u.Main.Canvas().Focus(u.Compose.Subject) // usable: typing goes to the subject
			fmt.Println("ready")
			a.Quit()
		})
	}
	// The outbox's worker: what was queued before (also by the CLI, or
	// before a crash) is sent while the window is open.
	ctx, stop := context.WithCancel(context.Background())
	worked := make(chan struct{})
	go func() {
		defer close(worked)
		c.Run(ctx)
	}()
	u.Main.ShowAndRun()
	stop()
	<-worked
	c.Close()
}
