// Package idle keeps things open between uses for a while, by key: a
// session with a mail server, logged in, for the next mail of a batch.
package idle

import (
	"sync"
	"time"
)

// Pool keeps things of type T that are not in use, each closed once it
// has waited long enough unused. Safe for use by many goroutines.
type Pool[T any] struct {
	mu   sync.Mutex
	kept map[string][]*entry[T]
}

type entry[T any] struct {
	v     T
	close func(T)
	timer *time.Timer
}

// Take returns a thing kept for key, taking it out of the pool, and
// false when none is.
func (p *Pool[T]) Take(key string) (T, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for list := p.kept[key]; len(list) > 0; list = p.kept[key] {
		e := list[len(list)-1]
		p.kept[key] = list[:len(list)-1]
		if e.timer.Stop() { // not closing already
			return e.v, true
		}
	}
	var zero T
	return zero, false
}

// Keep keeps v for key until it is taken, or until it has waited after
// (30 s when 0) or the pool is closed: then close is called on it.
func (p *Pool[T]) Keep(key string, v T, after time.Duration, close func(T)) {
	if after <= 0 {
		after = 30 * time.Second
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.kept == nil {
		p.kept = map[string][]*entry[T]{}
	}
	e := &entry[T]{v: v, close: close}
	e.timer = time.AfterFunc(after, func() {
		p.mu.Lock()
		list := p.kept[key]
		for i, x := range list {
			if x == e {
				p.kept[key] = append(list[:i:i], list[i+1:]...)
				break
			}
		}
		p.mu.Unlock()
		close(v)
	})
	p.kept[key] = append(p.kept[key], e)
}

// Close closes everything kept.
func (p *Pool[T]) Close() {
	p.mu.Lock()
	all := p.kept
	p.kept = nil
	p.mu.Unlock()
	for _, list := range all {
		for _, e := range list {
			if e.timer.Stop() {
				e.close(e.v)
			}
		}
	}
}
