package core

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"
)

// ParamError reports a request parameter that breaks a documented
// constraint. It is returned before any network call. It names the field but
// never echoes its value.
type ParamError struct {
	Field  string // the API parameter name, e.g. "PhoneNumber"
	Reason string // e.g. "is required", "must be 4 to 8"
}

func (e *ParamError) Error() string { return "core: parameter " + e.Field + " " + e.Reason }

// Local error codes, used in Error.Code when Alibaba gave no code.
const (
	CodeTimeout            = "Timeout"            // no answer before the deadline
	CodeCanceled           = "Canceled"           // the caller's context was canceled
	CodeNetworkError       = "NetworkError"       // the request failed in transport
	CodeBadResponse        = "BadResponse"        // the answer was not a Dypnsapi response
	CodeMissingCredentials = "MissingCredentials" // the credentials provider failed
)

// Kind classifies a failure by what the caller should do about it.
type Kind int

// The kinds of failure.
const (
	KindUpstream      Kind = iota // Alibaba failed or answered garbage; report it, maybe retry later
	KindBadInput                  // the request itself is wrong; do not retry unchanged
	KindRateLimited               // a frequency or daily limit; retry after RetryAfter
	KindMisconfigured             // credentials, signature, clock or product setup are wrong
	KindUnavailable               // Alibaba is unavailable or the account is out of quota
	KindTimeout                   // no answer in time; a Send may or may not have been delivered
	KindCanceled                  // the caller gave up
)

