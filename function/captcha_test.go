package function

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"smsverify/core"
	"smsverify/core/dypnstest"
	"smsverify/function/captcha/captchatest"
	"smsverify/function/limit"
)

// countingStore counts the limit checks that reach the store.
type countingStore struct {
	limit.Store
	allows atomic.Int64
}

func (c *countingStore) Allow(ctx context.Context, now time.Time, reqs ...limit.Request) (limit.Decision, error) {
	c.allows.Add(1)
	return c.Store.Allow(ctx, now, reqs...)
}

// captchaEnv is an env with a Turnstile (or hCaptcha) fake in front and a
// counting store; every limit allows one send, so a refused captcha that
// took a slot would make the next good send a 429.
type captchaEnv struct {
	*env
	site  *captchatest.Server
	store *countingStore
}

func newCaptchaEnv(t *testing.T, mutate func(*Config)) *captchaEnv {
	t.Helper()
	ce := &captchaEnv{site: captchatest.NewServer(captchatest.Options{Hostname: "shop.example"}),
		store: &countingStore{Store: limit.NewMemory()}}
	t.Cleanup(ce.site.Close)
	one := limit.Rate{N: 1, Per: time.Hour}
	ce.env = newEnv(t, func(c *Config, o *Options) {
		c.CaptchaProvider, c.CaptchaEndpoint, c.CaptchaSecret = "turnstile", ce.site.URL, captchatest.TestSecret
		c.CaptchaTimeout = 10 * time.Second // generous: only a hang may time out
		c.SendLimitPerPhone, c.SendLimitPerIP, c.SendLimitGlobal = one, one, one
		o.Store = ce.store
		if mutate != nil {
			mutate(c)
		}
	})
	return ce
}

func captchaSend(token string) string {
	if token == "" {
		return `{"PhoneNumber":"13800000000"}`
	}
	b, _ := json.Marshal(map[string]string{"PhoneNumber": "13800000000", "CaptchaVerifyParam": token})
	return string(b)
}

func TestCaptchaBeforeLimitsAndUpstream(t *testing.T) {
	e := newCaptchaEnv(t, nil)
	refusals := []struct {
		name, body, code, inMessage string
		status                      int
		fault                       captchatest.Fault
	}{
		{"missing", captchaSend(""), CodeCaptchaRequired, "CaptchaVerifyParam", 400, 0},
		{"empty", `{"PhoneNumber":"13800000000","CaptchaVerifyParam":""}`, CodeCaptchaRequired, "CaptchaVerifyParam", 400, 0},
		{"not a string", `{"PhoneNumber":"13800000000","CaptchaVerifyParam":7}`, CodeInvalidParameters, "CaptchaVerifyParam", 400, 0},
		{"too long", captchaSend("pass" + strings.Repeat("x", MaxCaptchaParamBytes)), CodeInvalidParameters, "4096", 400, 0},
		{"refused", captchaSend("bot-token-123"), CodeCaptchaFailed, "invalid-input-response", 403, 0},
		{"provider 5xx", captchaSend("pass-a"), CodeCaptchaUnavailable, "http-503", 503, captchatest.FaultUnavailable},
		{"provider garbage", captchaSend("pass-b"), CodeCaptchaUnavailable, "bad-response", 503, captchatest.FaultGarbage},
	}
	for _, r := range refusals {
		if r.fault != 0 {
			e.site.FailNext(1, r.fault)
		}
		w, m := e.do("POST", "/send", r.body)
		if w.Code != r.status || m["Code"] != r.code || !strings.Contains(m["Message"].(string), r.inMessage) {
			t.Errorf("%s: %d %v %v", r.name, w.Code, m["Code"], m["Message"])
		}
		if strings.Contains(w.Body.String(), "bot-token-123") {
			t.Errorf("%s: answer quotes the token", r.name)
		}
	}
	if n := e.fake.Requests(); n != 0 {
		t.Errorf("Dypnsapi saw %d requests before any captcha passed", n)
	}
	if n := e.store.allows.Load(); n != 0 {
		t.Errorf("the limit store was asked %d times before any captcha passed", n)
	}
	// No limit slot was taken: the one send each limit allows still works.
	w, m := e.do("POST", "/send", captchaSend("pass-good"))
	if w.Code != 200 || e.fake.SendCount() != 1 {
		t.Fatalf("good captcha: %d %v, sends %d", w.Code, m, e.fake.SendCount())
	}
	if got := e.site.Last(); got.Response != "pass-good" || got.RemoteIP != "203.0.113.7" || got.Secret != captchatest.TestSecret {
		t.Errorf("siteverify form = %+v", got)
	}
	// A token is single-use: replaying it is refused before the limits.
	asked := e.store.allows.Load()
	w, m = e.do("POST", "/send", captchaSend("pass-good"))
	if w.Code != 403 || m["Code"] != CodeCaptchaFailed || e.store.allows.Load() != asked {
		t.Errorf("replayed token: %d %v, store asked %d times more", w.Code, m, e.store.allows.Load()-asked)
	}
	// The access log has the outcome codes, never a token.
	logs := e.logs.String()
	for _, want := range []string{`"captcha":"success"`, `"captcha":"invalid-input-response"`, `"captcha":"missing"`, `"captcha":"http-503"`} {
		if !strings.Contains(logs, want) {
			t.Errorf("access log lacks %s", want)
		}
	}
	for _, secret := range []string{"bot-token-123", "pass-good", captchatest.TestSecret} {
		if strings.Contains(logs, secret) {
			t.Errorf("access log holds %q", secret)
		}
	}
}

