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
// to: exempt, closed, or not known (not registered, or not yet).
type NotRegisteredError struct {
	Recipient string
	Status    Status
	// Registration is the service's detailed registrationStatus, "" when
	// it gave none: it says why (left the country, a waiting period).
	Registration string
	// Pending: known to the service, with no mailbox yet.
	Pending bool
}

func (e *NotRegisteredError) Error() string {
	return fmt.Sprintf("digitalpost: %s: %s %s", e.Recipient, e.Status, e.Registration)
}

// Localize names the sentence for a user, by status and, where the
// service says it, the reason.
func (e *NotRegisteredError) Localize() i18n.Message {
	key := "digitalpost.unknown"
	switch {
	case e.Status == Exempt && e.Registration == "EXEMPT_LEFT_THE_COUNTRY":
		key = "digitalpost.exempt_abroad"
	case e.Status == Exempt:
		key = "digitalpost.exempt"
	case e.Status == Closed:
		key = "digitalpost.closed"
	case e.Pending || e.Registration == "BEFORE_UNCONFIRMED_REGISTRATION" || e.Registration == "UNCONFIRMED_REGISTRATION" ||
		e.Registration == "CREATED_AWAITING_REGISTRATION" || e.Registration == "VOLUNTARY_REGISTRATION":
		key = "digitalpost.not_yet"
	}
	return i18n.Message{Key: key, Args: map[string]any{"Input": e.Recipient}}
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
// recipient may not receive it), BAD_REQUEST (a 400), or another
// refusal. Sending it again as it is will not help.
type RejectedError struct {
	Recipient string
	Status    string
	// Code is the service's errorCode (or ErrorMessage code), Detail its
	// words, made safe to show and keep.
	Code, Detail string
}

func (e *RejectedError) Error() string {
	return fmt.Sprintf("digitalpost: %s: %s %s: %s", e.Recipient, e.Status, e.Code, e.Detail)
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

// AccessError is the service not letting the institution's system in
// (401, 403): the system certificate, the system key or the address the
// PC calls from is not the one registered. Nothing was delivered; IT
// must set it right, and the mail can then be tried again.
type AccessError struct {
	Service, Recipient string
	Code               int
}

func (e *AccessError) Error() string {
	return fmt.Sprintf("digitalpost: %s: %s: HTTP %d", e.Recipient, e.Service, e.Code)
}

// Localize names the sentence for a user: what IT must check.
func (e *AccessError) Localize() i18n.Message {
	return i18n.Message{Key: "digitalpost.access", Args: map[string]any{"Input": e.Recipient, "Service": e.Service, "Code": e.Code}}
}

// LostAnswerError is a letter whose answer did not come after it was
// sent: Digital Post may have it or not. It is temporary, but posting
// again blindly might deliver a second letter: ask the receipts first.
type LostAnswerError struct {
	Recipient, Service, UUID string
	Err                      error
}

func (e *LostAnswerError) Error() string {
	return fmt.Sprintf("digitalpost: %s: %s: no answer for %s: %v", e.Recipient, e.Service, e.UUID, e.Err)
}

func (e *LostAnswerError) Unwrap() error { return e.Err }

// IsTemporary reports that the outcome may yet be learnt.
func (e *LostAnswerError) IsTemporary() bool { return true }

// Localize names the sentence for a user.
func (e *LostAnswerError) Localize() i18n.Message {
	return i18n.Message{Key: "digitalpost.lost_answer", Args: map[string]any{"Input": e.Recipient, "Service": e.Service}}
}

// quoted is what a service's words quote: a value in quotes (xmllint
// quotes the text it refuses in single quotes), and a run of six or more
// digits (a CPR or CVR number).
var quoted = regexp.MustCompile(`'[^']*'|"[^"]*"|«[^»]*»|‘[^’]*’|“[^”]*”|[0-9]{6,}`)

// Redact makes a refusal's detail safe to show and to keep: the service
// may quote the letter (a schema validator quotes the element it
// refuses, attachment text included). Quoted values and long numbers
// become "…"; and what then still shares 16 bytes with the letter is
// dropped whole. At most 200 bytes are kept.
func Redact(detail string, memo []byte) string {
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
