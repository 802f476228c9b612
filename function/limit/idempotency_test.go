package limit

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func claim(t *testing.T, s Store, key, fp string, lease time.Duration) Claim {
	t.Helper()
	c, err := s.Claim(context.Background(), key, fp, lease)
	if err != nil {
		t.Fatalf("Claim: %v", err)
	}
	return c
}

func wantClaimed(t *testing.T, c Claim) string {
	t.Helper()
	if c.Token == "" {
		t.Fatalf("got %+v, want the key claimed", c)
	}
	return c.Token
}

func wantExisting(t *testing.T, c Claim, want Record) {
	t.Helper()
	if c.Token != "" {
		t.Fatal("claimed a key that a live record holds")
	}
	got := c.Existing
	if got.Fingerprint != want.Fingerprint || got.Done != want.Done || got.Status != want.Status || string(got.Body) != string(want.Body) {
		t.Fatalf("got record %+v (body %q), want %+v (body %q)", got, got.Body, want, want.Body)
	}
}

// testIdempotency is the conformance suite for Claim, Complete and Release.
func testIdempotency(t *testing.T, newHarness func(t *testing.T) harness) {
	ctx := context.Background()
	const (
		lease = 30 * time.Second
		ttl   = 24 * time.Hour
	)

	t.Run("ClaimCompleteReplay", func(t *testing.T) {
		s := newHarness(t).store
		tok := wantClaimed(t, claim(t, s, "k", "fp1", lease))
		// In flight: every later Claim sees the pending record.
		wantExisting(t, claim(t, s, "k", "fp1", lease), Record{Fingerprint: "fp1"})
		wantExisting(t, claim(t, s, "k", "fp2", lease), Record{Fingerprint: "fp1"})
		body := []byte("{\"Code\":\"OK\",\"Message\":\"é\\u0000\"}\n\x00\xff")
		if err := s.Complete(ctx, "k", tok, 200, body, ttl); err != nil {
			t.Fatal(err)
		}
		done := Record{Fingerprint: "fp1", Done: true, Status: 200, Body: body}
		wantExisting(t, claim(t, s, "k", "fp1", lease), done)
		wantExisting(t, claim(t, s, "k", "other", lease), done)
		// A completed record can be neither completed nor released again.
		if err := s.Complete(ctx, "k", tok, 500, nil, ttl); !errors.Is(err, ErrNotHeld) {
			t.Fatalf("second Complete: %v, want ErrNotHeld", err)
		}
		if err := s.Release(ctx, "k", tok); !errors.Is(err, ErrNotHeld) {
			t.Fatalf("Release after Complete: %v, want ErrNotHeld", err)
		}
		wantExisting(t, claim(t, s, "k", "fp1", lease), done)
		// Other keys are independent.
		wantClaimed(t, claim(t, s, "k2", "fp1", lease))
	})

	t.Run("EmptyBody", func(t *testing.T) {
		s := newHarness(t).store
		tok := wantClaimed(t, claim(t, s, "k", "fp", lease))
		if err := s.Complete(ctx, "k", tok, 504, nil, ttl); err != nil {
			t.Fatal(err)
		}
		wantExisting(t, claim(t, s, "k", "fp", lease), Record{Fingerprint: "fp", Done: true, Status: 504})
	})

	t.Run("ReleaseRunsAnew", func(t *testing.T) {
		s := newHarness(t).store
		tok := wantClaimed(t, claim(t, s, "k", "fp1", lease))
		if err := s.Release(ctx, "k", "not-the-token"); !errors.Is(err, ErrNotHeld) {
			t.Fatalf("Release with a wrong token: %v, want ErrNotHeld", err)
		}
		if err := s.Complete(ctx, "k", "not-the-token", 200, []byte("x"), ttl); !errors.Is(err, ErrNotHeld) {
			t.Fatalf("Complete with a wrong token: %v, want ErrNotHeld", err)
		}
		wantExisting(t, claim(t, s, "k", "fp1", lease), Record{Fingerprint: "fp1"})
		if err := s.Release(ctx, "k", tok); err != nil {
			t.Fatal(err)
		}
		if err := s.Release(ctx, "k", tok); !errors.Is(err, ErrNotHeld) {
			t.Fatalf("second Release: %v, want ErrNotHeld", err)
		}
		// The next claim runs, with any fingerprint, and gets a new token.
		tok2 := wantClaimed(t, claim(t, s, "k", "fp2", lease))
		if tok2 == tok {
			t.Fatal("a new claim reused the old token")
		}
		if err := s.Complete(ctx, "k", tok, 200, nil, ttl); !errors.Is(err, ErrNotHeld) {
			t.Fatalf("Complete with the released token: %v, want ErrNotHeld", err)
		}
	})

	t.Run("LeaseExpires", func(t *testing.T) {
		h := newHarness(t)
		s := h.store
		tok := wantClaimed(t, claim(t, s, "k", "fp1", lease))
		// (Redis's clock runs meanwhile, so the steps stay a second off the
		// edges; TestMemoryIdempotencyExpiresExactly pins them.)
		h.advance(t, lease-time.Second)
		wantExisting(t, claim(t, s, "k", "fp1", lease), Record{Fingerprint: "fp1"})
		h.advance(t, time.Second)
		// The instance that claimed died: a retry may run.
		tok2 := wantClaimed(t, claim(t, s, "k", "fp1", lease))
		// The late first request can no longer store or release.
		if err := s.Complete(ctx, "k", tok, 200, []byte("late"), ttl); !errors.Is(err, ErrNotHeld) {
			t.Fatalf("Complete after the lease: %v, want ErrNotHeld", err)
		}
		if err := s.Release(ctx, "k", tok); !errors.Is(err, ErrNotHeld) {
			t.Fatalf("Release after the lease: %v, want ErrNotHeld", err)
		}
		if err := s.Complete(ctx, "k", tok2, 200, []byte("second"), ttl); err != nil {
			t.Fatal(err)
		}
		wantExisting(t, claim(t, s, "k", "fp1", lease), Record{Fingerprint: "fp1", Done: true, Status: 200, Body: []byte("second")})
	})

	t.Run("RecordExpiresAfterTTL", func(t *testing.T) {
		h := newHarness(t)
		s := h.store
		tok := wantClaimed(t, claim(t, s, "k", "fp1", lease))
		h.advance(t, lease-time.Second) // the ttl starts at Complete
		if err := s.Complete(ctx, "k", tok, 200, []byte("a"), time.Hour); err != nil {
			t.Fatal(err)
		}
		h.advance(t, time.Hour-time.Second)
		wantExisting(t, claim(t, s, "k", "fp2", lease), Record{Fingerprint: "fp1", Done: true, Status: 200, Body: []byte("a")})
		h.advance(t, time.Second)
		wantClaimed(t, claim(t, s, "k", "fp2", lease))
	})

	t.Run("ConcurrentClaimsOneWinner", func(t *testing.T) {
		s := newHarness(t).store
		won := concurrently(t, 200, func(int) (bool, error) {
			c, err := s.Claim(ctx, "hot", "fp", lease)
			if err == nil && c.Token == "" && (c.Existing.Fingerprint != "fp" || c.Existing.Done) {
				err = errors.New("a losing claim saw a wrong record")
			}
			return c.Token != "", err
		})
		if won != 1 {
			t.Fatalf("%d of 200 concurrent claims won, want 1", won)
		}
	})

	t.Run("InvalidArguments", func(t *testing.T) {
		s := newHarness(t).store
		const secret = "13800001111"
		for name, f := range map[string]func() error{
			"claim empty key":         func() error { _, err := s.Claim(ctx, "", "fp", lease); return err },
			"claim empty fingerprint": func() error { _, err := s.Claim(ctx, secret, "", lease); return err },
			"claim zero lease":        func() error { _, err := s.Claim(ctx, secret, "fp", 0); return err },
			"complete empty token":    func() error { return s.Complete(ctx, secret, "", 200, nil, ttl) },
			"complete bad status":     func() error { return s.Complete(ctx, secret, "t", 0, nil, ttl) },
			"complete zero ttl":       func() error { return s.Complete(ctx, secret, "t", 200, nil, 0) },
			"release empty key":       func() error { return s.Release(ctx, "", "t") },
			"release empty token":     func() error { return s.Release(ctx, secret, "") },
		} {
			err := f()
			if err == nil {
				t.Errorf("%s: succeeded", name)
				continue
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("%s: error %q leaks the key", name, err)
			}
		}
		// Nothing was claimed by the failed calls.
		wantClaimed(t, claim(t, s, secret, "fp", lease))
	})
}

