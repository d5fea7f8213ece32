package mailstore

import (
	"crypto/sha256"
	"encoding/hex"
	"net"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"
)

// Pool keeps IMAP sessions logged in between uses, so that a batch of
// mails (Sent copies, receipts) to one account opens one connection
// instead of one each. A session unused for Idle is logged out. Logins
// by XOAUTH2 are not kept: the server checks the token only when it is
// given, and a kept session would outlive a revoked sign-in.
type Pool struct {
	// Idle is how long a session stays open unused (default 30 s).
	Idle time.Duration

	mu   sync.Mutex
	idle map[string][]*keptSession
}

type keptSession struct {
	c     *imapclient.Client
	conn  net.Conn
	timer *time.Timer
}

// key names the server and login a session is for.
func (s Server) key(acc Account) string {
	sum := sha256.Sum256([]byte(acc.Secret))
	return string(s.Security) + " " + s.Addr + " " + acc.Username + " " + hex.EncodeToString(sum[:8])
}

// take returns a kept session for key, nil when there is none.
func (p *Pool) take(key string) *keptSession {
	p.mu.Lock()
	defer p.mu.Unlock()
	for list := p.idle[key]; len(list) > 0; list = p.idle[key] {
		k := list[len(list)-1]
		p.idle[key] = list[:len(list)-1]
		if k.timer.Stop() {
			return k
		}
	}
	return nil
}

// keep keeps k for key, logging it out after Idle.
func (p *Pool) keep(key string, k *keptSession) {
	idle := p.Idle
	if idle <= 0 {
		idle = 30 * time.Second
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.idle == nil {
		p.idle = map[string][]*keptSession{}
	}
	k.timer = time.AfterFunc(idle, func() {
		p.mu.Lock()
		list := p.idle[key]
		for i, x := range list {
			if x == k {
				p.idle[key] = append(list[:i:i], list[i+1:]...)
				break
			}
		}
		p.mu.Unlock()
		k.logout()
	})
	p.idle[key] = append(p.idle[key], k)
}

// Close logs every kept session out.
func (p *Pool) Close() {
	p.mu.Lock()
	all := p.idle
	p.idle = nil
	p.mu.Unlock()
	for _, list := range all {
		for _, k := range list {
			if k.timer.Stop() {
				k.logout()
			}
		}
	}
}

// logout says goodbye, waiting at most ten seconds for the answer.
func (k *keptSession) logout() {
	k.conn.SetDeadline(time.Now().Add(10 * time.Second))
	k.c.Logout().Wait()
	k.c.Close()
}
