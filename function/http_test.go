package function

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"smsverify/core"
	"smsverify/core/dypnstest"
	"smsverify/function/limit"
	"smsverify/internal/envdefaults"
)

const testPhone = "13800000000"

func TestHTTPStatuses(t *testing.T) {
	big := `{"PhoneNumber":"` + strings.Repeat("1", MaxBodyBytes) + `"}`
	bearer := []string{"Authorization", "Bearer " + testKey}
	for _, tc := range []struct {
		name, method, path, body string
		hdr                      []string
		status                   int
		code                     string
		msg                      string // substring of Message
	}{
		{"healthz", "GET", "/healthz", "", nil, 200, "", ""},
		{"healthz post", "POST", "/healthz", "{}", nil, 405, CodeMethodNotAllowed, ""},
		{"unknown path", "POST", "/nope", "{}", nil, 404, CodeNotFound, ""},
		{"get send", "GET", "/send", "", nil, 405, CodeMethodNotAllowed, ""},
		{"put check", "PUT", "/check", "{}", nil, 405, CodeMethodNotAllowed, ""},
		{"no content type", "POST", "/send", "", nil, 415, CodeUnsupportedMedia, ""},
		{"text body", "POST", "/send", "", []string{"Content-Type", "text/plain"}, 415, CodeUnsupportedMedia, ""},
		{"too large", "POST", "/send", big, nil, 413, CodeBodyTooLarge, ""},
		{"not json", "POST", "/send", `PhoneNumber=1`, nil, 400, CodeInvalidJSON, ""},
		{"json array", "POST", "/send", `[1]`, nil, 400, CodeInvalidJSON, ""},
		{"json null", "POST", "/send", `null`, nil, 400, CodeInvalidJSON, ""},
		{"trailing data", "POST", "/send", `{"PhoneNumber":"13800000000"} {}`, nil, 400, CodeInvalidJSON, ""},
		{"unknown field", "POST", "/send", `{"PhoneNumber":"13800000000","Phone":"1"}`, nil, 400, CodeInvalidParameters, `"Phone"`},
		{"field case matters", "POST", "/send", `{"phonenumber":"13800000000"}`, nil, 400, CodeInvalidParameters, "phonenumber"},
		{"public SignName", "POST", "/send", `{"PhoneNumber":"13800000000","SignName":"x"}`, nil, 400, CodeFieldNotAllowed, "SignName"},
		{"public ReturnVerifyCode", "POST", "/send", `{"PhoneNumber":"13800000000","ReturnVerifyCode":true}`, nil, 400, CodeFieldNotAllowed, "ReturnVerifyCode"},
		{"public CodeLength null", "POST", "/send", `{"PhoneNumber":"13800000000","CodeLength":null}`, nil, 400, CodeFieldNotAllowed, "CodeLength"},
		{"public TemplateParam", "POST", "/send", `{"PhoneNumber":"13800000000","TemplateParam":"{\"code\":\"1234\"}"}`, nil, 400, CodeFieldNotAllowed, "TemplateParam"},
		{"bad phone", "POST", "/send", `{"PhoneNumber":"12345"}`, nil, 400, CodeMobileNumberIllegal, "PhoneNumber"},
		{"missing phone", "POST", "/send", `{}`, nil, 400, CodeMobileNumberIllegal, "PhoneNumber"},
		{"country", "POST", "/send", `{"PhoneNumber":"13800000000","CountryCode":"1"}`, nil, 400, CodeInvalidParameters, "CountryCode"},
		{"template not offered", "POST", "/send", `{"PhoneNumber":"13800000000","TemplateCode":"SMS_1"}`, nil, 400, CodeInvalidParameters, "TemplateCode"},
		{"scheme not offered", "POST", "/send", `{"PhoneNumber":"13800000000","SchemeName":"other"}`, nil, 400, CodeInvalidParameters, "SchemeName"},
		{"phone as number", "POST", "/send", `{"PhoneNumber":13800000000}`, nil, 400, CodeInvalidParameters, "PhoneNumber must be a JSON string"},
		{"trusted bad type", "POST", "/send", `{"PhoneNumber":"13800000000","CodeLength":"6"}`, bearer, 400, CodeInvalidParameters, "CodeLength must be a JSON integer"},
		{"trusted bad range", "POST", "/send", `{"PhoneNumber":"13800000000","CodeLength":9}`, bearer, 400, CodeInvalidParameters, "CodeLength"},
		{"trusted unknown field", "POST", "/send", `{"PhoneNumber":"13800000000","Foo":1}`, bearer, 400, CodeInvalidParameters, "Foo"},
		{"wrong key", "POST", "/send", `{"PhoneNumber":"13800000000"}`, []string{"Authorization", "Bearer wrong-key-wrong-key"}, 401, CodeUnauthorized, ""},
		{"basic auth", "POST", "/send", `{"PhoneNumber":"13800000000"}`, []string{"Authorization", "Basic eDp5"}, 401, CodeUnauthorized, ""},
		{"check no code", "POST", "/check", `{"PhoneNumber":"13800000000"}`, nil, 400, CodeInvalidParameters, "VerifyCode"},
		{"check short code", "POST", "/check", `{"PhoneNumber":"13800000000","VerifyCode":"1"}`, nil, 400, CodeInvalidParameters, "VerifyCode"},
		{"check unknown field", "POST", "/check", `{"PhoneNumber":"13800000000","VerifyCode":"1234","TemplateCode":"100001"}`, nil, 400, CodeInvalidParameters, "TemplateCode"},
		{"check bad policy", "POST", "/check", `{"PhoneNumber":"13800000000","VerifyCode":"1234","CaseAuthPolicy":3}`, nil, 400, CodeInvalidParameters, "CaseAuthPolicy"},
		{"check wrong code", "POST", "/check", `{"PhoneNumber":"13800000000","VerifyCode":"0000"}`, nil, 200, "OK", ""},
		{"send ok", "POST", "/send", `{"PhoneNumber":"13800000000","OutId":"o-1"}`, nil, 200, "OK", ""},
		{"send json charset", "POST", "/send", `{"PhoneNumber":"13800000000"}`, []string{"Content-Type", "application/json; charset=utf-8"}, 200, "OK", ""},
		{"send trusted", "POST", "/send", `{"PhoneNumber":"13800000000","CodeLength":6,"SignName":"速通互联验证码"}`, bearer, 200, "OK", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil)
			hdr := tc.hdr
			if tc.body == "" && tc.method == "POST" && hdr == nil {
				hdr = []string{"Content-Type", ""}
			}
			w, m := e.do(tc.method, tc.path, tc.body, hdr...)
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tc.status, w.Body)
			}
			if tc.code != "" && m["Code"] != tc.code {
				t.Errorf("Code %v, want %s", m["Code"], tc.code)
			}
			if msg, _ := m["Message"].(string); !strings.Contains(msg, tc.msg) {
				t.Errorf("Message %q does not name %q", msg, tc.msg)
			}
			if ct := w.Header().Get("Content-Type"); ct != "application/json; charset=utf-8" {
				t.Errorf("Content-Type %q", ct)
			}
			if tc.status >= 400 {
				if m["Success"] != false || m["RequestId"] == "" {
					t.Errorf("error body %v", m)
				}
				if tc.status == 400 && e.fake.Requests() != 0 {
					t.Errorf("bad input reached the upstream")
				}
			}
			if tc.status == 405 && w.Header().Get("Allow") == "" {
				t.Error("405 without Allow")
			}
			if tc.status == 401 && w.Header().Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
		})
	}
}

