package recipient

import (
	"errors"
	"strings"
	"testing"
	"time"

	"sikkermail/internal/i18n"
)

func mustParse(t *testing.T, p Parser, s string) *Recipient {
	t.Helper()
	r, err := p.Parse(s)
	if err != nil {
		t.Fatalf("Parse(%q): %v", s, err)
	}
	return r
}

func wantReason(t *testing.T, s string, want Reason) *Error {
	t.Helper()
	r, err := Parse(s)
	if err == nil {
		t.Fatalf("Parse(%q) = %+v, want error %s", s, r, want)
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("Parse(%q) error %T %v, want *Error", s, err, err)
	}
	if e.Reason != want {
		t.Fatalf("Parse(%q) reason %s (%v), want %s", s, e.Reason, err, want)
	}
	return e
}

// later is a parser for a day when every birth date of the century table
// has passed.
var later = Parser{Now: func() time.Time { return time.Date(2060, 1, 1, 0, 0, 0, 0, time.UTC) }}

func TestCPRCentury(t *testing.T) {
	// Every boundary of the century table: for each seventh digit, the
	// first and last two-digit year of each band.
	tests := []struct {
		in   string
		year int
	}{
		{"010100-0000", 1900}, {"010199-0000", 1999},
		{"010100-3000", 1900}, {"010199-3000", 1999},
		{"010136-1000", 1936}, {"010137-2000", 1937},
		{"010100-4000", 2000}, {"010136-4000", 2036},
		{"010137-4000", 1937}, {"010199-4000", 1999},
		{"010100-9000", 2000}, {"010136-9000", 2036},
		{"010137-9000", 1937}, {"010199-9000", 1999},
		{"010100-5000", 2000}, {"010157-5000", 2057},
		{"010158-5000", 1858}, {"010199-5000", 1899},
		{"010157-8000", 2057}, {"010158-8000", 1858},
		{"010136-6000", 2036}, {"010137-7000", 2037},
		{"010199-8000", 1899}, {"010100-8000", 2000},
	}
	for _, tt := range tests {
		r := mustParse(t, later, tt.in)
		if r.Kind != CPR {
			t.Errorf("%s: kind %v, want cpr", tt.in, r.Kind)
		}
		if got := r.Birthdate.Year(); got != tt.year {
			t.Errorf("%s: year %d, want %d", tt.in, got, tt.year)
		}
	}
	// The table itself, exhaustively against its definition.
	for d := 0; d <= 9; d++ {
		for yy := 0; yy <= 99; yy++ {
			y := cprYear(yy, d)
			if y%100 != yy || y < 1858 || y > 2057 {
				t.Fatalf("cprYear(%d, %d) = %d", yy, d, y)
			}
			switch {
			case d <= 3 && y/100 != 19,
				(d == 4 || d == 9) && (yy <= 36) != (y/100 == 20),
				d >= 5 && d <= 8 && (yy <= 57) != (y/100 == 20),
				d >= 5 && d <= 8 && yy > 57 && y/100 != 18:
				t.Errorf("cprYear(%d, %d) = %d", yy, d, y)
			}
		}
	}
}

func TestCPRDates(t *testing.T) {
	valid := []struct {
		in   string
		date string
	}{
		{"290200-4000", "2000-02-29"}, // 2000 is a leap year
		{"290204-0000", "1904-02-29"},
		{"290296-1234", "1996-02-29"},
		{"290236-4000", "2036-02-29"},
		{"290256-5000", "2056-02-29"},
		{"310190-0000", "1990-01-31"},
		{"311299-5000", "1899-12-31"},
		{"0101900002", "1990-01-01"},
		{" 010190-0002 ", "1990-01-01"},
	}
	for _, tt := range valid {
		r := mustParse(t, later, tt.in)
		if got := r.Birthdate.Format(time.DateOnly); got != tt.date {
			t.Errorf("%q: birthdate %s, want %s", tt.in, got, tt.date)
		}
		if strings.ContainsAny(r.Number, "- ") || len(r.Number) != 10 {
			t.Errorf("%q: number %q", tt.in, r.Number)
		}
	}
	invalid := []struct{ in, detail string }{
		{"290200-0000", "29.02.1900"}, // 1900 is not a leap year
		{"290297-1234", "29.02.1997"},
		{"290258-5000", "29.02.1858"},
		{"290201-4000", "29.02.2001"},
		{"300290-1234", "30.02.1990"},
		{"310490-1234", "31.04.1990"},
		{"000190-1234", "00.01.1990"},
		{"320190-1234", "32.01.1990"},
		{"011390-1234", "01.13.1990"},
		{"010090-1234", "01.00.1990"},
	}
	for _, tt := range invalid {
		e := wantReason(t, tt.in, InvalidDate)
		if e.Detail != tt.detail {
			t.Errorf("%q: detail %q, want %q", tt.in, e.Detail, tt.detail)
		}
	}
}