func TestCaptchaHangIsUnavailable(t *testing.T) {
	e := newCaptchaEnv(t, func(c *Config) { c.CaptchaTimeout = 50 * time.Millisecond })
	e.site.FailNext(1, captchatest.FaultHang)
	w, m := e.do("POST", "/send", captchaSend("pass-1"))
	if w.Code != 503 || m["Code"] != CodeCaptchaUnavailable || !strings.Contains(m["Message"].(string), "timeout") {
		t.Fatalf("hanging provider: %d %v", w.Code, m)
	}
	if e.fake.Requests() != 0 || e.store.allows.Load() != 0 {
		t.Errorf("after a captcha timeout: Dypnsapi requests %d, store asked %d times", e.fake.Requests(), e.store.allows.Load())
	}
	if !strings.Contains(e.logs.String(), `"captcha":"timeout"`) {
		t.Errorf("access log lacks the timeout outcome")
	}
}

// TestCaptchaUnavailableErrorType: events skip the captcha, so no Invoke
// raises it today; the answer is still transient with its own platform
// error type, so a caller that relays it can retry on CaptchaUnavailable.
func TestCaptchaUnavailableErrorType(t *testing.T) {
	e := newCaptchaEnv(t, nil)
	e.site.FailNext(1, captchatest.FaultUnavailable)
	ae := e.svc.checkCaptcha(context.Background(), caller{kind: callerPublic, ip: "203.0.113.7"}, captchaActionSend,
		json.RawMessage(`"pass-1"`), &accessLog{})
	if ae == nil {
		t.Fatal("an unavailable captcha passed")
	}
	if !ae.Transient || ErrorType(ae) != ErrorTypeCaptchaUnavailable {
		t.Fatalf("unavailable captcha: %v, error type %q", ae, ErrorType(ae))
	}
}

func TestCaptchaSkippedForTrustedAndEvents(t *testing.T) {
	e := newCaptchaEnv(t, func(c *Config) {
		c.SendLimitPerPhone = limit.Rate{N: 10, Per: time.Hour}
		c.SendLimitGlobal = limit.Rate{N: 10, Per: time.Hour}
	})
	w, m := e.do("POST", "/send", captchaSend(""), "Authorization", "Bearer "+testKey)
	if w.Code != 200 {
		t.Fatalf("trusted without captcha: %d %v", w.Code, m)
	}
	// A trusted caller's CaptchaVerifyParam is ignored, not verified.
	e.advance(2 * time.Minute)
	w, m = e.do("POST", "/send", captchaSend("anything"), "Authorization", "Bearer "+testKey)
	if w.Code != 200 {
		t.Fatalf("trusted with a token: %d %v", w.Code, m)
	}
	e.advance(2 * time.Minute)
	out, err := e.svc.Invoke(context.Background(), []byte(`{"Action":"SendSmsVerifyCode","PhoneNumber":"13800000000","CaptchaVerifyParam":"x"}`))
	if err != nil || !strings.Contains(string(out), `"Code":"OK"`) {
		t.Fatalf("event: %s %v", out, err)
	}
	if n := e.site.Requests(); n != 0 {
		t.Errorf("the captcha provider was asked %d times for trusted callers", n)
	}
	if e.fake.SendCount() != 3 {
		t.Errorf("sends = %d, want 3", e.fake.SendCount())
	}
}

