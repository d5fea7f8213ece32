package idle

import (
	"testing"
	"time"
)

// What is kept is taken back by its key, last kept first; what waits
// too long, or is there at Close, is closed once and cannot be taken.
func TestPool(t *testing.T) {
	var p Pool[int]
	closed := make(chan int, 10)
	shut := func(v int) { closed <- v }
	p.Keep("a", 1, time.Hour, shut)
	p.Keep("a", 2, time.Hour, shut)
	p.Keep("b", 3, time.Millisecond, shut)
	if v, ok := p.Take("a"); !ok || v != 2 {
		t.Fatalf("took %d %v", v, ok)
	}
	if v := <-closed; v != 3 { // b's wait ends by itself
		t.Fatalf("closed %d", v)
	}
	if _, ok := p.Take("b"); ok {
		t.Fatal("took a closed one")
	}
	p.Close()
	if v := <-closed; v != 1 {
		t.Fatalf("closed %d at Close", v)
	}
	if _, ok := p.Take("a"); ok || len(closed) != 0 {
		t.Fatal("a closed pool still gives")
	}
}
