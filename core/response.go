package core

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
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
	OutID      string `json:"OutId,omitempty"`
	BizID      string `json:"BizId,omitempty"` // identifies the send in delivery receipts
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
	OutID        string `json:"OutId,omitempty"`
}

// The values of CheckModel.VerifyResult.
const (
	VerifyPass    = "PASS"    // the code matched
	VerifyUnknown = "UNKNOWN" // anything else: wrong, expired, used up or never sent
)

// Passed reports whether the code matched.
func (r *CheckResponse) Passed() bool { return r.Model.VerifyResult == VerifyPass }

// answer is every top-level field of both answer shapes, the API's
// business answer and the gateway's error, with the action's Model type M.
// One decode fills it all.
type answer[M any] struct {
	Code               string             `json:"Code"`
	Message            string             `json:"Message"`
	RequestID          string             `json:"RequestId"`
	Success            *bool              `json:"Success"`
	HostID             string             `json:"HostId"`
	Recommend          string             `json:"Recommend"`
	AccessDeniedDetail accessDeniedDetail `json:"AccessDeniedDetail"`
	Model              M                  `json:"Model"`
}

// accessDeniedDetail is AccessDeniedDetail, which Alibaba sends as a string
// or as an object; an object is kept as compact JSON.
type accessDeniedDetail string

func (d *accessDeniedDetail) UnmarshalJSON(b []byte) error {
	switch {
	case string(b) == `""`, string(b) == "null": // the usual answer: no detail
		return nil
	case b[0] == '"':
		var s string
		err := json.Unmarshal(b, &s)
		*d = accessDeniedDetail(s)
		return err
	}
	var c bytes.Buffer
	if err := json.Compact(&c, b); err != nil {
		return err
	}
	*d = accessDeniedDetail(c.String())
	return nil
}

// parseResponse decodes an answer of status with body into a, in one pass.
// It returns nil for a success (HTTP 2xx, Code OK, Success not false), after
// which modelErr says whether Model had the wrong shape; otherwise it
// returns an *Error. now and interval set RetryAfter for rate limits.
func parseResponse[M any](a *answer[M], action string, status int, body []byte, now time.Time, interval time.Duration) (modelErr, err error) {
	bad := func(msg string, err error) *Error {
		return &Error{Action: action, StatusCode: status, Code: CodeBadResponse, Message: msg, Err: err}
	}
	if err = json.Unmarshal(body, a); err != nil {
		if te := (*json.UnmarshalTypeError)(nil); errors.As(err, &te) && (te.Field == "Model" || strings.HasPrefix(te.Field, "Model.")) {
			// The rest of the answer was decoded; only Model is wrong.
			modelErr, err = err, nil
		}
	}
	if err != nil {
		return nil, badJSON(action, status, body, err)
	}
	if duplicateKey(body) {
		return nil, bad("response names a member twice", nil)
	}
	ok := a.Code == "OK" && (a.Success == nil || *a.Success) && status >= 200 && status < 300
	if ok {
		return modelErr, nil
	}
	if a.Code == "" {
		return nil, bad("response has no Code", nil)
	}
	e := &Error{
		Action: action, StatusCode: status, Code: a.Code, Message: a.Message,
		RequestID: a.RequestID, HostID: a.HostID, Recommend: a.Recommend,
		AccessDeniedDetail: string(a.AccessDeniedDetail),
	}
	if a.Code == "OK" {
		// "OK" with Success false or an error status: not a success.
		e.Code = CodeBadResponse
		e.Message = fmt.Sprintf("contradictory answer: Code OK with HTTP %d", status)
	}
	if e.Kind() == KindRateLimited {
		e.RetryAfter = retryAfter(e.Code, now, interval)
	}
	return nil, e
}

