package function

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"time"

	"smsverify/core"
	"smsverify/function/limit"
	"smsverify/function/verifytoken"
)

// Caller kinds.
const (
	callerPublic  = "public"  // an HTTP caller without an API key
	callerTrusted = "trusted" // an HTTP caller with a key from API_KEYS
	callerEvent   = "event"   // a non-HTTP invocation: the platform checked its permission
)

// caller is who is asking.
type caller struct {
	kind    string
	ip      string // client IP for HTTP callers; "" for events
	keyID   string // which API key, for trusted callers: a hash of it
	idemKey string // the request's idempotency key, or ""
}

// identity names the caller an idempotency key belongs to: every public
// caller is one (a retry may come from a new address), each API key is
// one, and events are one.
func (c caller) identity() string { return c.kind + ":" + c.keyID }

func (c caller) trusted() bool { return c.kind != callerPublic }

// paramSet names the keys an action's body may hold, by the API's own
// JSON names: all of them for trusted callers, public for public callers
// (nil: all). Every caller may send CaptchaVerifyParam (the captcha token,
// see captcha.go); events also send their envelope (Action,
// IdempotencyKey).
type paramSet struct{ all, public []string }

var (
	sendParamSet = paramSet{
		all:    append(jsonFields(core.SendRequest{}), captchaField),
		public: []string{"PhoneNumber", "CountryCode", "TemplateCode", "SchemeName", "OutId", captchaField},
	}
	checkParamSet = paramSet{all: append(jsonFields(core.CheckRequest{}), captchaField)}
)

func jsonFields(v any) []string {
	t := reflect.TypeOf(v)
	out := make([]string, 0, t.NumField())
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		out = append(out, name)
	}
	return out
}

// sendParams and checkParams are the bodies of the two actions: the API's
// parameters and the captcha token.
type (
	sendParams struct {
		core.SendRequest
		captchaToken
	}
	checkParams struct {
		core.CheckRequest
		captchaToken
	}
)

// captchaToken is the CaptchaVerifyParam a body may carry, kept as JSON
// text: only a call that needs a captcha reads it (checkCaptcha), so
// another caller's token of any type is ignored.
type captchaToken struct {
	CaptchaVerifyParam json.RawMessage `json:"CaptchaVerifyParam"`
}

// SendAnswer is the 200 answer of /send: Alibaba's answer plus what a client
// needs next.
type SendAnswer struct {
	Code      string         `json:"Code"`
	Message   string         `json:"Message"`
	RequestID string         `json:"RequestId"`
	Success   bool           `json:"Success"`
	Model     core.SendModel `json:"Model"`
	// ResendAfter is the number of seconds until the next code may be sent
	// to this number (the send Interval).
	ResendAfter int64 `json:"ResendAfter"`
	// ExpiresIn is the number of seconds the code stays valid.
	ExpiresIn int64 `json:"ExpiresIn"`
}

// CheckAnswer is the 200 answer of /check.
type CheckAnswer struct {
	Code      string     `json:"Code"`
	Message   string     `json:"Message"`
	RequestID string     `json:"RequestId"`
	Success   bool       `json:"Success"`
	Model     CheckModel `json:"Model"`
}

// CheckModel is CheckAnswer's Model: Alibaba's, plus a verification token
// after a PASS when VERIFY_TOKEN_SECRET is set.
type CheckModel struct {
	VerifyResult         string `json:"VerifyResult"` // PASS or UNKNOWN
	OutID                string `json:"OutId,omitempty"`
	VerifyToken          string `json:"VerifyToken,omitempty"`
	VerifyTokenExpiresAt int64  `json:"VerifyTokenExpiresAt,omitempty"` // Unix seconds
	// AttemptsLeft is the number of judged checks left for this number in
	// the current CHECK_LIMIT_PER_PHONE window; left out if the store could
	// not say.
	AttemptsLeft *int `json:"AttemptsLeft,omitempty"`
}

// ErrorAnswer is the body of every failure.
type ErrorAnswer struct {
	Code       string `json:"Code"`
	Message    string `json:"Message"`
	RequestID  string `json:"RequestId"`
	Success    bool   `json:"Success"`
	RetryAfter int64  `json:"RetryAfter,omitempty"` // seconds, with 429
}

