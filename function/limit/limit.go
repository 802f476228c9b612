// Package limit is the abuse-protection store of the smsverify service:
// sliding-window rate limits, whose memory does not grow with their limit, that hold across serverless instances (Redis)
// or within one process (Memory), and the "used" marks that make a
// verification code single-use: the caller marks each code that passed
// under its own key, and a marked key refuses a second mark; and the
// idempotency records that let a retried request get the first one's answer;
// and the records of each SMS (delivery receipts, recent sends and checks).
//
// Keys handed to a Store may contain phone numbers; the store never puts a
// key into an error string.
package limit

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Request names one limit to check. Key is the full key, built by the caller
// (smsverify's are like "send:phone:" and a keyed hash of the number, never
// the number itself); Rate is its limit.
//
// The event log is kept per Key and Rate.Per, so two limits that share a Key
// but differ in period never disturb each other's windows.
type Request struct {
	Key  string
	Rate Rate
}

// Decision is the outcome of Store.Allow.
//
// When Allowed is true every request was under its limit and one event was
// counted against every key; Denied is then -1, and Left[i] is the number of
// events Allow would still count for reqs[i] after this call: Rate.N less
// the events in its window, this call's counted (never below 0). When
// Allowed is false nothing was counted against any key, Left is nil, Denied
// is the index of the first refused Request and RetryAfter the time until
// that request would be allowed again: positive and in whole milliseconds,
// the resolution at which stores keep event times.
type Decision struct {
	Allowed    bool
	Denied     int
	RetryAfter time.Duration
	Left       []int
}

// Store is the abuse-protection store shared by the service's handlers.
type Store interface {
	// Allow checks and counts atomically with a sliding window: a key sees
	// at most Rate.N events in any window of length Rate.Per. Either all
	// requests are allowed and each is counted, or none is counted. The
	// window is exact up to ExactN events; beyond, a slot may come back up
	// to Per/ExactN late, never early (see ExactN).
	Allow(ctx context.Context, now time.Time, reqs ...Request) (Decision, error)

	// Refund gives back the slots an allowed Allow(ctx, now, reqs...)
	// took: one event counted at now is removed from the window of each
	// request (pass the requests whose slots to give back, with the same
	// now). An event that has already left its window is not touched. Refunds of
	// concurrent calls with the same now are exact: n allowed calls and n
	// refunds leave every log as it was.
	Refund(ctx context.Context, now time.Time, reqs ...Request) error

	// MarkUsed records key as used for ttl. It returns true for the first
	// call on a key (until the mark expires) and false for every later
	// one: of N concurrent calls exactly one gets true. A false call leaves
	// the mark and its expiry as they were. It is atomic across processes
	// sharing one Redis.
	MarkUsed(ctx context.Context, key string, ttl time.Duration) (bool, error)

	// Used reports whether key is marked and the mark has not expired.
	Used(ctx context.Context, key string) (bool, error)

	// Claim claims an idempotency key for a request with the given
	// fingerprint (see Claim and Record): when no live record holds key it
	// creates an in-flight record that expires after lease and returns its
	// token; otherwise it returns the live record and changes nothing.
	Claim(ctx context.Context, key, fingerprint string, lease time.Duration) (Claim, error)

	// Complete stores the answer of a claimed key for ttl; later Claims
	// return it. It fails with ErrNotHeld unless token holds key in flight.
	Complete(ctx context.Context, key, token string, status int, body []byte, ttl time.Duration) error

	// Release gives a claimed key back: the record is deleted and the next
	// Claim runs anew. It fails with ErrNotHeld unless token holds key in
	// flight.
	Release(ctx context.Context, key, token string) error

	// Ping reports whether the store answers (readiness).
	Ping(ctx context.Context) error

	// PutNew stores each item's value under its key for ttl, unless the
	// key holds a live value, which is left as it was (value and expiry);
	// stored[i] reports whether items[i] was stored. Each key is atomic
	// across processes sharing one Redis; of two items with one key in a
	// call the first is stored.
	PutNew(ctx context.Context, ttl time.Duration, items ...Item) (stored []bool, err error)

	// Get returns the live values of keys written by PutNew, nil for a
	// key that holds none.
	Get(ctx context.Context, keys ...string) ([][]byte, error)

	// Push adds val at the head of the list key, keeps its max newest
	// values, and makes the whole list expire ttl from now.
	Push(ctx context.Context, key string, val []byte, max int, ttl time.Duration) error

	// List returns the values of the list key, newest first; none when
	// it expired or was never pushed to.
	List(ctx context.Context, key string) ([][]byte, error)

	// Close releases the store's resources.
	Close() error
}

// errEmptyKey is returned for a request or mark without a key.
var errEmptyKey = errors.New("limit: empty key")

// allowedDecision is the Decision for an allowed call, with what is left
// of each request.
func allowedDecision(left []int) Decision { return Decision{Allowed: true, Denied: -1, Left: left} }

// checkRequests validates reqs before any store is touched.
func checkRequests(reqs []Request) error {
	for i, rq := range reqs {
		if rq.Key == "" {
			return fmt.Errorf("limit: request %d: %w", i, errEmptyKey)
		}
		if err := rq.Rate.validate(); err != nil {
			return fmt.Errorf("limit: request %d: %w", i, err)
		}
	}
	return nil
}

// markTTL validates the key and ttl of a mark and returns the ttl in whole
// milliseconds, rounded up: the resolution at which stores keep expiry.
func markTTL(key string, ttl time.Duration) (time.Duration, error) {
	if key == "" {
		return 0, errEmptyKey
	}
	if ttl < time.Millisecond {
		return 0, fmt.Errorf("limit: ttl must be at least 1ms, got %v", ttl)
	}
	return time.Duration(ceilMillis(ttl)) * time.Millisecond, nil
}

// ceilMillis returns d in milliseconds, rounded up.
func ceilMillis(d time.Duration) int64 {
	ms := int64(d / time.Millisecond)
	if d%time.Millisecond > 0 {
		ms++
	}
	return ms
}

// Both stores implement Store.
var (
	_ Store = (*Memory)(nil)
	_ Store = (*Redis)(nil)
)
