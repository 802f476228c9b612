package limit

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"smsverify/internal/testclock"
)

func TestMemoryRecords(t *testing.T) {
	testRecords(t, func(t *testing.T) harness {
		m, clk := newTestMemory()
		return harness{store: m, advance: func(_ *testing.T, d time.Duration) { clk.Add(d) }}
	})
}

func TestRedisRecords(t *testing.T) {
	requireRedis(t)
	testRecords(t, redisHarness)
}

// strs turns values into strings, "<nil>" for a nil one.
func strs(vals [][]byte) []string {
	out := make([]string, len(vals))
	for i, v := range vals {
		out[i] = "<nil>"
		if v != nil {
			out[i] = string(v)
		}
	}
	return out
}

// testRecords is the conformance suite of PutNew, Get, Push and List.
func testRecords(t *testing.T, newHarness func(t *testing.T) harness) {
	ctx := context.Background()

	t.Run("PutNewKeepsTheFirst", func(t *testing.T) {
		h := newHarness(t)
		stored, err := h.store.PutNew(ctx, time.Hour, Item{"r:1", []byte("first")}, Item{"r:2", []byte("two")})
		if err != nil || !slices.Equal(stored, []bool{true, true}) {
			t.Fatalf("PutNew = %v, %v; want both stored", stored, err)
		}
		h.advance(t, 30*time.Minute)
		stored, err = h.store.PutNew(ctx, time.Hour, Item{"r:1", []byte("second")}, Item{"r:3", []byte("three")}, Item{"r:3", []byte("again")})
		if err != nil || !slices.Equal(stored, []bool{false, true, false}) {
			t.Fatalf("PutNew again = %v, %v; want only the first r:3 stored", stored, err)
		}
		got, err := h.store.Get(ctx, "r:1", "r:2", "r:3", "r:none")
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{"first", "two", "three", "<nil>"}; !slices.Equal(strs(got), want) {
			t.Fatalf("Get = %q, want %q", strs(got), want)
		}
		// The repeated put left r:1's expiry as it was: an hour after
		// the first put.
		h.advance(t, 30*time.Minute)
		got, err = h.store.Get(ctx, "r:1", "r:3")
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{"<nil>", "three"}; !slices.Equal(strs(got), want) {
			t.Fatalf("after an hour Get = %q, want %q", strs(got), want)
		}
		stored, err = h.store.PutNew(ctx, time.Hour, Item{"r:1", []byte("later")})
		if err != nil || !slices.Equal(stored, []bool{true}) {
			t.Fatalf("PutNew after expiry = %v, %v; want stored", stored, err)
		}
	})

	t.Run("PutNewConcurrentOneWins", func(t *testing.T) {
		s := newHarness(t).store
		const n = 16
		var (
			wg  sync.WaitGroup
			mu  sync.Mutex
			won []string
		)
		for i := range n {
			wg.Go(func() {
				v := fmt.Sprint(i)
				stored, err := s.PutNew(ctx, time.Hour, Item{"race", []byte(v)})
				if err != nil {
					t.Error(err)
					return
				}
				if stored[0] {
					mu.Lock()
					won = append(won, v)
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		got, err := s.Get(ctx, "race")
		if err != nil {
			t.Fatal(err)
		}
		if len(won) != 1 || string(got[0]) != won[0] {
			t.Fatalf("winners %q, stored %q; want exactly one, stored", won, strs(got))
		}
	})

	t.Run("PushKeepsTheNewest", func(t *testing.T) {
		h := newHarness(t)
		if got, err := h.store.List(ctx, "l"); err != nil || len(got) != 0 {
			t.Fatalf("List of nothing = %q, %v", strs(got), err)
		}
		for i := range 5 {
			if err := h.store.Push(ctx, "l", []byte(fmt.Sprint(i)), 3, time.Hour); err != nil {
				t.Fatal(err)
			}
		}
		got, err := h.store.List(ctx, "l")
		if want := []string{"4", "3", "2"}; err != nil || !slices.Equal(strs(got), want) {
			t.Fatalf("List = %q, %v; want %q", strs(got), err, want)
		}
		// Each push renews the whole list's expiry.
		h.advance(t, 50*time.Minute)
		if err := h.store.Push(ctx, "l", []byte("5"), 3, time.Hour); err != nil {
			t.Fatal(err)
		}
		h.advance(t, 50*time.Minute)
		got, err = h.store.List(ctx, "l")
		if want := []string{"5", "4", "3"}; err != nil || !slices.Equal(strs(got), want) {
			t.Fatalf("List after renewal = %q, %v; want %q", strs(got), err, want)
		}
		h.advance(t, 10*time.Minute)
		if got, err := h.store.List(ctx, "l"); err != nil || len(got) != 0 {
			t.Fatalf("List after expiry = %q, %v; want none", strs(got), err)
		}
	})

	t.Run("PushKeepsValuesWhole", func(t *testing.T) {
		h := newHarness(t)
		vals := []string{"", "a", strings.Repeat("b", 127), strings.Repeat("c", 128), strings.Repeat("长", 100)}
		for _, v := range vals {
			if err := h.store.Push(ctx, "w", []byte(v), 4, time.Hour); err != nil {
				t.Fatal(err)
			}
		}
		got, err := h.store.List(ctx, "w")
		if want := []string{vals[4], vals[3], vals[2], vals[1]}; err != nil || !slices.Equal(strs(got), want) {
			t.Fatalf("List = %q, %v; want %q", strs(got), err, want)
		}
		got[0][0] = 'x' // a copy: the store keeps its own
		// A push with a smaller max keeps that many.
		if err := h.store.Push(ctx, "w", []byte("d"), 2, time.Hour); err != nil {
			t.Fatal(err)
		}
		got, err = h.store.List(ctx, "w")
		if want := []string{"d", vals[4]}; err != nil || !slices.Equal(strs(got), want) {
			t.Fatalf("List after a push with max 2 = %q, %v; want %q", strs(got), err, want)
		}
	})

	t.Run("KindsDoNotMix", func(t *testing.T) {
		s := newHarness(t).store
		if _, err := s.PutNew(ctx, time.Hour, Item{"k", []byte("v")}); err != nil {
			t.Fatal(err)
		}
		if err := s.Push(ctx, "k", []byte("l"), 1, time.Hour); err != nil {
			t.Fatalf("Push on a value's key: %v", err)
		}
		if ok, err := s.MarkUsed(ctx, "k", time.Hour); err != nil || !ok {
			t.Fatalf("MarkUsed on a value's key = %v, %v", ok, err)
		}
		got, _ := s.Get(ctx, "k")
		l, _ := s.List(ctx, "k")
		if strs(got)[0] != "v" || len(l) != 1 || string(l[0]) != "l" {
			t.Fatalf("value %q, list %q", strs(got), strs(l))
		}
	})

	t.Run("InvalidArguments", func(t *testing.T) {
		s := newHarness(t).store
		for name, err := range map[string]error{
			"put empty key": second(s.PutNew(ctx, time.Hour, Item{Key: "", Value: []byte("v")})),
			"put no ttl":    second(s.PutNew(ctx, 0, Item{Key: "k", Value: []byte("v")})),
			"get empty key": second(s.Get(ctx, "a", "")),
			"push max 0":    s.Push(ctx, "k", nil, 0, time.Hour),
			"push no ttl":   s.Push(ctx, "k", nil, 1, 0),
			"list no key":   second(s.List(ctx, "")),
		} {
			if err == nil {
				t.Errorf("%s: no error", name)
			}
		}
	})
}

// second returns the error of a two-valued call.
func second[T any](_ T, err error) error { return err }

func TestMemoryRecordsCountTowardsMaxKeys(t *testing.T) {
	ctx := context.Background()
	m := NewMemoryWith(MemoryOptions{MaxKeys: 2})
	if _, err := m.PutNew(ctx, time.Hour, Item{"a", nil}); err != nil {
		t.Fatal(err)
	}
	if err := m.Push(ctx, "b", nil, 1, time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, err := m.PutNew(ctx, time.Hour, Item{"c", nil}); !errors.Is(err, ErrFull) {
		t.Fatalf("PutNew in a full store: %v, want ErrFull", err)
	}
	if err := m.Push(ctx, "d", nil, 1, time.Hour); !errors.Is(err, ErrFull) {
		t.Fatalf("Push in a full store: %v, want ErrFull", err)
	}
	// A full list still takes a value that pushes its oldest out; one with
	// room does not, as each value is an entry.
	if err := m.Push(ctx, "b", nil, 1, time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := m.Push(ctx, "b", nil, 2, time.Hour); !errors.Is(err, ErrFull) {
		t.Fatalf("Push growing a list in a full store: %v, want ErrFull", err)
	}
	// Expired lists give their values back.
	clk := testclock.New(time.Now())
	m.now = clk.Now
	m.nextFullSweep = time.Time{}
	clk.Add(2 * time.Hour)
	if err := m.Push(ctx, "d", nil, 5, time.Hour); err != nil {
		t.Fatalf("Push after the others expired: %v", err)
	}
	if n := m.entries(); n != 1 {
		t.Fatalf("%d entries, want 1", n)
	}
}
