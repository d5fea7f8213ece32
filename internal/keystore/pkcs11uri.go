package keystore

import (
	"net/url"
	"strings"

	"sikkermail/internal/smime"
)

// token is an identity on a PKCS #11 token (an HSM), as an RFC 7512
// URI names it: pkcs11:token=LABEL;object=LABEL?module-path=PATH. The
// private key and the certificate are the objects with that label; the
// PIN comes from the password source, as a PKCS #12 file's password
// does.
type token struct {
	module, token, object string
}

// IsPKCS11 reports whether ref names an identity on a PKCS #11 token.
func IsPKCS11(ref string) bool { return strings.HasPrefix(ref, "pkcs11:") }

// parseToken reads a PKCS #11 URI; module-path is needed (there is no
// system default to fall back to), and token and object.
func parseToken(uri string) (token, error) {
	rest, _ := strings.CutPrefix(uri, "pkcs11:")
	path, query, _ := strings.Cut(rest, "?")
	var t token
	for _, attr := range strings.Split(path, ";") {
		k, v, _ := strings.Cut(attr, "=")
		v, err := url.PathUnescape(v)
		if err != nil {
			return token{}, &Error{Reason: BadToken, File: uri, Err: err}
		}
		switch k {
		case "token":
			t.token = v
		case "object":
			t.object = v
		}
	}
	for _, attr := range strings.Split(query, "&") {
		k, v, _ := strings.Cut(attr, "=")
		if k == "module-path" {
			var err error
			if t.module, err = url.PathUnescape(v); err != nil {
				return token{}, &Error{Reason: BadToken, File: uri, Err: err}
			}
		}
	}
	if t.module == "" || t.token == "" || t.object == "" {
		return token{}, &Error{Reason: BadToken, File: uri}
	}
	return t, nil
}

// OpenToken loads the identity on the PKCS #11 token uri names, with the
// PIN from the source spec (keyring: by the URI). Its key stays in the
// token: signing and decrypting are done there.
func OpenToken(uri, spec string) (*smime.Identity, error) {
	t, err := parseToken(uri)
	if err != nil {
		return nil, err
	}
	pin, err := Secret(spec, uri)
	if err != nil {
		return nil, err
	}
	return t.open(uri, string(pin))
}
