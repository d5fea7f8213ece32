package submit

import (
	"strings"
	"testing"

	"sikkermail/internal/i18n"
)

// TestMeanings: every enhanced status code named has its words, and the
// server's own words are in no sentence.
func TestMeanings(t *testing.T) {
	for code, name := range meanings {
		for _, l := range i18n.Langs {
			if !l.Has("submit.meaning." + name) {
				t.Errorf("%s: %s has no text for %s", l, code, name)
			}
		}
	}
	e := &Error{Server: "smtp.example:587", Stage: StageData, Code: 554, Enhanced: "5.7.1"}
	if s := i18n.Danish.Error(e); !strings.Contains(s, "554 5.7.1 (serverens regler tillader det ikke)") {
		t.Errorf("%q", s)
	}
}
