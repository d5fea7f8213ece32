// Package assets embeds the files the front-ends ship: the application icon
// and the translations (Danish and English) of every user-facing string.
//
// It is a Go package because go:embed cannot reach outside the package
// directory; it imports nothing, so both the Fyne GUI and the cgo-free CLI
// can use it.
package assets

import (
	"embed"
	_ "embed"
)

// Icon is the application icon, a 256×256 PNG.
//
//go:embed icon.png
var Icon []byte

// Translations holds translation/da.json and translation/en.json: flat maps
// from message key to text, in the format fyne.io/fyne/v2/lang reads. Texts
// may use text/template actions such as {{.Input}}.
//
//go:embed translation
var Translations embed.FS

// TranslationDir is the directory inside Translations that holds the files.
const TranslationDir = "translation"
