package testclock

import (
	"testing"
	"time"
)

func TestAfter(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := New(start)
	fired := func(ch <-chan time.Time) bool {
		select {
		case <-ch:
			return true
		default:
			return false
		}
	}
	now := c.After(0)
	if !fired(now) {
		t.Error("After(0) did not fire at once")
	}
	a := c.After(10 * time.Second)
	b := c.After(20 * time.Second)
	c.Add(9 * time.Second)
	if fired(a) || fired(b) {
		t.Fatal("fired before its time")
	}
	c.Add(time.Second)
	if !fired(a) || fired(b) {
		t.Fatal("at 10s: want only the 10s timer")
	}
	c.Add(time.Hour)
	if !fired(b) {
		t.Fatal("at 1h10s: the 20s timer has not fired")
	}
	if got := c.Now(); !got.Equal(start.Add(time.Hour + 10*time.Second)) {
		t.Errorf("Now = %v", got)
	}
}
