package function

import (
	"context"
	"log/slog"
	"time"

	"smsverify/core"
)

// MaskedPhone logs a phone number as 138****0000: enough to correlate a
// support request, never the whole number.
type MaskedPhone string

// LogValue implements slog.LogValuer.
func (p MaskedPhone) LogValue() slog.Value { return slog.StringValue(p.String()) }

// String returns the masked number, so fmt prints it masked too.
func (p MaskedPhone) String() string { return maskPhone(string(p)) }

func maskPhone(s string) string {
	if s == "" {
		return ""
	}
	if len(s) < 7 {
		return "****"
	}
	return s[:3] + "****" + s[len(s)-4:]
}

type requestIDKey struct{}

// WithRequestID returns ctx carrying the platform's request id (the Lambda
// or Function Compute invocation id), which the access log records.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestID returns the request id stored by WithRequestID, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// accessLog is the one line logged per request.
type accessLog struct {
	Action     string
	Caller     string // public, trusted (API key) or event
	Phone      MaskedPhone
	ClientIP   string
	Code       string // the outcome: OK, a local code or Alibaba's
	Status     int
	UpstreamID string // Alibaba's RequestId
	BizID      string
	Result     string // VerifyResult for checks
	Captcha    string // the captcha outcome code (T001, success, F001, timeout, …), never the token
	Replayed   bool   // answered from an idempotency record
	TestNumber bool   // a number from SMS_TEST_NUMBERS: no upstream call
	// Upstream is the latency of the Dypnsapi call, if one was made;
	// UpstreamFailed is set when it failed transiently.
	Upstream       time.Duration
	UpstreamFailed bool
	// Receipts of a push: newly stored by outcome, and repeats ignored.
	ReceiptsDelivered, ReceiptsFailed, ReceiptsRepeated int
	Err                                                 error // the cause behind a failure (never carries a secret or code)
}

// logAccess logs a's line for a request that began at start.
func (s *Service) logAccess(ctx context.Context, a *accessLog, start time.Time) {
	s.metrics.observe(a)
	level := slog.LevelInfo
	switch {
	case a.Status >= 500:
		level = slog.LevelError
	case a.Status >= 400:
		level = slog.LevelWarn
	}
	// The handler directly, with no caller PC: Logger.LogAttrs would walk
	// the stack (runtime.Callers) on every request for a source location
	// that is always this function.
	h := s.log.Handler()
	if !h.Enabled(ctx, level) {
		return
	}
	now := time.Now() // the line's time, and the end of its latency
	ms := float64(now.Sub(start).Microseconds()) / 1000
	// Room for every attribute below, so that appending never reallocates.
	var buf [32]slog.Attr
	attrs := append(buf[:0],
		slog.String("request_id", RequestID(ctx)),
		slog.String("action", a.Action),
		slog.String("caller", a.Caller),
		slog.String("phone", a.Phone.String()),
		slog.String("client_ip", a.ClientIP),
		slog.String("code", a.Code),
		slog.Int("status", a.Status),
		slog.Float64("latency_ms", ms),
	)
	if a.UpstreamID != "" {
		attrs = append(attrs, slog.String("upstream_request_id", a.UpstreamID))
	}
	if a.BizID != "" {
		attrs = append(attrs, slog.String("biz_id", a.BizID))
	}
	if a.Upstream > 0 {
		attrs = append(attrs, slog.Float64("upstream_ms", float64(a.Upstream.Microseconds())/1000))
	}
	if a.Result != "" {
		attrs = append(attrs, slog.String("verify_result", a.Result))
	}
	if a.Captcha != "" {
		attrs = append(attrs, slog.String("captcha", a.Captcha))
	}
	if a.Replayed {
		attrs = append(attrs, slog.Bool("idempotent_replayed", true))
	}
	if a.TestNumber {
		attrs = append(attrs, slog.Bool("test_number", true))
	}
	if n := a.ReceiptsDelivered + a.ReceiptsFailed + a.ReceiptsRepeated; n > 0 {
		attrs = append(attrs, slog.Int("receipts_delivered", a.ReceiptsDelivered),
			slog.Int("receipts_failed", a.ReceiptsFailed), slog.Int("receipts_repeated", a.ReceiptsRepeated))
	}
	if a.Err != nil {
		attrs = append(attrs, slog.String("error", a.Err.Error()))
	}
	if s.cfg.Metrics == metricsEMF {
		attrs = append(attrs, s.emfAttrs(a, now)...)
	}
	r := slog.NewRecord(now, level, "access", 0)
	r.AddAttrs(attrs...)
	_ = h.Handle(ctx, r)
}

// upstreamDone records a Dypnsapi call that began at start and ended with
// err.
func (a *accessLog) upstreamDone(start time.Time, err error) {
	a.Upstream = max(time.Since(start), time.Nanosecond)
	a.UpstreamFailed = err != nil && core.IsTransient(err)
}
