package function

import (
	"errors"
	"net/http"
	"time"

	"smsverify/core"
)

// messageOK is the Message of every success, whether Alibaba answered it
// (its Message is "成功") or the service did (a used-up code, a test
// number): one outcome, one Message.
const messageOK = "OK"

// Local error codes: stable names for failures that did not come from
// Alibaba. Failures from Alibaba keep Alibaba's code.
const (
	CodeOK                  = "OK"
	CodeInvalidParameters   = "INVALID_PARAMETERS"    // same code as Alibaba's
	CodeMobileNumberIllegal = "MOBILE_NUMBER_ILLEGAL" // same code as Alibaba's
	CodeInvalidJSON         = "INVALID_JSON"
	CodeFieldNotAllowed     = "FIELD_NOT_ALLOWED"
	CodeUnknownAction       = "UNKNOWN_ACTION"
	CodeUnauthorized        = "UNAUTHORIZED"
	CodeNotFound            = "NOT_FOUND"
	CodeMethodNotAllowed    = "METHOD_NOT_ALLOWED"
	CodeBodyTooLarge        = "BODY_TOO_LARGE"
	CodeUnsupportedMedia    = "UNSUPPORTED_MEDIA_TYPE"
	CodeSendLimitPhone      = "SEND_LIMIT_PHONE"  // SMS_LIMIT_PER_PHONE
	CodeSendLimitIP         = "SEND_LIMIT_IP"     // SMS_LIMIT_PER_IP
	CodeSendLimitGlobal     = "SEND_LIMIT_GLOBAL" // SMS_LIMIT_GLOBAL: the day's budget is spent
	CodeCheckLimitPhone     = "CHECK_LIMIT_PHONE" // CHECK_LIMIT_PER_PHONE
	CodeCheckLimitIP        = "CHECK_LIMIT_IP"    // CHECK_LIMIT_PER_IP
	CodeLimitStoreDown      = "LIMIT_STORE_UNAVAILABLE"
	CodeUpstreamTimeout     = "UPSTREAM_TIMEOUT"
	CodeUpstreamUnreachable = "UPSTREAM_UNREACHABLE"
	CodeUpstreamBadAnswer   = "UPSTREAM_BAD_RESPONSE"
	CodeMissingCredentials  = "MISSING_CREDENTIALS"
	CodeInternal            = "INTERNAL_ERROR"
	CodeCaptchaRequired     = "CAPTCHA_REQUIRED"    // CAPTCHA_PROVIDER set, no CaptchaVerifyParam
	CodeCaptchaFailed       = "CAPTCHA_FAILED"      // the provider refused the token
	CodeCaptchaUnavailable  = "CAPTCHA_UNAVAILABLE" // the provider could not be asked: fail closed
	// CodeIdempotencyInProgress: the first request with this
	// Idempotency-Key is still running; retry after Retry-After.
	CodeIdempotencyInProgress = "IDEMPOTENCY_IN_PROGRESS"
	// CodeIdempotencyKeyReused: the Idempotency-Key was first used with
	// other parameters.
	CodeIdempotencyKeyReused = "IDEMPOTENCY_KEY_REUSED"
)

// localStatus is the error table for local codes.
var localStatus = map[string]int{
	CodeInvalidParameters:   http.StatusBadRequest,
	CodeMobileNumberIllegal: http.StatusBadRequest,
	CodeInvalidJSON:         http.StatusBadRequest,
	CodeFieldNotAllowed:     http.StatusBadRequest,
	CodeUnknownAction:       http.StatusBadRequest,
	CodeUnauthorized:        http.StatusUnauthorized,
	CodeNotFound:            http.StatusNotFound,
	CodeMethodNotAllowed:    http.StatusMethodNotAllowed,
	CodeBodyTooLarge:        http.StatusRequestEntityTooLarge,
	CodeUnsupportedMedia:    http.StatusUnsupportedMediaType,
	CodeSendLimitPhone:      http.StatusTooManyRequests,
	CodeSendLimitIP:         http.StatusTooManyRequests,
	CodeSendLimitGlobal:     http.StatusTooManyRequests,
	CodeCheckLimitPhone:     http.StatusTooManyRequests,
	CodeCheckLimitIP:        http.StatusTooManyRequests,
	CodeLimitStoreDown:      http.StatusServiceUnavailable,
	CodeUpstreamTimeout:     http.StatusGatewayTimeout,
	CodeUpstreamUnreachable: http.StatusBadGateway,
	CodeUpstreamBadAnswer:   http.StatusBadGateway,
	CodeMissingCredentials:  http.StatusInternalServerError,
	CodeInternal:            http.StatusInternalServerError,
	CodeCaptchaRequired:     http.StatusBadRequest,
	CodeCaptchaFailed:       http.StatusForbidden,
	CodeCaptchaUnavailable:  http.StatusServiceUnavailable,

	CodeIdempotencyInProgress: http.StatusConflict,
	CodeIdempotencyKeyReused:  http.StatusUnprocessableEntity,
}

