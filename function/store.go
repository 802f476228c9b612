package function

import (
	"context"
	"encoding/hex"
	"hash"
	"time"
)

// secureHash names a phone (or anything holding one) in the limit store
// without storing it: HMAC-SHA256 under LIMIT_KEY_SECRET (a random
// per-process key with the memory store when none is set). An unkeyed hash
// of an 11-digit number could be reversed by trying every number; without
// the key it cannot.
func (s *Service) secureHash(parts ...string) string {
	h := s.hashers.Get().(hash.Hash)
	defer s.hashers.Put(h)
	h.Reset() // back to the keyed state, whatever the last user wrote
	// One buffer holds the input, each part followed by a 0 byte, and
	// then the sum.
	buf := make([]byte, 0, 128)
	for _, p := range parts {
		buf = append(append(buf, p...), 0)
	}
	h.Write(buf)
	return hex.EncodeToString(h.Sum(buf[:0])[:16])
}

// phoneHash names the number cc+phone in the limit store: its limits and
// its attempts log.
func (s *Service) phoneHash(cc, phone string) string {
	return s.secureHash(countryOf(cc), phone)
}

func countryOf(cc string) string {
	if cc == "" {
		return "86"
	}
	return cc
}

// afterwardTimeout bounds store work that outlives its request.
const afterwardTimeout = 2 * time.Second

// afterward is the context of store work that must be done even when the
// caller has gone, because it settles what the request already did (a
// refund, an idempotency record): ctx's values without its cancellation,
// bounded by afterwardTimeout.
func afterward(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), afterwardTimeout)
}

// storeDown answers a failure of the limit store: 503, transient, never
// "allowed" and never a wrong code.
func storeDown(err error) *apiError {
	e := newError(CodeLimitStoreDown, "rate limit store unavailable; try again later")
	e.Transient, e.cause = true, err
	return e
}
