package digitalpost

import (
	"bytes"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"sikkermail/internal/i18n"
)

// FileTypeError is an attachment of a type Digital Post does not deliver.
type FileTypeError struct {
	File string
}

func (e *FileTypeError) Error() string {
	return fmt.Sprintf("digitalpost: %s: file type not allowed", e.File)
}

// AllowedList names the allowed file types, for the user.
func AllowedList() string {
	exts := make([]string, 0, len(Allowed))
	for e := range Allowed {
		exts = append(exts, e)
	}
	slices.Sort(exts)
	return strings.Join(exts, ", ")
}

// Localize names the sentence for a user: the file and the allowed types.
func (e *FileTypeError) Localize() i18n.Message {
	return i18n.Message{Key: "digitalpost.file_type", Args: map[string]any{"File": e.File, "Allowed": AllowedList()}}
}

// Status is a number's registration for Digital Post, as the contacts
// lookup tells it.
type Status string

// The registration states.
const (
	Registered Status = "REGISTERED"
	Exempt     Status = "EXEMPT" // fritaget: the person receives paper mail
	Closed     Status = "CLOSED" // the mailbox is closed (deceased, dissolved)
	Unknown    Status = "UNKNOWN"
)

// NotRegisteredError is a CPR or CVR number Digital Post cannot deliver
// to: exempt, closed, or not known.
type NotRegisteredError struct {
	Recipient string
	Status    Status
}

func (e *NotRegisteredError) Error() string {
	return fmt.Sprintf("digitalpost: %s: %s", e.Recipient, e.Status)
}

// Localize names the sentence for a user, by status.
func (e *NotRegisteredError) Localize() i18n.Message {
	s := strings.ToLower(string(e.Status))
	switch e.Status {
	case Exempt, Closed:
	default:
		s = "unknown"
	}
	return i18n.Message{Key: "digitalpost." + s, Args: map[string]any{"Input": e.Recipient}}
}

// UnavailableError means Digital Post could not be asked or did not
// answer: asking again later may succeed.
type UnavailableError struct {
	Recipient, Service string
	Err                error
}

func (e *UnavailableError) Error() string {
	return fmt.Sprintf("digitalpost: %s: %s: %v", e.Recipient, e.Service, e.Err)
}

func (e *UnavailableError) Unwrap() error { return e.Err }

// IsTemporary reports that asking again later may succeed.
func (e *UnavailableError) IsTemporary() bool { return true }

// Localize names the sentence for a user.
func (e *UnavailableError) Localize() i18n.Message {
	return i18n.Message{Key: "digitalpost.unavailable", Args: map[string]any{"Input": e.Recipient, "Service": e.Service}}
}

// RejectedError is a message Digital Post refused: INVALID (the message
// does not follow MeMo), NOT_ALLOWED (the sender may not send it, or the
// recipient may not receive it), or another refusal. Sending it again as
// it is will not help.
type RejectedError struct {
	Recipient string
	Status    string
	Detail    string
}

func (e *RejectedError) Error() string {
	return fmt.Sprintf("digitalpost: %s: %s: %s", e.Recipient, e.Status, e.Detail)
}

// Localize names the sentence for a user.
func (e *RejectedError) Localize() i18n.Message {
	key := "digitalpost.rejected"
	switch e.Status {
	case StatusInvalid:
		key = "digitalpost.invalid"
	case StatusNotAllowed:
		key = "digitalpost.not_allowed"
	}
	return i18n.Message{Key: key, Args: map[string]any{"Input": e.Recipient, "Detail": e.Detail}}
}

// quoted is what a service's words quote: a value in quotes (xmllint
// quotes the text it refuses in single quotes), and a run of six or more
// digits (a CPR or CVR number).
var quoted = regexp.MustCompile(`'[^']*'|"[^"]*"|«[^»]*»|‘[^’]*’|“[^”]*”|[0-9]{6,}`)

// redact makes a refusal's detail safe to show and to keep: the service
// may quote the letter (a schema validator quotes the element it
// refuses, attachment text included). Quoted values and long numbers
// become "…"; and what then still shares 16 bytes with the letter is
// dropped whole. At most 200 bytes are kept.
func redact(detail string, memo []byte) string {
	detail = quoted.ReplaceAllString(detail, "…")
	if len(detail) > 200 {
		detail = detail[:200]
		for !utf8.ValidString(detail) {
			detail = detail[:len(detail)-1]
		}
	}
	for i := 0; i+16 <= len(detail); i += 8 {
		if bytes.Contains(memo, []byte(detail[i:i+16])) {
			return ""
		}
	}
	return detail
}
