package function

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"smsverify/function/limit"
)

// readyTimeout bounds the limit store's answer to a readiness check.
const readyTimeout = time.Second

// ready reports whether the limit store answers within readyTimeout.
func (s *Service) ready(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	return s.store.Ping(ctx)
}

// serveReady answers GET /readyz: 200 when the limit store answers, else
// 503 LIMIT_STORE_UNAVAILABLE. GET /healthz is liveness alone.
func (s *Service) serveReady(ctx context.Context, w http.ResponseWriter, r *http.Request, al *accessLog) *apiError {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		if err := s.ready(ctx); err != nil {
			return storeDown(err)
		}
	}
	return s.serveGet(w, r, al, healthBody, "")
}

// pingStore is Warm's check of the limit store: it pings it and logs, in
// one line each, a store that does not answer (the service runs anyway,
// and GET /readyz says 503 until it does) and, for Redis, an eviction
// policy that may drop limit windows and used marks.
func (s *Service) pingStore(ctx context.Context) error {
	if err := s.ready(ctx); err != nil {
		s.log.LogAttrs(ctx, slog.LevelError,
			"the limit store (Redis) does not answer: every send and check fails with LIMIT_STORE_UNAVAILABLE until it does; check REDIS_URL, its password, REDIS_MODE and REDIS_CA_FILE",
			slog.String("err", err.Error()))
		return err
	}
	rs, ok := s.store.(*limit.Redis)
	if !ok {
		return nil
	}
	pctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	if p := rs.EvictionPolicy(pctx); p != "" && p != "noeviction" {
		s.log.LogAttrs(ctx, slog.LevelWarn,
			"Redis may evict limit windows, used marks and idempotency records under memory pressure: set maxmemory-policy noeviction (docs/deploying.md)",
			slog.String("maxmemory_policy", p))
	}
	return nil
}
