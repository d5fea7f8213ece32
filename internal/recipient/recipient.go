// Package recipient parses and validates the recipients of a secure mail.
//
// A recipient is one of three kinds:
//
//   - an e-mail address: an RFC 5322 addr-spec, optionally with a display
//     name ("Jens Hansen <jens@example.dk>"), restricted to what an RFC 6409
//     submission server accepts; internationalised domains are converted to
//     A-labels (IDNA 2008, UTS #46 lookup);
//   - a CPR number, the personal identification number of a private person
//     in Denmark (DDMMYY-SSSS), delivered through Digital Post;
//   - a CVR number, the registration number of a Danish company (8 digits),
//     delivered through Digital Post.
//
// Parse decides the kind from the text; every rejection is an *Error with a
// typed Reason that i18n turns into a Danish or English sentence naming the
// input.
package recipient

import (
	"strconv"
	"strings"
	"time"
	"unicode"

	"sikkermail/internal/i18n"
)

// Kind says what a recipient is.
type Kind int

// The kinds of recipient.
const (
	Email Kind = iota + 1
	CPR
	CVR
)

// String returns the stable lower-case name used in CLI and JSON output.
func (k Kind) String() string {
	switch k {
	case Email:
		return "email"
	case CPR:
		return "cpr"
	case CVR:
		return "cvr"
	}
	return "unknown"
}

// Recipient is a validated recipient.
type Recipient struct {
	Kind Kind
	// Input is the text the user typed, with surrounding space removed.
	Input string

	// Name is the display name of an e-mail recipient, if one was given.
	Name string
	// Address is the addr-spec of an e-mail recipient: the local part as
	// typed (quoted only where RFC 5322 requires it) and the domain in
	// lower-case A-labels, e.g. "jens@xn--kbenhavn-54a.dk".
	Address string
	// Internal is true for an e-mail address in one of the institution's
	// own domains (see Parser.Internal).
	Internal bool

	// Number is the CPR number (10 digits) or CVR number (8 digits),
	// without separators or prefix.
	Number string
	// Birthdate is the date of birth a CPR number encodes (UTC midnight).
	Birthdate time.Time
	// Mod11 reports whether a CPR number passes the old modulus-11 check.
	// Numbers issued since 2007 may fail it and are still valid, so this is
	// information, never a reason to reject.
	Mod11 bool
}

// String returns the recipient in canonical form: the address for e-mail,
// DDMMYY-SSSS for CPR, the 8 digits for CVR.
func (r *Recipient) String() string {
	switch r.Kind {
	case Email:
		return r.Address
	case CPR:
		return r.Number[:6] + "-" + r.Number[6:]
	case CVR:
		return r.Number
	}
	return r.Input
}

// Domain returns the domain of an e-mail recipient (A-labels, lower case),
// or "" for CPR and CVR recipients.
func (r *Recipient) Domain() string {
	if r.Kind != Email {
		return ""
	}
	return r.Address[strings.LastIndexByte(r.Address, '@')+1:]
}

// Notes returns information about a valid recipient that the user should
// see but that is no reason to stop, such as a CPR number that fails the
// modulus-11 check.
func (r *Recipient) Notes() []i18n.Message {
	if r.Kind == CPR && !r.Mod11 {
		return []i18n.Message{{Key: "recipient.note.cpr_mod11", Args: map[string]any{"Input": r.String()}}}
	}
	return nil
}

// Parser parses recipients for one institution.
type Parser struct {
	// Internal holds the institution's own mail domains.
	Internal Domains
	// Now is the clock a CPR number's birth date is checked against; nil
	// is time.Now.
	Now func() time.Time
}

func (p Parser) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

// cvrPrefixes are what people write before a CVR number (spaces and
// dashes already removed): "DK12345678", "DK: …", "CVR …", "CVR-nr. …".
var cvrPrefixes = []string{"CVRNR", "CVR", "DK"}

// cvrPrefix returns what follows a CVR prefix (and a ':' or '.' after
// it), and whether there was one.
func cvrPrefix(compact string) (string, bool) {
	for _, pre := range cvrPrefixes {
		if len(compact) >= len(pre) && strings.EqualFold(compact[:len(pre)], pre) {
			rest := compact[len(pre):]
			rest = strings.TrimLeft(rest, ".:")
			return rest, true
		}
	}
	return "", false
}

