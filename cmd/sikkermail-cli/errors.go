package main

import (
	"fmt"

	"sikkermail/internal/i18n"
)

// fileError is a file the CLI was told to read or write and could not.
type fileError struct {
	File string
	Err  error
}

func (e *fileError) Error() string { return fmt.Sprintf("%s: %v", e.File, e.Err) }
func (e *fileError) Unwrap() error { return e.Err }

// Localize names the sentence for a user.
func (e *fileError) Localize() i18n.Message {
	return i18n.Message{Key: "cli.file", Args: map[string]any{"File": e.File, "Err": e.Err.Error()}}
}
