// Package directory answers, for each recipient, whether a mail can reach it
// securely and by which channel: the green check or red cross of the
// "Kontrollér adresser" step.
//
// Sources are consulted in order: the institution's own domains (internal,
// no encryption needed), then certificate sources for S/MIME, then Digital
// Post for CPR and CVR numbers. A recipient no source can vouch for is red,
// with a reason: the check fails closed.
package directory

import (
	"context"
	"fmt"

	"sikkermail/internal/i18n"
	"sikkermail/internal/recipient"
)

// Channel is how a mail reaches a recipient securely.
type Channel string

// The channels.
const (
	Internal    Channel = "internal"
	SMIME       Channel = "smime"
	DigitalPost Channel = "digitalpost"
)

// Localize names the channel in the user's language.
func (c Channel) Localize() i18n.Message {
	return i18n.Message{Key: "channel." + string(c)}
}

// Verdict is the answer for one recipient: a channel when it can receive
// securely (green), an error saying why not (red).
type Verdict struct {
	// Input is the text the user typed.
	Input string
	// Recipient is nil when Input could not be parsed.
	Recipient *recipient.Recipient
	// Channel is set when the verdict is green.
	Channel Channel
	// Err is nil when the verdict is green.
	Err error
}

// OK reports whether the recipient can receive securely (green).
func (v Verdict) OK() bool { return v.Err == nil && v.Channel != "" }

// Directory checks recipients against the configured sources.
type Directory struct{}

// Check returns the verdict for one parsed recipient.
func (d *Directory) Check(ctx context.Context, r *recipient.Recipient) Verdict {
	v := Verdict{Input: r.Input, Recipient: r}
	switch {
	case r.Kind == recipient.Email && r.Internal:
		v.Channel = Internal
	case r.Kind == recipient.Email:
		v.Err = &NoSourceError{Recipient: r.String()}
	default:
		v.Err = &DigitalPostUnavailableError{Recipient: r.String()}
	}
	return v
}

// NoSourceError means no certificate source is configured, so no
// certificate can be found for an external address.
type NoSourceError struct {
	Recipient string
}

func (e *NoSourceError) Error() string {
	return fmt.Sprintf("directory: %s: no certificate source configured", e.Recipient)
}

// Localize names the sentence for a user.
func (e *NoSourceError) Localize() i18n.Message {
	return i18n.Message{Key: "directory.no_source", Args: map[string]any{"Input": e.Recipient}}
}

// DigitalPostUnavailableError means a CPR or CVR recipient was given but no
// Digital Post channel is configured.
type DigitalPostUnavailableError struct {
	Recipient string
}

func (e *DigitalPostUnavailableError) Error() string {
	return fmt.Sprintf("directory: %s: Digital Post is not configured", e.Recipient)
}

// Localize names the sentence for a user.
func (e *DigitalPostUnavailableError) Localize() i18n.Message {
	return i18n.Message{Key: "directory.digitalpost_unavailable", Args: map[string]any{"Input": e.Recipient}}
}