// decodeParams decodes the JSON object body into dst (a *sendParams or
// *checkParams) for c. Every key must be one of set.all (else
// INVALID_PARAMETERS: unknown field) and, for a public caller, one of
// set.public (else FIELD_NOT_ALLOWED); keys are matched exactly, whereas
// json.Unmarshal would match them in any case. An event's envelope keys
// are its own.
func decodeParams(body []byte, c caller, set paramSet, dst any) *apiError {
	var members map[string]json.RawMessage
	if err := json.Unmarshal(body, &members); err != nil || members == nil {
		return newError(CodeInvalidJSON, "body must be a JSON object")
	}
	if e := set.check(c, members); e != nil {
		return e
	}
	if err := json.Unmarshal(body, dst); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			field := te.Field[strings.LastIndexByte(te.Field, '.')+1:] // the embedded struct's name goes
			return newError(CodeInvalidParameters, field+" must be a JSON "+jsonKind(te.Type.String()))
		}
		return newError(CodeInvalidJSON, "body must be a JSON object")
	}
	return nil
}

// check applies decodeParams's key rules. Of several keys that break them
// it names the first in sorted order, so that a body always gets the same
// error.
func (set paramSet) check(c caller, members map[string]json.RawMessage) *apiError {
	var (
		first string
		e     *apiError
	)
	for k := range members {
		if e != nil && k >= first {
			continue
		}
		switch {
		case c.kind == callerEvent && (k == fieldAction || k == fieldIdempotencyKey):
		case !slices.Contains(set.all, k):
			first, e = k, newError(CodeInvalidParameters, "unknown field "+quoteField(k))
		case !c.trusted() && set.public != nil && !slices.Contains(set.public, k):
			first, e = k, newError(CodeFieldNotAllowed, "field "+k+" is set by the server; only trusted callers may set it")
		}
	}
	return e
}

// quoteField shows a caller's unknown key, cut short and quoted.
func quoteField(k string) string {
	if len(k) > 40 {
		k = k[:40] + "…"
	}
	b, _ := json.Marshal(k)
	return string(b)
}

func jsonKind(goType string) string {
	switch strings.TrimPrefix(goType, "*") {
	case "int64":
		return "integer"
	case "bool":
		return "boolean"
	}
	return "string"
}

// secureHash names a phone (or anything holding one) in the limit store
// without storing it: HMAC-SHA256 under LIMIT_KEY_SECRET (a random
// per-process key with the memory store when none is set). An unkeyed hash
// of an 11-digit number could be reversed by trying every number; without
// the key it cannot.
func (s *Service) secureHash(parts ...string) string {
	h := s.hashers.Get().(hash.Hash)
	defer s.hashers.Put(h)
	h.Reset() // back to the keyed state, whatever the last user wrote
	for _, p := range parts {
		io.WriteString(h, p)
		h.Write([]byte{0})
	}
	var sum [sha256.Size]byte
	return hex.EncodeToString(h.Sum(sum[:0])[:16])
}

func countryOf(cc string) string {
	if cc == "" {
		return "86"
	}
	return cc
}

// limitSet is the set of limits one request takes: reqs[i] is refused with
// the code names[i]. at is when allow took them.
type limitSet struct {
	reqs  []limit.Request
	names []string
	at    time.Time
}

// add appends one limit and its refusal code.
func (l *limitSet) add(key string, rate limit.Rate, code string) {
	l.reqs = append(l.reqs, limit.Request{Key: key, Rate: rate})
	l.names = append(l.names, code)
}

// only returns the limits of l refused with code, taken at the same time.
func (l *limitSet) only(code string) limitSet {
	out := limitSet{at: l.at}
	for i, name := range l.names {
		if name == code {
			out.add(l.reqs[i].Key, l.reqs[i].Rate, name)
		}
	}
	return out
}

