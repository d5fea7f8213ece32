package digitalpost

import "sikkermail/internal/memoxsd"

// ErrNoValidator means xmllint (Debian's libxml2-utils) is not installed.
var ErrNoValidator = memoxsd.ErrNoValidator

// Validate checks a MeMo message against the official schemas with
// xmllint (memoxsd.Validate).
func Validate(memo []byte) error { return memoxsd.Validate(memo) }