func TestSendAnswer(t *testing.T) {
	e := newEnv(t, nil)
	w, m := e.do("POST", "/send", `{"PhoneNumber":"13800000000","OutId":"o-1","TemplateCode":"100003"}`)
	if w.Code != 200 {
		t.Fatal(w.Body)
	}
	model := m["Model"].(map[string]any)
	if m["Code"] != "OK" || m["Success"] != true || m["RequestId"] == "" || model["BizId"] == "" || model["OutId"] != "o-1" {
		t.Errorf("answer %v", m)
	}
	if m["ResendAfter"] != 60.0 || m["ExpiresIn"] != 300.0 {
		t.Errorf("ResendAfter %v ExpiresIn %v", m["ResendAfter"], m["ExpiresIn"])
	}
	if _, ok := model["VerifyCode"]; ok {
		t.Error("public caller got the code")
	}
	sent := e.fake.Codes(testPhone)[0]
	if sent.TemplateCode != "100003" || sent.SignName != "速通互联验证码" || len(sent.VerifyCode) != 4 || !sent.Verifiable {
		t.Errorf("upstream saw %+v", sent)
	}
}

func TestTrustedCaller(t *testing.T) {
	e := newEnv(t, nil)
	auth := []string{"Authorization", "Bearer " + testKey}
	w, m := e.do("POST", "/send", `{"PhoneNumber":"13800000000","CodeLength":6,"CodeType":2,"ReturnVerifyCode":true,"ValidTime":600,"TemplateCode":"SMS_OWN"}`, auth...)
	if w.Code != 200 {
		t.Fatal(w.Body)
	}
	got := m["Model"].(map[string]any)["VerifyCode"]
	sent := e.fake.Codes(testPhone)[0]
	if got != sent.VerifyCode || len(sent.VerifyCode) != 6 || strings.ToUpper(sent.VerifyCode) != sent.VerifyCode {
		t.Errorf("VerifyCode %v, sent %+v", got, sent)
	}
	if sent.Expires.Sub(sent.At) != 600*time.Second || m["ExpiresIn"] != 600.0 {
		t.Errorf("ValidTime not applied: %v", sent.Expires.Sub(sent.At))
	}
	// Without ReturnVerifyCode the trusted caller gets no code either.
	e.advance(time.Minute)
	_, m = e.do("POST", "/send", `{"PhoneNumber":"13800000000"}`, auth...)
	if _, ok := m["Model"].(map[string]any)["VerifyCode"]; ok {
		t.Error("code returned without ReturnVerifyCode")
	}
}