// duplicateKey reports whether the valid JSON text body has an object, at
// any depth, that names a member twice as encoding/json matches names
// (case-insensitively): json.Unmarshal keeps the last of them and another
// reader may keep the first, so such an answer is ambiguous ("Code":"OK"
// and "Code":"isv.…", or two VerifyResults) and refused like any other
// malformed one. encoding/json cannot tell (a json.Decoder token walk can,
// at ten times the cost of decoding the answer), so it reads the keys
// itself: body passed json.Unmarshal, so only strings and brackets need
// telling apart, and a key with an escape is decoded by
// encoding/json before it is compared.
func duplicateKey(body []byte) bool {
	// Room on the stack for the keys and brackets of an answer (about a
	// dozen keys, two levels), so that only a deeper or wider one allocates.
	var keyRoom [32][]byte
	var startRoom [8]int
	var (
		keys   = keyRoom[:0]   // the keys of the open objects, innermost last
		starts = startRoom[:0] // per open bracket: where its keys start in keys; -1 for an array
	)
	inObject := func() bool { return len(starts) > 0 && starts[len(starts)-1] >= 0 }
	keyNext := false
	for i := 0; i < len(body); i++ {
		switch body[i] {
		case '{':
			starts, keyNext = append(starts, len(keys)), true
		case '[':
			starts, keyNext = append(starts, -1), false
		case '}', ']':
			if start := starts[len(starts)-1]; start >= 0 {
				keys = keys[:start]
			}
			starts = starts[:len(starts)-1]
		case ',':
			keyNext = inObject()
		case '"':
			end := i + 1
			for body[end] != '"' {
				if body[end] == '\\' {
					end++
				}
				end++
			}
			if keyNext {
				k := body[i+1 : end]
				if bytes.IndexByte(k, '\\') >= 0 {
					var s string
					_ = json.Unmarshal(body[i:end+1], &s) // a valid JSON string
					k = []byte(s)
				}
				for _, seen := range keys[starts[len(starts)-1]:] {
					if bytes.EqualFold(seen, k) {
						return true
					}
				}
				keys, keyNext = append(keys, k), false
			}
			i = end
		}
	}
	return false
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
	}
	if isFrequencyCode(code) {
		return interval
	}
	return time.Second
}

// isFrequencyCode reports whether code is Alibaba refusing a send because
// the number had one within the Interval.
func isFrequencyCode(code string) bool { return code == "FREQUENCY_FAIL" || code == "biz.FREQUENCY" }

// IsFrequencyFail reports whether err is Alibaba refusing a send because
// the number had one within the Interval (FREQUENCY_FAIL). Its RetryAfter
// is the whole Interval, an upper bound: Alibaba does not say when that
// send was, so only a caller that knows can tell the time left.
func IsFrequencyFail(err error) bool {
	var e *Error
	return errors.As(err, &e) && isFrequencyCode(e.Code)
}

// sendResult decodes a SendSmsVerifyCode answer.
func sendResult(status int, body []byte, now time.Time, interval time.Duration) (*SendResponse, error) {
	var a answer[SendModel]
	modelErr, err := parseResponse(&a, ActionSend, status, body, now, interval)
	if err != nil {
		return nil, err
	}
	if modelErr != nil {
		return nil, &Error{Action: ActionSend, StatusCode: status, Code: CodeBadResponse, RequestID: a.RequestID,
			Message: "Model is not an object", Err: modelErr}
	}
	return &SendResponse{Code: a.Code, Message: a.Message, RequestID: a.RequestID, Success: true,
		AccessDeniedDetail: string(a.AccessDeniedDetail), Model: a.Model}, nil
}

// checkResult decodes a CheckSmsVerifyCode answer. An answer without a
// VerifyResult is garbage, never a wrong code.
func checkResult(status int, body []byte, now time.Time) (*CheckResponse, error) {
	var a answer[CheckModel]
	modelErr, err := parseResponse(&a, ActionCheck, status, body, now, DefaultInterval)
	if err != nil {
		return nil, err
	}
	if modelErr != nil || a.Model.VerifyResult == "" {
		return nil, &Error{Action: ActionCheck, StatusCode: status, Code: CodeBadResponse, RequestID: a.RequestID,
			Message: "answer has no Model.VerifyResult", Err: modelErr}
	}
	return &CheckResponse{Code: a.Code, Message: a.Message, RequestID: a.RequestID, Success: true,
		AccessDeniedDetail: string(a.AccessDeniedDetail), Model: a.Model}, nil
}