func TestCaptchaActions(t *testing.T) {
	check := `{"PhoneNumber":"13800000000","VerifyCode":"1234"}`
	// Default CAPTCHA_ACTIONS=send: checks need no captcha.
	e := newCaptchaEnv(t, nil)
	if w, m := e.do("POST", "/check", check); w.Code != 200 {
		t.Fatalf("check with CAPTCHA_ACTIONS=send: %d %v", w.Code, m)
	}
	e = newCaptchaEnv(t, func(c *Config) { c.CaptchaActions = []string{"send", "check"} })
	if w, m := e.do("POST", "/check", check); w.Code != 400 || m["Code"] != CodeCaptchaRequired {
		t.Fatalf("check without captcha, CAPTCHA_ACTIONS=send,check: %d %v", w.Code, m)
	}
	if e.fake.Requests() != 0 {
		t.Error("the check reached Dypnsapi without a captcha")
	}
	w, m := e.do("POST", "/check", `{"PhoneNumber":"13800000000","VerifyCode":"1234","CaptchaVerifyParam":"pass-1"}`)
	if w.Code != 200 || m["Model"].(map[string]any)["VerifyResult"] != "UNKNOWN" {
		t.Fatalf("check with captcha: %d %v", w.Code, m)
	}
}

func TestCaptchaMisconfigured(t *testing.T) {
	e := newCaptchaEnv(t, func(c *Config) { c.CaptchaSecret = "a-wrong-secret" })
	w, m := e.do("POST", "/send", captchaSend("pass-1"))
	if w.Code != 500 || m["Code"] != CodeInternal || strings.Contains(w.Body.String(), "a-wrong-secret") {
		t.Fatalf("wrong secret: %d %s", w.Code, w.Body)
	}
	if e.fake.Requests() != 0 {
		t.Error("Dypnsapi was called after a captcha misconfiguration")
	}
}

func TestCaptchaHCaptchaHostnames(t *testing.T) {
	site := captchatest.NewServer(captchatest.Options{Flavor: captchatest.HCaptcha, SiteKey: "10000000-ffff", Hostname: "evil.example"})
	defer site.Close()
	e := newEnv(t, func(c *Config, _ *Options) {
		c.CaptchaProvider, c.CaptchaEndpoint, c.CaptchaSecret = "hcaptcha", site.URL, captchatest.TestSecret
		c.CaptchaSiteKey, c.CaptchaHostnames = "10000000-ffff", []string{"shop.example"}
	})
	w, m := e.do("POST", "/send", captchaSend("pass-1"))
	if w.Code != 403 || !strings.Contains(m["Message"].(string), "hostname-not-allowed") {
		t.Fatalf("foreign hostname: %d %v", w.Code, m)
	}
	if got := site.Last(); got.SiteKey != "10000000-ffff" {
		t.Errorf("sitekey = %q", got.SiteKey)
	}
}

func TestCaptchaTestProviderOnlyInEmulator(t *testing.T) {
	cfg := testConfig("http://127.0.0.1:1")
	cfg.CaptchaProvider = "test"
	if _, err := New(cfg, Options{}); err == nil || !strings.Contains(err.Error(), "CAPTCHA_PROVIDER=test") {
		t.Fatalf("test provider outside the emulator: %v", err)
	}
	e := newEnv(t, func(c *Config, o *Options) { c.CaptchaProvider, o.Emulator = "test", true })
	if w, m := e.do("POST", "/send", captchaSend("nope")); w.Code != 403 || m["Code"] != CodeCaptchaFailed {
		t.Fatalf("test provider, bad token: %d %v", w.Code, m)
	}
	if w, m := e.do("POST", "/send", captchaSend("pass")); w.Code != 200 {
		t.Fatalf("test provider, pass: %d %v", w.Code, m)
	}
}