func TestCPRMod11IsInformation(t *testing.T) {
	ok := mustParse(t, Parser{}, "070761-4285")
	if !ok.Mod11 || ok.Notes() != nil {
		t.Errorf("070761-4285: Mod11 %v notes %v, want true and none", ok.Mod11, ok.Notes())
	}
	r := mustParse(t, Parser{}, "010190-1234")
	if r.Mod11 {
		t.Fatalf("010190-1234 passes modulus 11; the test needs one that fails")
	}
	notes := r.Notes()
	if len(notes) != 1 {
		t.Fatalf("notes %v, want one", notes)
	}
	for _, l := range i18n.Langs {
		if s := l.M(notes[0]); !strings.Contains(s, "010190-1234") || s == notes[0].Key {
			t.Errorf("%s note %q does not name the number", l, s)
		}
	}
	if got := r.String(); got != "010190-1234" {
		t.Errorf("String() = %q", got)
	}
}

func TestCVR(t *testing.T) {
	for _, in := range []string{"29403473", "10150817", "DK 25 31 37 63", "dk13585628", "DK-55133018", "3595 4716"} {
		r := mustParse(t, Parser{}, in)
		if r.Kind != CVR || len(r.Number) != 8 || r.String() != r.Number {
			t.Errorf("%q: %+v", in, r)
		}
	}
	wantReason(t, "12345678", BadCheckDigit)
	wantReason(t, "29403474", BadCheckDigit)
	wantReason(t, "DK29403472", BadCheckDigit)
	wantReason(t, "02940347", LeadingZero)
	wantReason(t, "DK1234567", WrongLength)
	wantReason(t, "DK123456789", WrongLength)
	wantReason(t, "DK", WrongLength)
	wantReason(t, "DK12AB5678", NotRecognised)
}

func TestNumbers(t *testing.T) {
	e := wantReason(t, "1234567", WrongLength)
	if e.Detail != "7" {
		t.Errorf("detail %q, want 7", e.Detail)
	}
	wantReason(t, "123456789", WrongLength)
	wantReason(t, "12345678901", WrongLength)
	wantReason(t, "+45 12 34 56 78", NotRecognised)
	wantReason(t, "hello", NotRecognised)
	wantReason(t, "----", NotRecognised)
	wantReason(t, "", Empty)
	wantReason(t, "   ", Empty)
	if r := mustParse(t, Parser{}, "0101901234\n"); r.String() != "010190-1234" { // a trailing newline is space
		t.Errorf("got %q", r.String())
	}
	wantReason(t, "jens\x00@example.dk", ControlCharacter)
}

