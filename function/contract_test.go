package function

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"smsverify/core"
	"smsverify/core/dypnstest"
	"smsverify/function/captcha/captchatest"
	"smsverify/function/limit"
	"smsverify/internal/apitest"
	"smsverify/web"
)

// contract drives requests through the real handler and validates every
// answer against the OpenAPI document, recording which routes and codes
// it saw.
type contract struct {
	t      *testing.T
	doc    *apitest.Doc
	routes map[string]bool // "POST /send"
	codes  map[string]int  // error code → status seen
}

func newContract(t *testing.T) *contract {
	doc, err := apitest.Load()
	if err != nil {
		t.Fatal(err)
	}
	return &contract{t: t, doc: doc, routes: map[string]bool{}, codes: map[string]int{}}
}

// do serves one request on e and validates the answer; want is the
// expected status and, for failures, code.
func (c *contract) do(e *env, want int, wantCode, method, path, body string, hdr ...string) map[string]any {
	c.t.Helper()
	r := newRequest(method, path, body, hdr...)
	w := httptest.NewRecorder()
	e.svc.ServeHTTP(w, r)
	if w.Code != want {
		c.t.Fatalf("%s %s: status %d, want %d: %s", method, path, w.Code, want, w.Body)
	}
	if err := c.doc.ValidateResponse(r, w.Code, w.Header(), w.Body.Bytes()); err != nil {
		c.t.Errorf("answer breaks the document: %v\nbody: %s", err, w.Body)
	}
	if w.Code < 300 && body != "" {
		if err := c.doc.ValidateRequest(r, []byte(body)); err != nil {
			c.t.Errorf("a request the service accepted breaks the document: %v", err)
		}
	}
	if route, err := c.doc.Route(r); err == nil {
		c.routes[route] = true
	}
	var m map[string]any
	if method != http.MethodHead && w.Body.Len() > 0 && !strings.HasPrefix(w.Header().Get("Content-Type"), "text/plain") {
		if err := json.Unmarshal(w.Body.Bytes(), &m); err != nil {
			c.t.Fatalf("%s %s: not JSON: %q", method, path, w.Body)
		}
	}
	if w.Code >= 400 {
		code, _ := m["Code"].(string)
		if code != wantCode {
			c.t.Errorf("%s %s: code %q, want %q", method, path, code, wantCode)
		}
		c.codes[code] = w.Code
	}
	return m
}

// downStore is a limit store that is always down. The embedded Store is
// nil: a method added to the interface later panics until listed here.
type downStore struct{ limit.Store }

var errDown = errors.New("store down")

func (downStore) Allow(context.Context, time.Time, ...limit.Request) (limit.Decision, error) {
	return limit.Decision{}, errDown
}
func (downStore) MarkUsed(context.Context, string, time.Duration) (bool, error) {
	return false, errDown
}
func (downStore) Used(context.Context, string) (bool, error) { return false, errDown }
func (downStore) Ping(context.Context) error                 { return errDown }
func (downStore) Close() error                               { return nil }
func (downStore) Claim(context.Context, string, string, time.Duration) (limit.Claim, error) {
	return limit.Claim{}, errDown
}
func (downStore) Complete(context.Context, string, string, int, []byte, time.Duration) error {
	return errDown
}
func (downStore) Release(context.Context, string, string) error { return errDown }
func (downStore) PutNew(context.Context, time.Duration, ...limit.Item) ([]bool, error) {
	return nil, errDown
}
func (downStore) Get(context.Context, ...string) ([][]byte, error) { return nil, errDown }
func (downStore) Push(context.Context, string, []byte, int, time.Duration) error {
	return errDown
}
func (downStore) List(context.Context, string) ([][]byte, error) { return nil, errDown }

// notProvokable are the codes in the error table that no HTTP request can
// provoke through the real handler with the local fakes.
var notProvokable = map[string]string{
	CodeUnknownAction: "event API only",
	CodeInternal:      "a recovered panic or a token that cannot be signed",
}

const (
	sendBody  = `{"PhoneNumber":"13800000000"}`
	checkBody = `{"PhoneNumber":"13800000000","VerifyCode":"1234"}`
)

