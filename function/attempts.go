package function

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"smsverify/core"
)

// The attempts log: what happened to each SMS sent to a number. Each send
// (test numbers too, marked) is pushed onto a list per number, and each
// judged check onto another, both named by the number's keyed hash like
// its limits and kept for ATTEMPTS_TTL; delivery receipts (reports.go) are
// kept by BizId. GET /attempts and the ListAttempts event join the three.

// Caps of the per-number lists: the newest sends, and enough checks for
// them (a number's checks are limited by CHECK_LIMIT_PER_PHONE anyway).
const (
	maxAttempts      = 10
	maxAttemptChecks = 30
)

// ActionListAttempts is the event action of GET /attempts.
const ActionListAttempts = "ListAttempts"

// sendRecord is one send in the attempts log.
type sendRecord struct {
	BizID        string `json:"b"`
	At           int64  `json:"t"` // Unix ms
	TemplateCode string `json:"tc,omitempty"`
	SchemeName   string `json:"s,omitempty"`
	OutID        string `json:"o,omitempty"`
	Test         bool   `json:"x,omitempty"`
}

// checkRecord is one judged check (PASS or UNKNOWN) in the attempts log.
type checkRecord struct {
	At         int64  `json:"t"` // Unix ms
	SchemeName string `json:"s,omitempty"`
	Pass       bool   `json:"p,omitempty"`
}

// AttemptsAnswer is the answer of GET /attempts and ListAttempts.
type AttemptsAnswer struct {
	PhoneNumber string    `json:"PhoneNumber"`
	Attempts    []Attempt `json:"Attempts"`
}

// Attempt is one send and what became of it. Times are RFC 3339; what is
// not known is left out.
type Attempt struct {
	BizID        string `json:"BizId"`
	SentAt       string `json:"SentAt"`
	TemplateCode string `json:"TemplateCode,omitempty"`
	SchemeName   string `json:"SchemeName,omitempty"`
	OutID        string `json:"OutId,omitempty"`
	// TestNumber marks a send to one of SMS_TEST_NUMBERS: no SMS, so no
	// Delivery.
	TestNumber bool `json:"TestNumber,omitempty"`
	// Delivery is PENDING until Alibaba's receipt says DELIVERED or FAILED.
	Delivery     string `json:"Delivery,omitempty"`
	DeliveryCode string `json:"DeliveryCode,omitempty"` // the receipt's err_code
	DeliveredAt  string `json:"DeliveredAt,omitempty"`
	// Checks counts the judged checks of this send's code; PassedAt is
	// the first that passed.
	Checks   int    `json:"Checks"`
	PassedAt string `json:"PassedAt,omitempty"`
}

// Delivery states.
const (
	deliveryPending   = "PENDING"
	deliveryDelivered = "DELIVERED"
	deliveryFailed    = "FAILED"
)

// validateRecords checks the receipt, attempts, emulator and metrics
// variables.
func (c *Config) validateRecords(p *problems) {
	if c.ReportToken != "" && len(c.ReportToken) < minReportTokenLen {
		p.add("REPORT_TOKEN", "must be at least %d characters", minReportTokenLen)
	}
	if c.ReceiptTTL < time.Minute {
		p.add("RECEIPT_TTL", "must be at least 1m, like 72h")
	}
	if c.AttemptsTTL < time.Minute {
		p.add("ATTEMPTS_TTL", "must be at least 1m, like 24h")
	}
	if c.EmulatorReportDelay < 0 {
		p.add("EMULATOR_REPORT_DELAY", "must not be negative, like 2s")
	}
	for i, n := range c.EmulatorFailNumbers {
		if err := (&core.CheckRequest{PhoneNumber: n, VerifyCode: "0000"}).Validate(); err != nil {
			p.add("EMULATOR_FAIL_NUMBERS", "entry %d must be an 11-digit mainland China mobile number", i+1)
		}
	}
	switch c.Metrics {
	case "", metricsEMF:
	default:
		p.add("METRICS", "must be empty or emf")
	}
	if !validNamespace(c.MetricsNamespace) {
		p.add("METRICS_NAMESPACE", "must be 1 to 255 letters, digits or . - _ / # :")
	}
}

