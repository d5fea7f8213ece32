package submit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"time"

	"sikkermail/internal/idle"
)

// Pool keeps submission sessions open between mails, so that a batch of
// mails to one server as one login goes over one connection (TLS and
// AUTH once) instead of one each. A session unused for Idle is closed;
// one the server has closed meanwhile is noticed before use (RSET) and
// replaced. A session is used by one mail at a time; a Pool by any
// number of goroutines.
//
// Sessions logged in by XOAUTH2 with a user's token are not kept: the
// server checks the bearer token only at AUTH, so a kept session would
// outlive a revoked sign-in; each such mail logs in again. A service's
// own token (Server.Service) is kept: the service is not signed out.
type Pool struct {
	// Idle is how long a session stays open unused (default 30 s).
	Idle time.Duration

	kept idle.Pool[*session]
}

// key names the server and login a session is for: a changed password
// or token is another login.
func (s Server) key() string {
	sum := sha256.Sum256([]byte(s.Secret))
	return string(s.Security) + " " + s.Addr + " " + string(s.Mechanism) + " " + s.Username + " " + hex.EncodeToString(sum[:8])
}

// Send is the package's Send over a kept session when one is open for s.
func (p *Pool) Send(ctx context.Context, s Server, from string, to []string, msg Message) error {
	if s.Mechanism == XOAuth2 && !s.Service {
		return Send(ctx, s, from, to, msg)
	}
	sess := p.take(ctx, s)
	if sess == nil {
		var err error
		if sess, err = s.open(ctx); err != nil {
			return err
		}
	}
	if err := s.transact(sess.c, from, to, msg); err != nil {
		sess.close()
		return err
	}
	p.keep(s, sess)
	return nil
}

// take returns a kept session for s that still answers, bound to ctx;
// nil when there is none.
func (p *Pool) take(ctx context.Context, s Server) *session {
	for {
		sess, ok := p.kept.Take(s.key())
		if !ok {
			return nil
		}
		sess.unbind = context.AfterFunc(ctx, func() { sess.conn.Close() })
		if err := sess.c.Reset(); err != nil {
			sess.close() // the server has let it go
			continue
		}
		return sess
	}
}

// keep keeps a session whose mail went, closing it after Idle.
func (p *Pool) keep(s Server, sess *session) {
	sess.unbind()
	p.kept.Keep(s.key(), sess, p.Idle, func(sess *session) { sess.c.Quit() })
}

// Close closes every kept session.
func (p *Pool) Close() { p.kept.Close() }