// TestContract drives every route and every error code that can be
// provoked locally through ServeHTTP and validates each answer (status,
// headers, body) against api/openapi.json. It fails if the service answers
// a status or code the document does not list, or if a documented route or
// a provokable code was not exercised.
func TestContract(t *testing.T) {
	c := newContract(t)
	const origin = "https://app.example"
	e := newEnv(t, func(cfg *Config, _ *Options) {
		cfg.CORSAllowedOrigins = []string{origin}
		cfg.VerifyTokenSecret = strings.Repeat("s", 32)
	})

	// Meta routes.
	c.do(e, 200, "", "GET", "/healthz", "")
	c.do(e, 200, "", "HEAD", "/healthz", "")
	c.do(e, 405, CodeMethodNotAllowed, "POST", "/healthz", "")
	c.do(e, 200, "", "GET", "/readyz", "")
	c.do(e, 200, "", "HEAD", "/readyz", "")
	c.do(e, 405, CodeMethodNotAllowed, "DELETE", "/readyz", "")
	c.do(e, 200, "", "GET", "/openapi.json", "")
	c.do(e, 200, "", "HEAD", "/openapi.json", "")
	c.do(e, 405, CodeMethodNotAllowed, "PUT", "/openapi.json", "")
	c.do(e, 200, "", "HEAD", "/client-config", "")
	c.do(e, 200, "", "GET", "/client-config", "", "Origin", origin)
	c.do(e, 405, CodeMethodNotAllowed, "DELETE", "/client-config", "")
	c.do(e, 404, CodeNotFound, "GET", "/.well-known/jwks.json", "") // HS256: nothing to publish
	c.do(e, 404, "", "HEAD", "/.well-known/jwks.json", "")          // no body to read a code from
	c.do(e, 404, CodeNotFound, "GET", "/nope", "")
	c.do(e, 404, CodeNotFound, "GET", "/", "") // the emulator redirects it; the service has no root
	c.do(e, 404, CodeNotFound, "POST", "/send/13800000000", sendBody)
	c.do(e, 405, CodeMethodNotAllowed, "GET", "/send", "")
	c.do(e, 405, CodeMethodNotAllowed, "PUT", "/check", checkBody)

	// Preflights, granted and not.
	c.do(e, 204, "", "OPTIONS", "/send", "", "Origin", origin, "Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "content-type")
	c.do(e, 204, "", "OPTIONS", "/check", "", "Origin", "https://evil.example", "Access-Control-Request-Method", "POST")

	// Success: public and trusted sends, a wrong and a right check.
	c.do(e, 200, "", "POST", "/send", `{"PhoneNumber":"13800000001","TemplateCode":"100002","OutId":"o-1"}`, "Origin", origin)
	m := c.do(e, 200, "", "POST", "/send", `{"PhoneNumber":"13800000002","ReturnVerifyCode":true,"CodeLength":6,"Interval":30}`, "Authorization", "Bearer "+testKey)
	if m["Model"].(map[string]any)["VerifyCode"] == nil {
		t.Error("trusted ReturnVerifyCode gave no code")
	}
	c.do(e, 200, "", "POST", "/check", `{"PhoneNumber":"13800000001","VerifyCode":"0000x"}`, "Origin", origin)
	m = c.do(e, 200, "", "POST", "/check", `{"PhoneNumber":"13800000001","VerifyCode":"`+e.lastCode("13800000001")+`"}`, "Origin", origin)
	if mod := m["Model"].(map[string]any); mod["VerifyResult"] != "PASS" || mod["VerifyToken"] == nil {
		t.Errorf("check: %v", m)
	}

	// Tokens signed with a private key, and their public keys.
	ke := newEnv(t, func(cfg *Config, _ *Options) {
		cfg.VerifyTokenPrivateKey, cfg.VerifyTokenAudience = pemLine(t, newP256(t)), "app"
	})
	c.do(ke, 200, "", "GET", "/.well-known/jwks.json", "")
	c.do(ke, 200, "", "HEAD", "/.well-known/jwks.json", "")
	c.do(ke, 405, CodeMethodNotAllowed, "POST", "/.well-known/jwks.json", "")
	c.do(ke, 200, "", "POST", "/send", sendBody)
	m = c.do(ke, 200, "", "POST", "/check", `{"PhoneNumber":"13800000000","VerifyCode":"`+ke.lastCode("13800000000")+`"}`)
	if mod := m["Model"].(map[string]any); mod["VerifyToken"] == nil {
		t.Errorf("check with a private key: %v", m)
	}

	// Bad input.
	c.do(e, 400, CodeInvalidJSON, "POST", "/send", `[1]`)
	c.do(e, 400, CodeMobileNumberIllegal, "POST", "/send", `{"PhoneNumber":"123"}`)
	c.do(e, 400, CodeInvalidParameters, "POST", "/send", `{"PhoneNumber":"13800000000","TemplateCode":"999"}`)
	c.do(e, 400, CodeInvalidParameters, "POST", "/check", `{"PhoneNumber":"13800000000","VerifyCode":"!"}`)
	c.do(e, 400, CodeFieldNotAllowed, "POST", "/send", `{"PhoneNumber":"13800000000","SignName":"x"}`)
	c.do(e, 401, CodeUnauthorized, "POST", "/send", sendBody, "Authorization", "Bearer wrong-key-0123456789")
	c.do(e, 415, CodeUnsupportedMedia, "POST", "/check", checkBody, "Content-Type", "text/plain")
	c.do(e, 413, CodeBodyTooLarge, "POST", "/send", `{"OutId":"`+strings.Repeat("x", MaxBodyBytes)+`"}`)

	// Alibaba's frequency limit: a second send inside the interval.
	c.do(e, 429, "FREQUENCY_FAIL", "POST", "/send", `{"PhoneNumber":"13800000001"}`)

	// Local limits, each alone.
	for _, tc := range []struct {
		code   string
		set    func(*Config)
		first  [2]string // path, body
		second [2]string
	}{
		{CodeSendLimitPhone, func(c *Config) { c.SendLimitPerPhone = rate(t, "1/1h") }, [2]string{"/send", sendBody}, [2]string{"/send", sendBody}},
		{CodeSendLimitIP, func(c *Config) { c.SendLimitPerIP = rate(t, "1/1h") }, [2]string{"/send", sendBody}, [2]string{"/send", `{"PhoneNumber":"13900000000"}`}},
		{CodeSendLimitGlobal, func(c *Config) { c.SendLimitGlobal = rate(t, "1/1h") }, [2]string{"/send", sendBody}, [2]string{"/send", `{"PhoneNumber":"13900000000"}`}},
		{CodeCheckLimitPhone, func(c *Config) { c.CheckLimitPerPhone = rate(t, "1/1h") }, [2]string{"/check", checkBody}, [2]string{"/check", checkBody}},
		{CodeCheckLimitIP, func(c *Config) { c.CheckLimitPerIP = rate(t, "1/1h") }, [2]string{"/check", checkBody}, [2]string{"/check", `{"PhoneNumber":"13900000000","VerifyCode":"1234"}`}},
	} {
		le := newEnv(t, func(cfg *Config, _ *Options) { tc.set(cfg) })
		c.do(le, 200, "", "POST", tc.first[0], tc.first[1])
		c.do(le, 429, tc.code, "POST", tc.second[0], tc.second[1])
	}
	live := newEnv(t, func(cfg *Config, o *Options) {
		f := dypnstest.NewServer(dypnstest.Options{LiveFrequencyCode: true, Now: o.Now})
		t.Cleanup(f.Close)
		cfg.Endpoint = f.URL
	})
	c.do(live, 200, "", "POST", "/send", sendBody)
	c.do(live, 429, "biz.FREQUENCY", "POST", "/send", sendBody)

	// Upstream failures.
	for _, tc := range []struct {
		fault  dypnstest.Fault
		status int
		code   string
	}{
		{dypnstest.FaultUnavailable, 503, "ServiceUnavailable"},
		{dypnstest.FaultInternal, 502, "InternalError"},
		{dypnstest.FaultMalformed, 502, CodeUpstreamBadAnswer},
		{dypnstest.FaultHang, 504, CodeUpstreamTimeout},
	} {
		fe := newEnv(t, func(cfg *Config, _ *Options) { timeoutFor(cfg, tc.fault) })
		fe.fake.FailNext(1, tc.fault)
		c.do(fe, tc.status, tc.code, "POST", "/check", checkBody)
	}
	unreachable := newEnv(t, func(cfg *Config, _ *Options) { cfg.Endpoint = "http://127.0.0.1:1" })
	c.do(unreachable, 502, CodeUpstreamUnreachable, "POST", "/send", sendBody)

	// Misconfiguration and a store that is down.
	badSecret := newEnv(t, func(cfg *Config, _ *Options) { cfg.AccessKeySecret = "wrong-secret" })
	c.do(badSecret, 500, "SignatureDoesNotMatch", "POST", "/send", sendBody)
	badKey := newEnv(t, func(cfg *Config, _ *Options) { cfg.AccessKeyID = "LTAI5tNobody" })
	c.do(badKey, 500, "InvalidAccessKeyId.NotFound", "POST", "/send", sendBody)
	noCreds := newEnv(t, func(cfg *Config, o *Options) {
		cfg.AccessKeyID, cfg.AccessKeySecret = "", ""
		o.Credentials = core.CredentialsFunc(func(context.Context) (core.Credentials, error) { return core.Credentials{}, errors.New("no role") })
	})
	c.do(noCreds, 500, CodeMissingCredentials, "POST", "/send", sendBody)
	down := newEnv(t, func(_ *Config, o *Options) { o.Store = downStore{} })
	c.do(down, 503, CodeLimitStoreDown, "POST", "/send", sendBody)
	c.do(down, 503, CodeLimitStoreDown, "GET", "/readyz", "")
	c.do(down, 503, "", "HEAD", "/readyz", "")

	// The captcha: missing, refused, unavailable, passed.
	site := captchatest.NewServer(captchatest.Options{})
	t.Cleanup(site.Close)
	ce := newEnv(t, func(cfg *Config, _ *Options) {
		cfg.CaptchaProvider, cfg.CaptchaEndpoint, cfg.CaptchaSecret = "turnstile", site.URL, captchatest.TestSecret
		cfg.CaptchaActions = []string{"send", "check"}
	})
	c.do(ce, 400, CodeCaptchaRequired, "POST", "/send", sendBody)
	c.do(ce, 403, CodeCaptchaFailed, "POST", "/check", `{"PhoneNumber":"13800000000","VerifyCode":"1234","CaptchaVerifyParam":"bot"}`)
	site.FailNext(1, captchatest.FaultUnavailable)
	c.do(ce, 503, CodeCaptchaUnavailable, "POST", "/send", `{"PhoneNumber":"13800000000","CaptchaVerifyParam":"pass-1"}`)
	c.do(ce, 200, "", "POST", "/send", `{"PhoneNumber":"13800000000","CaptchaVerifyParam":"pass-2"}`)
	c.do(ce, 200, "", "GET", "/client-config", "")
	// Captcha 2.0 publishes its scene, identity prefix and region.
	ae := newEnv(t, func(cfg *Config, _ *Options) {
		cfg.CaptchaProvider, cfg.CaptchaSceneID, cfg.CaptchaPrefix = "aliyun", "scene-7", "1gw1pf"
		cfg.CaptchaEndpoint = "https://captcha.ap-southeast-1.aliyuncs.com"
	})
	m = c.do(ae, 200, "", "GET", "/client-config", "")
	if cc := m["Captcha"].(map[string]any); cc["Prefix"] != "1gw1pf" || cc["Region"] != "sgp" || cc["SceneId"] != "scene-7" {
		t.Errorf("aliyun client-config Captcha = %v", cc)
	}

	// Idempotency: a replay, a reused key, a duplicate while the first is
	// in flight, a malformed key.
	ie := newEnv(t, nil)
	c.do(ie, 200, "", "POST", "/send", sendBody, HeaderIdempotencyKey, "k-1-0123456789abcdef")
	c.do(ie, 200, "", "POST", "/send", sendBody, HeaderIdempotencyKey, "k-1-0123456789abcdef")
	c.do(ie, 422, CodeIdempotencyKeyReused, "POST", "/send", sendBody[:len(sendBody)-1]+`,"OutId":"other"}`, HeaderIdempotencyKey, "k-1-0123456789abcdef")
	c.do(ie, 400, CodeInvalidParameters, "POST", "/send", sendBody, HeaderIdempotencyKey, "k-1")
	c.do(ie, 400, CodeInvalidParameters, "POST", "/send", sendBody, HeaderIdempotencyKey, strings.Repeat("k", 256))
	g := newGate(t)
	ge := newEnv(t, func(_ *Config, o *Options) { o.HTTPClient = &http.Client{Transport: g} })
	firstDone := make(chan struct{})
	go func() {
		defer close(firstDone)
		call(ge.svc, ipA, "/send", sendBody, HeaderIdempotencyKey, "k-2-0123456789abcdef")
	}()
	<-g.entered
	c.do(ge, 409, CodeIdempotencyInProgress, "POST", "/send", sendBody, HeaderIdempotencyKey, "k-2-0123456789abcdef")
	close(g.release)
	<-firstDone

	// Receipts, attempts, metrics.
	re := newEnv(t, func(cfg *Config, _ *Options) { cfg.ReportToken = testReportToken })
	m = c.do(re, 200, "", "POST", "/send", sendBody)
	biz := m["Model"].(map[string]any)["BizId"].(string)
	c.do(e, 404, CodeNotFound, "POST", "/reports?token=x", "[]") // e has no REPORT_TOKEN
	c.do(re, 401, CodeUnauthorized, "POST", "/reports?token=x", "[]")
	c.do(re, 400, CodeInvalidJSON, "POST", "/reports?token="+testReportToken, "{}")
	c.do(re, 400, CodeInvalidParameters, "POST", "/reports?token="+testReportToken, `[{"biz_id":"","success":true}]`)
	c.do(re, 405, CodeMethodNotAllowed, "GET", "/reports?token="+testReportToken, "")
	c.do(re, 200, "", "POST", "/reports?token="+testReportToken, "["+receiptJSON(biz, true, "DELIVERED")+"]")
	c.do(re, 200, "", "GET", "/attempts?PhoneNumber=13800000000", "", "Authorization", "Bearer "+testKey)
	c.do(re, 200, "", "HEAD", "/attempts?PhoneNumber=13800000000&BizId="+biz, "", "Authorization", "Bearer "+testKey)
	c.do(re, 401, CodeUnauthorized, "GET", "/attempts?PhoneNumber=13800000000", "")
	c.do(re, 400, CodeMobileNumberIllegal, "GET", "/attempts?PhoneNumber=1", "", "Authorization", "Bearer "+testKey)
	c.do(re, 405, CodeMethodNotAllowed, "POST", "/attempts", sendBody)
	c.do(re, 200, "", "GET", "/metrics", "", "Authorization", "Bearer "+testKey)
	c.do(re, 200, "", "HEAD", "/metrics", "", "Authorization", "Bearer "+testKey)
	c.do(re, 401, CodeUnauthorized, "GET", "/metrics", "")
	c.do(re, 405, CodeMethodNotAllowed, "DELETE", "/metrics", "")
	c.do(down, 503, CodeLimitStoreDown, "GET", "/attempts?PhoneNumber=13800000000", "", "Authorization", "Bearer "+testKey)
	downReports := newEnv(t, func(cfg *Config, o *Options) { cfg.ReportToken, o.Store = testReportToken, downStore{} })
	c.do(downReports, 503, CodeLimitStoreDown, "POST", "/reports?token="+testReportToken, "["+receiptJSON(biz, true, "DELIVERED")+"]")

	// Every documented route of the function was exercised.
	for _, route := range c.doc.Operations() {
		if !c.routes[route] && !strings.Contains(route, "/demo/") && !strings.Contains(route, "/emulator/") {
			t.Errorf("documented route %s was not exercised", route)
		}
	}
	// Every local code that can be provoked was provoked.
	for code := range localStatus {
		if _, ok := c.codes[code]; !ok && notProvokable[code] == "" {
			t.Errorf("code %s was never provoked", code)
		}
	}
}

// statusesOf returns every status the service can answer code with: its
// row in the local table, and for Alibaba's codes and core's renamed
// local ones the status of each Kind core can give it.
func statusesOf(code string) []int {
	var out []int
	if st, ok := localStatus[code]; ok {
		out = append(out, st)
	}
	coreCodes := []string{code}
	for cc, local := range coreLocalCodes {
		if local == code {
			coreCodes = append(coreCodes, cc)
		}
	}
	for _, cc := range coreCodes {
		if _, local := localStatus[cc]; local {
			continue
		}
		for _, httpStatus := range []int{200, 400, 429, 500, 503} {
			st := kindStatus[(&core.Error{Code: cc, StatusCode: httpStatus}).Kind()]
			if !slices.Contains(out, st) {
				out = append(out, st)
			}
		}
	}
	return out
}

// TestOpenAPICodesMatchErrorTable keeps the document and the error table
// in step both ways: every code of the table is documented under its
// status, and every code the document names is one the service can answer
// with that status.
func TestOpenAPICodesMatchErrorTable(t *testing.T) {
	doc, err := apitest.Load()
	if err != nil {
		t.Fatal(err)
	}
	for code, st := range localStatus {
		if !doc.CodeAllowed(st, code) {
			t.Errorf("error table: %s (%d) is not in the document under %d", code, st, st)
		}
	}
	for st, codes := range doc.Codes() {
		for _, code := range codes {
			if !slices.Contains(statusesOf(code), st) {
				t.Errorf("document lists %s under %d, but the service answers it with %v", code, st, statusesOf(code))
			}
		}
	}
	// Alibaba's code families (matched by prefix in core), and codes core
	// does not know, sit under the status core's classification gives them
	// with any HTTP status Alibaba may answer with.
	for _, code := range []string{"Throttling.User", "InvalidAccessKeyId.NotFound", "InvalidSecurityToken.Expired", "Forbidden.RAM", "NoPermission", "MissingParameter.PhoneNumber", "InvalidParameter.Foo", "ServiceUnavailable.Busy", "InternalError", "SOMETHING_NEW"} {
		for _, httpStatus := range []int{200, 400, 403, 429, 500, 503} {
			st := kindStatus[(&core.Error{Code: code, StatusCode: httpStatus}).Kind()]
			if !doc.CodeAllowed(st, code) {
				t.Errorf("%s with HTTP %d: the service answers %d, the document does not list it there", code, httpStatus, st)
			}
		}
	}
}

// jsMessageKeys returns the keys of MESSAGES in web/smsverify.js.
func jsMessageKeys(t *testing.T) map[string]bool {
	src, err := fs.ReadFile(web.FS, "smsverify.js")
	if err != nil {
		t.Fatal(err)
	}
	s := string(src)
	begin, end := strings.Index(s, "// BEGIN MESSAGES"), strings.Index(s, "// END MESSAGES")
	if begin < 0 || end < begin {
		t.Fatal("smsverify.js: no MESSAGES block")
	}
	keys := map[string]bool{}
	entry := regexp.MustCompile(`(?m)^\s*"?([A-Za-z0-9_.]+)"?: \{ zh: "[^"]+", en: "[^"]+" \},$`)
	for _, m := range entry.FindAllStringSubmatch(s[begin:end], -1) {
		keys[m[1]] = true
	}
	return keys
}

// TestJSMessagesCoverEveryCode: the JS client has a Chinese and an English
// message for every code the error table and the document name.
func TestJSMessagesCoverEveryCode(t *testing.T) {
	keys := jsMessageKeys(t)
	if len(keys) < 20 {
		t.Fatalf("parsed only %d messages: %v", len(keys), keys)
	}
	doc, err := apitest.Load()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for code := range localStatus {
		want[code] = true
	}
	for _, codes := range doc.Codes() {
		for _, code := range codes {
			want[code] = true
		}
	}
	// The document's code families (patterns) need their prefix mapped.
	fams := doc.CodeFamilies()
	if len(fams) < 5 {
		t.Fatalf("families: %v", fams)
	}
	for _, fam := range fams {
		want[fam] = true
	}
	for code := range want {
		if !keys[code] {
			t.Errorf("web/smsverify.js MESSAGES has no entry for %s", code)
		}
	}
}
