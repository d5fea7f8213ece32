package recipient

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"sikkermail/internal/i18n"
)

// FuzzParse checks that Parse never panics, that every rejection is an
// *Error with a reason and a sentence, and that a parsed recipient's
// canonical form parses to the same recipient.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"jens@example.dk", "Jens Hansen <jens@example.dk>", "post@københavn.dk",
		"010190-1234", "0101900002", "290200-4000", "DK 29 40 34 73", "29403473",
		`"a b"@example.dk`, "a@[1.2.3.4]", "=?utf-8?q?S=C3=B8ren?= <s@x.dk>",
		"a@b.c, d@e.f", "", "\x00", "DK", "--", "@", "<>", "a@xn--.dk",
	} {
		f.Add(s)
	}
	internal, _ := NewDomains("hoejskole.example")
	p := Parser{Internal: internal}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := p.Parse(s)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Reason == "" {
				t.Fatalf("Parse(%q): %T %v, want *Error with a reason", s, err, err)
			}
			if msg := i18n.Danish.Error(err); msg == "" || msg == e.Localize().Key {
				t.Fatalf("Parse(%q): no Danish sentence for %s", s, e.Reason)
			}
			return
		}
		canon := r.String()
		if !utf8.ValidString(canon) && utf8.ValidString(s) {
			t.Fatalf("Parse(%q): canonical form %q is not UTF-8", s, canon)
		}
		if strings.ContainsAny(canon, "\r\n") {
			t.Fatalf("Parse(%q): canonical form %q has a line break", s, canon)
		}
		again, err := p.Parse(canon)
		if err != nil {
			t.Fatalf("Parse(%q) = %q, which does not parse: %v", s, canon, err)
		}
		if again.Kind != r.Kind || again.String() != canon || again.Internal != r.Internal {
			t.Fatalf("Parse(%q) = %q (%v), re-parsed as %q (%v)", s, canon, r.Kind, again.String(), again.Kind)
		}
	})
}

// FuzzSplitList: pasted text never panics SplitList, and every piece is
// trimmed and non-empty.
func FuzzSplitList(f *testing.F) {
	for _, s := range []string{"a@b.dk; c@d.dk", `"x;y" <a@b.dk>;c@d.dk`, "Hansen, Jens <j@x.dk>", ";;\n;", `"unclosed; a@b.dk`, "<a;b>; c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, piece := range SplitList(s) {
			if piece == "" || piece != strings.TrimSpace(piece) {
				t.Fatalf("piece %q", piece)
			}
		}
	})
}