// allow takes one slot of every limit in l, or none and answers the first
// refusal.
func (s *Service) allow(ctx context.Context, l *limitSet) *apiError {
	l.at = s.now()
	d, err := s.store.Allow(ctx, l.at, l.reqs...)
	if err != nil {
		return storeDown(err)
	}
	if d.Allowed {
		return nil
	}
	code := l.names[d.Denied]
	e := newError(code, limitMessages[code])
	e.RetryAfter = d.RetryAfter
	return e
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

// refund gives back the slots allow took for l. It runs even when the
// caller has gone: the slots were taken for nothing.
func (s *Service) refund(ctx context.Context, l *limitSet) error {
	if len(l.reqs) == 0 {
		return nil
	}
	ctx, cancel := afterward(ctx)
	defer cancel()
	return s.store.Refund(ctx, l.at, l.reqs...)
}

// storeDown answers a failure of the limit store: 503, transient, never
// "allowed" and never a wrong code.
func storeDown(err error) *apiError {
	e := newError(CodeLimitStoreDown, "rate limit store unavailable; try again later")
	e.Transient, e.cause = true, err
	return e
}

var limitMessages = map[string]string{
	CodeSendLimitPhone:  "too many codes sent to this number; try again later",
	CodeSendLimitIP:     "too many codes requested from this address; try again later",
	CodeSendLimitGlobal: "the service has sent all the codes it may for now; try again later",
	CodeCheckLimitPhone: "too many checks for this number; wait, then try again",
	CodeCheckLimitIP:    "too many checks from this address; wait, then try again",
}

// usedTTL is how long a code that passed is remembered as used: longer
// than any code lives at Alibaba unless a trusted caller sets ValidTime
// beyond a day.
const usedTTL = 24 * time.Hour

// usedKey names one code of a number and scheme in the store once it has
// passed. It holds a hash, never the number or the code; the code is
// upper-cased so that a case-insensitive check cannot replay it in another
// case.
func (s *Service) usedKey(cc, phone, scheme, code string) string {
	return s.secureHash(cc, phone, scheme, strings.ToUpper(code))
}

// ipKey names a client address for the IP limits. An IPv6 client usually
// holds a whole /64, so the limit applies to the /64.
func ipKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil || !a.Is6() || a.Is4In6() {
		return ip
	}
	p, _ := a.Prefix(64)
	return p.String()
}

// send runs SendSmsVerifyCode for c with the parameters in body, in steps:
// decode and validate, take the limits, call Alibaba. A step that must run
// before any limit is taken (a replay, a captcha) goes between the first two.
func (s *Service) send(ctx context.Context, c caller, body []byte, al *accessLog) (any, *apiError) {
	al.Action = core.ActionSend
	p, e := s.decodeSend(c, body, al)
	if e != nil {
		return nil, e
	}
	req := &p.SendRequest
	test := s.testNumber(req.PhoneNumber, al)
	ir := idemRequest{action: core.ActionSend, params: req, cc: countryOf(req.CountryCode), phone: req.PhoneNumber}
	return s.idempotent(ctx, c, ir, al, func() (any, *apiError) {
		if e := s.checkCaptcha(ctx, c, captchaActionSend, p.CaptchaVerifyParam, al); e != nil {
			return nil, e
		}
		l := s.sendLimits(c, req)
		if e := s.allow(ctx, &l); e != nil {
			return nil, e
		}
		ctx, cancel := committed(ctx)
		defer cancel()
		var (
			ans *SendAnswer
			e   *apiError
		)
		if test {
			ans, e = s.sendTest(ctx, c, req, al)
		} else if ans, e = s.sendUpstream(ctx, c, req, al); e != nil {
			s.refundSend(ctx, &l, e)
			s.intervalLeft(ctx, req, e)
		} else if err := s.markSent(ctx, req); err != nil && al.Err == nil {
			al.Err = fmt.Errorf("send time not recorded: %w", err)
		}
		if e != nil {
			return nil, e
		}
		s.recordSend(ctx, req, ans.Model.BizID, test, al)
		return ans, nil
	})
}

// refundSend gives back the limit slots of a send that cost nothing. A send
// that certainly never reached Alibaba (no connection, no credentials, a
// gateway rejection before any business processing) gives back every slot:
// otherwise an outage or a bad AccessKey would spend the day's global budget
// with no SMS sent. A business refusal (FREQUENCY_FAIL, BUSINESS_LIMIT_CONTROL,
// …) sent no SMS and is not charged, so it gives back the global slot, which
// is a cost budget; it still counts against the per-number and per-address
// limits, which are about abuse. Anything else (a timeout, a garbage answer)
// may have sent an SMS and keeps every slot. A failed refund is logged with
// the request; the slots then expire with their window.
func (s *Service) refundSend(ctx context.Context, l *limitSet, e *apiError) {
	var give limitSet
	switch {
	case core.NeverReached(e.cause):
		give = *l
	case businessRefusal(e.cause):
		give = l.only(CodeSendLimitGlobal)
	default:
		return
	}
	if err := s.refund(ctx, &give); err != nil {
		e.cause = errors.Join(e.cause, err)
	}
}

