package function

import (
	"context"
	"encoding/json"
	"strconv"
	"time"

	"smsverify/core"
)

// Invoke serves the event API: a JSON object
// {"Action":"SendSmsVerifyCode"|"CheckSmsVerifyCode", …Alibaba parameters…},
// {"Action":"ListAttempts","PhoneNumber":…} or
// {"Action":"DeliveryReport","Reports":[…receipts…]}
// from a non-HTTP invocation (Lambda direct or Step Functions, SQS records,
// Function Compute event triggers). The caller is trusted: the platform
// checked its permission to invoke.
//
// It answers with the same JSON as the HTTP API. Business failures (bad
// input, limits, a wrong code) are answered with a nil error; transient
// failures (timeouts, upstream 5xx, the limit store down) return a non-nil
// error, so the platform's retry applies. A replayed answer (an event with
// an IdempotencyKey seen before) is always answered, never raised, and
// carries "IdempotentReplayed":true: a retry could not change it.
func (s *Service) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	start := time.Now()
	ctx, id := withRequestID(ctx)
	al := &accessLog{Action: "event", Caller: callerEvent}
	ans, e := s.invoke(ctx, payload, al)
	var out []byte
	rp, isReplay := ans.(*replayed)
	switch {
	case e != nil:
		al.Code, al.Status = e.Code, e.Status
		if al.Err == nil {
			al.Err = e.cause
		}
		out = marshal(errorAnswer(e, id))
	case isReplay:
		al.Code, al.Status = rp.code, rp.status
		out = rp.eventBody()
	default:
		al.Code, al.Status = CodeOK, 200
		out = marshal(ans)
	}
	s.logAccess(ctx, al, start)
	if e != nil && e.Transient {
		return nil, e
	}
	return out, nil
}

// fieldAction names an event's action.
const fieldAction = "Action"

func (s *Service) invoke(ctx context.Context, payload []byte, al *accessLog) (any, *apiError) {
	// A DeliveryReport may be as large as a push; every other event is
	// held to MaxBodyBytes once its Action is known.
	if len(payload) > maxReportBytes {
		return nil, newError(CodeBodyTooLarge, "event is larger than "+strconv.Itoa(maxReportBytes)+" bytes")
	}
	var env struct {
		Action         string          `json:"Action"`         // fieldAction
		IdempotencyKey json.RawMessage `json:"IdempotencyKey"` // fieldIdempotencyKey
	}
	if err := json.Unmarshal(payload, &env); err != nil {
		return nil, newError(CodeInvalidJSON, "event must be a JSON object with an Action")
	}
	if env.Action == ActionDeliveryReport {
		return s.invokeReports(ctx, payload, al)
	}
	if len(payload) > MaxBodyBytes {
		return nil, newError(CodeBodyTooLarge, "event is larger than "+strconv.Itoa(MaxBodyBytes)+" bytes")
	}
	c := caller{kind: callerEvent}
	var e *apiError
	if c.idemKey, e = eventIdempotencyKey(ctx, env.IdempotencyKey); e != nil {
		return nil, e
	}
	switch env.Action {
	case core.ActionSend:
		return s.send(ctx, c, payload, al)
	case core.ActionCheck:
		return s.check(ctx, c, payload, al)
	case ActionListAttempts:
		return s.invokeListAttempts(ctx, payload, al)
	}
	return nil, newError(CodeUnknownAction, "Action must be SendSmsVerifyCode, CheckSmsVerifyCode, ListAttempts or DeliveryReport")
}
