// Package testclock is a settable clock for tests: inject Now where code
// takes a func() time.Time, and After where it waits for a timer, and move
// time with Add instead of sleeping.
package testclock

import (
	"sync"
	"time"
)

// Clock is a goroutine-safe settable clock.
type Clock struct {
	mu      sync.Mutex
	t       time.Time
	waiters []waiter
}

// waiter is a pending After.
type waiter struct {
	at time.Time
	c  chan time.Time
}

// New returns a Clock showing t.
func New(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Add moves the clock by d, firing every After that is then due.
func (c *Clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	pending := c.waiters[:0]
	for _, w := range c.waiters {
		if w.at.After(c.t) {
			pending = append(pending, w)
			continue
		}
		w.c <- c.t // buffered, fires once
	}
	c.waiters = pending
}

// After is time.After on this clock: the channel receives the clock's time
// once Add has moved it d or more past now (at once when d <= 0).
func (c *Clock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	if d <= 0 {
		ch <- c.t
		return ch
	}
	c.waiters = append(c.waiters, waiter{at: c.t.Add(d), c: ch})
	return ch
}
