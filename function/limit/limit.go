// Package limit is the abuse-protection store of the smsverify service:
// sliding-window rate limits that hold across serverless instances (Redis)
// or within one process (Memory), and the "a PASS uses the code up"
// bookkeeping that makes a verification code single-use.
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
// (for example "send:phone:86:138..."); Rate is its limit.
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
// counted against every key; Denied is then -1. When Allowed is false nothing
// was counted against any key, Denied is the index of the first refused
// Request and RetryAfter the time until that request would be allowed again:
// positive and in whole milliseconds, the resolution at which stores keep
// event times.
type Decision struct {
	Allowed    bool
	Denied     int
	RetryAfter time.Duration
}

// Store is the abuse-protection store shared by the service's handlers.
type Store interface {
	// Allow checks and counts atomically with a sliding-window log: a key
	// sees at most Rate.N events in any window of length Rate.Per. Either
	// all requests are allowed and each is counted, or none is counted.
	Allow(ctx context.Context, now time.Time, reqs ...Request) (Decision, error)

	// NoteSend records that a new code was sent for key (a phone+scheme id).
	// Call it after every successful send. The record expires after ttl.
	NoteSend(ctx context.Context, key string, ttl time.Duration) error

	// ConsumePass is called after the upstream answered PASS for key. It
	// returns true exactly once per sent code generation: the first PASS
	// after a NoteSend (or the very first PASS for a key with no NoteSend)
	// is true, any later PASS without a new NoteSend in between is false (a
	// replayed code). It is atomic, and it renews the record's ttl.
	ConsumePass(ctx context.Context, key string, ttl time.Duration) (bool, error)

	// Used reports whether the latest generation for key was already
	// consumed, that is whether ConsumePass would now return false.
	Used(ctx context.Context, key string) (bool, error)

	// Close releases the store's resources.
	Close() error
}

// errEmptyKey is returned for a request or record without a key.
var errEmptyKey = errors.New("limit: empty key")

// allowedDecision is the Decision for an allowed call.
func allowedDecision() Decision { return Decision{Allowed: true, Denied: -1} }

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

// ttlMillis validates a record ttl and returns it in whole milliseconds,
// rounded up.
func ttlMillis(key string, ttl time.Duration) (int64, error) {
	if key == "" {
		return 0, errEmptyKey
	}
	if ttl <= 0 {
		return 0, fmt.Errorf("limit: ttl must be positive, got %v", ttl)
	}
	return ceilMillis(ttl), nil
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