// Parse parses s with no internal domains; see Parser.Parse.
func Parse(s string) (*Recipient, error) {
	return Parser{}.Parse(s)
}

// Parse decides whether s is an e-mail address, a CPR number or a CVR
// number, and validates it. Text with an '@' or '<' is an e-mail address;
// otherwise, ignoring spaces and dashes, 10 digits are a CPR number and 8
// digits (or any digits after a "DK" prefix) a CVR number. The error is
// always an *Error.
func (p Parser) Parse(s string) (*Recipient, error) {
	in := strings.TrimSpace(s)
	if in == "" {
		return nil, &Error{Input: in, Reason: Empty}
	}
	if i := strings.IndexFunc(in, unicode.IsControl); i >= 0 {
		return nil, &Error{Input: printable(in), Reason: ControlCharacter}
	}
	if strings.ContainsAny(in, "@<") {
		r, err := parseEmail(in)
		if err != nil {
			return nil, err
		}
		if r.Internal = p.Internal.Contains(r.Domain()); r.Internal {
			if c := routes(r.Address[:strings.LastIndexByte(r.Address, '@')]); c != "" {
				return nil, &Error{Input: in, Kind: Email, Reason: RoutingLocalPart, Detail: c}
			}
		}
		return r, nil
	}
	compact := strings.Map(func(c rune) rune {
		if c == ' ' || c == '-' || c == '\u00a0' {
			return -1
		}
		return c
	}, in)
	if rest, ok := cvrPrefix(compact); ok {
		return parseCVR(in, rest)
	}
	if compact == "" || strings.IndexFunc(compact, notDigit) >= 0 {
		return nil, &Error{Input: in, Reason: NotRecognised}
	}
	switch len(compact) {
	case 10:
		return parseCPR(in, compact, p.now())
	case 8:
		return parseCVR(in, compact)
	}
	return nil, &Error{Input: in, Reason: WrongLength, Detail: strconv.Itoa(len(compact))}
}

func notDigit(c rune) bool { return c < '0' || c > '9' }

// routes returns what in the local part of an address in the
// institution's own domain a mail server may take for a route to
// somewhere else, or "" when nothing does. Such an address would be
// green as internal and go out unencrypted, and a stock Postfix, for one,
// relays "jens%kommune.example@…" and "kommune.example!jens@…" to
// jens@kommune.example; a quoted local part may hide an '@'. So the local
// part of an internal address must be a dot-atom of RFC 5322's atext,
// less '%' and '!'.
func routes(local string) string {
	if strings.HasPrefix(local, "\"") {
		return "\""
	}
	for _, c := range local {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', strings.ContainsRune(".#$&'*+-/=?^_`{|}~", c):
		default:
			return string(c)
		}
	}
	return ""
}

// printable replaces control characters so that an input can be shown.
func printable(s string) string {
	return strings.Map(func(c rune) rune {
		if unicode.IsControl(c) {
			return '\uFFFD'
		}
		return c
	}, s)
}

// SplitList splits recipients as Outlook and other mail programs copy
// them: separated by ';' or line ends, "Name <addr>" forms kept whole,
// and a ';' inside quotes or angle brackets not taken for a separator.
// Commas are not separators: Outlook writes names as "Hansen, Jens".
func SplitList(s string) []string {
	var out []string
	var cur strings.Builder
	quoted, angle := false, false
	flush := func() {
		t := strings.TrimSpace(cur.String())
		// Hansen, Jens <jh@…>: the comma needs quotes in a display name.
		if i := strings.IndexByte(t, '<'); i > 0 && strings.Contains(t[:i], ",") && !strings.Contains(t[:i], `"`) {
			t = `"` + strings.TrimSpace(t[:i]) + `" ` + t[i:]
		}
		if t != "" {
			out = append(out, t)
		}
		cur.Reset()
	}
	for _, r := range s {
		switch {
		case r == '"' && !angle:
			quoted = !quoted
		case r == '<' && !quoted:
			angle = true
		case r == '>' && !quoted:
			angle = false
		case (r == ';' || r == '\n' || r == '\r') && !quoted && !angle:
			flush()
			continue
		}
		cur.WriteRune(r)
	}
	flush()
	return out
}
