package function

import (
	"context"
	"errors"
	"sync"

	"smsverify/function/captcha"
)

// Warm opens, in parallel, the connections a public send will need, so the
// first request after a cold start does not pay their handshakes one after
// the other: Dypnsapi's endpoint, the captcha provider's host (when
// CAPTCHA_PROVIDER is set) and the limit store (pingStore, which logs a
// store that does not answer or may evict). Each connection
// lands in the pool the requests use. Adapters run it in a goroutine as soon as the Service exists, never
// on a request's path and never waiting for it; it is bounded by
// DYPNS_TIMEOUT and by ctx. Its error, every failure joined, is for a
// caller that wants to know: an unreachable host is not a reason to stop,
// as the first request simply dials as it would have.
func (s *Service) Warm(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	warmers := []func(context.Context) error{s.client.Warm, s.pingStore}
	if w, ok := s.captcha.(captcha.Warmer); ok {
		warmers = append(warmers, w.Warm)
	}
	errs := make([]error, len(warmers))
	var wg sync.WaitGroup
	for i, warm := range warmers {
		wg.Go(func() { errs[i] = warm(ctx) })
	}
	wg.Wait()
	return errors.Join(errs...)
}