func TestCheckFlow(t *testing.T) {
	e := newEnv(t, nil)
	e.do("POST", "/send", `{"PhoneNumber":"13800000000"}`)
	code := e.lastCode(testPhone)
	_, m := e.do("POST", "/check", `{"PhoneNumber":"13800000000","VerifyCode":"`+code+`","OutId":"c-1"}`)
	model := m["Model"].(map[string]any)
	if model["VerifyResult"] != "PASS" || model["OutId"] != "c-1" || m["Code"] != "OK" {
		t.Fatalf("check: %v", m)
	}
	if _, ok := model["VerifyToken"]; ok {
		t.Error("token without VERIFY_TOKEN_SECRET")
	}
	_, m = e.do("POST", "/check", `{"PhoneNumber":"13800000000","VerifyCode":"`+code+`"}`)
	if m["Model"].(map[string]any)["VerifyResult"] != "UNKNOWN" {
		t.Errorf("used code passed again: %v", m)
	}
}

func TestUpstreamFailures(t *testing.T) {
	for _, tc := range []struct {
		name   string
		fault  dypnstest.Fault
		status int
		code   string
	}{
		{"unavailable", dypnstest.FaultUnavailable, 503, "ServiceUnavailable"},
		{"internal", dypnstest.FaultInternal, 502, "InternalError"},
		{"malformed", dypnstest.FaultMalformed, 502, CodeUpstreamBadAnswer},
		{"empty", dypnstest.FaultEmpty, 502, CodeUpstreamBadAnswer},
		{"hang", dypnstest.FaultHang, 504, CodeUpstreamTimeout},
	} {
		for _, path := range []string{"/send", "/check"} {
			t.Run(tc.name+path, func(t *testing.T) {
				e := newEnv(t, func(c *Config, _ *Options) { timeoutFor(c, tc.fault) })
				e.fake.FailNext(1, tc.fault)
				w, m := e.do("POST", path, `{"PhoneNumber":"13800000000"`+map[string]string{"/send": "}", "/check": `,"VerifyCode":"1234"}`}[path])
				if w.Code != tc.status || m["Code"] != tc.code || m["Success"] != false {
					t.Errorf("%d %v, want %d %s", w.Code, m, tc.status, tc.code)
				}
				if _, ok := m["Model"]; ok {
					t.Error("a failure carried a Model (a check failure must never look like a wrong code)")
				}
			})
		}
	}
}

