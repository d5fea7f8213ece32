//go:build !screenshots

package main

import (
	"fmt"
	"os"

	"fyne.io/fyne/v2"

	"sikkermail/ui"
)

// takeScreenshots: the shipped program carries no screenshot harness;
// make screenshots builds one with the screenshots tag.
func takeScreenshots(fyne.App, *ui.UI, string) {
	fmt.Fprintln(os.Stderr, "sikkermail: -screenshots needs a build with -tags screenshots (make screenshots)")
	os.Exit(2)
}
