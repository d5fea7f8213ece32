// Package policy holds the institution's secure mailboxes and who may use
// them: the right to send on behalf of a mailbox, and the right to read it
// (its designated readers). Only helpdesk grants and revokes; every change
// and every send is written to an append-only audit log first.
//
// Rights live behind one interface (Registry) with two implementations: a
// SQLite database (the embedded default: the demo and a single PC) and,
// for many PCs sharing one truth, the institution's LDAP directory.
package policy

import (
	"context"
	"fmt"
	"strings"
	"time"

	"sikkermail/internal/i18n"
)

// Right is what a person may do with a mailbox.
type Right string

// The rights.
const (
	// Send: send secure mail on behalf of the mailbox.
	Send Right = "send"
	// Read: read the mailbox's inbox (a designated reader).
	Read Right = "read"
)

// ParseRight accepts "send" or "read".
func ParseRight(s string) (Right, error) {
	switch Right(s) {
	case Send, Read:
		return Right(s), nil
	}
	return "", &Error{Reason: BadRight, Right: Right(s)}
}

// Mailbox is one of the institution's shared secure mailboxes.
type Mailbox struct {
	// Address is the mailbox's e-mail address, lower case.
	Address string
	// Name is its display name, e.g. "Sikkerpost-uddservice".
	Name       string
	Department string
	// Identity is the PKCS #12 file with the mailbox's certificate and
	// key, and Password where its password comes from (keystore
	// syntax: "keyring", "file:PATH", "env:NAME").
	Identity, Password string
	// SentFolder and InboxFolder are IMAP folder names.
	SentFolder, InboxFolder string
	// ContactPoint is the mailbox's contact point in Digital Post: the
	// GUID the administrative portal gave it ("" for none). Letters from
	// the mailbox name it, and its limits are the letters' limits.
	ContactPoint string
}

// Actor is who does something, and from which machine.
type Actor struct {
	User    string
	Machine string
	// Helpdesk is the helpdesk role proven by whoever made the Actor
	// (the gateway, from the caller's Entra groups), besides the
	// configured list. It is not written to the audit log.
	Helpdesk bool
}

// Registry keeps mailboxes and rights: the local database (SQLite), or
// the institution's directory for rights (LDAP).
type Registry interface {
	// Mailboxes lists every secure mailbox, by address.
	Mailboxes(ctx context.Context) ([]Mailbox, error)
	// Mailbox returns one mailbox, or an *Error with UnknownMailbox.
	Mailbox(ctx context.Context, address string) (*Mailbox, error)
	// AddMailbox adds or changes a mailbox (helpdesk only).
	AddMailbox(ctx context.Context, by Actor, m Mailbox) error
	// Rights returns the rights user holds, by mailbox address.
	Rights(ctx context.Context, user string) (map[string][]Right, error)
	// Holders returns who holds which rights to a mailbox, by user.
	Holders(ctx context.Context, mailbox string) (map[string][]Right, error)
	// Grant gives user a right to mailbox (helpdesk only).
	Grant(ctx context.Context, by Actor, user, mailbox string, r Right) error
	// Revoke takes it away (helpdesk only).
	Revoke(ctx context.Context, by Actor, user, mailbox string, r Right) error
	// IsHelpdesk reports whether user has the helpdesk role.
	IsHelpdesk(ctx context.Context, user string) (bool, error)
}

// Has reports whether user holds right r to mailbox. Addresses compare
// without regard to case.
func Has(ctx context.Context, s Registry, user, mailbox string, r Right) (bool, error) {
	rights, err := s.Rights(ctx, user)
	if err != nil {
		return false, err
	}
	for _, x := range rights[strings.ToLower(mailbox)] {
		if x == r {
			return true, nil
		}
	}
	return false, nil
}

// Entry is one line of the audit log.
type Entry struct {
	ID      int64
	Time    time.Time
	Actor   Actor
	Action  string // grant, revoke, mailbox, send
	Mailbox string
	// Subject is whom a grant or revocation concerns, or the recipients
	// of a send.
	Subject string
	Right   Right
	// MessageID and Receipt describe a send; never its content.
	MessageID, Receipt string
}

// Reason says why a policy operation was refused.
type Reason string

// The reasons.
const (
	NotHelpdesk    Reason = "not_helpdesk"
	UnknownMailbox Reason = "unknown_mailbox"
	UnknownUser    Reason = "unknown_user"
	AlreadyGranted Reason = "already_granted"
	NotGranted     Reason = "not_granted"
	NoRight        Reason = "no_right"
	BadRight       Reason = "bad_right"
	BadMailbox     Reason = "bad_mailbox"
	// BadContactPoint: a Digital Post contact point that is not a GUID.
	BadContactPoint Reason = "bad_contact_point"
)

// Reasons lists every Reason, for the test that each has a sentence.
var Reasons = []Reason{NotHelpdesk, UnknownMailbox, UnknownUser, AlreadyGranted, NotGranted, NoRight, BadRight, BadMailbox, BadContactPoint}

// Error is a refused policy operation.
type Error struct {
	Reason  Reason
	User    string
	Mailbox string
	Right   Right
	// Value is the setting refused (a contact point), when one is.
	Value string
	Err   error
}

func (e *Error) Error() string {
	s := fmt.Sprintf("policy: %s: user %q mailbox %q right %q", e.Reason, e.User, e.Mailbox, e.Right)
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// Localize names the sentence for a user.
func (e *Error) Localize() i18n.Message {
	// The sentences about a right held or not name it in the reader's
	// words; the others quote it, or choose their words by it.
	var right any = string(e.Right)
	if e.Reason == AlreadyGranted || e.Reason == NotGranted {
		right = i18n.Message{Key: "right." + string(e.Right)}
	}
	return i18n.Message{Key: "policy." + string(e.Reason), Args: map[string]any{"User": e.User, "Mailbox": e.Mailbox, "Right": right, "Value": e.Value}}
}