func TestUpstreamBusinessErrors(t *testing.T) {
	e := newEnv(t, nil)
	if w, _ := e.do("POST", "/send", `{"PhoneNumber":"13800000000"}`); w.Code != 200 {
		t.Fatal(w.Body)
	}
	w, m := e.do("POST", "/send", `{"PhoneNumber":"13800000000"}`)
	if w.Code != 429 || m["Code"] != "FREQUENCY_FAIL" || w.Header().Get("Retry-After") != "60" || m["RetryAfter"] != 60.0 {
		t.Errorf("frequency: %d %v %q", w.Code, m, w.Header().Get("Retry-After"))
	}
	if m["RequestId"] == "" {
		t.Error("no Alibaba RequestID")
	}

	bad := newEnv(t, func(c *Config, _ *Options) { c.AccessKeySecret = "wrong-secret" })
	w, m = bad.do("POST", "/send", `{"PhoneNumber":"13800000000"}`)
	if w.Code != 500 || m["Code"] != "SignatureDoesNotMatch" {
		t.Errorf("bad secret: %d %v", w.Code, m)
	}
}

func TestErrorTable(t *testing.T) {
	for _, tc := range []struct {
		code   string
		status int
	}{
		{"MOBILE_NUMBER_ILLEGAL", 400}, {"INVALID_PARAMETERS", 400},
		{"FREQUENCY_FAIL", 429}, {"biz.FREQUENCY", 429}, {"BUSINESS_LIMIT_CONTROL", 429}, {"Throttling.User", 429},
		{"FUNCTION_NOT_OPENED", 500}, {"SignatureDoesNotMatch", 500}, {"InvalidAccessKeyId.NotFound", 500},
		{"ServiceUnavailable", 503}, {"RESOURCE_NOT_ENOUGH", 503},
		{"InternalError", 502}, {"SOMETHING_NEW", 502},
		{core.CodeTimeout, 504}, {core.CodeBadResponse, 502}, {core.CodeNetworkError, 502},
		{core.CodeMissingCredentials, 500},
	} {
		e := fromCore(&core.Error{Code: tc.code, StatusCode: 200, RetryAfter: 5 * time.Second})
		if e.Status != tc.status {
			t.Errorf("%s: status %d, want %d", tc.code, e.Status, tc.status)
		}
		if (e.Status == 429) != (e.RetryAfter > 0) {
			t.Errorf("%s: RetryAfter %v", tc.code, e.RetryAfter)
		}
	}
	// Every local code answers with the status the API documentation
	// gives it: docs/api.md's status table is the contract, written apart
	// from localStatus, so a wrong entry in either fails here.
	doc, err := os.ReadFile("../docs/api.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := map[int]string{}
	for _, line := range strings.Split(string(doc), "\n") {
		var st int
		if _, err := fmt.Sscanf(line, "| %d |", &st); err == nil {
			rows[st] = line
		}
	}
	if len(rows) < 10 {
		t.Fatalf("found %d status rows in docs/api.md; has the table moved?", len(rows))
	}
	for code := range localStatus {
		e := newError(code, "")
		if !strings.Contains(rows[e.Status], "`"+code+"`") {
			t.Errorf("%s answers %d, but docs/api.md does not list it under %d", code, e.Status, e.Status)
		}
	}
	if e := newError("NO_SUCH_CODE", ""); e.Status != http.StatusInternalServerError {
		t.Errorf("an unknown local code answers %d, want 500", e.Status)
	}
}

func TestCORS(t *testing.T) {
	e := newEnv(t, func(c *Config, _ *Options) { c.CORSAllowedOrigins = []string{"https://app.example"} })
	pre := []string{"Origin", "https://app.example", "Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "content-type"}
	w, _ := e.do("OPTIONS", "/send", "", pre...)
	if w.Code != 204 || w.Header().Get("Access-Control-Allow-Origin") != "https://app.example" ||
		!strings.Contains(w.Header().Get("Access-Control-Allow-Methods"), "POST") ||
		!strings.Contains(w.Header().Get("Access-Control-Allow-Headers"), "Content-Type") {
		t.Errorf("preflight: %d %v", w.Code, w.Header())
	}
	w, _ = e.do("OPTIONS", "/check", "", "Origin", "https://evil.example", "Access-Control-Request-Method", "POST")
	if w.Code != 204 || w.Header().Get("Access-Control-Allow-Origin") != "" || w.Header().Get("Access-Control-Allow-Methods") != "" {
		t.Errorf("disallowed preflight granted: %v", w.Header())
	}
	w, _ = e.do("POST", "/send", `{"PhoneNumber":"13800000000"}`, "Origin", "https://app.example")
	if w.Header().Get("Access-Control-Allow-Origin") != "https://app.example" || !strings.Contains(w.Header().Get("Access-Control-Expose-Headers"), "Retry-After") {
		t.Errorf("simple request: %v", w.Header())
	}

	star := newEnv(t, func(c *Config, _ *Options) { c.CORSAllowedOrigins = []string{"*"} })
	if w, _ := star.do("OPTIONS", "/send", "", pre...); w.Header().Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("*: %v", w.Header())
	}
	none := newEnv(t, nil)
	if w, _ := none.do("OPTIONS", "/send", "", pre...); w.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("no CORS configured but granted: %v", w.Header())
	}
}

