//go:build screenshots

package main

import (
	"fyne.io/fyne/v2"

	"sikkermail/ui"
)

// screenshotsBuilt: this build carries the screenshot harness.
const screenshotsBuilt = true

// takeScreenshots renders every screen to dir, then quits (make
// screenshots builds with the tag).
func takeScreenshots(a fyne.App, u *ui.UI, dir string) { ui.QuitAfterScreenshots(a, u, dir) }