// sentLimit is a window holding the time of the last send to a number
// with this Interval: one event, living as long as the Interval, so that
// Allow on it answers the time left when Alibaba refuses a send within it.
func (s *Service) sentLimit(req *core.SendRequest) limit.Request {
	return limit.Request{Key: "send:last:" + s.secureHash(countryOf(req.CountryCode), req.PhoneNumber),
		Rate: limit.Rate{N: 1, Per: time.Duration(intervalOf(req)) * time.Second}}
}

// markSent records a send that Alibaba accepted in the number's sentLimit.
// A number that still holds an event there (a trusted caller shortened the
// Interval) keeps it: Alibaba decided.
func (s *Service) markSent(ctx context.Context, req *core.SendRequest) error {
	_, err := s.store.Allow(ctx, s.now(), s.sentLimit(req))
	return err
}

// intervalLeft makes the Retry-After of Alibaba's FREQUENCY_FAIL the time
// left of the Interval rather than all of it, when this service (or its
// shared store) sent the number's last code: Allow on the sentLimit is then
// refused with that time. Otherwise (the send was elsewhere, or the store
// forgot it) the probe is given back and the whole Interval stays, an upper
// bound. A store failure keeps the Interval too.
func (s *Service) intervalLeft(ctx context.Context, req *core.SendRequest, e *apiError) {
	if !core.IsFrequencyFail(e.cause) {
		return
	}
	sent := s.sentLimit(req)
	probe := limitSet{reqs: []limit.Request{sent}, at: s.now()}
	d, err := s.store.Allow(ctx, probe.at, sent)
	switch {
	case err != nil:
		e.cause = errors.Join(e.cause, err)
	case d.Allowed:
		if err := s.refund(ctx, &probe); err != nil {
			e.cause = errors.Join(e.cause, err)
		}
	case d.RetryAfter > 0:
		e.RetryAfter = min(d.RetryAfter, sent.Rate.Per)
	}
}

// businessRefusal reports whether err is Alibaba's business answer refusing
// the request (HTTP 2xx, Success false): no SMS was sent.
func businessRefusal(err error) bool {
	var ce *core.Error
	return errors.As(err, &ce) && ce.StatusCode >= 200 && ce.StatusCode < 300 && ce.Code != core.CodeBadResponse
}

// decodeSend decodes the caller's send parameters over the server's
// defaults and validates them: a public caller may only choose among the
// configured templates and schemes.
func (s *Service) decodeSend(c caller, body []byte, al *accessLog) (*sendParams, *apiError) {
	p := &sendParams{SendRequest: s.cfg.sendBase()}
	if e := decodeParams(body, c, sendParamSet, p); e != nil {
		return nil, e
	}
	req := &p.SendRequest
	al.Phone = MaskedPhone(req.PhoneNumber)
	if !c.trusted() {
		if !slices.Contains(s.cfg.TemplateCodes, req.TemplateCode) {
			return nil, newError(CodeInvalidParameters, "TemplateCode must be one of "+strings.Join(s.cfg.TemplateCodes, ", "))
		}
		if !slices.Contains(s.cfg.SchemeNames, req.SchemeName) {
			return nil, newError(CodeInvalidParameters, "SchemeName is not one this service sends for")
		}
	}
	if req.TemplateParam == "" {
		req.TemplateParam = templateParam(validTimeOf(req))
	}
	if err := req.Validate(); err != nil {
		return nil, fromCore(err)
	}
	if e := checkInterval(req.Interval); e != nil {
		return nil, e
	}
	return p, nil
}

// The Interval range this service sends. Alibaba documents no bounds, only
// the default (60 s); 0 or less would ask for no frequency control at all,
// and beyond a day the number's daily cap decides anyway, so a value
// outside is a caller's mistake, refused before any upstream call.
const (
	minInterval = 1     // seconds
	maxInterval = 86400 // seconds: one day
)

// checkInterval refuses an Interval outside [minInterval, maxInterval].
func checkInterval(v *int64) *apiError {
	if v != nil && (*v < minInterval || *v > maxInterval) {
		return newError(CodeInvalidParameters, fmt.Sprintf("Interval must be %d to %d seconds", minInterval, maxInterval))
	}
	return nil
}

// validTimeOf is the code's validity in seconds.
func validTimeOf(req *core.SendRequest) int64 {
	if req.ValidTime != nil {
		return *req.ValidTime
	}
	return alibabaValidTime
}

// intervalOf is the time in seconds until the next code may be sent.
func intervalOf(req *core.SendRequest) int64 {
	if req.Interval != nil {
		return *req.Interval
	}
	return int64(core.DefaultInterval / time.Second)
}