func TestClientIP(t *testing.T) {
	e := newEnv(t, func(c *Config, _ *Options) { c.TrustedProxies = []string{"203.0.113.0/24", "10.0.0.1"} })
	s := e.svc
	for _, tc := range []struct{ remote, xff, want string }{
		{"198.51.100.1:1", "1.2.3.4", "198.51.100.1"},              // not a proxy: XFF ignored
		{"203.0.113.7:1", "1.2.3.4", "1.2.3.4"},                    // trusted proxy
		{"203.0.113.7:1", "9.9.9.9, 1.2.3.4, 10.0.0.1", "1.2.3.4"}, // rightmost untrusted hop
		{"203.0.113.7:1", "", "203.0.113.7"},
		{"203.0.113.7:1", "garbage", "203.0.113.7"},
		{"[2001:db8::1]:443", "", "2001:db8::1"},
		{"192.0.2.9", "", "192.0.2.9"}, // adapters may set a bare IP
	} {
		r, _ := http.NewRequest("POST", "/send", nil)
		r.RemoteAddr = tc.remote
		if tc.xff != "" {
			r.Header.Set("X-Forwarded-For", tc.xff)
		}
		if got := s.clientIP(r); got != tc.want {
			t.Errorf("%s %q: %s, want %s", tc.remote, tc.xff, got, tc.want)
		}
	}
}

