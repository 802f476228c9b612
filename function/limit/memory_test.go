package limit

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"testing"
	"time"

	"smsverify/internal/testclock"
)

func newTestMemory() (*Memory, *testclock.Clock) {
	clk := testclock.New(t0)
	return NewMemoryWith(MemoryOptions{Now: clk.Now}), clk
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
		m.mu.Lock()
		logs, marks := len(m.logs), len(m.marks)
		m.mu.Unlock()
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

// BenchmarkMemoryBytesPerKey reports the heap Memory holds per tracked key
// and window (B/key): allowed checks from distinct numbers and IPv6 /64s, as
// in a rotating-address attack, each tracking two windows with one event.
// The keys are built per call, as the service builds them, so the heap the
// store keeps of them is counted.
func BenchmarkMemoryBytesPerKey(b *testing.B) {
	const checks = 50_000
	ctx := context.Background()
	phone, ip := Rate{5, 15 * time.Minute}, Rate{30, 5 * time.Minute}
	var held uint64
	var ms runtime.MemStats
	for b.Loop() {
		m := NewMemory()
		runtime.GC()
		runtime.ReadMemStats(&ms)
		before := ms.HeapAlloc
		for i := range checks {
			now := at(time.Duration(i) * time.Millisecond)
			_, err := m.Allow(ctx, now,
				Request{fmt.Sprintf("check:phone:%032x", i), phone},
				Request{fmt.Sprintf("check:ip:2001:db8:%x:%x::/64", i>>16, i&0xffff), ip})
			if err != nil {
				b.Fatal(err)
			}
		}
		runtime.GC()
		runtime.ReadMemStats(&ms)
		held += ms.HeapAlloc - before
		runtime.KeepAlive(m)
	}
	b.ReportMetric(float64(held)/float64(b.N)/(2*checks), "B/key")
}

// TestMemoryMaxKeys: a full store refuses new entries with ErrFull (and
// counts nothing), keeps serving the entries it holds, and takes new ones
// again once expired ones can be swept; a full store sweeps at most once
// per fullSweepEvery.
func TestMemoryMaxKeys(t *testing.T) {
	ctx := context.Background()
	clk := testclock.New(t0)
	m := NewMemoryWith(MemoryOptions{MaxKeys: 4})
	m.now = clk.Now
	r := Rate{2, time.Minute}
	for i := range 3 {
		wantAllowed(t, allow(t, m, clk.Now(), Request{fmt.Sprintf("k%d", i), r}))
	}
	wantMark(t, m, "used", time.Hour, true) // 4 entries: full
	if _, err := m.Allow(ctx, clk.Now(), Request{"k0", r}, Request{"new", r}); !errors.Is(err, ErrFull) {
		t.Fatalf("Allow of a new key in a full store: %v, want ErrFull", err)
	}
	if _, err := m.MarkUsed(ctx, "used2", time.Hour); !errors.Is(err, ErrFull) {
		t.Fatalf("MarkUsed of a new key in a full store: %v, want ErrFull", err)
	}
	if _, err := m.Claim(ctx, "idem", "fp", time.Minute); !errors.Is(err, ErrFull) {
		t.Fatalf("Claim of a new key in a full store: %v, want ErrFull", err)
	}
	// The refused Allow counted nothing against k0, which still works.
	wantAllowed(t, allow(t, m, clk.Now(), Request{"k0", r}))
	wantDenied(t, allow(t, m, clk.Now(), Request{"k0", r}), 0, time.Minute)
	wantMark(t, m, "used", time.Hour, false)

	// Just before the windows expire, a refused call sweeps in vain.
	clk.Add(time.Minute - time.Millisecond)
	if _, err := m.Allow(ctx, clk.Now(), Request{"new", r}); !errors.Is(err, ErrFull) {
		t.Fatalf("Allow before the windows expire: %v, want ErrFull", err)
	}
	// They expire, but the last full sweep was a millisecond ago: still full.
	clk.Add(time.Millisecond)
	if _, err := m.Allow(ctx, clk.Now(), Request{"new", r}); !errors.Is(err, ErrFull) {
		t.Fatalf("Allow within %v of the last full sweep: %v, want ErrFull", fullSweepEvery, err)
	}
	clk.Add(fullSweepEvery)
	wantAllowed(t, allow(t, m, clk.Now(), Request{"new", r}))
	m.mu.Lock()
	n := m.entries()
	m.mu.Unlock()
	if n != 2 { // "new" and the mark
		t.Fatalf("after the sweep the store holds %d entries, want 2", n)
	}
}

// TestMemoryReset: Reset forgets windows, marks and idempotency records,
// and the store works as new afterwards.
func TestMemoryReset(t *testing.T) {
	ctx := context.Background()
	m, _ := newTestMemory()
	rate := Rate{1, time.Hour}
	if d, err := m.Allow(ctx, at(0), Request{"k", rate}); err != nil || !d.Allowed {
		t.Fatalf("first Allow = %+v, %v", d, err)
	}
	if ok, err := m.MarkUsed(ctx, "code", time.Hour); err != nil || !ok {
		t.Fatalf("MarkUsed = %v, %v", ok, err)
	}
	if c, err := m.Claim(ctx, "idem", "fp", time.Hour); err != nil || c.Token == "" {
		t.Fatalf("Claim = %+v, %v", c, err)
	}
	if d, _ := m.Allow(ctx, at(time.Second), Request{"k", rate}); d.Allowed {
		t.Fatal("the window did not count")
	}
	m.Reset()
	if d, err := m.Allow(ctx, at(2*time.Second), Request{"k", rate}); err != nil || !d.Allowed {
		t.Errorf("Allow after Reset = %+v, %v; want allowed", d, err)
	}
	if used, err := m.Used(ctx, "code"); err != nil || used {
		t.Errorf("Used after Reset = %v, %v; want false", used, err)
	}
	if c, err := m.Claim(ctx, "idem", "other", time.Hour); err != nil || c.Token == "" {
		t.Errorf("Claim after Reset = %+v, %v; want a fresh claim", c, err)
	}
}

// BenchmarkWindowMemory reports the memory one 1000000/24h window holds
// after 100,000 events spread over a day (B/window): in the memory store
// (heap, after a GC) and in Redis (MEMORY USAGE of its key). Neither grows
// with N: above ExactN events a window keeps at most ExactN+2 stamps.
func BenchmarkWindowMemory(b *testing.B) {
	const events = 100_000
	rq := Request{"send:global", Rate{1_000_000, 24 * time.Hour}}
	step := rq.Rate.Per / events
	fill := func(b *testing.B, s Store) {
		for i := range events {
			if _, err := s.Allow(context.Background(), at(time.Duration(i)*step), rq); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("memory", func(b *testing.B) {
		var held uint64
		var ms runtime.MemStats
		for b.Loop() {
			m := NewMemory()
			runtime.GC()
			runtime.ReadMemStats(&ms)
			before := ms.HeapAlloc
			fill(b, m)
			runtime.GC()
			runtime.ReadMemStats(&ms)
			held += ms.HeapAlloc - before
			runtime.KeepAlive(m)
		}
		b.ReportMetric(float64(held)/float64(b.N), "B/window")
	})
	b.Run("redis", func(b *testing.B) {
		c := testConn(b)
		var used int64
		for b.Loop() {
			s := redisStore(b, testPrefix(b))
			fill(b, s)
			n, err := c.MemoryUsage(bg, s.logKey(rq.Key, rq.Rate.Per.Milliseconds())).Result()
			if err != nil {
				b.Fatal(err)
			}
			used += n
		}
		b.ReportMetric(float64(used)/float64(b.N), "B/window")
	})
}

// TestWindowStampsBounded: a window of a large N holds at most ExactN+2
// stamps however many events it counts, in both stores; one of a small N
// keeps one stamp per millisecond with an event.
func TestWindowStampsBounded(t *testing.T) {
	big := Request{"big", Rate{1_000_000, 24 * time.Hour}}
	small := Request{"small", Rate{ExactN, time.Hour}}
	fill := func(t *testing.T, s Store) {
		for i := range 5000 {
			wantAllowed(t, allow(t, s, at(time.Duration(i)*17*time.Second), big))
		}
		for i := range ExactN {
			wantAllowed(t, allow(t, s, at(time.Duration(i)*time.Millisecond), small))
		}
	}
	t.Run("memory", func(t *testing.T) {
		m := NewMemory()
		fill(t, m)
		if n := len(m.logs[m.hash(big.Key, big.Rate.Per.Milliseconds())].stamps); n > ExactN+2 {
			t.Errorf("the 1000000/24h window holds %d stamps, want at most %d", n, ExactN+2)
		}
		if n := len(m.logs[m.hash(small.Key, small.Rate.Per.Milliseconds())].stamps); n != ExactN {
			t.Errorf("the %v window holds %d stamps, want %d", small.Rate, n, ExactN)
		}
	})
	t.Run("redis", func(t *testing.T) {
		c := testConn(t)
		s := redisStore(t, testPrefix(t))
		fill(t, s)
		if n, err := c.HLen(bg, s.logKey(big.Key, big.Rate.Per.Milliseconds())).Result(); err != nil || n > ExactN+2 {
			t.Errorf("the 1000000/24h window holds %d stamps (%v), want at most %d", n, err, ExactN+2)
		}
		if n, err := c.HLen(bg, s.logKey(small.Key, small.Rate.Per.Milliseconds())).Result(); err != nil || n != ExactN {
			t.Errorf("the %v window holds %d stamps (%v), want %d", small.Rate, n, err, ExactN)
		}
	})
}
