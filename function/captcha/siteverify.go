package captcha

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"smsverify/core"
)

// DefaultTimeout bounds one verification unless the options say otherwise.
const DefaultTimeout = 3 * time.Second

// maxAnswer caps how much of a siteverify answer is read; real ones are
// a few hundred bytes.
const maxAnswer = 64 << 10

// SiteverifyOptions configure a Turnstile or hCaptcha verifier. Both speak
// the same siteverify protocol: a form POST of secret, response, remoteip
// (and hCaptcha's sitekey), answered by
// {"success":bool,"error-codes":[…],"hostname":"…"}.
type SiteverifyOptions struct {
	// Endpoint is the siteverify URL; default the provider's. Plain http
	// only for loopback hosts (tests).
	Endpoint string
	// Secret is the site's secret key. Required.
	Secret string
	// SiteKey is sent as sitekey (hCaptcha) so that a token from another
	// site is refused. Optional; Turnstile ignores it.
	SiteKey string
	// Hostnames, when set, is the allowlist for the hostname the provider
	// reports the widget was solved on.
	Hostnames []string
	// HTTPClient sends the requests; default one that follows no redirects.
	HTTPClient *http.Client
	// Timeout bounds each verification; the context's deadline applies when
	// earlier. Default DefaultTimeout.
	Timeout time.Duration
}

// Siteverify is the Turnstile or hCaptcha verifier.
type Siteverify struct {
	provider  string
	endpoint  string
	secret    string
	siteKey   string
	hostnames []string
	hc        *http.Client
	timeout   time.Duration
}

// NewTurnstile returns a Cloudflare Turnstile verifier.
func NewTurnstile(o SiteverifyOptions) (*Siteverify, error) {
	o.SiteKey = "" // Turnstile's siteverify takes no sitekey
	return newSiteverify(ProviderTurnstile, DefaultTurnstileEndpoint, o)
}

// NewHCaptcha returns an hCaptcha verifier.
func NewHCaptcha(o SiteverifyOptions) (*Siteverify, error) {
	return newSiteverify(ProviderHCaptcha, DefaultHCaptchaEndpoint, o)
}

func newSiteverify(provider, def string, o SiteverifyOptions) (*Siteverify, error) {
	if o.Endpoint == "" {
		o.Endpoint = def
	}
	if err := core.CheckEndpoint(o.Endpoint, false); err != nil {
		return nil, fmt.Errorf("captcha %s: %w", provider, err)
	}
	if o.Secret == "" {
		return nil, fmt.Errorf("captcha %s: a secret is required", provider)
	}
	s := &Siteverify{provider: provider, endpoint: o.Endpoint, secret: o.Secret, siteKey: o.SiteKey,
		hostnames: slices.Clone(o.Hostnames), hc: o.HTTPClient, timeout: o.Timeout}
	if s.hc == nil {
		s.hc = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	if s.timeout <= 0 {
		s.timeout = DefaultTimeout
	}
	return s, nil
}

// siteverifyAnswer is the siteverify answer of both providers.
type siteverifyAnswer struct {
	Success    *bool    `json:"success"`
	ErrorCodes []string `json:"error-codes"`
	Hostname   string   `json:"hostname"`
}

// misconfiguredCodes are error-codes that blame our request, not the token.
var misconfiguredCodes = []string{
	"missing-input-secret", "invalid-input-secret", "sitekey-secret-mismatch", "invalid-sitekey", "bad-request",
}

// Verify posts the token to the siteverify endpoint and judges the answer.
func (s *Siteverify) Verify(ctx context.Context, token, clientIP string) (Result, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	status, body, err := s.post(ctx, token, clientIP)
	if err != nil {
		return Result{}, err
	}
	return s.judge(status, body)
}

// post sends the siteverify form and returns the answer's status and body;
// a failure to get one is a KindUnavailable *Error (KindMisconfigured for
// an endpoint no request can be made to).
func (s *Siteverify) post(ctx context.Context, token, clientIP string) (int, []byte, error) {
	form := url.Values{"secret": {s.secret}, "response": {token}}
	if clientIP != "" {
		form.Set("remoteip", clientIP)
	}
	if s.siteKey != "" {
		form.Set("sitekey", s.siteKey)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return 0, nil, s.fail(KindMisconfigured, "bad-endpoint", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := s.hc.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) { // keep the operation and the cause, not the URL
			err = fmt.Errorf("%s %s: %w", ue.Op, s.provider, ue.Err)
		}
		if ctx.Err() != nil {
			return 0, nil, s.fail(KindUnavailable, "timeout", err)
		}
		return 0, nil, s.fail(KindUnavailable, "unreachable", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		reason := "unreachable"
		if ctx.Err() != nil {
			reason = "timeout"
		}
		return 0, nil, s.fail(KindUnavailable, reason, err)
	}
	return resp.StatusCode, body, nil
}

// judge reads a siteverify answer: a pass, a refused token, or a failure
// that blames the provider (unavailable) or our request (misconfigured).
func (s *Siteverify) judge(status int, body []byte) (Result, error) {
	if status >= 500 || status < 200 || (status >= 300 && status < 400) {
		return Result{}, s.fail(KindUnavailable, "http-"+strconv.Itoa(status), nil)
	}
	var ans siteverifyAnswer
	if err := json.Unmarshal(body, &ans); err != nil || ans.Success == nil {
		if err == nil {
			err = errors.New("answer has no success field")
		}
		return Result{}, s.fail(KindUnavailable, "bad-response", fmt.Errorf("HTTP %d, %d bytes: %w", status, len(body), err))
	}
	if *ans.Success {
		if status >= 300 {
			return Result{}, s.fail(KindUnavailable, "bad-response", fmt.Errorf("success with HTTP %d", status))
		}
		if len(s.hostnames) > 0 && !slices.Contains(s.hostnames, ans.Hostname) {
			return Result{}, s.fail(KindRefused, "hostname-not-allowed", fmt.Errorf("solved on %q", safeReason(ans.Hostname)))
		}
		return Result{Code: "success"}, nil
	}
	reason := "refused"
	if len(ans.ErrorCodes) > 0 {
		reason = safeReason(ans.ErrorCodes[0])
	}
	for _, c := range ans.ErrorCodes {
		switch {
		case slices.Contains(misconfiguredCodes, c):
			return Result{}, s.fail(KindMisconfigured, safeReason(c), nil)
		case c == "internal-error":
			return Result{}, s.fail(KindUnavailable, c, nil)
		}
	}
	return Result{}, s.fail(KindRefused, reason, nil)
}

func (s *Siteverify) fail(k Kind, reason string, err error) *Error {
	return &Error{Kind: k, Provider: s.provider, Reason: reason, Err: err}
}

// safeReason keeps a provider's text fit for a client message and a log:
// at most 64 characters of letters, digits, '-', '_' and '.'.
func safeReason(s string) string {
	var b strings.Builder
	for _, r := range s {
		if b.Len() >= 64 {
			break
		}
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' {
			b.WriteRune(r)
		}
	}
	if b.Len() == 0 {
		return "unknown"
	}
	return b.String()
}
