package limit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Idempotency records make a retried request answer like the first one.
//
// A request with an idempotency key first calls Claim. The first Claim of a
// key creates an in-flight record bound to the request's fingerprint and
// gets a token; the record lives for the lease only, so the record of an
// instance that died mid-request expires and a later retry may run. The
// holder of the token then either stores the answer with Complete (the
// record lives on for its ttl, and every later Claim returns it) or gives
// the key back with Release (the next Claim runs anew). Every later Claim
// while the record lives gets the record instead of a token: exactly one of
// any number of concurrent Claims of a key wins, across processes sharing
// one Redis.
//
// Keys may be caller text; callers should hash them. A store never puts a
// key into an error string.

// Claim is the outcome of Store.Claim.
type Claim struct {
	// Token is non-empty when this call claimed the key: pass it to
	// Complete or Release.
	Token string
	// Existing is the live record that made the claim fail (Token empty).
	Existing Record
}

// Record is a live idempotency record.
type Record struct {
	// Fingerprint is the fingerprint the first request claimed the key with.
	Fingerprint string
	// Done is false while the first request is in flight, true once its
	// answer is stored.
	Done bool
	// Status and Body are the stored answer when Done.
	Status int
	Body   []byte
}

// ErrNotHeld is returned by Complete and Release when the token no longer
// holds the key: its lease expired (and another request may have claimed
// the key since) or the record was already completed or released.
var ErrNotHeld = errors.New("limit: idempotency key not held by this token")

// checkClaim validates the arguments of Claim and returns the lease in whole
// milliseconds, rounded up.
func checkClaim(key, fingerprint string, lease time.Duration) (time.Duration, error) {
	if fingerprint == "" {
		return 0, errors.New("limit: claim: empty fingerprint")
	}
	lease, err := markTTL(key, lease)
	if err != nil {
		return 0, fmt.Errorf("limit: claim: %w", err)
	}
	return lease, nil
}

// checkComplete validates the arguments of Complete and returns the ttl in
// whole milliseconds, rounded up.
func checkComplete(key, token string, status int, ttl time.Duration) (time.Duration, error) {
	if token == "" {
		return 0, fmt.Errorf("limit: complete: %w", ErrNotHeld)
	}
	if status < 100 || status > 999 {
		return 0, fmt.Errorf("limit: complete: status %d is not an HTTP status", status)
	}
	ttl, err := markTTL(key, ttl)
	if err != nil {
		return 0, fmt.Errorf("limit: complete: %w", err)
	}
	return ttl, nil
}

// newToken returns a random claim token.
func newToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// idemRecord is Memory's idempotency record.
type idemRecord struct {
	Record
	token  string // the claim's token while in flight
	expiry time.Time
}

// Claim implements Store.
func (m *Memory) Claim(ctx context.Context, key, fingerprint string, lease time.Duration) (Claim, error) {
	if err := ctx.Err(); err != nil {
		return Claim{}, fmt.Errorf("limit: claim: %w", err)
	}
	lease, err := checkClaim(key, fingerprint, lease)
	if err != nil {
		return Claim{}, err
	}
	id := m.hash(key, 0)
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	if r := m.idemRecord(id, now); r != nil {
		rec := r.Record
		rec.Body = append([]byte(nil), r.Body...)
		return Claim{Existing: rec}, nil
	}
	if err := m.room(1, now.UnixMilli()); err != nil {
		return Claim{}, fmt.Errorf("limit: claim: %w", err)
	}
	tok := newToken()
	m.idem[id] = &idemRecord{Record: Record{Fingerprint: fingerprint}, token: tok, expiry: now.Add(lease)}
	if len(m.idem) >= m.idemSweep {
		m.sweepIdem(now)
	}
	return Claim{Token: tok}, nil
}

// Complete implements Store.
func (m *Memory) Complete(ctx context.Context, key, token string, status int, body []byte, ttl time.Duration) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("limit: complete: %w", err)
	}
	ttl, err := checkComplete(key, token, status, ttl)
	if err != nil {
		return err
	}
	id := m.hash(key, 0)
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	r := m.idemRecord(id, now)
	if r == nil || r.Done || r.token != token {
		return fmt.Errorf("limit: complete: %w", ErrNotHeld)
	}
	r.Done, r.Status, r.Body = true, status, append([]byte(nil), body...)
	r.token, r.expiry = "", now.Add(ttl)
	return nil
}

// Release implements Store.
func (m *Memory) Release(ctx context.Context, key, token string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("limit: release: %w", err)
	}
	if key == "" {
		return fmt.Errorf("limit: release: %w", errEmptyKey)
	}
	id := m.hash(key, 0)
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.idemRecord(id, m.now())
	if r == nil || r.Done || token == "" || r.token != token {
		return fmt.Errorf("limit: release: %w", ErrNotHeld)
	}
	delete(m.idem, id)
	return nil
}