func TestEmail(t *testing.T) {
	internal, err := NewDomains("hoejskole.example", "Kommune.EXAMPLE")
	if err != nil {
		t.Fatal(err)
	}
	p := Parser{Internal: internal}
	tests := []struct {
		in, addr, name string
		internal       bool
	}{
		{"jens@example.dk", "jens@example.dk", "", false},
		{"Jens@Example.DK", "Jens@example.dk", "", false}, // local part keeps its case
		{"Jens Hansen <jens.hansen@example.dk>", "jens.hansen@example.dk", "Jens Hansen", false},
		{`"Hansen, Jens" <jens@example.dk>`, "jens@example.dk", "Hansen, Jens", false},
		{"=?utf-8?q?S=C3=B8ren?= <soren@example.dk>", "soren@example.dk", "Søren", false},
		{"post@københavn.dk", "post@xn--kbenhavn-54a.dk", "", false},
		{"post@KØBENHAVN.DK", "post@xn--kbenhavn-54a.dk", "", false},
		{"post@xn--kbenhavn-54a.dk", "post@xn--kbenhavn-54a.dk", "", false},
		{`"john doe"@example.dk`, `"john doe"@example.dk`, "", false},
		{"a+tag@sub.example.dk", "a+tag@sub.example.dk", "", false},
		{"sikkerpost@hoejskole.example", "sikkerpost@hoejskole.example", "", true},
		{"x@kommune.example", "x@kommune.example", "", true},
		{"x@sub.hoejskole.example", "x@sub.hoejskole.example", "", false},
		{strings.Repeat("a", 64) + "@example.dk", strings.Repeat("a", 64) + "@example.dk", "", false},
	}
	for _, tt := range tests {
		r := mustParse(t, p, tt.in)
		if r.Kind != Email || r.Address != tt.addr || r.Name != tt.name || r.Internal != tt.internal {
			t.Errorf("%q: got kind %v addr %q name %q internal %v; want %q %q %v",
				tt.in, r.Kind, r.Address, r.Name, r.Internal, tt.addr, tt.name, tt.internal)
		}
		// The canonical form parses to itself.
		again := mustParse(t, p, r.String())
		if again.Address != r.Address {
			t.Errorf("%q: re-parse of %q gives %q", tt.in, r.String(), again.Address)
		}
	}

	bad := []struct {
		in   string
		want Reason
	}{
		{"jens", NotRecognised},
		{"jens@", NotAnAddress},
		{"@example.dk", NotAnAddress},
		{"jens@@example.dk", NotAnAddress},
		{"jens..hansen@example.dk", NotAnAddress},
		{".jens@example.dk", NotAnAddress},
		{"jens hansen@example.dk", NotAnAddress},
		{"<jens@example.dk", NotAnAddress},
		{"a@example.dk, b@example.dk", MultipleAddresses},
		{"a@example.dk; b@example.dk", NotAnAddress},
		{"søren@example.dk", NonASCIILocalPart},
		{strings.Repeat("a", 65) + "@example.dk", LocalPartTooLong},
		{strings.Repeat("a", 64) + "@" + strings.Repeat(strings.Repeat("b", 62)+".", 3) + "dk", AddressTooLong},
		{"jens@localhost", InvalidDomain},
		{"jens@192.168.1.1", InvalidDomain},
		{"jens@[192.168.1.1]", InvalidDomain},
		{"jens@-example.dk", InvalidDomain},
		{"jens@example-.dk", InvalidDomain},
		{"jens@exa_mple.dk", InvalidDomain},
		{"jens@a\u200db.dk", IDNAError},
		{"jens@" + strings.Repeat("a", 64) + ".dk", InvalidDomain},
		{"jens@xn--zz.dk", InvalidDomain},
	}
	for _, tt := range bad {
		wantReason(t, tt.in, tt.want)
	}
}

func TestNewDomainsRejectsInvalid(t *testing.T) {
	if _, err := NewDomains("ok.example", "not a domain"); err == nil {
		t.Fatal("NewDomains accepted \"not a domain\"")
	}
	d, err := NewDomains("Ærø.example")
	if err != nil {
		t.Fatal(err)
	}
	if !d.Contains("xn--r-dia0j.example") && !d.Contains("xn--r-xia.example") {
		r := mustParse(t, Parser{Internal: d}, "a@ærø.example")
		if !r.Internal {
			t.Errorf("a@ærø.example is not internal with domain Ærø.example (%s)", r.Domain())
		}
	}
}

// TestSentences checks that every reason has a sentence in each language
// that names the input.
func TestSentences(t *testing.T) {
	for _, reason := range Reasons {
		e := &Error{Input: "INPUT-42", Reason: reason, Detail: "7"}
		for _, l := range i18n.Langs {
			key := e.Localize().Key
			if !l.Has(key) {
				t.Errorf("%s has no text for %s", l, key)
				continue
			}
			s := l.Error(e)
			if reason != Empty && !strings.Contains(s, "INPUT-42") {
				t.Errorf("%s %s: %q does not name the input", l, reason, s)
			}
			if !strings.HasSuffix(s, ".") {
				t.Errorf("%s %s: %q is not a sentence", l, reason, s)
			}
		}
	}
	if da, en := i18n.Danish.Error(&Error{Input: "x", Reason: InvalidDate, Detail: "31.02.1990"}),
		i18n.English.Error(&Error{Input: "x", Reason: InvalidDate, Detail: "31.02.1990"}); da == en {
		t.Errorf("Danish and English sentences are the same: %q", da)
	}
}

