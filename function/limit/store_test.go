package limit

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// harness is one fresh Store under test plus control of its record clock.
type harness struct {
	store Store
	// advance moves the clock that expires MarkUsed marks.
	advance func(t *testing.T, d time.Duration)
}

// t0 is the tests' base time; the odd microseconds exercise rounding.
var t0 = time.Date(2025, 1, 2, 3, 4, 5, 600_000, time.UTC)

// at returns t0+d.
func at(d time.Duration) time.Time { return t0.Add(d) }

// allow calls Allow and fails the test on error.
func allow(t *testing.T, s Store, now time.Time, reqs ...Request) Decision {
	t.Helper()
	d, err := s.Allow(context.Background(), now, reqs...)
	if err != nil {
		t.Fatalf("Allow: %v", err)
	}
	return d
}

// refund calls Refund and fails the test on error.
func refund(t *testing.T, s Store, now time.Time, reqs ...Request) {
	t.Helper()
	if err := s.Refund(context.Background(), now, reqs...); err != nil {
		t.Fatalf("Refund: %v", err)
	}
}

func wantAllowed(t *testing.T, d Decision) {
	t.Helper()
	if !d.Allowed || d.Denied != -1 || d.RetryAfter != 0 {
		t.Fatalf("got %+v, want allowed", d)
	}
}

func wantDenied(t *testing.T, d Decision, index int, retry time.Duration) {
	t.Helper()
	if d.Allowed || d.Denied != index || d.RetryAfter != retry {
		t.Fatalf("got %+v, want denied at %d with RetryAfter %v", d, index, retry)
	}
}

func req(key, rate string) Request {
	r, err := ParseRate(rate)
	if err != nil {
		panic(err)
	}
	return Request{Key: key, Rate: r}
}