// TestLogsHoldNoSecrets runs every kind of request and checks that no code,
// secret, key, token or full number reaches the log, while the masked
// number and ids do.
func TestLogsHoldNoSecrets(t *testing.T) {
	const tokenSecret = "token-secret-0123456789abcdef0123456789"
	e := newEnv(t, func(c *Config, _ *Options) { c.VerifyTokenSecret = tokenSecret })
	auth := []string{"Authorization", "Bearer " + testKey}
	_, m := e.do("POST", "/send", `{"PhoneNumber":"13800000000","ReturnVerifyCode":true,"CodeLength":8}`, auth...)
	code := m["Model"].(map[string]any)["VerifyCode"].(string)
	e.do("POST", "/check", `{"PhoneNumber":"13800000000","VerifyCode":"00000000"}`)
	_, m = e.do("POST", "/check", `{"PhoneNumber":"13800000000","VerifyCode":"`+code+`"}`)
	token := m["Model"].(map[string]any)["VerifyToken"].(string)
	e.do("POST", "/send", `{"PhoneNumber":"13912345678","SignName":"x"}`)
	e.do("POST", "/send", `{"PhoneNumber":"13912345678"}`, "Authorization", "Bearer not-the-key-123456")
	e.svc.Invoke(context.Background(), []byte(`{"Action":"CheckSmsVerifyCode","PhoneNumber":"13700001111","VerifyCode":"98765432"}`))
	e.fake.FailNext(1, dypnstest.FaultUnavailable)
	e.do("POST", "/check", `{"PhoneNumber":"13800000000","VerifyCode":"`+code+`"}`)
	e.do("GET", "/check/13600001234?PhoneNumber=13600001234", "")

	logs := e.logs.String()
	for _, secret := range []string{code, "98765432", "13800000000", "13912345678", "13700001111", "13600001234",
		testKey, "not-the-key-123456", token, tokenSecret, dypnstest.TestCredentials().AccessKeySecret} {
		if strings.Contains(logs, secret) {
			t.Errorf("log contains %q:\n%s", secret, logs)
		}
	}
	lines := strings.Split(strings.TrimSpace(logs), "\n")
	if len(lines) != 8 {
		t.Errorf("%d log lines for 8 requests", len(lines))
	}
	for _, l := range lines {
		var rec map[string]any
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			t.Fatalf("not JSON: %s", l)
		}
		for _, k := range []string{"request_id", "action", "caller", "code", "status", "latency_ms"} {
			if _, ok := rec[k]; !ok {
				t.Errorf("log line lacks %s: %s", k, l)
			}
		}
	}
	if !strings.Contains(logs, `"phone":"138****0000"`) || !strings.Contains(logs, `"upstream_request_id"`) || !strings.Contains(logs, `"biz_id"`) {
		t.Errorf("log lacks masked phone or ids:\n%s", logs)
	}
}

func TestInvoke(t *testing.T) {
	e := newEnv(t, nil)
	ctx := WithRequestID(context.Background(), "inv-1")
	invoke := func(payload string) (map[string]any, error) {
		t.Helper()
		out, err := e.svc.Invoke(ctx, []byte(payload))
		if err != nil {
			return nil, err
		}
		var m map[string]any
		if err := json.Unmarshal(out, &m); err != nil {
			t.Fatalf("answer not JSON: %q", out)
		}
		return m, nil
	}
	m, err := invoke(`{"Action":"SendSmsVerifyCode","PhoneNumber":"13800000000","ReturnVerifyCode":true,"CodeLength":5}`)
	if err != nil || m["Code"] != "OK" {
		t.Fatalf("send: %v %v", m, err)
	}
	code := m["Model"].(map[string]any)["VerifyCode"].(string)
	if len(code) != 5 {
		t.Errorf("event caller is trusted: code %q", code)
	}
	m, err = invoke(`{"Action":"CheckSmsVerifyCode","PhoneNumber":"13800000000","VerifyCode":"` + code + `"}`)
	if err != nil || m["Model"].(map[string]any)["VerifyResult"] != "PASS" {
		t.Errorf("check: %v %v", m, err)
	}
	for payload, code := range map[string]string{
		`{"Action":"Nope"}`: CodeUnknownAction,
		`{}`:                CodeUnknownAction,
		`not json`:          CodeInvalidJSON,
		`{"Action":"SendSmsVerifyCode","PhoneNumber":"1"}`:                                         CodeMobileNumberIllegal,
		`{"Action":"SendSmsVerifyCode","PhoneNumber":"13800000000"}`:                               "FREQUENCY_FAIL", // business: answered
		`{"Action":"CheckSmsVerifyCode","PhoneNumber":"13800000000"}`:                              CodeInvalidParameters,
		`{"Action":"SendSmsVerifyCode","Bogus":1}`:                                                 CodeInvalidParameters,
		`{"Action":"SendSmsVerifyCode","PhoneNumber":"` + strings.Repeat("1", MaxBodyBytes) + `"}`: CodeBodyTooLarge,
	} {
		m, err := invoke(payload)
		if err != nil || m["Code"] != code || m["Success"] != false || m["RequestId"] == "" {
			t.Errorf("%s: %v %v, want answered %s", payload, m, err, code)
		}
	}
	e.fake.FailNext(1, dypnstest.FaultUnavailable)
	if _, err := invoke(`{"Action":"CheckSmsVerifyCode","PhoneNumber":"13900000000","VerifyCode":"1234"}`); err == nil || !strings.Contains(err.Error(), "ServiceUnavailable") {
		t.Errorf("transient failure not raised: %v", err)
	}
}

