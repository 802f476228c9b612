package limit

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"
)

// minSweep is the map size below which Memory never sweeps.
const minSweep = 1024

// Memory is a Store for a single instance: one mutex over plain maps. Stale
// entries are swept whenever a map has doubled since the last sweep, so the
// maps stay within about twice the number of live keys.
type Memory struct {
	mu  sync.Mutex
	now func() time.Time // clock for mark expiry; Allow takes its own time

	logs      map[logID]*eventLog
	logsSweep int                  // sweep logs when len(logs) reaches this
	marks     map[string]time.Time // used key → expiry of its mark
	markSweep int                  // sweep marks when len(marks) reaches this

	idem      map[string]*idemRecord // idempotency records, made on first Claim
	idemSweep int                    // sweep idem when len(idem) reaches this
}

// logID names one sliding-window log.
type logID struct {
	key   string
	perMs int64
}

// eventLog holds the times of counted events in milliseconds, ascending.
type eventLog struct {
	events []int64
}

// prune drops the events at or before cutoff and returns how many remain.
func (l *eventLog) prune(cutoff int64) int {
	i := sort.Search(len(l.events), func(i int) bool { return l.events[i] > cutoff })
	if i > 0 {
		l.events = l.events[i:]
	}
	if len(l.events) == 0 {
		l.events = nil // release the array
	}
	return len(l.events)
}

// add records an event at ms, keeping the log sorted even if clocks disagree.
func (l *eventLog) add(ms int64) {
	i := sort.Search(len(l.events), func(i int) bool { return l.events[i] > ms })
	l.events = append(l.events, 0)
	copy(l.events[i+1:], l.events[i:])
	l.events[i] = ms
}

// remove drops one event at ms, if there is one, and returns how many
// remain.
func (l *eventLog) remove(ms int64) int {
	i := sort.Search(len(l.events), func(i int) bool { return l.events[i] >= ms })
	if i < len(l.events) && l.events[i] == ms {
		l.events = append(l.events[:i], l.events[i+1:]...)
	}
	return len(l.events)
}

// NewMemory returns an empty single-instance Store.
func NewMemory() *Memory {
	return &Memory{
		now:       time.Now,
		logs:      make(map[logID]*eventLog),
		logsSweep: minSweep,
		marks:     make(map[string]time.Time),
		markSweep: minSweep,
	}
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

	m.mu.Lock()
	defer m.mu.Unlock()

	// Check every request first; count nothing unless all pass. p counts
	// the events this call will add to the same log for earlier requests.
	var buf [4]*eventLog
	logs := buf[:0]
	for i, rq := range reqs {
		id := logID{rq.Key, rq.Rate.Per.Milliseconds()}
		l := m.logs[id]
		c := 0
		if l != nil {
			c = l.prune(nowMs - id.perMs)
		}
		p := 0
		for _, prev := range reqs[:i] {
			if prev.Key == rq.Key && prev.Rate.Per == rq.Rate.Per {
				p++
			}
		}
		if c+p >= rq.Rate.N {
			// The event whose expiry frees a slot is at index c+p-N of the
			// log extended by the pending events (all at nowMs).
			at := nowMs
			if k := c + p - rq.Rate.N; k < c {
				at = l.events[k]
			}
			return Decision{Denied: i, RetryAfter: time.Duration(at+id.perMs-nowMs) * time.Millisecond}, nil
		}
		logs = append(logs, l)
	}
	for i, rq := range reqs {
		l := logs[i]
		if l == nil {
			id := logID{rq.Key, rq.Rate.Per.Milliseconds()}
			if l = m.logs[id]; l == nil { // an earlier request may have made it
				l = &eventLog{}
				m.logs[id] = l
			}
		}
		l.add(nowMs)
	}
	if len(m.logs) >= m.logsSweep {
		m.sweepLogs(nowMs)
	}
	return allowedDecision(), nil
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
		id := logID{rq.Key, rq.Rate.Per.Milliseconds()}
		if l := m.logs[id]; l != nil && l.remove(nowMs) == 0 {
			delete(m.logs, id)
		}
	}
	return nil
}

// sweepLogs drops the logs with no event in their window at nowMs.
func (m *Memory) sweepLogs(nowMs int64) {
	for id, l := range m.logs {
		if l.prune(nowMs-id.perMs) == 0 {
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
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	if m.marked(key, now) {
		return false, nil
	}
	m.marks[key] = now.Add(ttl)
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
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.marked(key, m.now()), nil
}

// marked reports whether key has a live mark at now, dropping an expired one.
func (m *Memory) marked(key string, now time.Time) bool {
	exp, ok := m.marks[key]
	if ok && !now.Before(exp) {
		delete(m.marks, key)
		return false
	}
	return ok
}

// sweepMarks drops the marks expired at now.
func (m *Memory) sweepMarks(now time.Time) {
	for k, exp := range m.marks {
		if !now.Before(exp) {
			delete(m.marks, k)
		}
	}
	m.markSweep = max(minSweep, 2*len(m.marks))
}

// Close implements Store; it does nothing.
func (m *Memory) Close() error { return nil }

// size returns the number of logs and marks held, for tests.
func (m *Memory) size() (logs, marks int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.logs), len(m.marks)
}
