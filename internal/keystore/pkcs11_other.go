//go:build !cgo

package keystore

import (
	"errors"

	"sikkermail/internal/smime"
)

// PKCS11Available reports whether this build reaches PKCS #11 tokens
// (it needs cgo to load the token's module).
const PKCS11Available = false

func (t token) open(uri, _ string) (*smime.Identity, error) {
	return nil, &Error{Reason: TokenUnreachable, File: uri, Err: errors.New("this build has no PKCS #11: build with cgo")}
}