// kindStatus is the error table for Alibaba's codes, by core's
// classification of them (core.Kind knows every code Alibaba documents).
var kindStatus = map[core.Kind]int{
	core.KindBadInput:      http.StatusBadRequest,
	core.KindRateLimited:   http.StatusTooManyRequests,
	core.KindMisconfigured: http.StatusInternalServerError,
	core.KindUnavailable:   http.StatusServiceUnavailable,
	core.KindTimeout:       http.StatusGatewayTimeout,
	core.KindCanceled:      http.StatusGatewayTimeout,
	core.KindUpstream:      http.StatusBadGateway,
}

// coreLocalCodes renames core's local codes for callers of this service.
var coreLocalCodes = map[string]string{
	core.CodeTimeout:            CodeUpstreamTimeout,
	core.CodeCanceled:           CodeUpstreamTimeout,
	core.CodeNetworkError:       CodeUpstreamUnreachable,
	core.CodeBadResponse:        CodeUpstreamBadAnswer,
	core.CodeMissingCredentials: CodeMissingCredentials,
}

// Error types: the stable names under which the platforms report a
// transient failure that Invoke returned as an error (Lambda's and Function
// Compute's errorType), so that a retry rule, such as a Step Functions
// Retry's ErrorEquals, can match them. They are part of the API: never
// rename one.
const (
	ErrorTypeUpstreamTimeout       = "UpstreamTimeout"       // Alibaba did not answer in time
	ErrorTypeUpstreamUnavailable   = "UpstreamUnavailable"   // Alibaba unreachable, 5xx, ServiceUnavailable or throttling
	ErrorTypeLimitStoreUnavailable = "LimitStoreUnavailable" // the limit store (Redis) failed
	ErrorTypeCaptchaUnavailable    = "CaptchaUnavailable"    // the captcha provider could not be asked
	// ErrorTypeIdempotencyInProgress: an event with the IdempotencyKey of
	// one still in flight; retried after a second, it gets that one's answer.
	ErrorTypeIdempotencyInProgress = "IdempotencyInProgress"
)

// errorTypes is the error type of each transient local code. A transient
// failure with a code not listed here (one of Alibaba's) is
// ErrorTypeUpstreamUnavailable.
var errorTypes = map[string]string{
	CodeUpstreamTimeout:     ErrorTypeUpstreamTimeout,
	CodeUpstreamUnreachable: ErrorTypeUpstreamUnavailable,
	CodeUpstreamBadAnswer:   ErrorTypeUpstreamUnavailable,
	CodeLimitStoreDown:      ErrorTypeLimitStoreUnavailable,
	CodeCaptchaUnavailable:  ErrorTypeCaptchaUnavailable,

	CodeIdempotencyInProgress: ErrorTypeIdempotencyInProgress,
}

// ErrorType is the error type a platform should report for an error that
// Invoke returned: one of the ErrorType constants, or "" for any other
// error.
func ErrorType(err error) string {
	var e *apiError
	if !errors.As(err, &e) || !e.Transient {
		return ""
	}
	if t, ok := errorTypes[e.Code]; ok {
		return t
	}
	return ErrorTypeUpstreamUnavailable
}

// apiError is every failure this service answers with.
type apiError struct {
	Status     int
	Code       string
	Message    string
	RequestID  string        // Alibaba's, when the failure came from Alibaba
	RetryAfter time.Duration // for 429
	Transient  bool          // a retry later may succeed: events raise it
	// reached is set when the request may have reached Alibaba (an answer,
	// a timeout, garbage): an idempotency key is then kept with the
	// answer, never released for a retry that could send a second SMS.
	reached bool
	cause   error // logged, never shown
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

// newError builds an apiError for a local code.
func newError(code, msg string) *apiError {
	st, ok := localStatus[code]
	if !ok {
		st = http.StatusInternalServerError
	}
	return &apiError{Status: st, Code: code, Message: msg}
}

// fromCore maps an error from core to the answer: the same table serves
// both of Alibaba's error shapes and core's local failures.
func fromCore(err error) *apiError {
	var pe *core.ParamError
	if errors.As(err, &pe) {
		return paramError(pe)
	}
	var ce *core.Error
	if !errors.As(err, &ce) {
		return &apiError{Status: http.StatusBadGateway, Code: CodeUpstreamUnreachable, Message: "upstream call failed", Transient: true, reached: true, cause: err}
	}
	e := &apiError{
		Status: kindStatus[ce.Kind()], Code: ce.Code, Message: ce.Message, RequestID: ce.RequestID,
		Transient: core.IsTransient(err), reached: !core.NeverReached(err), cause: err,
	}
	if local, ok := coreLocalCodes[ce.Code]; ok {
		e.Code = local
	}
	if e.Status == http.StatusTooManyRequests {
		e.RetryAfter = ce.RetryAfter
		if e.RetryAfter <= 0 {
			e.RetryAfter = time.Second
		}
	}
	if e.Message == "" {
		e.Message = http.StatusText(e.Status)
	}
	return e
}

// paramError answers a parameter that breaks a rule with Alibaba's own
// codes, so a client handles one set of codes.
func paramError(pe *core.ParamError) *apiError {
	code := CodeInvalidParameters
	if pe.Field == "PhoneNumber" {
		code = CodeMobileNumberIllegal
	}
	return newError(code, pe.Field+" "+pe.Reason)
}
