package recipient

import (
	"net/mail"
	"strings"

	"golang.org/x/net/idna"
)

// Limits from RFC 5321 section 4.5.3.1 that submission servers enforce.
const (
	maxLocalPart = 64
	maxPath      = 254 // 256 for the reverse/forward path less the angle brackets
	maxDomain    = 253
	maxLabel     = 63
)

// parseEmail parses one RFC 5322 address (addr-spec or name-addr) and
// restricts it to what a submission server accepts: an ASCII local part of
// at most 64 octets and a fully qualified domain name whose labels are
// letters, digits and hyphens (after IDNA conversion). Domain literals
// ("user@[192.0.2.1]") are refused: no certificate directory or secure
// channel can be found for them.
func parseEmail(in string) (*Recipient, error) {
	if list, err := mail.ParseAddressList(in); err == nil && len(list) > 1 {
		return nil, &Error{Input: in, Kind: Email, Reason: MultipleAddresses}
	}
	a, err := mail.ParseAddress(in)
	if err != nil {
		return nil, &Error{Input: in, Kind: Email, Reason: NotAnAddress, Err: err}
	}
	at := strings.LastIndexByte(a.Address, '@')
	if at < 0 {
		return nil, &Error{Input: in, Kind: Email, Reason: NotAnAddress}
	}
	local, domain := a.Address[:at], a.Address[at+1:]
	if !isASCII(local) {
		return nil, &Error{Input: in, Kind: Email, Reason: NonASCIILocalPart}
	}
	if len(local) > maxLocalPart {
		return nil, &Error{Input: in, Kind: Email, Reason: LocalPartTooLong}
	}
	ascii, derr := asciiDomain(domain)
	if derr != nil {
		derr.Input, derr.Kind = in, Email
		return nil, derr
	}
	// Re-serialise through net/mail so that a local part that needs
	// quoting is quoted, and nothing else is.
	spec := (&mail.Address{Address: local + "@" + ascii}).String()
	spec = strings.TrimSuffix(strings.TrimPrefix(spec, "<"), ">")
	if len(spec) > maxPath {
		return nil, &Error{Input: in, Kind: Email, Reason: AddressTooLong}
	}
	return &Recipient{Kind: Email, Input: in, Name: a.Name, Address: spec}, nil
}

// asciiDomain converts a domain to lower-case A-labels and checks that it
// is a host name a mail can be routed to. The returned error's Input is
// left for the caller to fill in.
func asciiDomain(domain string) (string, *Error) {
	if strings.HasPrefix(domain, "[") {
		return "", &Error{Reason: InvalidDomain, Detail: domain}
	}
	ascii, err := idna.Lookup.ToASCII(domain)
	if err != nil {
		if isASCII(domain) {
			return "", &Error{Reason: InvalidDomain, Detail: domain, Err: err}
		}
		return "", &Error{Reason: IDNAError, Detail: domain, Err: err}
	}
	ascii = strings.ToLower(ascii)
	labels := strings.Split(ascii, ".")
	if len(ascii) > maxDomain || len(labels) < 2 {
		return "", &Error{Reason: InvalidDomain, Detail: domain}
	}
	for _, l := range labels {
		if l == "" || len(l) > maxLabel || l[0] == '-' || l[len(l)-1] == '-' {
			return "", &Error{Reason: InvalidDomain, Detail: domain}
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return "", &Error{Reason: InvalidDomain, Detail: domain}
			}
		}
	}
	if strings.IndexFunc(labels[len(labels)-1], notDigit) < 0 {
		// An all-numeric top-level label is an IP address, not a host name.
		return "", &Error{Reason: InvalidDomain, Detail: domain}
	}
	return ascii, nil
}

// Domains is a set of mail domains, such as the institution's own. The zero
// value is the empty set.
type Domains struct {
	set map[string]bool
}

// NewDomains returns the set of the given domains, each converted to
// lower-case A-labels. An invalid name is an *Error.
func NewDomains(names ...string) (Domains, error) {
	d := Domains{set: make(map[string]bool, len(names))}
	for _, n := range names {
		ascii, err := asciiDomain(strings.TrimSpace(n))
		if err != nil {
			err.Input = n
			return Domains{}, err
		}
		d.set[ascii] = true
	}
	return d, nil
}

// Contains reports whether domain (A-labels, lower case, as in
// Recipient.Domain) is in the set. Only exact names match: a subdomain is
// internal only when it is listed itself.
func (d Domains) Contains(domain string) bool {
	return d.set[domain]
}

// Len returns the number of domains in the set.
func (d Domains) Len() int { return len(d.set) }

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