// sendsKey and checksKey name the lists of sends and of checks in the
// store of the number whose phoneHash is num.
func sendsKey(num string) string  { return "attempts:" + num }
func checksKey(num string) string { return "checks:" + num }

// recordSend pushes a send that succeeded onto the log of its number, num.
func (s *Service) recordSend(ctx context.Context, num string, req *core.SendRequest, bizID string, test bool, al *accessLog) {
	s.pushRecord(ctx, sendsKey(num), sendRecord{BizID: bizID, At: s.now().UnixMilli(), TemplateCode: req.TemplateCode,
		SchemeName: req.SchemeName, OutID: req.OutID, Test: test}, maxAttempts, al)
}

// recordCheck pushes a judged check onto the log of its number, num.
func (s *Service) recordCheck(ctx context.Context, num string, req *core.CheckRequest, ans *CheckAnswer, al *accessLog) {
	s.pushRecord(ctx, checksKey(num), checkRecord{At: s.now().UnixMilli(), SchemeName: req.SchemeName,
		Pass: ans.Model.VerifyResult == core.VerifyPass}, maxAttemptChecks, al)
}

// pushRecord pushes rec onto the log at key, keeping its max newest. It
// runs even when the caller has gone, and a failure only goes to the
// access log: what the record tells of already happened, and the answer
// must say so.
func (s *Service) pushRecord(ctx context.Context, key string, rec any, max int, al *accessLog) {
	ctx, cancel := afterward(ctx)
	defer cancel()
	if err := s.store.Push(ctx, key, marshalRecord(rec), max, s.cfg.AttemptsTTL); err != nil {
		al.Err = errors.Join(al.Err, fmt.Errorf("attempts log: %w", err))
	}
}

// marshalRecord encodes a record; records always encode.
func marshalRecord(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

// attemptsQuery is what GET /attempts and ListAttempts ask.
type attemptsQuery struct {
	PhoneNumber string `json:"PhoneNumber"`
	CountryCode string `json:"CountryCode"`
	BizID       string `json:"BizId"`
}

// serveAttempts answers GET /attempts?PhoneNumber=…[&CountryCode=…][&BizId=…]
// for trusted callers.
func (s *Service) serveAttempts(ctx context.Context, w http.ResponseWriter, r *http.Request, al *accessLog) *apiError {
	if e := s.trustedGet(w, r, al); e != nil {
		return e
	}
	var q attemptsQuery
	for name, vals := range r.URL.Query() {
		if len(vals) != 1 {
			return newError(CodeInvalidParameters, "give "+quoteField(name)+" once")
		}
		switch name {
		case "PhoneNumber":
			q.PhoneNumber = vals[0]
		case "CountryCode":
			q.CountryCode = vals[0]
		case "BizId":
			q.BizID = vals[0]
		default:
			return newError(CodeInvalidParameters, "unknown parameter "+quoteField(name)+"; use PhoneNumber, CountryCode, BizId")
		}
	}
	ans, e := s.listAttempts(ctx, q, al)
	if e != nil {
		return e
	}
	al.Code, al.Status = CodeOK, http.StatusOK
	writeJSON(w, http.StatusOK, marshal(ans))
	return nil
}

// trustedOnly authenticates a caller of a trusted-only route: one without
// an API key is refused too.
func (s *Service) trustedOnly(r *http.Request, al *accessLog) *apiError {
	c, e := s.authenticate(r, al.ClientIP)
	if e != nil {
		return e
	}
	al.Caller = c.kind
	if !c.trusted() {
		return newError(CodeUnauthorized, "this route is for trusted callers: send Authorization: Bearer <key from API_KEYS>")
	}
	return nil
}

// invokeListAttempts answers the ListAttempts event.
func (s *Service) invokeListAttempts(ctx context.Context, payload []byte, al *accessLog) (any, *apiError) {
	var q struct {
		attemptsQuery
		Action         string          `json:"Action"`
		IdempotencyKey json.RawMessage `json:"IdempotencyKey"`
	}
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&q); err != nil {
		return nil, newError(CodeInvalidParameters, "ListAttempts takes PhoneNumber, CountryCode and BizId, as strings")
	}
	return s.listAttempts(ctx, q.attemptsQuery, al)
}

