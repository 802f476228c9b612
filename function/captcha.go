package function

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"smsverify/core"
	"smsverify/function/captcha"
)

// captchaField is the request field that carries the captcha token. The
// name is Captcha 2.0's own; for Turnstile and hCaptcha it carries the
// widget's response token.
const captchaField = "CaptchaVerifyParam"

// MaxCaptchaParamBytes caps CaptchaVerifyParam.
const MaxCaptchaParamBytes = 4 << 10

// CAPTCHA_ACTIONS entries.
const (
	captchaActionSend  = "send"
	captchaActionCheck = "check"
)

// maxCaptchaTimeout bounds CAPTCHA_TIMEOUT; the platform deadline bounds it
// further at run time.
const maxCaptchaTimeout = 30 * time.Second

// maxCaptchaPrefixBytes bounds CAPTCHA_PREFIX, a short console identifier.
const maxCaptchaPrefixBytes = 64

var captchaProviders = []string{captcha.ProviderAliyun, captcha.ProviderTurnstile, captcha.ProviderHCaptcha, captcha.ProviderTest}

// clientCaptcha is the public, non-secret part of the captcha settings: what
// a page needs to show the widget (GET /client-config).
func (c *Config) clientCaptcha() ClientCaptcha {
	if c.CaptchaProvider == "" {
		return ClientCaptcha{Actions: []string{}}
	}
	cc := ClientCaptcha{Provider: c.CaptchaProvider, Actions: slices.Clone(c.CaptchaActions),
		SiteKey: c.CaptchaSiteKey, SceneID: c.CaptchaSceneID}
	switch c.CaptchaProvider {
	case captcha.ProviderTest:
		cc.PassPrefix = captcha.TestPassPrefix
	case captcha.ProviderAliyun:
		cc.Prefix, cc.Region = c.CaptchaPrefix, c.captchaRegion()
	}
	return cc
}

// Captcha 2.0's client regions (window.AliyunCaptchaConfig.region): the
// web/app SDK must talk to the region that verifies the token.
const (
	captchaRegionChina     = "cn"  // captcha.cn-shanghai.aliyuncs.com
	captchaRegionSingapore = "sgp" // captcha.ap-southeast-1.aliyuncs.com
)

// captchaRegion is Captcha 2.0's client region for CAPTCHA_ENDPOINT:
// Singapore when its host names ap-southeast-1, else mainland China.
func (c *Config) captchaRegion() string {
	u, err := url.Parse(c.captchaEndpoint())
	if err == nil && strings.Contains(strings.ToLower(u.Hostname()), "ap-southeast-1") {
		return captchaRegionSingapore
	}
	return captchaRegionChina
}

// validateCaptcha checks the CAPTCHA_* variables: a known provider and
// what it requires.
func (c *Config) validateCaptcha(p *problems) {
	if c.CaptchaProvider == "" {
		return
	}
	if !slices.Contains(captchaProviders, c.CaptchaProvider) {
		p.add("CAPTCHA_PROVIDER", "must be empty (off), %s", strings.Join(captchaProviders, ", "))
		return
	}
	if !slices.Contains(c.CaptchaActions, captchaActionSend) ||
		slices.ContainsFunc(c.CaptchaActions, func(a string) bool { return a != captchaActionSend && a != captchaActionCheck }) {
		p.add("CAPTCHA_ACTIONS", "must be send or send,check")
	}
	if c.CaptchaTimeout <= 0 || c.CaptchaTimeout > maxCaptchaTimeout {
		p.add("CAPTCHA_TIMEOUT", "must be positive and at most %s, like 3s", maxCaptchaTimeout)
	}
	if c.CaptchaPrefix != "" && c.CaptchaProvider != captcha.ProviderAliyun {
		p.add("CAPTCHA_PREFIX", "applies to aliyun only")
	}
	switch c.CaptchaProvider {
	case captcha.ProviderAliyun:
		if c.CaptchaSceneID == "" {
			p.add("CAPTCHA_SCENE_ID", "is required when CAPTCHA_PROVIDER=aliyun")
		}
		if len(c.CaptchaHostnames) > 0 {
			p.add("CAPTCHA_HOSTNAMES", "applies to turnstile and hcaptcha only")
		}
		if len(c.CaptchaPrefix) > maxCaptchaPrefixBytes || strings.ContainsFunc(c.CaptchaPrefix, func(r rune) bool {
			return !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '-' || r == '_')
		}) {
			p.add("CAPTCHA_PREFIX", "must be the identity prefix from the Captcha 2.0 console (letters, digits, - and _)")
		}
	case captcha.ProviderTurnstile, captcha.ProviderHCaptcha:
		if c.CaptchaSecret == "" {
			p.add("CAPTCHA_SECRET", "is required when CAPTCHA_PROVIDER=%s", c.CaptchaProvider)
		}
	}
	if def := c.captchaDefaultEndpoint(); def != "" && core.CheckEndpoint(c.captchaEndpoint(), c.CaptchaProvider == captcha.ProviderAliyun) != nil {
		p.add("CAPTCHA_ENDPOINT", "must be an https URL (http only for loopback), like %s", def)
	}
}