func TestMemoryIdempotency(t *testing.T) {
	testIdempotency(t, func(t *testing.T) harness {
		m, clk := newTestMemory()
		t.Cleanup(func() { _ = m.Close() })
		return harness{store: m, advance: func(_ *testing.T, d time.Duration) { clk.Add(d) }}
	})
}

func TestMemoryIdempotencySweep(t *testing.T) {
	ctx := context.Background()
	m, clk := newTestMemory()
	for i := range 10 * minSweep {
		if _, err := m.Claim(ctx, fmt.Sprint("k", i), "fp", time.Second); err != nil {
			t.Fatal(err)
		}
		clk.Add(10 * time.Millisecond)
	}
	// Claims live 1s, 100 of them at a time; sweeps keep the map near that.
	m.mu.Lock()
	n := len(m.idem)
	m.mu.Unlock()
	if n > 2*minSweep {
		t.Fatalf("%d idempotency records held, want at most %d", n, 2*minSweep)
	}
}

func TestMemoryIdempotencyExpiresExactly(t *testing.T) {
	ctx := context.Background()
	m, clk := newTestMemory()
	tok := wantClaimed(t, claim(t, m, "k", "fp", 1500*time.Microsecond)) // rounds up to 2ms
	clk.Add(2*time.Millisecond - time.Nanosecond)
	wantExisting(t, claim(t, m, "k", "fp", time.Second), Record{Fingerprint: "fp"})
	if err := m.Complete(ctx, "k", tok, 201, nil, time.Minute); err != nil {
		t.Fatal(err)
	}
	clk.Add(time.Minute - time.Nanosecond)
	wantExisting(t, claim(t, m, "k", "fp", time.Second), Record{Fingerprint: "fp", Done: true, Status: 201})
	clk.Add(time.Nanosecond)
	wantClaimed(t, claim(t, m, "k", "fp", time.Second))
}

