package function

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"smsverify/core"
)

// Idempotency keys (README: docs/api.md, Idempotency keys). A request that
// carries a key runs once; its answer is stored for IDEMPOTENCY_TTL and a
// retry with the same key, caller and parameters gets it back without a
// second upstream call, marked as replayed.
const (
	// HeaderIdempotencyKey carries the key of an HTTP request.
	HeaderIdempotencyKey = "Idempotency-Key"
	// HeaderIdempotentReplayed marks a replayed HTTP answer.
	HeaderIdempotentReplayed = "Idempotent-Replayed"
	// fieldIdempotencyKey carries the key of an event.
	fieldIdempotencyKey = "IdempotencyKey"
	// maxIdempotencyKeyLen bounds a key.
	maxIdempotencyKeyLen = 255
	// minPublicIdempotencyKeyLen is the shortest key a public caller may
	// send: a key is its request's only secret against a replay by someone
	// who knows the number, so it must be a fresh random value (a UUID v4
	// is 36 characters); a shorter one is a counter or a word, and refused.
	minPublicIdempotencyKeyLen = 16
	// idemLeaseMargin is added to DYPNS_TIMEOUT for the lease of an
	// in-flight record: it covers the store round trips and a captcha
	// verification before the upstream call. A record whose instance died
	// mid-request expires after the lease, and a retry may then run.
	idemLeaseMargin = 30 * time.Second
	// idemInProgressRetry is the Retry-After of IDEMPOTENCY_IN_PROGRESS.
	idemInProgressRetry = time.Second
)

// validateIdempotency checks IDEMPOTENCY_TTL.
func (c *Config) validateIdempotency(p *problems) {
	if c.IdempotencyTTL < time.Second {
		p.add("IDEMPOTENCY_TTL", "must be at least 1s, like 24h")
	}
}

type idemKeyCtx struct{}

// WithIdempotencyKey returns ctx carrying the idempotency key the platform
// gives an event, such as an SQS record's messageId, which its redeliveries
// keep. An IdempotencyKey field in the event itself takes precedence.
func WithIdempotencyKey(ctx context.Context, key string) context.Context {
	return context.WithValue(ctx, idemKeyCtx{}, key)
}

// platformIdempotencyKey returns the key stored by WithIdempotencyKey, or "".
func platformIdempotencyKey(ctx context.Context) string {
	k, _ := ctx.Value(idemKeyCtx{}).(string)
	return k
}

// validIdempotencyKey reports whether k is 1 to 255 printable ASCII
// characters.
func validIdempotencyKey(k string) bool {
	if len(k) == 0 || len(k) > maxIdempotencyKeyLen {
		return false
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x20 || k[i] > 0x7e {
			return false
		}
	}
	return true
}

func badIdempotencyKey(name string) *apiError {
	return newError(CodeInvalidParameters, name+" must be 1 to "+strconv.Itoa(maxIdempotencyKeyLen)+" printable ASCII characters")
}

// headerIdempotencyKey reads the Idempotency-Key header of c's request:
// absent is "", and an empty, malformed or repeated one is refused, and so
// is a public caller's key shorter than minPublicIdempotencyKeyLen.
func headerIdempotencyKey(r *http.Request, c caller) (string, *apiError) {
	vs, ok := r.Header[HeaderIdempotencyKey]
	if !ok {
		return "", nil
	}
	if len(vs) != 1 || !validIdempotencyKey(vs[0]) {
		return "", badIdempotencyKey(HeaderIdempotencyKey + " header")
	}
	if !c.trusted() && len(vs[0]) < minPublicIdempotencyKeyLen {
		return "", newError(CodeInvalidParameters, HeaderIdempotencyKey+" header must be at least "+
			strconv.Itoa(minPublicIdempotencyKeyLen)+" characters: send a fresh random UUID for each user action")
	}
	return vs[0], nil
}

// eventIdempotencyKey reads an event's IdempotencyKey field (raw JSON, nil
// when absent), else the platform's key.
func eventIdempotencyKey(ctx context.Context, raw json.RawMessage) (string, *apiError) {
	if raw == nil {
		if k := platformIdempotencyKey(ctx); validIdempotencyKey(k) {
			return k, nil
		}
		return "", nil
	}
	var k string
	if err := json.Unmarshal(raw, &k); err != nil || !validIdempotencyKey(k) {
		return "", badIdempotencyKey(fieldIdempotencyKey)
	}
	return k, nil
}

// replayed is a stored answer given again.
type replayed struct {
	status int
	body   []byte
	code   string // the answer's Code, for the access log
}

// retryAfter is the Retry-After of a replayed failure, from its body.
func (r *replayed) retryAfter() int64 {
	var b struct {
		RetryAfter int64 `json:"RetryAfter"`
	}
	_ = json.Unmarshal(r.body, &b)
	return b.RetryAfter
}

// eventBody is the body with "IdempotentReplayed":true added to the object.
func (r *replayed) eventBody() []byte {
	b := bytes.TrimSpace(r.body)
	if len(b) < 2 || b[0] != '{' || b[len(b)-1] != '}' {
		return r.body // not an object; never stored
	}
	out := append([]byte(nil), b[:len(b)-1]...)
	if len(bytes.TrimSpace(b[1:len(b)-1])) > 0 {
		out = append(out, ',')
	}
	return append(out, `"IdempotentReplayed":true}`+"\n"...)
}

// idemRequest is what the replay step knows of a request.
type idemRequest struct {
	action string
	params any // the decoded parameters, with the server's defaults: fingerprinted
	// cc and phone name the number, which namespaces a public caller's keys.
	cc, phone string
	// judge, when set (a public caller's check), is run before a stored
	// record answers: a replay (judge(false)) or a key reused with other
	// parameters (judge(true)) then costs what a fresh check costs (the
	// check limits, and with judge(true) the captcha), and its refusal is
	// the answer. So a key gives no free guess at the code.
	judge func(captcha bool) *apiError
}

