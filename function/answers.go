package function

import (
	"bytes"
	"encoding/json"
	"time"

	"smsverify/core"
)

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