func TestRedisIdempotency(t *testing.T) {
	requireRedis(t)
	testIdempotency(t, redisHarness)
}

// TestRedisIdempotencyTwoInstances: two stores on one Redis (two function
// instances) see each other's records, and of 200 concurrent claims spread
// over both exactly one wins.
func TestRedisIdempotencyTwoInstances(t *testing.T) {
	ctx := context.Background()
	prefix := testPrefix(t)
	a, b := redisStore(t, prefix), redisStore(t, prefix)

	tokens := make(chan string, 1)
	stores := []Store{a, b}
	won := concurrently(t, 200, func(i int) (bool, error) {
		c, err := stores[i%2].Claim(ctx, "hot", "fp", time.Minute)
		if c.Token != "" {
			tokens <- c.Token
		}
		return c.Token != "", err
	})
	if won != 1 {
		t.Fatalf("%d of 200 concurrent claims won, want 1", won)
	}
	tok := <-tokens
	// Whichever instance won, the other completes nothing without the token
	// and sees the answer once it is stored.
	if err := b.Complete(ctx, "hot", tok, 200, []byte("answer"), time.Hour); err != nil {
		t.Fatal(err)
	}
	wantExisting(t, claim(t, a, "hot", "fp", time.Minute), Record{Fingerprint: "fp", Done: true, Status: 200, Body: []byte("answer")})
}
