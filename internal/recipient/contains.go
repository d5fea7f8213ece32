package recipient

import (
	"regexp"
	"strings"
)

// cprLike is DDMMYY and the four digits, with what people and word
// processors put between: nothing, a hyphen, an en or em dash, a
// non-breaking hyphen, a slash, dots or spaces (also between day, month
// and year: 01.01.90-1009).
var cprLike = regexp.MustCompile(`(^|[^0-9])([0-9]{2})[ .]?([0-9]{2})[ .]?([0-9]{2})[ \x{00A0}]*[-\x{2010}\x{2011}\x{2012}\x{2013}\x{2014}/.]?[ \x{00A0}]*([0-9]{4})($|[^0-9])`)

// digitsFolded turns fullwidth and other Unicode decimal digits into
// ASCII ones.
var digitsFolded = strings.NewReplacer("０", "0", "１", "1", "２", "2", "３", "3", "４", "4", "５", "5", "６", "6", "７", "7", "８", "8", "９", "9")

// ContainsCPR reports whether text contains what looks like a CPR number with
// a birth date that exists, however it is written. The subject is never
// encrypted in transport, and a mail to internal addresses only is not
// encrypted at all, so the user is warned before sending one.
func ContainsCPR(text string) bool {
	text = digitsFolded.Replace(text)
	for _, m := range cprLike.FindAllStringSubmatch(text, -1) {
		if r, err := Parse(m[2] + m[3] + m[4] + "-" + m[5]); err == nil && r.Kind == CPR {
			return true
		}
	}
	return false
}
