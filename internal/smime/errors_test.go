package smime

import (
	"strings"
	"testing"

	"sikkermail/internal/i18n"
)

// TestSentences checks that every reason has a sentence in each language
// that names what it is about.
func TestSentences(t *testing.T) {
	for _, r := range Reasons {
		e := &Error{Reason: r, Subject: "jens@kommune.example", Detail: "2022-01-01"}
		for _, l := range i18n.Langs {
			if !l.Has(e.Localize().Key) {
				t.Errorf("%s has no text for %s", l, e.Localize().Key)
				continue
			}
			s := l.Error(e)
			if !strings.Contains(s, "jens@kommune.example") || !strings.HasSuffix(s, ".") {
				t.Errorf("%s %s: %q does not name the subject in a sentence", l, r, s)
			}
		}
	}
}
