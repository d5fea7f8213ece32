// Package xoauth2 is the client side of XOAUTH2, the OAuth 2.0 bearer
// token mechanism Microsoft 365 and Google use for SMTP and IMAP, which
// go-sasl does not carry. Getting the token (the OAuth flow) is the
// institution's identity provider's business; the token comes from the
// keystore like a password.
package xoauth2

import "github.com/emersion/go-sasl"

// Mechanism is the SASL name.
const Mechanism = "XOAUTH2"

type client struct{ user, token string }

// NewClient returns a SASL client that logs user in with an access token.
func NewClient(user, token string) sasl.Client { return &client{user, token} }

func (x *client) Start() (string, []byte, error) {
	return Mechanism, []byte("user=" + x.user + "\x01auth=Bearer " + x.token + "\x01\x01"), nil
}

// Next answers a challenge, which the server sends only to report an
// error (a JSON status); the empty reply lets it finish with its code.
func (x *client) Next([]byte) ([]byte, error) { return []byte{}, nil }
