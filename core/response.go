package core

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// SendResponse is the answer to a successful SendSmsVerifyCode.
type SendResponse struct {
	Code               string    `json:"Code"`
	Message            string    `json:"Message"`
	RequestID          string    `json:"RequestId"`
	Success            bool      `json:"Success"`
	AccessDeniedDetail string    `json:"AccessDeniedDetail,omitempty"`
	Model              SendModel `json:"Model"`
}

// SendModel is the Model of a SendSmsVerifyCode answer.
type SendModel struct {
	VerifyCode string `json:"VerifyCode,omitempty"` // only when ReturnVerifyCode was true
	RequestID  string `json:"RequestId,omitempty"`
	OutId      string `json:"OutId,omitempty"`
	BizId      string `json:"BizId,omitempty"` // identifies the send in delivery receipts
}

// CheckResponse is the answer to a CheckSmsVerifyCode that worked. Whether
// the code matched is in Model.VerifyResult (see Passed): a code that did not
// match is an answer, not an error.
type CheckResponse struct {
	Code               string     `json:"Code"`
	Message            string     `json:"Message"`
	RequestID          string     `json:"RequestId"`
	Success            bool       `json:"Success"`
	AccessDeniedDetail string     `json:"AccessDeniedDetail,omitempty"`
	Model              CheckModel `json:"Model"`
}

// CheckModel is the Model of a CheckSmsVerifyCode answer.
type CheckModel struct {
	VerifyResult string `json:"VerifyResult"` // "PASS" when the code matched
	OutId        string `json:"OutId,omitempty"`
}

// The values of CheckModel.VerifyResult.
const (
	VerifyPass    = "PASS"    // the code matched
	VerifyUnknown = "UNKNOWN" // anything else: wrong, expired, used up or never sent
)

// Passed reports whether the code matched.
func (r *CheckResponse) Passed() bool { return r.Model.VerifyResult == VerifyPass }

// envelope is every top-level field of both answer shapes: the API's
// business answer and the gateway's error.
type envelope struct {
	Code               string          `json:"Code"`
	Message            string          `json:"Message"`
	RequestID          string          `json:"RequestId"`
	Success            *bool           `json:"Success"`
	HostID             string          `json:"HostId"`
	Recommend          string          `json:"Recommend"`
	AccessDeniedDetail json.RawMessage `json:"AccessDeniedDetail"`
	Model              json.RawMessage `json:"Model"`
}

// detailString renders AccessDeniedDetail, which Alibaba sends as a string
// or as an object.
func detailString(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var b bytes.Buffer
	if json.Compact(&b, raw) == nil {
		return b.String()
	}
	return ""
}

// parseResponse decodes an answer of status with body. On success it fills
// env and returns nil; otherwise it returns an *Error. now and interval set
// RetryAfter for rate limits.
func parseResponse(action string, status int, body []byte, env *envelope, now time.Time, interval time.Duration) error {
	bad := func(msg string, err error) *Error {
		return &Error{Action: action, StatusCode: status, Code: CodeBadResponse, Message: msg, Err: err}
	}
	if err := json.Unmarshal(body, env); err != nil {
		return badJSON(action, status, body, err)
	}
	ok := env.Code == "OK" && (env.Success == nil || *env.Success) && status >= 200 && status < 300
	if ok {
		return nil
	}
	if env.Code == "" {
		return bad("response has no Code", nil)
	}
	e := &Error{
		Action: action, StatusCode: status, Code: env.Code, Message: env.Message,
		RequestID: env.RequestID, HostID: env.HostID, Recommend: env.Recommend,
		AccessDeniedDetail: detailString(env.AccessDeniedDetail),
	}
	if env.Code == "OK" {
		// "OK" with Success false or an error status: not a success.
		e.Code = CodeBadResponse
		e.Message = fmt.Sprintf("contradictory answer: Code OK with HTTP %d", status)
	}
	if e.Kind() == KindRateLimited {
		e.RetryAfter = retryAfter(e.Code, now, interval)
	}
	return e
}

// badJSON is the error for an answer whose body is not JSON (or not the
// JSON expected).
func badJSON(action string, status int, body []byte, err error) *Error {
	msg := "response is not JSON (" + strconv.Itoa(len(body)) + " bytes)"
	if len(bytes.TrimSpace(body)) == 0 {
		msg, err = "empty response body", nil
	}
	return &Error{Action: action, StatusCode: status, Code: CodeBadResponse, Message: msg, Err: err}
}

// ChinaTime is the zone of Alibaba's day boundary for daily limits such as
// BUSINESS_LIMIT_CONTROL: UTC+8, no daylight saving time. Like time.UTC,
// treat it as a constant.
var ChinaTime = time.FixedZone("CST", 8*3600)

// retryAfter estimates how long a rate limit lasts: a daily cap until the
// next midnight in China, a send interval for its length, throttling a second.
func retryAfter(code string, now time.Time, interval time.Duration) time.Duration {
	switch code {
	case "BUSINESS_LIMIT_CONTROL", "isv.BUSINESS_LIMIT_CONTROL":
		t := now.In(ChinaTime)
		midnight := time.Date(t.Year(), t.Month(), t.Day()+1, 0, 0, 0, 0, ChinaTime)
		return midnight.Sub(t).Truncate(time.Second) + time.Second
	case "FREQUENCY_FAIL", "biz.FREQUENCY":
		return interval
	}
	return time.Second
}

// sendResult turns a successful envelope into a SendResponse.
func sendResult(action string, status int, env *envelope) (*SendResponse, error) {
	r := &SendResponse{Code: env.Code, Message: env.Message, RequestID: env.RequestID, Success: true,
		AccessDeniedDetail: detailString(env.AccessDeniedDetail)}
	if m := bytes.TrimSpace(env.Model); len(m) > 0 && !bytes.Equal(m, []byte("null")) {
		if err := json.Unmarshal(m, &r.Model); err != nil {
			return nil, &Error{Action: action, StatusCode: status, Code: CodeBadResponse, RequestID: env.RequestID,
				Message: "Model is not an object", Err: err}
		}
	}
	return r, nil
}

// checkResult turns a successful envelope into a CheckResponse. An answer
// without a VerifyResult is garbage, never a wrong code.
func checkResult(action string, status int, env *envelope) (*CheckResponse, error) {
	r := &CheckResponse{Code: env.Code, Message: env.Message, RequestID: env.RequestID, Success: true,
		AccessDeniedDetail: detailString(env.AccessDeniedDetail)}
	err := json.Unmarshal(env.Model, &r.Model)
	if err != nil || r.Model.VerifyResult == "" {
		return nil, &Error{Action: action, StatusCode: status, Code: CodeBadResponse, RequestID: env.RequestID,
			Message: "answer has no Model.VerifyResult", Err: err}
	}
	return r, nil
}