func TestConfig(t *testing.T) {
	unsetConfigEnv(t)
	t.Setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", "id")
	t.Setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "")
	t.Setenv("DYPNS_ENDPOINT", "http://example.com")
	t.Setenv("SMS_CODE_LENGTH", "9")
	t.Setenv("SMS_TEMPLATE_CODE", "SMS_9")
	t.Setenv("API_KEYS", "short-key")
	t.Setenv("CORS_ALLOWED_ORIGINS", "app.example")
	t.Setenv("LIMIT_STORE", "redis")
	t.Setenv("TRUSTED_PROXIES", "not-an-ip")
	t.Setenv("VERIFY_TOKEN_SECRET", "too-short-token-secret")
	t.Setenv("LIMIT_MEMORY_MAX_KEYS", "0")
	_, err := LoadConfig()
	if err == nil {
		t.Fatal("bad config accepted")
	}
	for _, name := range []string{"ALIBABA_CLOUD_ACCESS_KEY_SECRET", "DYPNS_ENDPOINT", "SMS_CODE_LENGTH", "SMS_TEMPLATE_CODES",
		"API_KEYS", "CORS_ALLOWED_ORIGINS", "REDIS_URL", "TRUSTED_PROXIES", "VERIFY_TOKEN_SECRET", "LIMIT_MEMORY_MAX_KEYS"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error does not name %s: %v", name, err)
		}
	}
	for _, secret := range []string{"short-key", "too-short-token-secret"} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error echoes a secret: %v", err)
		}
	}
	for name, value := range map[string]string{"DYPNS_TIMEOUT": "soon", "SMS_LIMIT_GLOBAL": "2000000/1h", "SMS_INTERVAL": "1m"} {
		t.Run(name, func(t *testing.T) {
			t.Setenv(name, value)
			if _, err := LoadConfig(); err == nil || !strings.Contains(err.Error(), name) {
				t.Errorf("parse error: %v", err)
			}
		})
	}
	c := defaultConfig()
	c.SendLimitGlobal = limit.Rate{N: 5, Per: time.Microsecond}
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "SMS_LIMIT_GLOBAL") {
		t.Errorf("sub-millisecond rate: %v", err)
	}
}

// unsetConfigEnv clears every variable Config reads, for this test.
func unsetConfigEnv(t *testing.T) { envdefaults.Unset(t, Config{}) }

// TestDefaultConfigMatchesEnv: the test helper defaultConfig (the default
// tags, filled by envdefaults) is what LoadConfig reads from an empty
// environment.
func TestDefaultConfigMatchesEnv(t *testing.T) {
	unsetConfigEnv(t)
	c, err := LoadConfig()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c, defaultConfig()) {
		t.Errorf("LoadConfig() = %+v\ndefaultConfig() = %+v", c, defaultConfig())
	}
}

func TestDefaultConfig(t *testing.T) {
	if err := envdefaults.Fill(&Config{}); err != nil {
		t.Fatalf("Config's default tags: %v", err)
	}
	t.Setenv("SMS_SIGN_NAME", "ignored")
	c := defaultConfig()
	if c.SignName != "速通互联验证码" || c.TemplateCode != "100001" || len(c.TemplateCodes) != 5 || c.ValidTime != 300 ||
		c.Interval != 60 || c.CodeLength != 4 || c.Timeout != 5*time.Second || c.Port != "8080" || c.Host != "127.0.0.1" ||
		c.SendLimitPerPhone.String() != "5/1h" || c.LimitStore != "memory" || c.VerifyTokenTTL != 5*time.Minute ||
		len(c.SchemeNames) != 1 || c.SchemeNames[0] != "" || c.LimitMemoryMaxKeys != limit.DefaultMemoryMaxKeys {
		t.Errorf("defaults: %+v", c)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("defaults do not validate: %v", err)
	}
	if _, err := New(c, Options{}); err == nil || !strings.Contains(err.Error(), "credentials") {
		t.Errorf("New without credentials: %v", err)
	}
}