// testStore is the conformance suite every Store must pass.
func testStore(t *testing.T, newHarness func(t *testing.T) harness) {
	ctx := context.Background()

	t.Run("NThenRefused", func(t *testing.T) {
		s := newHarness(t).store
		k := req("send:phone:86:13800001111", "3/1m")
		wantAllowed(t, allow(t, s, at(0), k))
		wantAllowed(t, allow(t, s, at(10*time.Second), k))
		wantAllowed(t, allow(t, s, at(20*time.Second), k))
		wantDenied(t, allow(t, s, at(30*time.Second), k), 0, 30*time.Second)
		wantDenied(t, allow(t, s, at(time.Minute-time.Millisecond), k), 0, time.Millisecond)
		// Off the millisecond grid, RetryAfter is whole milliseconds and
		// exactly long enough.
		odd := at(30*time.Second + 400*time.Microsecond)
		d := allow(t, s, odd, k)
		if d.Allowed || d.RetryAfter%time.Millisecond != 0 || d.RetryAfter < 29*time.Second {
			t.Fatalf("got %+v, want denied with about 30s in whole ms", d)
		}
		wantDenied(t, allow(t, s, odd.Add(d.RetryAfter-time.Millisecond), k), 0, time.Millisecond)
		// The first event leaves the window exactly Per after it.
		wantAllowed(t, allow(t, s, odd.Add(d.RetryAfter), k))
		wantDenied(t, allow(t, s, at(time.Minute), k), 0, 10*time.Second)
	})

	t.Run("WindowSlides", func(t *testing.T) {
		s := newHarness(t).store
		k := req("k", "2/10s")
		wantAllowed(t, allow(t, s, at(0), k))
		wantAllowed(t, allow(t, s, at(5*time.Second), k))
		wantDenied(t, allow(t, s, at(9*time.Second), k), 0, time.Second)
		wantAllowed(t, allow(t, s, at(10*time.Second), k))
		wantDenied(t, allow(t, s, at(15*time.Second-time.Millisecond), k), 0, time.Millisecond)
		wantAllowed(t, allow(t, s, at(15*time.Second), k))
		wantDenied(t, allow(t, s, at(16*time.Second), k), 0, 4*time.Second)
		// Long after, the window is empty again.
		wantAllowed(t, allow(t, s, at(time.Hour), k))
		wantAllowed(t, allow(t, s, at(time.Hour), k))
		wantDenied(t, allow(t, s, at(time.Hour), k), 0, 10*time.Second)
	})

	t.Run("MatchesReferenceModel", func(t *testing.T) {
		s := newHarness(t).store
		reqs := []Request{req("a", "5/10s"), req("b", "3/4s"), req("c", "20/1m")}
		ref := make([][]int64, len(reqs)) // allowed event times per request, ms
		rng := rand.New(rand.NewPCG(1, 2))
		nowMs := t0.UnixMilli()
		allowedN := 0
		for step := range 600 {
			nowMs += rng.Int64N(2500)
			want := referenceAllow(ref, reqs, nowMs)
			got := allow(t, s, time.UnixMilli(nowMs), reqs...)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("step %d at +%dms: got %+v, want %+v", step, nowMs-t0.UnixMilli(), got, want)
			}
			if got.Allowed {
				allowedN++
				for i := range ref {
					ref[i] = append(ref[i], nowMs)
				}
			}
		}
		if allowedN < 100 || allowedN > 500 {
			t.Fatalf("%d of 600 allowed; the walk does not exercise both outcomes", allowedN)
		}
	})

	t.Run("LargeNBounded", func(t *testing.T) {
		// Above ExactN events a window counts each event at the end of its
		// bucket, Per/100 wide: the store must match a naive model of
		// that, never allow what an exact log would refuse, and never make
		// a caller wait more than one bucket longer than an exact log.
		s := newHarness(t).store
		reqs := []Request{req("a", "150/10s"), req("b", "1000/1m")}
		var widths [2]int64
		for i, rq := range reqs {
			widths[i] = (rq.Rate.Per.Milliseconds() + 99) / 100
		}
		exact := make([][]int64, len(reqs))   // allowed event times, ms
		rounded := make([][]int64, len(reqs)) // the same, at their buckets' ends
		rng := rand.New(rand.NewPCG(3, 4))
		nowMs := t0.UnixMilli()
		allowedN := 0
		for step := range 3000 {
			nowMs += rng.Int64N(60)
			want := roundedAllow(rounded, reqs, nowMs)
			got := allow(t, s, time.UnixMilli(nowMs), reqs...)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("step %d at +%dms: got %+v, want %+v", step, nowMs-t0.UnixMilli(), got, want)
			}
			ex := referenceAllow(exact, reqs, nowMs)
			if got.Allowed && !ex.Allowed {
				t.Fatalf("step %d: allowed what an exact log refuses (%+v)", step, ex)
			}
			if !got.Allowed {
				w := time.Duration(widths[got.Denied]) * time.Millisecond
				if ex.Allowed && got.RetryAfter > w || !ex.Allowed && got.RetryAfter > ex.RetryAfter+w {
					t.Fatalf("step %d: RetryAfter %v, more than one bucket (%v) past an exact log's %+v", step, got.RetryAfter, w, ex)
				}
				continue
			}
			allowedN++
			for i := range reqs {
				exact[i] = append(exact[i], nowMs)
				rounded[i] = append(rounded[i], nowMs-nowMs%widths[i]+widths[i]-1)
			}
		}
		if allowedN < 300 || allowedN > 2500 {
			t.Fatalf("%d of 3000 allowed; the walk does not exercise both outcomes", allowedN)
		}
		// Fill a's window afresh at one time: N calls; then a refund at
		// that time gives back one slot.
		now := time.UnixMilli(nowMs).Add(11 * time.Second)
		for i := range reqs[0].Rate.N {
			if d := allow(t, s, now, reqs[0]); !d.Allowed {
				t.Fatalf("call %d of N at one time refused: %+v", i+1, d)
			}
		}
		refund(t, s, now, reqs[0])
		wantAllowed(t, allow(t, s, now, reqs[0]))
		if d := allow(t, s, now, reqs[0]); d.Allowed {
			t.Fatal("a refund gave back more than one slot")
		}
	})

	t.Run("AllOrNothing", func(t *testing.T) {
		s := newHarness(t).store
		a, b := req("a", "2/1m"), req("b", "1/1m")
		wantAllowed(t, allow(t, s, at(0), a, b))
		// b is full: refused, and a is not counted.
		wantDenied(t, allow(t, s, at(time.Second), a, b), 1, 59*time.Second)
		wantAllowed(t, allow(t, s, at(2*time.Second), a))
		wantDenied(t, allow(t, s, at(3*time.Second), a), 0, 57*time.Second)

		// Refused at index 0: the later requests are not counted either.
		c, d := req("c", "1/1m"), req("d", "1/1m")
		wantAllowed(t, allow(t, s, at(0), c))
		wantDenied(t, allow(t, s, at(time.Second), c, d), 0, 59*time.Second)
		wantAllowed(t, allow(t, s, at(time.Second), d))
		wantDenied(t, allow(t, s, at(time.Second), d), 0, time.Minute)
	})

	t.Run("FirstRefusedIndex", func(t *testing.T) {
		s := newHarness(t).store
		ok, full1, full2 := req("ok", "5/1h"), req("full1", "1/1h"), req("full2", "1/1m")
		wantAllowed(t, allow(t, s, at(0), full1))
		wantAllowed(t, allow(t, s, at(0), full2))
		wantDenied(t, allow(t, s, at(time.Second), ok, full1, full2), 1, time.Hour-time.Second)
		wantDenied(t, allow(t, s, at(time.Second), ok, full2, full1), 1, time.Minute-time.Second)
	})

	t.Run("KeysIndependent", func(t *testing.T) {
		s := newHarness(t).store
		wantAllowed(t, allow(t, s, at(0), req("k1", "1/1h")))
		wantAllowed(t, allow(t, s, at(0), req("k2", "1/1h")))
		wantDenied(t, allow(t, s, at(0), req("k1", "1/1h")), 0, time.Hour)
		// One Key with two periods keeps two logs.
		wantAllowed(t, allow(t, s, at(0), req("k1", "1/1m")))
		wantDenied(t, allow(t, s, at(0), req("k1", "1/1m")), 0, time.Minute)
		wantAllowed(t, allow(t, s, at(time.Minute), req("k1", "1/1m")))
		wantDenied(t, allow(t, s, at(time.Minute), req("k1", "1/1h")), 0, time.Hour-time.Minute)
	})

	t.Run("RepeatedRequestInOneCall", func(t *testing.T) {
		s := newHarness(t).store
		k2 := req("k", "2/1m")
		wantAllowed(t, allow(t, s, at(0), k2, k2))
		wantDenied(t, allow(t, s, at(time.Second), k2), 0, 59*time.Second)

		k1 := req("j", "1/1m")
		wantDenied(t, allow(t, s, at(0), k1, k1), 1, time.Minute)
		wantAllowed(t, allow(t, s, at(0), k1)) // the refused call counted nothing
	})

	t.Run("NoRequests", func(t *testing.T) {
		s := newHarness(t).store
		wantAllowed(t, allow(t, s, at(0)))
	})

	t.Run("Left", func(t *testing.T) {
		// An allowed call says what is left of each request's window
		// after it; refunds and events leaving the window give back.
		s := newHarness(t).store
		k, g := req("check:phone:x", "3/1m"), req("check:ip:y", "10/1h")
		wantLeft := func(d Decision, want ...int) {
			t.Helper()
			wantAllowed(t, d)
			if !slices.Equal(d.Left, want) {
				t.Fatalf("Left %v, want %v", d.Left, want)
			}
		}
		wantLeft(allow(t, s, at(0), k, g), 2, 9)
		wantLeft(allow(t, s, at(10*time.Second), k), 1)
		wantLeft(allow(t, s, at(20*time.Second), k, g), 0, 8)
		if d := allow(t, s, at(30*time.Second), k, g); d.Allowed || d.Left != nil {
			t.Fatalf("full: %+v, want refused with no Left", d)
		}
		refund(t, s, at(20*time.Second), k)
		wantLeft(allow(t, s, at(30*time.Second), g, k), 7, 0)
		// The first event leaves the window exactly a minute after it.
		wantLeft(allow(t, s, at(time.Minute), k), 0)
		// One window named twice in a call: both see both events.
		wantLeft(allow(t, s, at(0), req("k2", "3/1m"), req("k2", "3/1m")), 1, 1)
		wantLeft(allow(t, s, at(0)))
	})

	t.Run("InvalidRequests", func(t *testing.T) {
		s := newHarness(t).store
		phone := "send:phone:86:13800001111"
		for name, reqs := range map[string][]Request{
			"zero rate":   {req("ok", "1/1h"), {Key: phone}},
			"zero N":      {{Key: phone, Rate: Rate{Per: time.Hour}}},
			"sub-ms":      {{Key: phone, Rate: Rate{N: 1, Per: time.Microsecond}}},
			"empty key":   {{Rate: Rate{1, time.Hour}}},
			"N above max": {{Key: phone, Rate: Rate{MaxN + 1, time.Hour}}},
		} {
			_, err := s.Allow(ctx, at(0), reqs...)
			if err == nil {
				t.Errorf("%s: Allow succeeded", name)
				continue
			}
			if strings.Contains(err.Error(), "13800001111") {
				t.Errorf("%s: error %q leaks the key", name, err)
			}
		}
		// Nothing was counted by the failed calls.
		wantAllowed(t, allow(t, s, at(0), req("ok", "1/1h")))
	})

	t.Run("AllowConcurrent", func(t *testing.T) {
		s := newHarness(t).store
		if got := concurrentAllows(t, []Store{s}, req("hot", "7/1m"), 200, msApart); got != 7 {
			t.Fatalf("%d of 200 allowed, want 7", got)
		}
	})

	t.Run("MarkUsedOnce", func(t *testing.T) {
		s := newHarness(t).store
		const ttl = 10 * time.Minute
		key := "used:86:13800001111:scheme:code"
		wantUsed(t, s, key, false)
		wantMark(t, s, key, ttl, true)
		wantUsed(t, s, key, true)
		wantMark(t, s, key, ttl, false)
		wantMark(t, s, key, time.Hour, false) // a different ttl changes nothing
		wantUsed(t, s, key, true)
	})

	t.Run("MarkKeysIndependent", func(t *testing.T) {
		s := newHarness(t).store
		const ttl = 10 * time.Minute
		a, b := "used:86:13800001111:scheme:c1", "used:86:13800001111:scheme:c2"
		wantMark(t, s, a, ttl, true)
		wantUsed(t, s, b, false)
		wantMark(t, s, b, ttl, true)
		wantUsed(t, s, a, true)
		wantUsed(t, s, b, true)
		wantMark(t, s, a, ttl, false)
		wantMark(t, s, b, ttl, false)
		// Used does not mark.
		c := "used:86:13900002222:scheme:c1"
		wantUsed(t, s, c, false)
		wantUsed(t, s, c, false)
		wantMark(t, s, c, ttl, true)
	})

	t.Run("MarkExpiry", func(t *testing.T) {
		h := newHarness(t)
		s := h.store
		short, long := "used:short", "used:long"
		wantMark(t, s, short, time.Minute, true)
		wantMark(t, s, long, 10*time.Minute, true)
		h.advance(t, time.Minute-time.Second)
		wantUsed(t, s, short, true)
		h.advance(t, time.Second)
		// The short mark is gone; the long one is kept.
		wantUsed(t, s, short, false)
		wantUsed(t, s, long, true)
		wantMark(t, s, short, time.Minute, true) // marked anew
		wantUsed(t, s, short, true)
		wantMark(t, s, short, time.Minute, false)
		h.advance(t, 9*time.Minute)
		wantUsed(t, s, long, false)
		wantMark(t, s, long, 10*time.Minute, true)
	})

	t.Run("RefusedMarkDoesNotRenew", func(t *testing.T) {
		h := newHarness(t)
		s := h.store
		const ttl = 10 * time.Minute
		key := "used:renew"
		wantMark(t, s, key, ttl, true)
		h.advance(t, ttl/2)
		wantMark(t, s, key, ttl, false)
		wantMark(t, s, key, time.Hour, false)
		h.advance(t, ttl/2-time.Second)
		wantUsed(t, s, key, true)
		h.advance(t, time.Second)
		// Expired ttl after the first mark, not after the refused ones.
		wantUsed(t, s, key, false)
		wantMark(t, s, key, ttl, true)
	})

	t.Run("MarkInvalid", func(t *testing.T) {
		s := newHarness(t).store
		const phone = "13800001111"
		key := "used:86:" + phone
		for name, ttl := range map[string]time.Duration{
			"zero ttl":     0,
			"negative ttl": -time.Second,
			"sub-ms ttl":   time.Millisecond - 1,
		} {
			ok, err := s.MarkUsed(ctx, key, ttl)
			if err == nil || ok {
				t.Errorf("%s: MarkUsed = %v, %v; want an error", name, ok, err)
			} else if strings.Contains(err.Error(), phone) {
				t.Errorf("%s: error %q leaks the key", name, err)
			}
		}
		if ok, err := s.MarkUsed(ctx, "", time.Minute); err == nil || ok {
			t.Errorf("MarkUsed with empty key = %v, %v; want an error", ok, err)
		}
		if ok, err := s.Used(ctx, ""); err == nil || ok {
			t.Errorf("Used with empty key = %v, %v; want an error", ok, err)
		}
		// The failed calls left no trace.
		wantUsed(t, s, key, false)
		wantMark(t, s, key, time.Minute, true)
	})

	t.Run("MarkUsedConcurrent", func(t *testing.T) {
		h := newHarness(t)
		s := h.store
		const key = "used:race"
		for round := range 2 {
			if got := concurrentMarks(t, []Store{s}, key, time.Minute, 100); got != 1 {
				t.Fatalf("round %d: %d of 100 MarkUsed calls got true, want 1", round, got)
			}
			wantUsed(t, s, key, true)
			h.advance(t, time.Minute) // the mark expires: the next round starts fresh
		}
	})

	t.Run("Refund", func(t *testing.T) {
		s := newHarness(t).store
		k := req("send:phone:86:13800001111", "3/1m")
		g := req("send:global", "10/1h")
		wantAllowed(t, allow(t, s, at(0), k, g))
		wantAllowed(t, allow(t, s, at(10*time.Second), k, g))
		wantAllowed(t, allow(t, s, at(20*time.Second), k, g))
		wantDenied(t, allow(t, s, at(30*time.Second), k, g), 0, 30*time.Second)
		// Giving back the event at 10s frees one slot now; the window's
		// oldest event (0s) still decides the wait after that.
		refund(t, s, at(10*time.Second), k, g)
		wantAllowed(t, allow(t, s, at(30*time.Second), k))
		wantDenied(t, allow(t, s, at(31*time.Second), k), 0, 29*time.Second)
		// A refund at a time with no event takes nothing away.
		refund(t, s, at(5*time.Second), k)
		wantDenied(t, allow(t, s, at(31*time.Second), k), 0, 29*time.Second)
		// The global log lost only its event at 10s: 8 more fit (2 taken).
		for i := range 8 {
			wantAllowed(t, allow(t, s, at(40*time.Second+time.Duration(i)*time.Millisecond), g))
		}
		wantDenied(t, allow(t, s, at(41*time.Second), g), 0, time.Hour-41*time.Second)
		// A refund after the event left its window does nothing.
		wantAllowed(t, allow(t, s, at(time.Minute+time.Second), k)) // log: 20s, 30s, 61s
		refund(t, s, at(0), k)
		wantDenied(t, allow(t, s, at(time.Minute+2*time.Second), k), 0, 18*time.Second)
		if err := s.Refund(ctx, at(0), Request{Rate: k.Rate}); err == nil {
			t.Error("Refund with an empty key succeeded")
		}
	})

	t.Run("RefundSameMillisecond", func(t *testing.T) {
		s := newHarness(t).store
		k := req("k", "3/1m")
		for range 3 {
			wantAllowed(t, allow(t, s, at(0), k))
		}
		refund(t, s, at(0), k)
		refund(t, s, at(0), k)
		// Two slots are back, and the events added after a refund are new
		// ones, not overwrites of the remaining one.
		wantAllowed(t, allow(t, s, at(0), k))
		wantAllowed(t, allow(t, s, at(0), k))
		wantDenied(t, allow(t, s, at(0), k), 0, time.Minute)
		// The same key twice in one call gives back two events.
		refund(t, s, at(0), k, k)
		wantAllowed(t, allow(t, s, at(0), k, k))
		wantDenied(t, allow(t, s, at(0), k), 0, time.Minute)
	})

	t.Run("RefundConcurrent", func(t *testing.T) {
		s := newHarness(t).store
		const n, workers, rounds = 20, 50, 10
		g := req("send:global", fmt.Sprintf("%d/24h", n))
		now := at(0) // one millisecond for all: the hardest case for Redis members
		var wg sync.WaitGroup
		var allowed atomic.Int64
		errs := make(chan error, workers)
		for w := range workers {
			wg.Go(func() {
				for r := range rounds {
					p := req(fmt.Sprintf("send:phone:%d:%d", w, r), "5/1h")
					d, err := s.Allow(ctx, now, p, g)
					if err != nil {
						errs <- err
						return
					}
					if !d.Allowed {
						continue
					}
					allowed.Add(1)
					if err := s.Refund(ctx, now, p, g); err != nil {
						errs <- err
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		if allowed.Load() < n {
			t.Fatalf("only %d calls were allowed; want at least %d", allowed.Load(), n)
		}
		// Every slot came back: the whole budget is free again, and no more.
		for i := range n {
			if d := allow(t, s, now, g); !d.Allowed {
				t.Fatalf("after the refunds, call %d of %d was refused: %+v", i+1, n, d)
			}
		}
		wantDenied(t, allow(t, s, now, g), 0, 24*time.Hour)
	})

	t.Run("CanceledContext", func(t *testing.T) {
		s := newHarness(t).store
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := s.Allow(cctx, at(0), req("k", "1/1h")); err == nil {
			t.Error("Allow with canceled context succeeded")
		}
		if _, err := s.MarkUsed(cctx, "k", time.Minute); err == nil {
			t.Error("MarkUsed with canceled context succeeded")
		}
		if _, err := s.Used(cctx, "k"); err == nil {
			t.Error("Used with canceled context succeeded")
		}
	})
}

// referenceAllow is a naive model of Allow over logs of allowed event times:
// it counts the events in (now-Per, now] and searches for the retry time
// one millisecond at a time.
func referenceAllow(logs [][]int64, reqs []Request, nowMs int64) Decision {
	return modelAllow(logs, reqs, nowMs, func(e, t, perMs int64) bool { return e > t-perMs && e <= t })
}

// roundedAllow is the naive model of Allow over logs of event stamps at
// their buckets' ends (rates above ExactN): it counts the stamps after
// now-Per (a stamp may lie ahead of now) and searches for the retry time
// one millisecond at a time.
func roundedAllow(logs [][]int64, reqs []Request, nowMs int64) Decision {
	return modelAllow(logs, reqs, nowMs, func(e, t, perMs int64) bool { return e > t-perMs })
}

// modelAllow is the naive model of Allow over logs[i], the events of
// reqs[i]: counts says whether event e is in the window of length perMs
// at t. When it allows, Left[i] is N less the events then in window i,
// the new one included.
func modelAllow(logs [][]int64, reqs []Request, nowMs int64, counts func(e, t, perMs int64) bool) Decision {
	inWindow := func(log []int64, perMs, t int64) int {
		n := 0
		for _, e := range log {
			if counts(e, t, perMs) {
				n++
			}
		}
		return n
	}
	left := make([]int, len(reqs))
	for i, rq := range reqs {
		perMs := rq.Rate.Per.Milliseconds()
		if c := inWindow(logs[i], perMs, nowMs); c < rq.Rate.N {
			left[i] = rq.Rate.N - c - 1
			continue
		}
		for d := int64(1); ; d++ {
			if inWindow(logs[i], perMs, nowMs+d) < rq.Rate.N {
				return Decision{Denied: i, RetryAfter: time.Duration(d) * time.Millisecond}
			}
		}
	}
	return Decision{Allowed: true, Denied: -1, Left: left}
}

func wantUsed(t *testing.T, s Store, key string, want bool) {
	t.Helper()
	got, err := s.Used(context.Background(), key)
	if err != nil {
		t.Fatalf("Used: %v", err)
	}
	if got != want {
		t.Fatalf("Used(%s) = %v, want %v", key, got, want)
	}
}

func wantMark(t *testing.T, s Store, key string, ttl time.Duration, want bool) {
	t.Helper()
	got, err := s.MarkUsed(context.Background(), key, ttl)
	if err != nil {
		t.Fatalf("MarkUsed: %v", err)
	}
	if got != want {
		t.Fatalf("MarkUsed(%s) = %v, want %v", key, got, want)
	}
}

// concurrentMarks calls MarkUsed on key n times at once, spread over
// stores, and returns how many calls got true.
// concurrently runs call(0) … call(n-1) at once and returns how many
// said true; an error fails the test.
func concurrently(t *testing.T, n int, call func(i int) (bool, error)) int64 {
	t.Helper()
	var yes atomic.Int64
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			ok, err := call(i)
			if err != nil {
				errs <- err
			} else if ok {
				yes.Add(1)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	return yes.Load()
}

// concurrentAllows makes n concurrent Allow calls for r across stores in
// turn, the i-th at when(i), and returns how many were allowed.
func concurrentAllows(t *testing.T, stores []Store, r Request, n int, when func(i int) time.Time) int64 {
	t.Helper()
	return concurrently(t, n, func(i int) (bool, error) {
		d, err := stores[i%len(stores)].Allow(context.Background(), when(i), r)
		return d.Allowed, err
	})
}

// msApart is the time of the i-th of concurrent calls, a millisecond apart.
func msApart(i int) time.Time { return at(time.Duration(i) * time.Millisecond) }

// concurrentMarks makes n concurrent MarkUsed calls for key across stores
// in turn and returns how many marked it.
func concurrentMarks(t *testing.T, stores []Store, key string, ttl time.Duration, n int) int64 {
	t.Helper()
	return concurrently(t, n, func(i int) (bool, error) {
		return stores[i%len(stores)].MarkUsed(context.Background(), key, ttl)
	})
}

// benchAllow measures Allow with keys rotating over 1000 phones at 5/1m and
// the clock moving 10ms per call, so most calls are allowed and some not.
func benchAllow(b *testing.B, s Store) {
	ctx := context.Background()
	keys := make([]Request, 1000)
	for i := range keys {
		keys[i] = req(fmt.Sprintf("send:phone:86:1380000%04d", i), "5/1m")
	}
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		if _, err := s.Allow(ctx, at(time.Duration(i)*10*time.Millisecond), keys[i%len(keys)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
