package limit

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"slices"
	"sync"
	"time"
)

// minSweep is the map size below which Memory never sweeps.
const minSweep = 1024

// DefaultMemoryMaxKeys is the number of entries (windows, used marks,
// idempotency records, written-once values and each item of a list) a Memory holds unless told otherwise: at about 100
// bytes for a window with one event, a few hundred for a full per-address
// window and at most about 2 KB for any window (see ExactN), it keeps the
// store within about 50 MB of a 128 MB instance for the usual mix, leaving
// room for the runtime and the garbage collector.
const DefaultMemoryMaxKeys = 200_000

// fullSweepEvery spaces the sweeps of a full store, so that requests
// refused while it is full cannot make every call scan the whole store.
const fullSweepEvery = time.Second

// ErrFull is returned when a Memory holds MaxKeys entries, none of them
// expired, and a call needs a new one. The service answers it like a
// store that is down: fail closed.
var ErrFull = errors.New("limit: memory store is full (LIMIT_MEMORY_MAX_KEYS)")

// Memory is a Store for a single instance: one mutex over plain maps. Stale
// entries are swept whenever a map has doubled since the last sweep, so the
// maps stay within about twice the number of live keys, and never beyond
// MaxKeys entries in all.
//
// Keys are kept as 128-bit hashes under a random per-store seed, never as
// the caller's strings: a window costs a fixed 16-byte name plus its
// stamps. Two keys would share a window only if their hashes collided, which
// an outsider cannot aim for without the seed.
type Memory struct {
	mu      sync.Mutex
	now     func() time.Time // clock for mark expiry; Allow takes its own time
	seeds   [2]maphash.Seed
	maxKeys int

	logs      map[keyHash]window // windows by hashed key and period
	logsSweep int                // sweep logs when len(logs) reaches this
	marks     map[keyHash]int64  // used key → expiry of its mark, Unix ns
	markSweep int                // sweep marks when len(marks) reaches this

	idem      map[keyHash]*idemRecord // idempotency records by hashed key
	idemSweep int                     // sweep idem when len(idem) reaches this

	values     map[keyHash]value // values written once (PutNew)
	valueSweep int               // sweep values when len(values) reaches this
	lists      map[keyHash]list  // capped lists (Push)
	listSweep  int               // sweep lists when len(lists) reaches this
	listItems  int               // values in all lists: each is an entry

	nextFullSweep time.Time // a full store sweeps again from then (m.now)
}

// keyHash is the fixed-size name of a window, a mark or an idempotency record.
type keyHash [2]uint64

// window is one sliding window: its period and its counted events as
// counts per time stamp in milliseconds, ascending (see ExactN).
type window struct {
	perMs  int64
	stamps []stamp
}

// stamp counts the events of a window counted at one time.
type stamp struct {
	ms int64
	n  int64
}

// MemoryOptions configure NewMemoryWith.
type MemoryOptions struct {
	// MaxKeys bounds the entries held; 0 means DefaultMemoryMaxKeys.
	MaxKeys int
	// Now is the clock of marks and idempotency records; nil means
	// time.Now. (Allow and Refund take their time from the caller.)
	Now func() time.Time
}

// NewMemory returns an empty single-instance Store holding at most
// DefaultMemoryMaxKeys entries.
func NewMemory() *Memory { return NewMemoryWith(MemoryOptions{}) }