// idempotent runs the steps after decoding (captcha, limits, upstream) once
// per idempotency key: the replay step. Without a key it just runs them.
// With one it claims the key; a stored answer comes back as a *replayed,
// and run's outcome is stored or, when it certainly never reached Alibaba,
// the key is released.
func (s *Service) idempotent(ctx context.Context, c caller, r idemRequest, al *accessLog, run func() (any, *apiError)) (any, *apiError) {
	h, rp, e := s.idemClaim(ctx, c, r, al)
	switch {
	case e != nil:
		return nil, e
	case rp != nil:
		return rp, nil
	}
	ans, e := run()
	return s.idemFinish(ctx, h, ans, e, al)
}

// idemHeld is a claimed idempotency key, to complete or release.
type idemHeld struct {
	key, token string
	ttl        time.Duration // how long the answer is kept
}

// idemStoreKey names c's key in the store. Trusted and event callers each
// have one key space; a public caller's keys are namespaced by the action
// and the number, so that a key chosen for one number never touches
// another number's request: nobody can claim a key first for someone
// else's number unless they know the number and the (random) key.
func (s *Service) idemStoreKey(c caller, r *idemRequest) string {
	if c.trusted() {
		return s.secureHash(c.identity(), c.idemKey)
	}
	return s.secureHash(c.identity(), r.action, r.cc, r.phone, c.idemKey)
}

// idemTTL is how long an answer stays under its key: IDEMPOTENCY_TTL, and
// for a public caller no longer than the longest per-number or per-address
// window of the action. A public caller needs its answer for a retry, not
// for a day, and records that outlive the limit windows would let someone
// with many addresses keep the memory store full long after their windows
// have gone (LIMIT_MEMORY_MAX_KEYS).
func (s *Service) idemTTL(c caller, action string) time.Duration {
	if c.trusted() {
		return s.cfg.IdempotencyTTL
	}
	phone, ip := s.cfg.CheckLimitPerPhone, s.cfg.CheckLimitPerIP
	if action == core.ActionSend {
		phone, ip = s.cfg.SendLimitPerPhone, s.cfg.SendLimitPerIP
	}
	return min(s.cfg.IdempotencyTTL, max(phone.Per, ip.Per))
}

// idemClaim is the replay step: without a key it does nothing; with one it
// claims the key for this caller and fingerprint. It returns what holds
// the key (nil when no key) or the stored answer to give again, or an
// error: the key is reused with other parameters (422), its first request
// is still in flight (409), the judge refused (r.judge), or the store is
// down (503).
func (s *Service) idemClaim(ctx context.Context, c caller, r idemRequest, al *accessLog) (*idemHeld, *replayed, *apiError) {
	if c.idemKey == "" {
		return nil, nil, nil
	}
	key := s.idemStoreKey(c, &r)
	fp := s.idemFingerprint(r.action, r.params)
	cl, err := s.store.Claim(ctx, key, fp, s.cfg.Timeout+idemLeaseMargin)
	if err != nil {
		return nil, nil, storeDown(err)
	}
	if cl.Token != "" {
		return &idemHeld{key: key, token: cl.Token, ttl: s.idemTTL(c, r.action)}, nil, nil
	}
	rec := cl.Existing
	mismatch := rec.Fingerprint != fp
	if r.judge != nil && (mismatch || rec.Done) {
		if e := r.judge(mismatch); e != nil {
			return nil, nil, e
		}
	}
	switch {
	case mismatch:
		return nil, nil, newError(CodeIdempotencyKeyReused, "this Idempotency-Key was used with other parameters; use a new key for a new request")
	case !rec.Done:
		e := newError(CodeIdempotencyInProgress, "a request with this Idempotency-Key is in progress; retry shortly")
		e.RetryAfter, e.Transient = idemInProgressRetry, true
		return nil, nil, e
	}
	var head struct {
		Code string `json:"Code"`
	}
	_ = json.Unmarshal(rec.Body, &head)
	al.Replayed = true
	return nil, &replayed{status: rec.Status, body: rec.Body, code: head.Code}, nil
}

// idemFinish ends a held key with the request's outcome: an answer that
// certainly never reached Alibaba releases the key, so a retry runs anew;
// any other (a success, Alibaba's refusal, a timeout, a garbage answer) is
// stored, so a retry never sends a second SMS. It runs even when the
// caller has gone meanwhile: its retry must find the record. It returns
// ans and e as they were; a store failure here is logged, not answered:
// the request itself is done.
func (s *Service) idemFinish(ctx context.Context, h *idemHeld, ans any, e *apiError, al *accessLog) (any, *apiError) {
	if h == nil {
		return ans, e
	}
	ctx, cancel := afterward(ctx)
	defer cancel()
	var err error
	switch {
	case e != nil && !e.reached:
		err = s.store.Release(ctx, h.key, h.token)
	case e != nil:
		err = s.store.Complete(ctx, h.key, h.token, e.Status, marshal(errorAnswer(e, RequestID(ctx))), h.ttl)
	default:
		err = s.store.Complete(ctx, h.key, h.token, http.StatusOK, marshal(ans), h.ttl)
	}
	if err != nil && al.Err == nil {
		al.Err = errors.Join(errors.New("idempotency record not saved"), err)
	}
	return ans, e
}

// idemFingerprint binds a key to the action and the decoded parameters
// (with the server's defaults filled in). It is a hash: the store never
// holds the parameters themselves.
func (s *Service) idemFingerprint(action string, params any) string {
	b, _ := json.Marshal(params)
	return s.secureHash(action, string(b))
}
