// Package captcha verifies the human check that a public client solved
// before it may ask for an SMS: Alibaba Cloud Captcha 2.0
// (VerifyIntelligentCaptcha,
// https://help.aliyun.com/zh/captcha/captcha2-0/user-guide/server-integration),
// Cloudflare Turnstile
// (https://developers.cloudflare.com/turnstile/get-started/server-side-validation/),
// hCaptcha (https://docs.hcaptcha.com/#verify-the-user-response-server-side)
// and an in-process test provider for the local emulator.
//
// Each provider is a Verifier. A Verifier answers a Result when the token
// passed and an *Error otherwise; the Error's Kind tells a refused token
// (the client failed the check) from an unavailable provider (fail closed,
// retry later) and a misconfigured one (a secret or a key is wrong). Neither
// ever holds the token.
package captcha

import (
	"context"
	"errors"
	"strings"
)

// Provider names, as CAPTCHA_PROVIDER spells them.
const (
	ProviderAliyun    = "aliyun"
	ProviderTurnstile = "turnstile"
	ProviderHCaptcha  = "hcaptcha"
	ProviderTest      = "test"
)

// Default verification endpoints.
const (
	DefaultAliyunEndpoint    = "https://captcha.cn-shanghai.aliyuncs.com"
	DefaultTurnstileEndpoint = "https://challenges.cloudflare.com/turnstile/v0/siteverify"
	DefaultHCaptchaEndpoint  = "https://api.hcaptcha.com/siteverify"
)

// A Verifier checks one captcha token. clientIP is the address the service
// determined for the caller ("" when unknown). It returns a Result when the
// token passed, and an *Error (see Kind) when it did not or could not be
// checked. A Verifier is safe for concurrent use.
type Verifier interface {
	Verify(ctx context.Context, token, clientIP string) (Result, error)
}

// Result is a passed verification.
type Result struct {
	// Code is the provider's outcome for the access log: Captcha 2.0's
	// VerifyCode (e.g. T001), "success" for Turnstile and hCaptcha, "pass"
	// for the test provider. It never holds the token.
	Code string
}

// Kind classifies a failed verification by what the service answers.
type Kind int

// The kinds of failure.
const (
	// KindRefused: the provider checked the token and refused it (bot,
	// expired, used twice, wrong site). The client may solve a new captcha.
	KindRefused Kind = iota + 1
	// KindUnavailable: the provider could not be asked or answered garbage
	// (unreachable, timeout, 5xx, not its JSON). Fail closed; a retry later
	// may succeed.
	KindUnavailable
	// KindMisconfigured: the provider refused our credentials (secret,
	// AccessKey, signature, permission, site key). No retry helps.
	KindMisconfigured
)

var kindNames = [...]string{"", "refused", "unavailable", "misconfigured"}

func (k Kind) String() string {
	if k > 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "Kind(?)"
}

// Error is a failed verification. It never holds the token.
type Error struct {
	Kind     Kind
	Provider string // a Provider* name
	// Reason is the provider's own reason, safe to show to the client:
	// Captcha 2.0's VerifyCode (F001, …) or gateway Code, the first of
	// Turnstile's or hCaptcha's error-codes (invalid-input-response, …), or
	// a local reason (hostname-not-allowed, timeout, bad-response, …).
	Reason string
	Err    error // the cause, for the log; never shown to clients
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("captcha ")
	b.WriteString(e.Provider)
	b.WriteString(": ")
	b.WriteString(e.Kind.String())
	if e.Reason != "" {
		b.WriteString(" (")
		b.WriteString(e.Reason)
		b.WriteString(")")
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// KindOf returns the Kind of an error from a Verifier: an *Error's Kind,
// KindUnavailable for anything else (fail closed).
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) && e.Kind != 0 {
		return e.Kind
	}
	return KindUnavailable
}

// ReasonOf returns an *Error's Reason, or "" for anything else.
func ReasonOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return ""
}
