//go:build cgo

package keystore

import (
	"crypto/rsa"
	"errors"
	"sync"

	"github.com/ThalesGroup/crypto11"

	"sikkermail/internal/smime"
)

// PKCS11Available reports whether this build reaches PKCS #11 tokens
// (it needs cgo to load the token's module).
const PKCS11Available = true

// contexts are the tokens opened, by module and label: a module is
// initialised once per process.
var (
	contextMu sync.Mutex
	contexts  = map[[2]string]*crypto11.Context{}
)

func (t token) open(uri, pin string) (*smime.Identity, error) {
	contextMu.Lock()
	ctx, ok := contexts[[2]string{t.module, t.token}]
	if !ok {
		var err error
		if ctx, err = crypto11.Configure(&crypto11.Config{Path: t.module, TokenLabel: t.token, Pin: pin}); err != nil {
			contextMu.Unlock()
			return nil, &Error{Reason: TokenUnreachable, File: uri, Err: err}
		}
		contexts[[2]string{t.module, t.token}] = ctx
	}
	contextMu.Unlock()
	key, err := ctx.FindKeyPair(nil, []byte(t.object))
	if err == nil && key == nil {
		err = errors.New("no key with that label")
	}
	if err != nil {
		return nil, &Error{Reason: TokenUnreachable, File: uri, Err: err}
	}
	cert, err := ctx.FindCertificate(nil, []byte(t.object), nil)
	if err == nil && cert == nil {
		err = errors.New("no certificate with that label")
	}
	if err != nil {
		return nil, &Error{Reason: TokenUnreachable, File: uri, Err: err}
	}
	if _, ok := key.Public().(*rsa.PublicKey); !ok {
		// ECDH, which EC recipients need, is not done through the token.
		return nil, &Error{Reason: UnsupportedKey, File: uri, Err: errors.New("only RSA keys are used from a token")}
	}
	return &smime.Identity{Cert: cert, Key: key}, nil
}