// returnsCode reports whether a send's answer may carry the code: only
// when a trusted caller asked for it with ReturnVerifyCode.
func returnsCode(c caller, req *core.SendRequest) bool {
	return c.trusted() && req.ReturnVerifyCode != nil && *req.ReturnVerifyCode
}

// alibabaValidTime is the validity Alibaba gives a code when the request
// sets no ValidTime, in seconds.
const alibabaValidTime = 300

// sendLimits are the limits a send takes: per number, per client address
// (public callers only) and the global budget.
func (s *Service) sendLimits(c caller, req *core.SendRequest) limitSet {
	l := limitSet{reqs: make([]limit.Request, 0, 3), names: make([]string, 0, 3)}
	l.add("send:phone:"+s.secureHash(countryOf(req.CountryCode), req.PhoneNumber), s.cfg.SendLimitPerPhone, CodeSendLimitPhone)
	if !c.trusted() {
		l.add("send:ip:"+s.secureHash("ip", ipKey(c.ip)), s.cfg.SendLimitPerIP, CodeSendLimitIP)
	}
	l.add("send:global", s.cfg.SendLimitGlobal, CodeSendLimitGlobal)
	return l
}

// sendUpstream calls SendSmsVerifyCode and builds the answer.
func (s *Service) sendUpstream(ctx context.Context, c caller, req *core.SendRequest, al *accessLog) (*SendAnswer, *apiError) {
	uctx, cancel := upstreamContext(ctx)
	defer cancel()
	start := time.Now()
	res, err := s.client.Send(uctx, req)
	al.upstreamDone(start, err)
	if err != nil {
		return nil, fromCore(err)
	}
	al.UpstreamID, al.BizID = res.RequestID, res.Model.BizID
	ans := &SendAnswer{Code: CodeOK, Message: messageOK, RequestID: res.RequestID, Success: true,
		Model: res.Model, ResendAfter: intervalOf(req), ExpiresIn: validTimeOf(req)}
	if !returnsCode(c, req) {
		ans.Model.VerifyCode = ""
	}
	return ans, nil
}

// check runs CheckSmsVerifyCode for c with the parameters in body, in the
// same steps as send: decode and validate, take the limits, then answer a
// used code locally or ask Alibaba.
func (s *Service) check(ctx context.Context, c caller, body []byte, al *accessLog) (any, *apiError) {
	al.Action = core.ActionCheck
	p, e := s.decodeCheck(c, body, al)
	if e != nil {
		return nil, e
	}
	req := &p.CheckRequest
	test := s.testNumber(req.PhoneNumber, al)
	// judge is what a check costs before it is answered: the captcha (when
	// asked for) and the check limits.
	judge := func(withCaptcha bool) *apiError {
		if withCaptcha {
			if e := s.checkCaptcha(ctx, c, captchaActionCheck, p.CaptchaVerifyParam, al); e != nil {
				return e
			}
		}
		l := s.checkLimits(c, req)
		return s.allow(ctx, &l)
	}
	ir := idemRequest{action: core.ActionCheck, params: req, cc: countryOf(req.CountryCode), phone: req.PhoneNumber}
	if !c.trusted() {
		ir.judge = judge
	}
	return s.idempotent(ctx, c, ir, al, func() (any, *apiError) {
		if e := judge(true); e != nil {
			return nil, e
		}
		ctx, cancel := committed(ctx)
		defer cancel()
		var (
			ans *CheckAnswer
			e   *apiError
		)
		if test {
			ans, e = s.checkTest(ctx, req, al)
		} else {
			ans, e = s.checkUpstream(ctx, req, al)
		}
		if e != nil {
			return nil, e
		}
		s.recordCheck(ctx, c, req, ans, al)
		return ans, nil
	})
}

// decodeCheck decodes and validates the caller's check parameters.
func (s *Service) decodeCheck(c caller, body []byte, al *accessLog) (*checkParams, *apiError) {
	p := &checkParams{CheckRequest: core.CheckRequest{SchemeName: s.cfg.SchemeName}}
	if e := decodeParams(body, c, checkParamSet, p); e != nil {
		return nil, e
	}
	req := &p.CheckRequest
	al.Phone = MaskedPhone(req.PhoneNumber)
	if !c.trusted() && !slices.Contains(s.cfg.SchemeNames, req.SchemeName) {
		return nil, newError(CodeInvalidParameters, "SchemeName is not one this service sends for")
	}
	if err := req.Validate(); err != nil {
		return nil, fromCore(err)
	}
	return p, nil
}