// idemRecord returns id's live record, dropping an expired one.
func (m *Memory) idemRecord(id keyHash, now time.Time) *idemRecord {
	r := m.idem[id]
	if r != nil && !now.Before(r.expiry) {
		delete(m.idem, id)
		return nil
	}
	return r
}

// The Redis record is a hash: s (p: in flight, d: done), f (fingerprint),
// o (the claim's token, while in flight), c and b (status and body, when
// done). Its key's expiry is the lease, then the ttl.

// claimLua: KEYS[1] the record; ARGV fingerprint, token, lease in ms. It
// returns {1} when it claimed the key, else {0, s, f, c, b}.
var claimLua = redis.NewScript(`
local r = redis.call('HMGET', KEYS[1], 's', 'f', 'c', 'b')
if r[1] then
  return {0, r[1], r[2] or '', r[3] or '', r[4] or ''}
end
redis.call('HSET', KEYS[1], 's', 'p', 'f', ARGV[1], 'o', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return {1}
`)

// completeLua: KEYS[1] the record; ARGV token, status, body, ttl in ms. It
// returns 1 when the token held the key, else 0 (nothing changed).
var completeLua = redis.NewScript(`
local r = redis.call('HMGET', KEYS[1], 's', 'o')
if r[1] ~= 'p' or r[2] ~= ARGV[1] then
  return 0
end
redis.call('HSET', KEYS[1], 's', 'd', 'c', ARGV[2], 'b', ARGV[3])
redis.call('HDEL', KEYS[1], 'o')
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1
`)

// releaseLua: KEYS[1] the record; ARGV token. It returns 1 when the token
// held the key (the record is deleted), else 0.
var releaseLua = redis.NewScript(`
local r = redis.call('HMGET', KEYS[1], 's', 'o')
if r[1] ~= 'p' or r[2] ~= ARGV[1] then
  return 0
end
redis.call('DEL', KEYS[1])
return 1
`)

// idemKey is the Redis key of the idempotency record of key.
func (r *Redis) idemKey(key string) string { return r.prefix + "idem:" + key }

// Claim implements Store.
func (r *Redis) Claim(ctx context.Context, key, fingerprint string, lease time.Duration) (Claim, error) {
	lease, err := checkClaim(key, fingerprint, lease)
	if err != nil {
		return Claim{}, err
	}
	tok := newToken()
	v, err := r.run(ctx, claimLua, []string{r.idemKey(key)}, fingerprint, tok, lease.Milliseconds())
	if err != nil {
		return Claim{}, fmt.Errorf("limit: redis claim: %w", err)
	}
	res, _ := v.([]any)
	if len(res) == 1 && res[0] == int64(1) {
		return Claim{Token: tok}, nil
	}
	if len(res) != 5 || res[0] != int64(0) {
		return Claim{}, fmt.Errorf("limit: redis claim: unexpected reply of %d values", len(res))
	}
	var s [4]string // bulk strings: state, fingerprint, status, body
	for i := range s {
		v, ok := res[i+1].(string)
		if !ok {
			return Claim{}, errors.New("limit: redis claim: unexpected reply type")
		}
		s[i] = v
	}
	rec := Record{Fingerprint: s[1]}
	switch s[0] {
	case "p":
	case "d":
		rec.Done = true
		if rec.Status, err = strconv.Atoi(s[2]); err != nil {
			return Claim{}, errors.New("limit: redis claim: stored status is not a number")
		}
		rec.Body = []byte(s[3])
	default:
		return Claim{}, errors.New("limit: redis claim: unknown record state")
	}
	return Claim{Existing: rec}, nil
}

// Complete implements Store.
func (r *Redis) Complete(ctx context.Context, key, token string, status int, body []byte, ttl time.Duration) error {
	ttl, err := checkComplete(key, token, status, ttl)
	if err != nil {
		return err
	}
	n, err := r.run(ctx, completeLua, []string{r.idemKey(key)}, token, status, body, ttl.Milliseconds())
	if err != nil {
		return fmt.Errorf("limit: redis complete: %w", err)
	}
	if n != int64(1) {
		return fmt.Errorf("limit: complete: %w", ErrNotHeld)
	}
	return nil
}

// Release implements Store.
func (r *Redis) Release(ctx context.Context, key, token string) error {
	if key == "" {
		return fmt.Errorf("limit: release: %w", errEmptyKey)
	}
	if token == "" {
		return fmt.Errorf("limit: release: %w", ErrNotHeld)
	}
	n, err := r.run(ctx, releaseLua, []string{r.idemKey(key)}, token)
	if err != nil {
		return fmt.Errorf("limit: redis release: %w", err)
	}
	if n != int64(1) {
		return fmt.Errorf("limit: release: %w", ErrNotHeld)
	}
	return nil
}
