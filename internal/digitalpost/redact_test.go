package digitalpost

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// A refusal's words never carry the letter on: what a validator quotes,
// CPR and CVR numbers, and any other run of the letter's own text are
// left out of the sentence that is shown and kept.
func TestRedact(t *testing.T) {
	memo := []byte(`<memo:Message><memo:Label>Afgørelse om din SU-sag</memo:Label><memo:RecipientID>0101901234</memo:RecipientID>` +
		`<memo:Content>JVBERi0xLjcKJcfsj6IKNSAwIG9iago8PC9MZW5ndGggNiAwIFI+PgpzdHJlYW0K</memo:Content>` +
		`<memo:Text>Hermed afgørelsen om din ansøgning om SU</memo:Text></memo:Message>`)
	for _, tc := range []struct{ detail, want string }{
		{"-:1: element Content: Schemas validity error : Element '{urn:memo}Content': 'JVBERi0xLjcKJcfsj6IKNSAwIG9iago8PC9MZW5ndGggNiAwIFI' is not a valid value of the atomic type 'xs:base64Binary'.",
			"-:1: element Content: Schemas validity error : Element …: … is not a valid value of the atomic type …."},
		{"recipient 0101901234 is not registered", "recipient … is not registered"},
		{"the text Hermed afgørelsen om din ansøgning is refused", ""},
		{"sender 12345678 is not this system's", "sender … is not this system's"},
		{"Content-Type must be application/xml", "Content-Type must be application/xml"},
	} {
		if got := Redact(tc.detail, memo); got != tc.want {
			t.Errorf("%q:\ngot  %q\nwant %q", tc.detail, got, tc.want)
		}
	}
	long := Redact(strings.Repeat("æ", 300), nil)
	if len(long) > 200 || !utf8.ValidString(long) {
		t.Errorf("%d bytes, valid %v", len(long), utf8.ValidString(long))
	}
}