// TestSchemeChoices: SMS_SCHEME_NAMES adds schemes a public caller may
// name; the default scheme (here Alibaba's 默认方案, the empty name) stays
// allowed, and other names are refused.
func TestSchemeChoices(t *testing.T) {
	e := newEnv(t, func(c *Config, _ *Options) { c.SchemeNames = []string{"login", "reset"} })
	for _, tc := range []struct {
		body   string
		status int
	}{
		{`{"PhoneNumber":"13800000001"}`, 200},
		{`{"PhoneNumber":"13800000002","SchemeName":""}`, 200},
		{`{"PhoneNumber":"13800000003","SchemeName":"login"}`, 200},
		{`{"PhoneNumber":"13800000004","SchemeName":"other"}`, 400},
	} {
		if w, m := e.do("POST", "/send", tc.body); w.Code != tc.status {
			t.Errorf("%s: %d %v, want %d", tc.body, w.Code, m, tc.status)
		}
	}
	if got := e.fake.Codes("13800000003"); len(got) != 1 || got[0].SchemeName != "login" {
		t.Errorf("scheme not passed upstream: %+v", got)
	}
	if w, m := e.do("POST", "/check", `{"PhoneNumber":"13800000003","SchemeName":"other","VerifyCode":"1234"}`); w.Code != 400 {
		t.Errorf("check with a scheme not offered: %d %v", w.Code, m)
	}
}

// TestTemplateParam pins the TemplateParam sent when the caller sets none:
// Alibaba generates the code, ${min} is the validity in whole minutes, at
// least 1; and sendDefaults (checked by Config.Validate) sends the same.
func TestTemplateParam(t *testing.T) {
	for secs, want := range map[int64]string{
		300:   `{"code":"##code##","min":"5"}`,
		59:    `{"code":"##code##","min":"1"}`,
		119:   `{"code":"##code##","min":"1"}`,
		86400: `{"code":"##code##","min":"1440"}`,
	} {
		if got := templateParam(secs); got != want {
			t.Errorf("templateParam(%d) = %s, want %s", secs, got, want)
		}
	}
	c := testConfig("http://127.0.0.1:1")
	if got, want := c.sendDefaults().TemplateParam, templateParam(c.ValidTime); got != want {
		t.Errorf("sendDefaults().TemplateParam = %s, want %s", got, want)
	}
}

// TestOneMessagePerOutcome: a success says Message "OK" whoever answered
// it: Alibaba (whose own Message is "成功"), the service for a used-up
// code, or a test number.
func TestOneMessagePerOutcome(t *testing.T) {
	e := newEnv(t, func(c *Config, _ *Options) { c.TestNumbers = []string{"13900000009:1234"} })
	p := phone(1)
	code := ""
	for _, step := range []struct{ name, path, body string }{
		{"upstream send", "/send", `{"PhoneNumber":"` + p + `"}`},
		{"upstream UNKNOWN", "/check", `{"PhoneNumber":"` + p + `","VerifyCode":"0000x"}`},
		{"upstream PASS", "/check", ""},
		{"used-up code", "/check", ""},
		{"test number send", "/send", `{"PhoneNumber":"13900000009"}`},
		{"test number PASS", "/check", `{"PhoneNumber":"13900000009","VerifyCode":"1234"}`},
	} {
		body := step.body
		if body == "" {
			if code == "" {
				code = e.lastCode(p)
			}
			body = `{"PhoneNumber":"` + p + `","VerifyCode":"` + code + `"}`
		}
		w, m := e.do("POST", step.path, body)
		if w.Code != 200 || m["Code"] != "OK" || m["Message"] != "OK" {
			t.Errorf("%s: %d Code %v Message %q, want 200 OK OK", step.name, w.Code, m["Code"], m["Message"])
		}
	}
}
