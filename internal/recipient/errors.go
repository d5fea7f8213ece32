package recipient

import (
	"fmt"

	"sikkermail/internal/i18n"
)

// Reason says why a recipient was rejected. Its value is a stable code,
// used in JSON output and as the last part of the message key.
type Reason string

// The reasons a recipient can be rejected for.
const (
	Empty             Reason = "empty"
	ControlCharacter  Reason = "control_character"
	NotRecognised     Reason = "not_recognised"
	WrongLength       Reason = "wrong_length"
	InvalidDate       Reason = "invalid_date"
	LeadingZero       Reason = "leading_zero"
	BadCheckDigit     Reason = "bad_check_digit"
	NotAnAddress      Reason = "not_an_address"
	MultipleAddresses Reason = "multiple_addresses"
	NonASCIILocalPart Reason = "non_ascii_local_part"
	LocalPartTooLong  Reason = "local_part_too_long"
	AddressTooLong    Reason = "address_too_long"
	InvalidDomain     Reason = "invalid_domain"
	IDNAError         Reason = "idna"
	// RoutingLocalPart: an address in the institution's own domain whose
	// local part a mail server may route elsewhere (%, !, a quoted part).
	RoutingLocalPart Reason = "routing_local_part"
	// FutureBirthdate: a CPR number whose birth date lies ahead.
	FutureBirthdate Reason = "future_birthdate"
)

// Reasons lists every Reason, for tests that check each has a sentence.
var Reasons = []Reason{Empty, ControlCharacter, NotRecognised, WrongLength,
	InvalidDate, LeadingZero, BadCheckDigit, NotAnAddress, MultipleAddresses,
	NonASCIILocalPart, LocalPartTooLong, AddressTooLong, InvalidDomain, IDNAError, RoutingLocalPart, FutureBirthdate}

// Error is a rejected recipient.
type Error struct {
	// Input is what the user typed, trimmed (control characters replaced).
	Input string
	// Kind is what the input was taken for (CPR for an impossible date,
	// CVR after a "DK" prefix, Email with an '@'), or 0 when unknown.
	Kind   Kind
	Reason Reason
	// Detail completes the reason: the impossible date (DD.MM.YYYY) for
	// InvalidDate, the number of digits for WrongLength, the domain for
	// InvalidDomain and IDNAError.
	Detail string
	// Err is the underlying parser error, if any.
	Err error
}

func (e *Error) Error() string {
	s := fmt.Sprintf("recipient: %q: %s", e.Input, e.Reason)
	if e.Detail != "" {
		s += " (" + e.Detail + ")"
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// Localize names the sentence that tells a user what is wrong and what to do.
func (e *Error) Localize() i18n.Message {
	return i18n.Message{
		Key:  "recipient." + string(e.Reason),
		Args: map[string]any{"Input": e.Input, "Detail": e.Detail},
	}
}
