package mailtest

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"sikkermail/internal/xoauth2"
)

// XOAuth2 is the name of Google's and Microsoft's OAuth 2.0 mechanism.
const XOAuth2 = xoauth2.Mechanism

var errCredentials = &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "Authentication credentials invalid"}

// saslServer is a server for mech (PLAIN, LOGIN or XOAUTH2) checking
// against users (login → password or bearer token) or, for XOAUTH2 when
// tokens is set, asking tokens whose a bearer token is (an
// authorization server's introspection): the token's owner logs in as
// user= when that is the owner, or, for an app's token, when may(app,
// user) (a mailbox it was granted); ok is told who logged in.
func saslServer(mech string, users map[string]string, tokens func(token string) (string, bool), may func(app, user string) bool, ok func(user string)) (sasl.Server, error) {
	check := func(user, secret string) error {
		if pw, found := users[user]; !found || pw != secret {
			return errCredentials
		}
		ok(user)
		return nil
	}
	switch mech {
	case sasl.Plain:
		return sasl.NewPlainServer(func(identity, username, password string) error {
			if identity != "" && identity != username {
				return errors.New("identity must be the username")
			}
			return check(username, password)
		}), nil
	case sasl.Login:
		return &loginServer{check: check}, nil
	case XOAuth2:
		if tokens == nil {
			return &xoauth2Server{check: check}, nil
		}
		return &xoauth2Server{check: func(user, token string) error {
			owner, active := tokens(token)
			if !active || !strings.EqualFold(owner, user) && (may == nil || !isApp(owner) || !may(strings.ToLower(owner), strings.ToLower(user))) {
				return errCredentials
			}
			ok(strings.ToLower(user))
			return nil
		}}, nil
	}
	return nil, fmt.Errorf("mechanism %s not supported", mech)
}

// loginServer is the server side of the obsolete but common LOGIN
// mechanism: "Username:", "Password:".
type loginServer struct {
	check    func(user, password string) error
	user     string
	gotFirst bool
}

func (s *loginServer) Next(resp []byte) ([]byte, bool, error) {
	switch {
	case !s.gotFirst && resp == nil:
		s.gotFirst = true
		return []byte("Username:"), false, nil
	case !s.gotFirst:
		s.gotFirst = true
		s.user = string(resp)
		return []byte("Password:"), false, nil
	case s.user == "":
		s.user = string(resp)
		return []byte("Password:"), false, nil
	}
	return nil, true, s.check(s.user, string(resp))
}

// xoauth2Server reads "user=U^Aauth=Bearer T^A^A".
type xoauth2Server struct {
	check func(user, token string) error
}

func (s *xoauth2Server) Next(resp []byte) ([]byte, bool, error) {
	if resp == nil {
		return []byte{}, false, nil
	}
	var user, token string
	for _, f := range bytes.Split(resp, []byte{1}) {
		if u, ok := bytes.CutPrefix(f, []byte("user=")); ok {
			user = string(u)
		}
		if t, ok := bytes.CutPrefix(f, []byte("auth=Bearer ")); ok {
			token = string(t)
		}
	}
	return nil, true, s.check(user, token)
}