func TestCaptchaConfig(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(*Config)
		want   string // a variable the error names; "" for valid
	}{
		{"off", func(c *Config) {}, ""},
		{"unknown provider", func(c *Config) { c.CaptchaProvider = "recaptcha" }, "CAPTCHA_PROVIDER"},
		{"aliyun without scene", func(c *Config) { c.CaptchaProvider = "aliyun" }, "CAPTCHA_SCENE_ID"},
		{"aliyun", func(c *Config) { c.CaptchaProvider, c.CaptchaSceneID = "aliyun", "scene1" }, ""},
		{"aliyun http endpoint", func(c *Config) {
			c.CaptchaProvider, c.CaptchaSceneID, c.CaptchaEndpoint = "aliyun", "s", "http://captcha.cn-shanghai.aliyuncs.com"
		}, "CAPTCHA_ENDPOINT"},
		{"aliyun endpoint with path", func(c *Config) {
			c.CaptchaProvider, c.CaptchaSceneID, c.CaptchaEndpoint = "aliyun", "s", "https://captcha.cn-shanghai.aliyuncs.com/x"
		}, "CAPTCHA_ENDPOINT"},
		{"aliyun hostnames", func(c *Config) {
			c.CaptchaProvider, c.CaptchaSceneID, c.CaptchaHostnames = "aliyun", "s", []string{"a.example"}
		}, "CAPTCHA_HOSTNAMES"},
		{"aliyun prefix", func(c *Config) { c.CaptchaProvider, c.CaptchaSceneID, c.CaptchaPrefix = "aliyun", "s", "1gw1pf" }, ""},
		{"aliyun prefix with space", func(c *Config) {
			c.CaptchaProvider, c.CaptchaSceneID, c.CaptchaPrefix = "aliyun", "s", "1gw1pf "
		}, "CAPTCHA_PREFIX"},
		{"aliyun prefix too long", func(c *Config) {
			c.CaptchaProvider, c.CaptchaSceneID, c.CaptchaPrefix = "aliyun", "s", strings.Repeat("a", 65)
		}, "CAPTCHA_PREFIX"},
		{"turnstile prefix", func(c *Config) { c.CaptchaProvider, c.CaptchaSecret, c.CaptchaPrefix = "turnstile", "s", "1gw1pf" }, "CAPTCHA_PREFIX"},
		{"test prefix", func(c *Config) { c.CaptchaProvider, c.CaptchaPrefix = "test", "1gw1pf" }, "CAPTCHA_PREFIX"},
		{"turnstile without secret", func(c *Config) { c.CaptchaProvider = "turnstile" }, "CAPTCHA_SECRET"},
		{"hcaptcha without secret", func(c *Config) { c.CaptchaProvider = "hcaptcha" }, "CAPTCHA_SECRET"},
		{"turnstile", func(c *Config) { c.CaptchaProvider, c.CaptchaSecret = "turnstile", "s" }, ""},
		{"turnstile loopback http", func(c *Config) {
			c.CaptchaProvider, c.CaptchaSecret, c.CaptchaEndpoint = "turnstile", "s", "http://127.0.0.1:8/siteverify"
		}, ""},
		{"turnstile plain http", func(c *Config) {
			c.CaptchaProvider, c.CaptchaSecret, c.CaptchaEndpoint = "turnstile", "s", "http://example.com/siteverify"
		}, "CAPTCHA_ENDPOINT"},
		{"check only", func(c *Config) { c.CaptchaProvider, c.CaptchaActions = "test", []string{"check"} }, "CAPTCHA_ACTIONS"},
		{"unknown action", func(c *Config) { c.CaptchaProvider, c.CaptchaActions = "test", []string{"send", "login"} }, "CAPTCHA_ACTIONS"},
		{"send,check", func(c *Config) { c.CaptchaProvider, c.CaptchaActions = "test", []string{"send", "check"} }, ""},
		{"zero timeout", func(c *Config) { c.CaptchaProvider, c.CaptchaTimeout = "test", 0 }, "CAPTCHA_TIMEOUT"},
		{"huge timeout", func(c *Config) { c.CaptchaProvider, c.CaptchaTimeout = "test", time.Hour }, "CAPTCHA_TIMEOUT"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := defaultConfig()
			tc.mutate(&c)
			err := c.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("error %v does not name %s", err, tc.want)
			}
		})
	}
}