// captchaEndpoint is CAPTCHA_ENDPOINT or the provider's default.
func (c *Config) captchaEndpoint() string {
	if c.CaptchaEndpoint != "" {
		return c.CaptchaEndpoint
	}
	return c.captchaDefaultEndpoint()
}

// captchaDefaultEndpoint is the provider's endpoint; "" for the test
// provider, which calls none.
func (c *Config) captchaDefaultEndpoint() string {
	switch c.CaptchaProvider {
	case captcha.ProviderAliyun:
		return captcha.DefaultAliyunEndpoint
	case captcha.ProviderTurnstile:
		return captcha.DefaultTurnstileEndpoint
	case captcha.ProviderHCaptcha:
		return captcha.DefaultHCaptchaEndpoint
	}
	return ""
}

// newVerifier builds the configured provider; nil when CAPTCHA_PROVIDER is
// empty. Captcha 2.0 is signed with the same credentials as Dypnsapi.
func newVerifier(cfg Config, creds core.CredentialsProvider, o Options, now func() time.Time) (captcha.Verifier, error) {
	switch cfg.CaptchaProvider {
	case "":
		return nil, nil
	case captcha.ProviderTest:
		if !o.Emulator {
			return nil, errors.New("config: CAPTCHA_PROVIDER=test passes any token starting with \"pass\"; it is accepted only in the local emulator mode")
		}
		return captcha.Test{}, nil
	case captcha.ProviderAliyun:
		client, err := core.NewClient(core.Options{Endpoint: cfg.captchaEndpoint(), Credentials: creds,
			HTTPClient: o.HTTPClient, Timeout: cfg.CaptchaTimeout, Now: now})
		if err != nil {
			return nil, fmt.Errorf("config: CAPTCHA_ENDPOINT: %w", err)
		}
		return captcha.NewAliyun(client, cfg.CaptchaSceneID)
	}
	so := captcha.SiteverifyOptions{Endpoint: cfg.captchaEndpoint(), Secret: cfg.CaptchaSecret, SiteKey: cfg.CaptchaSiteKey,
		Hostnames: cfg.CaptchaHostnames, HTTPClient: o.HTTPClient, Timeout: cfg.CaptchaTimeout}
	var v *captcha.Siteverify
	var err error
	if cfg.CaptchaProvider == captcha.ProviderTurnstile {
		v, err = captcha.NewTurnstile(so)
	} else {
		v, err = captcha.NewHCaptcha(so)
	}
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return v, nil
}

// captchaRequired reports whether a call of action by c needs a captcha:
// only public callers, only for the actions in CAPTCHA_ACTIONS. Trusted
// callers and events skip it, and a CaptchaVerifyParam they send is
// ignored.
func (s *Service) captchaRequired(c caller, action string) bool {
	return s.captcha != nil && !c.trusted() && slices.Contains(s.cfg.CaptchaActions, action)
}

// checkCaptcha verifies the token (a body's CaptchaVerifyParam, as JSON
// text) when the call needs one. It runs after validation and before any limit is taken, so a refused
// or unavailable captcha costs no limit and no Dypnsapi call.
func (s *Service) checkCaptcha(ctx context.Context, c caller, action string, raw json.RawMessage, al *accessLog) *apiError {
	if !s.captchaRequired(c, action) {
		return nil
	}
	var token string
	if len(raw) > 0 && json.Unmarshal(raw, &token) != nil {
		return newError(CodeInvalidParameters, captchaField+" must be a JSON string")
	}
	if token == "" {
		al.Captcha = "missing"
		return newError(CodeCaptchaRequired, captchaField+" is required: solve the captcha first")
	}
	if len(token) > MaxCaptchaParamBytes {
		return newError(CodeInvalidParameters, captchaField+" is longer than "+strconv.Itoa(MaxCaptchaParamBytes)+" bytes")
	}
	uctx, cancel := upstreamContext(ctx)
	defer cancel()
	res, err := s.captcha.Verify(uctx, token, c.ip)
	if err == nil {
		al.Captcha = res.Code
		return nil
	}
	reason := captcha.ReasonOf(err)
	if reason == "" {
		reason = "error"
	}
	al.Captcha = reason
	var e *apiError
	switch captcha.KindOf(err) {
	case captcha.KindRefused:
		e = newError(CodeCaptchaFailed, "captcha verification failed ("+reason+"); solve a new captcha")
	case captcha.KindMisconfigured:
		e = newError(CodeInternal, "captcha verification is misconfigured ("+reason+"); the operator must fix it")
	default:
		e = newError(CodeCaptchaUnavailable, "captcha verification is unavailable ("+reason+"); try again later")
		e.Transient = true
	}
	e.cause = err
	return e
}