// NewMemoryWith returns an empty single-instance Store configured by o.
func NewMemoryWith(o MemoryOptions) *Memory {
	if o.MaxKeys <= 0 {
		o.MaxKeys = DefaultMemoryMaxKeys
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Memory{
		now:       o.Now,
		seeds:     [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()},
		maxKeys:   o.MaxKeys,
		logs:      make(map[keyHash]window),
		logsSweep: minSweep,
		marks:     make(map[keyHash]int64),
		markSweep: minSweep,
		idem:      make(map[keyHash]*idemRecord),
		idemSweep: minSweep,

		values:     make(map[keyHash]value),
		valueSweep: minSweep,
		lists:      make(map[keyHash]list),
		listSweep:  minSweep,
	}
}

// hash names key (with the period perMs of a window; 0 for a mark or an
// idempotency record, -1 for a value, -2 for a list).
func (m *Memory) hash(key string, perMs int64) keyHash {
	var per [8]byte
	binary.LittleEndian.PutUint64(per[:], uint64(perMs))
	var out keyHash
	for i, seed := range m.seeds {
		var h maphash.Hash
		h.SetSeed(seed)
		h.WriteString(key)
		h.Write(per[:])
		out[i] = h.Sum64()
	}
	return out
}

// entries is the number of entries held; each value of a list is one.
func (m *Memory) entries() int {
	return len(m.logs) + len(m.marks) + len(m.idem) + len(m.values) + m.listItems
}

// room makes sure n more entries fit, sweeping every expired entry once the
// store is full (at most once per fullSweepEvery); else it returns ErrFull.
// nowMs is the caller's time for windows.
func (m *Memory) room(n int, nowMs int64) error {
	if m.entries()+n <= m.maxKeys {
		return nil
	}
	now := m.now()
	if now.Before(m.nextFullSweep) {
		return ErrFull
	}
	m.nextFullSweep = now.Add(fullSweepEvery)
	m.sweepLogs(nowMs)
	m.sweepMarks(now)
	m.sweepIdem(now)
	m.sweepValues(now)
	m.sweepLists(now)
	if m.entries()+n > m.maxKeys {
		return ErrFull
	}
	return nil
}

// prune drops the stamps at or before cutoff from a window.
func prune(stamps []stamp, cutoff int64) []stamp {
	i, _ := slices.BinarySearchFunc(stamps, cutoff+1, cmpStamp)
	if i == len(stamps) {
		return nil // release the array
	}
	return stamps[i:]
}

// cmpStamp orders stamps by time.
func cmpStamp(s stamp, ms int64) int {
	switch {
	case s.ms < ms:
		return -1
	case s.ms > ms:
		return 1
	}
	return 0
}

// addEvent counts one event at ms, keeping the stamps sorted even if clocks
// disagree.
func addEvent(stamps []stamp, ms int64) []stamp {
	i, found := slices.BinarySearchFunc(stamps, ms, cmpStamp)
	if found {
		stamps[i].n++
		return stamps
	}
	return slices.Insert(stamps, i, stamp{ms: ms, n: 1})
}

// count is the number of events in stamps.
func count(stamps []stamp) int64 {
	var c int64
	for _, s := range stamps {
		c += s.n
	}
	return c
}

// freedAt is the stamp of the event whose expiry frees a slot: the
// (k+1)-th oldest of stamps, or pending when k is past them (an event this
// call is about to add).
func freedAt(stamps []stamp, k, pending int64) int64 {
	for _, s := range stamps {
		if k < s.n {
			return s.ms
		}
		k -= s.n
	}
	return pending
}

// Allow implements Store.
func (m *Memory) Allow(ctx context.Context, now time.Time, reqs ...Request) (Decision, error) {
	if err := ctx.Err(); err != nil {
		return Decision{}, fmt.Errorf("limit: allow: %w", err)
	}
	if err := checkRequests(reqs); err != nil {
		return Decision{}, err
	}
	nowMs := now.UnixMilli()
	var buf [4]keyHash
	ids := buf[:0]
	for _, rq := range reqs {
		ids = append(ids, m.hash(rq.Key, rq.Rate.Per.Milliseconds()))
	}

	m.mu.Lock()
	defer m.mu.Unlock()

	// Check every request first; count nothing unless all pass. p counts
	// the events this call will add to the same window for earlier
	// requests; fresh counts the windows it will create.
	fresh := 0
	for i, rq := range reqs {
		perMs := rq.Rate.Per.Milliseconds()
		w, ok := m.logs[ids[i]]
		if ok {
			w.stamps = prune(w.stamps, nowMs-perMs)
			m.logs[ids[i]] = w
		}
		c := count(w.stamps)
		var p int64
		for j := range reqs[:i] {
			if ids[j] == ids[i] {
				p++
			}
		}
		if n := int64(rq.Rate.N); c+p >= n {
			at := freedAt(w.stamps, c+p-n, stampMs(nowMs, rq.Rate.widthMs()))
			return Decision{Denied: i, RetryAfter: time.Duration(at+perMs-nowMs) * time.Millisecond}, nil
		}
		if !ok && p == 0 {
			fresh++
		}
	}
	if fresh > 0 {
		if err := m.room(fresh, nowMs); err != nil {
			return Decision{}, err
		}
	}
	for i, id := range ids {
		w := m.logs[id]
		w.perMs = reqs[i].Rate.Per.Milliseconds()
		w.stamps = addEvent(w.stamps, stampMs(nowMs, reqs[i].Rate.widthMs()))
		m.logs[id] = w
	}
	left := make([]int, len(reqs))
	for i, id := range ids {
		left[i] = max(reqs[i].Rate.N-int(count(m.logs[id].stamps)), 0)
	}
	if len(m.logs) >= m.logsSweep {
		m.sweepLogs(nowMs)
	}
	return allowedDecision(left), nil
}

// Refund implements Store.
func (m *Memory) Refund(ctx context.Context, now time.Time, reqs ...Request) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("limit: refund: %w", err)
	}
	if err := checkRequests(reqs); err != nil {
		return err
	}
	nowMs := now.UnixMilli()
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, rq := range reqs {
		id := m.hash(rq.Key, rq.Rate.Per.Milliseconds())
		w, ok := m.logs[id]
		if !ok {
			continue
		}
		ms := stampMs(nowMs, rq.Rate.widthMs())
		if i, found := slices.BinarySearchFunc(w.stamps, ms, cmpStamp); found {
			if w.stamps[i].n--; w.stamps[i].n == 0 {
				w.stamps = slices.Delete(w.stamps, i, i+1)
			}
		}
		if len(w.stamps) == 0 {
			delete(m.logs, id)
		} else {
			m.logs[id] = w
		}
	}
	return nil
}