// checkLimits are the limits a check takes: per number and per client
// address (public callers only).
func (s *Service) checkLimits(c caller, req *core.CheckRequest) limitSet {
	l := limitSet{reqs: make([]limit.Request, 0, 2), names: make([]string, 0, 2)}
	l.add("check:phone:"+s.secureHash(countryOf(req.CountryCode), req.PhoneNumber), s.cfg.CheckLimitPerPhone, CodeCheckLimitPhone)
	if !c.trusted() {
		l.add("check:ip:"+s.secureHash("ip", ipKey(c.ip)), s.cfg.CheckLimitPerIP, CodeCheckLimitIP)
	}
	return l
}

// checkUpstream answers a code already used up with UNKNOWN and no upstream
// call; otherwise it asks Alibaba and, on PASS, uses the code up.
func (s *Service) checkUpstream(ctx context.Context, req *core.CheckRequest, al *accessLog) (*CheckAnswer, *apiError) {
	key := s.usedKey(countryOf(req.CountryCode), req.PhoneNumber, req.SchemeName, req.VerifyCode)
	used, err := s.store.Used(ctx, key)
	if err != nil {
		return nil, storeDown(err)
	}
	ans := &CheckAnswer{Code: CodeOK, Message: messageOK, RequestID: RequestID(ctx), Success: true,
		Model: CheckModel{VerifyResult: core.VerifyUnknown, OutID: req.OutID}}
	if used {
		// This code was used up by a PASS: no upstream call.
		al.Result = ans.Model.VerifyResult
		return ans, nil
	}
	uctx, cancel := upstreamContext(ctx)
	defer cancel()
	start := time.Now()
	res, err := s.client.Check(uctx, req)
	al.upstreamDone(start, err)
	if err != nil {
		return nil, fromCore(err)
	}
	al.UpstreamID = res.RequestID
	ans.RequestID = res.RequestID // Code and Message stay OK: one Message per outcome, whoever answered
	ans.Model.VerifyResult, ans.Model.OutID = res.Model.VerifyResult, res.Model.OutID
	if res.Passed() {
		if e := s.usePass(ctx, req, key, ans); e != nil {
			return nil, e
		}
	}
	al.Result = ans.Model.VerifyResult
	return ans, nil
}

// usePass marks a code that passed as used; the first use gets a
// verification token (when configured), a replayed one becomes UNKNOWN.
func (s *Service) usePass(ctx context.Context, req *core.CheckRequest, key string, ans *CheckAnswer) *apiError {
	first, err := s.store.MarkUsed(ctx, key, usedTTL)
	if err != nil {
		return storeDown(err)
	}
	if !first {
		ans.Model.VerifyResult = core.VerifyUnknown // a replayed code
		return nil
	}
	return s.issueToken(req, ans)
}

// issueToken adds a verification token to a PASS answer, when configured.
func (s *Service) issueToken(req *core.CheckRequest, ans *CheckAnswer) *apiError {
	if s.tokens == nil {
		return nil
	}
	tok, exp, err := s.tokens.Issue(verifytoken.Claims{PhoneNumber: req.PhoneNumber, CountryCode: countryOf(req.CountryCode), Scheme: req.SchemeName})
	if err != nil {
		e := newError(CodeInternal, "could not issue a verification token")
		e.cause = err
		return e
	}
	ans.Model.VerifyToken, ans.Model.VerifyTokenExpiresAt = tok, exp.Unix()
	return nil
}

// errorAnswer renders e for the caller.
func errorAnswer(e *apiError, requestID string) ErrorAnswer {
	a := ErrorAnswer{Code: e.Code, Message: e.Message, RequestID: e.RequestID}
	if a.RequestID == "" {
		a.RequestID = requestID
	}
	if e.RetryAfter > 0 {
		a.RetryAfter = retrySeconds(e.RetryAfter)
	}
	return a
}

// retrySeconds rounds up to whole seconds, at least 1.
func retrySeconds(d time.Duration) int64 {
	return max(int64((d+time.Second-1)/time.Second), 1)
}

// marshal encodes v; the answers here always encode.
func marshal(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return []byte(`{"Code":"INTERNAL_ERROR","Message":"encoding failed","Success":false}` + "\n")
	}
	return b.Bytes()
}
