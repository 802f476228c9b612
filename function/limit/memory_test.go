package limit

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

// fakeClock is a settable clock for Memory's record expiry.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newTestMemory() (*Memory, *fakeClock) {
	clk := &fakeClock{t: t0}
	m := NewMemory()
	m.now = clk.Now
	return m, clk
}

func TestMemory(t *testing.T) {
	testStore(t, func(t *testing.T) harness {
		m, clk := newTestMemory()
		t.Cleanup(func() { _ = m.Close() })
		return harness{store: m, advance: func(_ *testing.T, d time.Duration) { clk.Add(d) }}
	})
}

func TestMemoryEviction(t *testing.T) {
	ctx := context.Background()
	m, clk := newTestMemory()
	const keys = 50_000
	rate := Rate{1, time.Minute}
	maxLogs, maxRecs := 0, 0
	for i := range keys {
		// 100 keys per second: about 6000 are live at any time.
		now := at(time.Duration(i) * 10 * time.Millisecond)
		key := fmt.Sprintf("k%d", i)
		if _, err := m.Allow(ctx, now, Request{key, rate}); err != nil {
			t.Fatal(err)
		}
		clk.Add(10 * time.Millisecond)
		if err := m.NoteSend(ctx, key, time.Minute); err != nil {
			t.Fatal(err)
		}
		logs, recs := m.size()
		maxLogs, maxRecs = max(maxLogs, logs), max(maxRecs, recs)
	}
	const live = 6000
	if maxLogs > 2*live+1 || maxRecs > 2*live+1 {
		t.Fatalf("maps grew to %d logs, %d records for %d live keys; want at most %d", maxLogs, maxRecs, live, 2*live+1)
	}
	if maxLogs < live || maxRecs < live {
		t.Fatalf("maps peaked at %d logs, %d records; live keys were evicted early", maxLogs, maxRecs)
	}
	// Evicted state is really gone and live state is kept.
	last := fmt.Sprintf("k%d", keys-1)
	d, err := m.Allow(ctx, at(time.Duration(keys-1)*10*time.Millisecond), Request{last, rate})
	if err != nil || d.Allowed {
		t.Fatalf("live key: got %+v, %v; want denied", d, err)
	}
}

func BenchmarkMemoryAllow(b *testing.B) {
	benchAllow(b, NewMemory())
}