// sweepLogs drops the windows with no event in them at nowMs.
func (m *Memory) sweepLogs(nowMs int64) {
	for id, w := range m.logs {
		if len(prune(w.stamps, nowMs-w.perMs)) == 0 {
			delete(m.logs, id)
		}
	}
	m.logsSweep = max(minSweep, 2*len(m.logs))
}

// MarkUsed implements Store.
func (m *Memory) MarkUsed(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, fmt.Errorf("limit: mark used: %w", err)
	}
	ttl, err := markTTL(key, ttl)
	if err != nil {
		return false, fmt.Errorf("limit: mark used: %w", err)
	}
	id := m.hash(key, 0)
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	if m.marked(id, now) {
		return false, nil
	}
	if err := m.room(1, now.UnixMilli()); err != nil {
		return false, fmt.Errorf("limit: mark used: %w", err)
	}
	m.marks[id] = now.Add(ttl).UnixNano()
	if len(m.marks) >= m.markSweep {
		m.sweepMarks(now)
	}
	return true, nil
}

// Used implements Store.
func (m *Memory) Used(ctx context.Context, key string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, fmt.Errorf("limit: used: %w", err)
	}
	if key == "" {
		return false, fmt.Errorf("limit: used: %w", errEmptyKey)
	}
	id := m.hash(key, 0)
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.marked(id, m.now()), nil
}

// marked reports whether id has a live mark at now, dropping an expired one.
func (m *Memory) marked(id keyHash, now time.Time) bool {
	exp, ok := m.marks[id]
	if ok && now.UnixNano() >= exp {
		delete(m.marks, id)
		return false
	}
	return ok
}

// sweepMarks drops the marks expired at now.
func (m *Memory) sweepMarks(now time.Time) {
	ns := now.UnixNano()
	for id, exp := range m.marks {
		if ns >= exp {
			delete(m.marks, id)
		}
	}
	m.markSweep = max(minSweep, 2*len(m.marks))
}

// sweepIdem drops the idempotency records expired at now.
func (m *Memory) sweepIdem(now time.Time) {
	for k, r := range m.idem {
		if !now.Before(r.expiry) {
			delete(m.idem, k)
		}
	}
	m.idemSweep = max(minSweep, 2*len(m.idem))
}

// Reset forgets everything: every window, used-code mark, idempotency
// record, value written once (delivery receipts) and list (attempts): the
// local emulator's POST /emulator/reset. Calls in flight finish against the
// emptied store.
func (m *Memory) Reset() {
	m.mu.Lock()
	defer m.mu.Unlock()
	clear(m.logs)
	clear(m.marks)
	clear(m.idem)
	clear(m.values)
	clear(m.lists)
	m.listItems = 0
	m.logsSweep, m.markSweep, m.idemSweep = minSweep, minSweep, minSweep
	m.valueSweep, m.listSweep = minSweep, minSweep
	m.nextFullSweep = time.Time{}
}

// Ping implements Store: a Memory always answers.
func (m *Memory) Ping(ctx context.Context) error { return ctx.Err() }

// Close implements Store; it does nothing.
func (m *Memory) Close() error { return nil }