func TestCaptchaEnv(t *testing.T) {
	unsetConfigEnv(t)
	t.Setenv("CAPTCHA_PROVIDER", "hcaptcha")
	t.Setenv("CAPTCHA_SECRET", "0x0000000000000000000000000000000000000000")
	t.Setenv("CAPTCHA_SITE_KEY", "10000000-ffff-ffff-ffff-000000000001")
	t.Setenv("CAPTCHA_ACTIONS", "send, check")
	t.Setenv("CAPTCHA_HOSTNAMES", "shop.example, www.shop.example")
	t.Setenv("CAPTCHA_TIMEOUT", "2s")
	c, err := LoadConfig()
	if err != nil {
		t.Fatal(err)
	}
	pub := c.clientConfig().Captcha
	if pub.Provider != "hcaptcha" || pub.SiteKey != "10000000-ffff-ffff-ffff-000000000001" ||
		strings.Join(pub.Actions, ",") != "send,check" || c.CaptchaTimeout != 2*time.Second ||
		strings.Join(c.CaptchaHostnames, ",") != "shop.example,www.shop.example" {
		t.Fatalf("config = %+v, public = %+v", c, pub)
	}
	if b, _ := json.Marshal(pub); strings.Contains(string(b), "0x0000") {
		t.Errorf("public settings hold the secret: %s", b)
	}
	if off := defaultConfig(); off.clientConfig().Captcha.Provider != "" {
		t.Error("captcha off publishes a provider")
	}
	test := defaultConfig()
	test.CaptchaProvider = "test"
	if got := test.clientConfig().Captcha; got.PassPrefix != "pass" || got.Provider != "test" {
		t.Errorf("test provider's client settings: %+v", got)
	}
}

// TestCaptchaClientRegion: /client-config publishes Captcha 2.0's identity
// prefix and the region its web SDK needs, derived from CAPTCHA_ENDPOINT,
// and neither for other providers.
func TestCaptchaClientRegion(t *testing.T) {
	unsetConfigEnv(t)
	t.Setenv("CAPTCHA_PROVIDER", "aliyun")
	t.Setenv("CAPTCHA_SCENE_ID", "scene-7")
	t.Setenv("CAPTCHA_PREFIX", "1gw1pf")
	c, err := LoadConfig()
	if err != nil {
		t.Fatal(err)
	}
	want := ClientCaptcha{Provider: "aliyun", Actions: []string{"send"}, SceneID: "scene-7", Prefix: "1gw1pf", Region: "cn"}
	if got := c.clientConfig().Captcha; !reflect.DeepEqual(got, want) {
		t.Errorf("default endpoint: %+v, want %+v", got, want)
	}
	for endpoint, region := range map[string]string{
		"https://captcha.cn-shanghai.aliyuncs.com":    "cn",
		"https://captcha.ap-southeast-1.aliyuncs.com": "sgp",
		"https://CAPTCHA.AP-SOUTHEAST-1.ALIYUNCS.COM": "sgp",
		"http://127.0.0.1:8080":                       "cn",
	} {
		c.CaptchaEndpoint = endpoint
		if err := c.Validate(); err != nil {
			t.Fatalf("%s: %v", endpoint, err)
		}
		if got := c.clientConfig().Captcha; got.Region != region || got.Prefix != "1gw1pf" {
			t.Errorf("%s: %+v, want region %s", endpoint, got, region)
		}
	}
	for _, p := range []string{"test", "turnstile", "hcaptcha"} {
		o := defaultConfig()
		o.CaptchaProvider, o.CaptchaSecret, o.CaptchaEndpoint = p, "s", "https://captcha.ap-southeast-1.aliyuncs.com"
		if got := o.clientConfig().Captcha; got.Prefix != "" || got.Region != "" {
			t.Errorf("%s publishes Captcha 2.0 settings: %+v", p, got)
		}
	}
}

var _ = core.ActionSend