// TestInternalRouting: an address in the institution's own domain whose
// local part a mail server could route elsewhere is refused, so that it
// can never pass as internal and leave unencrypted; the same local parts
// outside the institution are ordinary external addresses (encrypted to
// their own certificate, or red).
func TestInternalRouting(t *testing.T) {
	d, err := NewDomains("hoejskole.example")
	if err != nil {
		t.Fatal(err)
	}
	p := Parser{Internal: d}
	for _, in := range []string{
		"jens.hansen%kommune.example@hoejskole.example",
		`"jens.hansen@kommune.example"@hoejskole.example`,
		"kommune.example!jens.hansen@hoejskole.example",
		`"jens hansen"@hoejskole.example`,
		`Jens <"jens.hansen@kommune.example"@hoejskole.example>`,
		"jens.hansen%kommune.example@HOEJSKOLE.example",
		`"kommune.example!jens"@hoejskole.example`,
		`"jens\@kommune.example"@hoejskole.example`,
	} {
		_, err := p.Parse(in)
		var e *Error
		if !errors.As(err, &e) || e.Reason != RoutingLocalPart {
			t.Errorf("%s: %v, want %s", in, err, RoutingLocalPart)
			continue
		}
		if s := i18n.Danish.Error(err); !strings.Contains(s, "sende mailen videre") || !strings.Contains(s, e.Detail) {
			t.Errorf("%s: %q", in, s)
		}
	}
	// Source routes and a second '@' are no address at all.
	for _, in := range []string{"<@hoejskole.example:jens@kommune.example>", "jens@kommune.example@hoejskole.example"} {
		if r, err := p.Parse(in); err == nil {
			t.Errorf("%s: parsed as %+v", in, r)
		}
	}
	// Ordinary internal addresses stay internal.
	for _, in := range []string{"jens.hansen@hoejskole.example", "o'brien@hoejskole.example", "sikkerpost-hr+sag123@hoejskole.example", "Jens <JENS@Hoejskole.Example>"} {
		if r := mustParse(t, p, in); !r.Internal {
			t.Errorf("%s: not internal", in)
		}
	}
	// The same local parts elsewhere are external, never internal.
	for _, in := range []string{"jens.hansen%hoejskole.example@kommune.example", `"a@hoejskole.example"@kommune.example`} {
		if r := mustParse(t, p, in); r.Internal {
			t.Errorf("%s: internal", in)
		}
	}
}

// TestCPRFuture: a birth date that has not come is no CPR number, said
// with the date.
func TestCPRFuture(t *testing.T) {
	p := Parser{Now: func() time.Time { return time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC) }}
	for _, in := range []string{"010136-4003", "0101578003", "021226-4000"} {
		_, err := p.Parse(in)
		var e *Error
		if !errors.As(err, &e) || e.Reason != FutureBirthdate || !strings.Contains(i18n.Danish.Error(err), "fremtiden") {
			t.Errorf("%s: %v", in, err)
		}
	}
	for _, in := range []string{"011226-4000", "010190-1009"} {
		mustParse(t, p, in)
	}
}

// TestCVRForms: what people write before a CVR number.
func TestCVRForms(t *testing.T) {
	for _, in := range []string{"21599336", "DK21599336", "DK 21599336", "DK-21599336", "DK: 21599336", "dk:21599336", "CVR 21599336", "CVR: 21599336", "CVR-nr. 21599336", "cvr nr 21599336", "CVR-nr.: 21 59 93 36"} {
		r := mustParse(t, Parser{}, in)
		if r.Kind != CVR || r.Number != "21599336" {
			t.Errorf("%q: %+v", in, r)
		}
	}
}

func TestSplitList(t *testing.T) {
	in := "Jens Hansen <jens.hansen@kommune.example>; \"Hansen; Anne\" <anne@firma.example>;kollega@hoejskole.example\n\n  Hansen, Jens <jh@x.example> ;"
	want := []string{"Jens Hansen <jens.hansen@kommune.example>", "\"Hansen; Anne\" <anne@firma.example>", "kollega@hoejskole.example", "\"Hansen, Jens\" <jh@x.example>"}
	if got := SplitList(in); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("%q", got)
	}
	for _, s := range SplitList(in) {
		if _, err := Parse(s); err != nil {
			t.Errorf("%q: %v", s, err)
		}
	}
}