// listAttempts joins a number's sends, checks and receipts, newest send
// first.
func (s *Service) listAttempts(ctx context.Context, q attemptsQuery, al *accessLog) (*AttemptsAnswer, *apiError) {
	al.Action = ActionListAttempts
	al.Phone = MaskedPhone(q.PhoneNumber)
	if err := (&core.CheckRequest{PhoneNumber: q.PhoneNumber, CountryCode: q.CountryCode, VerifyCode: "0000"}).Validate(); err != nil {
		return nil, fromCore(err)
	}
	num := s.phoneHash(q.CountryCode, q.PhoneNumber)
	rawSends, err := s.store.List(ctx, sendsKey(num))
	if err != nil {
		return nil, storeDown(err)
	}
	rawChecks, err := s.store.List(ctx, checksKey(num))
	if err != nil {
		return nil, storeDown(err)
	}
	sends := decodeRecords[sendRecord](rawSends)
	checks := decodeRecords[checkRecord](rawChecks)
	ans := &AttemptsAnswer{PhoneNumber: q.PhoneNumber, Attempts: make([]Attempt, 0, len(sends))}
	var receiptKeys []string
	for _, sr := range sends {
		if !sr.Test {
			receiptKeys = append(receiptKeys, receiptKey(sr.BizID))
		}
	}
	var receipts [][]byte
	if len(receiptKeys) > 0 {
		if receipts, err = s.store.Get(ctx, receiptKeys...); err != nil {
			return nil, storeDown(err)
		}
	}
	for i, sr := range sends {
		a := Attempt{BizID: sr.BizID, SentAt: rfc3339(sr.At), TemplateCode: sr.TemplateCode,
			SchemeName: sr.SchemeName, OutID: sr.OutID, TestNumber: sr.Test}
		if !sr.Test {
			a.Delivery = deliveryPending
			if rr, ok := decodeRecord[receiptRecord](receipts[0]); ok {
				a.Delivery, a.DeliveryCode = deliveryFailed, rr.Code
				if rr.Success {
					a.Delivery = deliveryDelivered
					if rr.At != 0 {
						a.DeliveredAt = rfc3339(rr.At)
					}
				}
			}
			receipts = receipts[1:]
		}
		countChecks(&a, sr, sends[:i], checks)
		if q.BizID == "" || q.BizID == sr.BizID {
			ans.Attempts = append(ans.Attempts, a)
		}
	}
	al.Code = CodeOK
	return ans, nil
}

// countChecks counts into a the checks of send sr: those of its scheme
// made at or after it and before the next newer send of that scheme (the
// newer ones come first in newer).
func countChecks(a *Attempt, sr sendRecord, newer []sendRecord, checks []checkRecord) {
	until := int64(1<<63 - 1)
	for _, n := range slices.Backward(newer) {
		if n.SchemeName == sr.SchemeName {
			until = n.At
			break
		}
	}
	for _, c := range slices.Backward(checks) { // oldest first
		if c.SchemeName != sr.SchemeName || c.At < sr.At || c.At >= until {
			continue
		}
		a.Checks++
		if c.Pass && a.PassedAt == "" {
			a.PassedAt = rfc3339(c.At)
		}
	}
}

// decodeRecords decodes the records it can; one it cannot (written by a
// later version, or damaged) is skipped.
func decodeRecords[T any](raw [][]byte) []T {
	out := make([]T, 0, len(raw))
	for _, b := range raw {
		if v, ok := decodeRecord[T](b); ok {
			out = append(out, v)
		}
	}
	return out
}

// decodeRecord decodes one record; false for none or garbage.
func decodeRecord[T any](b []byte) (T, bool) {
	var v T
	if b == nil {
		return v, false
	}
	return v, json.Unmarshal(b, &v) == nil
}

// rfc3339 formats Unix milliseconds as RFC 3339 in UTC.
func rfc3339(ms int64) string { return time.UnixMilli(ms).UTC().Format(time.RFC3339) }
