package function

import (
	"context"
	"encoding/json"
	"strconv"
	"time"

	"smsverify/core"
)

// Invoke serves the event API: a JSON object
// {"Action":"SendSmsVerifyCode"|"CheckSmsVerifyCode", …Alibaba parameters…}
// from a non-HTTP invocation (Lambda direct or Step Functions, SQS records,
// Function Compute event triggers). The caller is trusted: the platform
// checked its permission to invoke.
//
// It answers with the same JSON as the HTTP API. Business failures (bad
// input, limits, a wrong code) are answered with a nil error; transient
// failures (timeouts, upstream 5xx, the limit store down) return a non-nil
// error, so the platform's retry applies.
func (s *Service) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	start := time.Now()
	ctx, id := withRequestID(ctx)
	al := &accessLog{Action: "event", Caller: callerEvent}
	ans, e := s.invoke(ctx, payload, al)
	var out []byte
	if e != nil {
		al.Code, al.Status, al.Err = e.Code, e.Status, e.cause
		out = marshal(errorAnswer(e, id))
	} else {
		al.Code, al.Status = CodeOK, 200
		out = marshal(ans)
	}
	s.logAccess(ctx, al, float64(time.Since(start).Microseconds())/1000)
	if e != nil && e.Transient {
		return nil, e
	}
	return out, nil
}

func (s *Service) invoke(ctx context.Context, payload []byte, al *accessLog) (any, *apiError) {
	if len(payload) > MaxBodyBytes {
		return nil, newError(CodeBodyTooLarge, "event is larger than "+strconv.Itoa(MaxBodyBytes)+" bytes")
	}
	var env struct {
		Action string `json:"Action"`
	}
	if err := json.Unmarshal(payload, &env); err != nil {
		return nil, newError(CodeInvalidJSON, "event must be a JSON object with an Action")
	}
	c := caller{kind: callerEvent}
	switch env.Action {
	case core.ActionSend:
		return s.send(ctx, c, payload, "Action", al)
	case core.ActionCheck:
		return s.check(ctx, c, payload, "Action", al)
	}
	return nil, newError(CodeUnknownAction, "Action must be SendSmsVerifyCode or CheckSmsVerifyCode")
}
