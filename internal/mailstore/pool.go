package mailstore

import (
	"crypto/sha256"
	"encoding/hex"
	"net"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"

	"sikkermail/internal/idle"
)

// Pool keeps IMAP sessions logged in between uses, so that a batch of
// mails (Sent copies, receipts) to one account opens one connection
// instead of one each. A session unused for Idle is logged out. Logins
// by XOAUTH2 are not kept: the server checks the token only when it is
// given, and a kept session would outlive a revoked sign-in.
type Pool struct {
	// Idle is how long a session stays open unused (default 30 s).
	Idle time.Duration

	kept idle.Pool[*keptSession]
}

type keptSession struct {
	c    *imapclient.Client
	conn net.Conn
}

// key names the server and login a session is for.
func (s Server) key(acc Account) string {
	sum := sha256.Sum256([]byte(acc.Secret))
	return string(s.Security) + " " + s.Addr + " " + acc.Username + " " + hex.EncodeToString(sum[:8])
}

// take returns a kept session for key, nil when there is none.
func (p *Pool) take(key string) *keptSession {
	k, _ := p.kept.Take(key)
	return k
}

// keep keeps k for key, logging it out after Idle.
func (p *Pool) keep(key string, k *keptSession) {
	p.kept.Keep(key, k, p.Idle, (*keptSession).logout)
}

// Close logs every kept session out.
func (p *Pool) Close() { p.kept.Close() }

// logout says goodbye, waiting at most ten seconds for the answer.
func (k *keptSession) logout() {
	k.conn.SetDeadline(time.Now().Add(10 * time.Second))
	k.c.Logout().Wait()
	k.c.Close()
}