var kindNames = [...]string{"upstream", "bad_input", "rate_limited", "misconfigured", "unavailable", "timeout", "canceled"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Error is a failed Dypnsapi call: either Alibaba's answer (a business
// failure with HTTP 200 and Success false, or a gateway error with a 4xx/5xx
// status) or a local failure (timeout, transport, unreadable answer), which
// then carries one of the Code* constants and the cause in Err.
//
// Error never contains a secret, a verification code or a phone number:
// Message is Alibaba's own text, which does not echo them.
type Error struct {
	Action             string        // "SendSmsVerifyCode" or "CheckSmsVerifyCode"
	StatusCode         int           // HTTP status of Alibaba's answer; 0 when there was none
	Code               string        // Alibaba's Code, or a Code* constant
	Message            string        // Alibaba's Message, or a local description
	RequestID          string        // Alibaba's RequestId, if any
	HostID             string        // gateway errors only
	Recommend          string        // gateway errors only: Alibaba's diagnosis link
	AccessDeniedDetail string        // a string, or the JSON of an object
	RetryAfter         time.Duration // for KindRateLimited: how long to wait
	Err                error         // the underlying transport or decoding error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("dypnsapi ")
	b.WriteString(e.Action)
	b.WriteString(": ")
	b.WriteString(e.Code)
	if e.StatusCode != 0 {
		b.WriteString(" (HTTP ")
		b.WriteString(strconv.Itoa(e.StatusCode))
		b.WriteString(")")
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if e.RequestID != "" {
		b.WriteString(" [RequestId ")
		b.WriteString(e.RequestID)
		b.WriteString("]")
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Kind classifies e by its code and HTTP status.
func (e *Error) Kind() Kind {
	switch e.Code {
	case CodeTimeout:
		return KindTimeout
	case CodeCanceled:
		return KindCanceled
	case CodeMissingCredentials:
		return KindMisconfigured
	case CodeNetworkError, CodeBadResponse:
		if e.StatusCode == 503 {
			return KindUnavailable
		}
		return KindUpstream
	}
	if k, ok := codeKinds.lookup(e.Code); ok {
		return k
	}
	switch {
	case e.StatusCode == 503:
		return KindUnavailable
	case e.StatusCode == 429:
		return KindRateLimited
	}
	return KindUpstream
}

// codeTable maps Alibaba's codes to a V: exact codes first, then families
// of codes by prefix (e.g. Throttling.User).
type codeTable[V any] struct {
	exact    map[string]V
	prefixes []codePrefix[V]
}

type codePrefix[V any] struct {
	prefix string
	v      V
}

// lookup returns code's entry, if any.
func (t *codeTable[V]) lookup(code string) (V, bool) {
	if v, ok := t.exact[code]; ok {
		return v, true
	}
	for _, p := range t.prefixes {
		if strings.HasPrefix(code, p.prefix) {
			return p.v, true
		}
	}
	var zero V
	return zero, false
}

// codeKinds classifies Alibaba's codes: the documented ones, those on the
// product's error pages, and those seen in real traffic.
var codeKinds = codeTable[Kind]{exact: map[string]Kind{
	"MOBILE_NUMBER_ILLEGAL":       KindBadInput,
	"isv.MOBILE_NUMBER_ILLEGAL":   KindBadInput,
	"INVALID_PARAMETERS":          KindBadInput,
	"isv.INVALID_PARAMETERS":      KindBadInput,
	"isv.PARAM_LENGTH_LIMIT":      KindBadInput,
	"isv.MOBILE_COUNT_OVER_LIMIT": KindBadInput,
	"SECURITY_INTERCEPTED":        KindBadInput, // Alibaba's risk control refused this number
	"DataNotFound":                KindBadInput,

	"FREQUENCY_FAIL":             KindRateLimited,
	"biz.FREQUENCY":              KindRateLimited,
	"BUSINESS_LIMIT_CONTROL":     KindRateLimited,
	"isv.BUSINESS_LIMIT_CONTROL": KindRateLimited,
	"SENTINEL_BLOCK_EXCEPTION":   KindRateLimited,

	"FUNCTION_NOT_OPENED":       KindMisconfigured,
	"SignatureDoesNotMatch":     KindMisconfigured,
	"IncompleteSignature":       KindMisconfigured,
	"SignatureNonceUsed":        KindMisconfigured,
	"InvalidTimeStamp.Expired":  KindMisconfigured,
	"isv.SMS_SIGNATURE_ILLEGAL": KindMisconfigured,
	"isv.SMS_TEMPLATE_ILLEGAL":  KindMisconfigured,
	"isv.ACCOUNT_ABNORMAL":      KindMisconfigured,
	"isv.ACCOUNT_NOT_EXISTS":    KindMisconfigured,

	"ServiceUnavailable":    KindUnavailable,
	"RESOURCE_NOT_ENOUGH":   KindUnavailable,
	"isv.AMOUNT_NOT_ENOUGH": KindUnavailable,
	"isv.OUT_OF_SERVICE":    KindUnavailable,
}, prefixes: []codePrefix[Kind]{
	{"Throttling", KindRateLimited},
	{"InvalidAccessKeyId", KindMisconfigured},
	{"InvalidSecurityToken", KindMisconfigured},
	{"Forbidden", KindMisconfigured},
	{"NoPermission", KindMisconfigured},
	{"MissingParameter", KindBadInput},
	{"InvalidParameter", KindBadInput},
	{"ServiceUnavailable", KindUnavailable},
}}

// KindOf classifies any error returned by a Client: a *ParamError is
// KindBadInput, an *Error its Kind, context errors KindTimeout or
// KindCanceled, anything else KindUpstream.
func KindOf(err error) Kind {
	var pe *ParamError
	var e *Error
	switch {
	case errors.As(err, &pe):
		return KindBadInput
	case errors.As(err, &e):
		return e.Kind()
	case errors.Is(err, context.DeadlineExceeded):
		return KindTimeout
	case errors.Is(err, context.Canceled):
		return KindCanceled
	}
	return KindUpstream
}

// RateLimited reports whether err is a frequency or daily limit, and how long
// to wait before trying again (0 if unknown).
func RateLimited(err error) (retryAfter time.Duration, ok bool) {
	var e *Error
	if errors.As(err, &e) && e.Kind() == KindRateLimited {
		return e.RetryAfter, true
	}
	return 0, false
}

// IsTransient reports whether trying the same call again later may succeed
// without any change: timeouts, transport failures, gateway throttling,
// Alibaba 5xx and ServiceUnavailable. An unreadable answer with a 2xx status
// is not transient: the call may have worked (an SMS may have gone out). Business limits
// (FREQUENCY_FAIL, BUSINESS_LIMIT_CONTROL) and quota exhaustion are not
// transient.
func IsTransient(err error) bool {
	var e *Error
	if !errors.As(err, &e) {
		return KindOf(err) == KindTimeout
	}
	switch e.Kind() {
	case KindTimeout:
		return true
	case KindUpstream:
		return e.StatusCode == 0 || e.StatusCode >= 500
	case KindUnavailable:
		return strings.HasPrefix(e.Code, "ServiceUnavailable") || e.StatusCode >= 500
	case KindRateLimited:
		return strings.HasPrefix(e.Code, "Throttling") || e.Code == "SENTINEL_BLOCK_EXCEPTION"
	}
	return false
}

// NeverReached reports whether err proves the request never reached
// Alibaba's business processing, so a Send certainly sent no SMS: the
// request was refused locally (*ParamError), there were no usable
// credentials, the connection was never established (refused, DNS, no
// route), or the API gateway rejected it before any business processing
// (signature, AccessKey, security token, timestamp, nonce, API throttling,
// unknown action or version). A timeout, a garbage answer, a redirect or any
// business answer (e.g. FREQUENCY_FAIL) is false: it may have been sent.
func NeverReached(err error) bool {
	var pe *ParamError
	if errors.As(err, &pe) {
		return true
	}
	var e *Error
	if !errors.As(err, &e) {
		return false
	}
	switch e.Code {
	case CodeMissingCredentials:
		return true
	case CodeNetworkError:
		return neverSent(e.Err)
	}
	if e.StatusCode < 400 {
		return false // the gateway rejects with 4xx/5xx; HTTP 200 is a business answer
	}
	_, rejected := gatewayRejections.lookup(e.Code)
	return rejected
}

// gatewayRejections are the API gateway's codes for requests it refuses
// before any business processing, and their families (e.g.
// InvalidAccessKeyId.NotFound, InvalidTimeStamp.Expired, Throttling.User).
var gatewayRejections = codeTable[struct{}]{
	exact: map[string]struct{}{
		"SignatureDoesNotMatch":  {},
		"IncompleteSignature":    {},
		"SignatureNonceUsed":     {},
		"InvalidVersion":         {},
		"InvalidAction.NotFound": {},
		"MissingSecurityToken":   {},
	},
	prefixes: []codePrefix[struct{}]{
		{"InvalidAccessKeyId", struct{}{}},
		{"InvalidSecurityToken", struct{}{}},
		{"InvalidTimeStamp", struct{}{}},
		{"Throttling", struct{}{}},
	},
}
