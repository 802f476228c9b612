package limit

import (
	"context"
	"fmt"
	"testing"
	"time"

	"smsverify/internal/testclock"
)

func newTestMemory() (*Memory, *testclock.Clock) {
	clk := testclock.New(t0)
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
	maxLogs, maxMarks := 0, 0
	for i := range keys {
		// 100 keys per second: about 6000 are live at any time.
		now := at(time.Duration(i) * 10 * time.Millisecond)
		key := fmt.Sprintf("k%d", i)
		if _, err := m.Allow(ctx, now, Request{key, rate}); err != nil {
			t.Fatal(err)
		}
		clk.Add(10 * time.Millisecond)
		if ok, err := m.MarkUsed(ctx, key, time.Minute); err != nil || !ok {
			t.Fatalf("MarkUsed = %v, %v; want true", ok, err)
		}
		logs, marks := m.size()
		maxLogs, maxMarks = max(maxLogs, logs), max(maxMarks, marks)
	}
	const live = 6000
	if maxLogs > 2*live+1 || maxMarks > 2*live+1 {
		t.Fatalf("maps grew to %d logs, %d marks for %d live keys; want at most %d", maxLogs, maxMarks, live, 2*live+1)
	}
	if maxLogs < live || maxMarks < live {
		t.Fatalf("maps peaked at %d logs, %d marks; live keys were evicted early", maxLogs, maxMarks)
	}
	// Evicted state is really gone and live state is kept.
	last := fmt.Sprintf("k%d", keys-1)
	d, err := m.Allow(ctx, at(time.Duration(keys-1)*10*time.Millisecond), Request{last, rate})
	if err != nil || d.Allowed {
		t.Fatalf("live key: got %+v, %v; want denied", d, err)
	}
	if used, err := m.Used(ctx, last); err != nil || !used {
		t.Fatalf("live mark: Used = %v, %v; want true", used, err)
	}
	if used, err := m.Used(ctx, "k0"); err != nil || used {
		t.Fatalf("expired mark: Used = %v, %v; want false", used, err)
	}
}

// TestMemoryMarkExpiresExactly pins Memory's expiry to the millisecond: a
// mark lives for ttl rounded up to whole milliseconds, and not a moment
// longer. (The shared suite cannot, as Redis time keeps running.)
func TestMemoryMarkExpiresExactly(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		ttl  time.Duration
		life time.Duration
	}{
		{"whole ms", time.Minute, time.Minute},
		{"1ms", time.Millisecond, time.Millisecond},
		{"rounded up", 1500 * time.Microsecond, 2 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, clk := newTestMemory()
			wantMark(t, m, "k", tc.ttl, true)
			clk.Add(tc.life - time.Nanosecond)
			wantUsed(t, m, "k", true)
			wantMark(t, m, "k", tc.ttl, false)
			clk.Add(time.Nanosecond)
			wantUsed(t, m, "k", false)
			if ok, err := m.MarkUsed(ctx, "k", tc.ttl); err != nil || !ok {
				t.Fatalf("MarkUsed after expiry = %v, %v; want true", ok, err)
			}
		})
	}
}

func BenchmarkMemoryAllow(b *testing.B) {
	benchAllow(b, NewMemory())
}