// TestCaptchaAliyun runs Captcha 2.0 against the same dypnstest fake that
// serves Dypnsapi, signed with the same credentials.
func TestCaptchaAliyun(t *testing.T) {
	e := newEnv(t, func(c *Config, _ *Options) {
		c.CaptchaProvider, c.CaptchaSceneID = "aliyun", "scene-7"
		c.CaptchaEndpoint = c.Endpoint // the fake serves both products
	})
	w, m := e.do("POST", "/send", captchaSend("bot"))
	if w.Code != 403 || m["Code"] != CodeCaptchaFailed || !strings.Contains(m["Message"].(string), "F001") {
		t.Fatalf("refused: %d %v", w.Code, m)
	}
	if e.fake.CaptchaCount() != 1 || e.fake.SendCount() != 0 {
		t.Fatalf("captchas %d, sends %d", e.fake.CaptchaCount(), e.fake.SendCount())
	}
	e.fake.FailNext(1, dypnstest.FaultUnavailable)
	if w, m := e.do("POST", "/send", captchaSend("pass-1")); w.Code != 503 || m["Code"] != CodeCaptchaUnavailable {
		t.Fatalf("unavailable: %d %v", w.Code, m)
	}
	if w, m := e.do("POST", "/send", captchaSend("pass-2")); w.Code != 200 || e.fake.SendCount() != 1 {
		t.Fatalf("passed: %d %v, sends %d", w.Code, m, e.fake.SendCount())
	}
	if last := e.fake.LastCaptcha(); last.SceneID != "scene-7" || last.VerifyCode != "T001" {
		t.Errorf("the fake saw %+v", last)
	}
	if !strings.Contains(e.logs.String(), `"captcha":"T001"`) || strings.Contains(e.logs.String(), "pass-2") {
		t.Error("access log: want the T001 outcome and no token")
	}

	bad := newEnv(t, func(c *Config, _ *Options) {
		c.CaptchaProvider, c.CaptchaSceneID, c.CaptchaEndpoint = "aliyun", "scene-7", c.Endpoint
		c.AccessKeySecret = "wrong-secret"
	})
	if w, m := bad.do("POST", "/send", captchaSend("pass-3")); w.Code != 500 || !strings.Contains(m["Message"].(string), "SignatureDoesNotMatch") {
		t.Fatalf("wrong secret: %d %v", w.Code, m)
	}
	if bad.fake.SendCount() != 0 {
		t.Error("a misconfigured captcha let a send through")
	}
}

// TestCaptchaAndIdempotency: a replay is answered before the captcha (the
// token was used up by the first request), and a captcha refusal does not
// stick to the key, so the same key with a new token runs.
func TestCaptchaAndIdempotency(t *testing.T) {
	e := newCaptchaEnv(t, nil)
	key := []string{"Idempotency-Key", "key-0123456789abcdef"}
	if w, m := e.do("POST", "/send", captchaSend("bot"), key...); w.Code != 403 || m["Code"] != CodeCaptchaFailed {
		t.Fatalf("refused captcha: %d %v", w.Code, m)
	}
	w, m := e.do("POST", "/send", captchaSend("pass-1"), key...)
	if w.Code != 200 || e.fake.SendCount() != 1 {
		t.Fatalf("same key, good token: %d %v", w.Code, m)
	}
	asked := e.site.Requests()
	w, m = e.do("POST", "/send", captchaSend("pass-1"), key...)
	if w.Code != 200 || w.Header().Get("Idempotent-Replayed") != "true" || e.fake.SendCount() != 1 {
		t.Fatalf("replay with the used token: %d %v %v", w.Code, w.Header(), m)
	}
	if e.site.Requests() != asked {
		t.Error("a replay asked the captcha provider")
	}
}

// TestUpstreamCallsEndBeforePlatformDeadline: with CAPTCHA_TIMEOUT and
// DYPNS_TIMEOUT far beyond the platform's deadline (the request context's),
// a hanging captcha provider or Dypnsapi is given up before that deadline,
// so the function still answers (503 or 504) instead of being killed
// without a word.
func TestUpstreamCallsEndBeforePlatformDeadline(t *testing.T) {
	for _, hang := range []string{"captcha", "dypnsapi"} {
		t.Run(hang, func(t *testing.T) {
			e := newCaptchaEnv(t, func(c *Config) { c.CaptchaTimeout, c.Timeout = 30*time.Second, 30*time.Second })
			want, wantStatus := CodeCaptchaUnavailable, 503
			if hang == "captcha" {
				e.site.FailNext(1, captchatest.FaultHang)
			} else {
				e.fake.FailNext(1, dypnstest.FaultHang)
				want, wantStatus = CodeUpstreamTimeout, 504
			}
			// The platform's deadline: the margin plus a little, so the
			// call's own deadline is what ends the hang.
			ctx, cancel := context.WithTimeout(context.Background(), deadlineMargin+hangTimeout)
			defer cancel()
			w := httptest.NewRecorder()
			e.svc.ServeHTTP(w, newRequest("POST", "/send", captchaSend("pass-1")).WithContext(ctx))
			if ctx.Err() != nil {
				t.Errorf("answered after the platform deadline")
			}
			var m map[string]any
			if err := json.Unmarshal(w.Body.Bytes(), &m); err != nil || w.Code != wantStatus || m["Code"] != want {
				t.Fatalf("hanging %s: %d %s", hang, w.Code, w.Body)
			}
		})
	}
}
