package function

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"smsverify/core"
	"smsverify/core/dypnstest"
	"smsverify/function/limit"
	"smsverify/function/verifytoken"
)

// These tests prove the abuse protection of issue 4 end to end: limits,
// their refusals, atomicity under concurrency, the check-attempt cap, single
// use of a code, and the verification token. Upstream calls are counted at
// the dypnstest fake; time is the env's injected clock.

// ipA and ipB are public callers' addresses.
const (
	ipA = "198.51.100.1"
	ipB = "198.51.100.2"
)

// bearer is the header pair of a trusted caller.
var bearer = []string{"Authorization", "Bearer " + testKey}

func rate(t *testing.T, s string) limit.Rate {
	t.Helper()
	r, err := limit.ParseRate(s)
	if err != nil {
		t.Fatalf("ParseRate(%q): %v", s, err)
	}
	return r
}

// setLimits sets every limit explicitly, generous unless a test narrows
// one, so the environment cannot leak into a test.
func setLimits(c *Config) {
	must := func(s string) limit.Rate {
		r, err := limit.ParseRate(s)
		if err != nil {
			panic(err)
		}
		return r
	}
	c.SendLimitPerPhone = must("100/1h")
	c.SendLimitPerIP = must("1000/1h")
	c.SendLimitGlobal = must("10000/24h")
	c.CheckLimitPerPhone = must("100/15m")
	c.CheckLimitPerIP = must("1000/5m")
	c.LimitStore, c.RedisURL = "memory", ""
	c.VerifyTokenSecret = ""
}

// limits returns a newEnv mutator that sets the limits, then applies set.
func limits(set func(*Config)) func(*Config, *Options) {
	return func(c *Config, _ *Options) {
		setLimits(c)
		if set != nil {
			set(c)
		}
	}
}

// phone returns the i-th test phone number.
func phone(i int) string { return fmt.Sprintf("139%08d", i) }

func sendJSON(p string) string { return `{"PhoneNumber":"` + p + `"}` }

func checkJSON(p, code string) string {
	return `{"PhoneNumber":"` + p + `","VerifyCode":"` + code + `"}`
}

func eventJSON(action, p string) string {
	if action == core.ActionCheck {
		return `{"Action":"CheckSmsVerifyCode","PhoneNumber":"` + p + `","VerifyCode":"1234"}`
	}
	return `{"Action":"SendSmsVerifyCode","PhoneNumber":"` + p + `"}`
}

// call serves one POST from ip through svc. It is safe to use from any
// goroutine: it never touches a *testing.T.
func call(svc *Service, ip, path, body string, hdr ...string) (*httptest.ResponseRecorder, map[string]any) {
	r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	r.RemoteAddr = ip + ":40000"
	if strings.Contains(ip, ":") {
		r.RemoteAddr = "[" + ip + "]:40000"
	}
	r.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	svc.ServeHTTP(w, r)
	var m map[string]any
	_ = json.Unmarshal(w.Body.Bytes(), &m)
	return w, m
}

// serve is call reduced to the status and the answer's Code.
func serve(svc *Service, ip, path, body string, hdr ...string) (int, string) {
	w, m := call(svc, ip, path, body, hdr...)
	code, _ := m["Code"].(string)
	return w.Code, code
}

// from is env.do from a chosen client address.
func (e *env) from(ip, path, body string, hdr ...string) (*httptest.ResponseRecorder, map[string]any) {
	return call(e.svc, ip, path, body, hdr...)
}

// ok fails t unless the answer is a 200.
func ok(t *testing.T, what string, w *httptest.ResponseRecorder, m map[string]any) {
	t.Helper()
	if w.Code != http.StatusOK || m["Code"] != CodeOK {
		t.Fatalf("%s: %d %v, want 200 OK", what, w.Code, m)
	}
}

// refused checks a 429 answer with code and returns its Retry-After in
// seconds: a whole number >= 1 in the header, the same in the body.
func refused(t *testing.T, what string, w *httptest.ResponseRecorder, m map[string]any, code string) int64 {
	t.Helper()
	if w.Code != http.StatusTooManyRequests || m["Code"] != code || m["Success"] != false {
		t.Fatalf("%s: %d %v, want 429 %s", what, w.Code, m, code)
	}
	h := w.Header().Get("Retry-After")
	secs, err := strconv.ParseInt(h, 10, 64)
	if err != nil || secs < 1 {
		t.Fatalf("%s: Retry-After %q, want whole seconds >= 1", what, h)
	}
	if body, _ := m["RetryAfter"].(float64); int64(body) != secs {
		t.Errorf("%s: body RetryAfter %v, header %d", what, m["RetryAfter"], secs)
	}
	return secs
}

// event invokes the event API and decodes its answer; a business refusal
// must be an answer, not an error.
func (e *env) event(t *testing.T, payload string) map[string]any {
	t.Helper()
	out, err := e.svc.Invoke(context.Background(), []byte(payload))
	if err != nil {
		t.Fatalf("Invoke: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(out, &m); err != nil {
		t.Fatalf("Invoke answered %q", out)
	}
	return m
}

// counts is a snapshot of the fake's counters.
type counts struct{ requests, sends, checks int64 }

func (e *env) counts() counts {
	return counts{e.fake.Requests(), e.fake.SendCount(), e.fake.CheckCount()}
}

// unchanged fails t when the fake saw any request since c.
func (e *env) unchanged(t *testing.T, what string, c counts) {
	t.Helper()
	if now := e.counts(); now != c {
		t.Errorf("%s reached the upstream: %+v, before %+v", what, now, c)
	}
}

// instance is a second Service on e's fake and clock, as another
// serverless instance would be.
func (e *env) instance(mutate func(*Config, *Options)) *Service {
	e.t.Helper()
	cfg := testConfig(e.fake.URL)
	o := Options{Logger: slog.New(slog.DiscardHandler), Now: e.clock}
	if mutate != nil {
		mutate(&cfg, &o)
	}
	svc, err := New(cfg, o)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { svc.Close() })
	return svc
}

// verifyResult checks body through svc from a public caller and returns
// the VerifyResult of the 200 answer.
func verifyResult(t *testing.T, svc *Service, body string) string {
	t.Helper()
	w, m := call(svc, ipA, "/check", body)
	if w.Code != http.StatusOK {
		t.Fatalf("check: %d %v", w.Code, m)
	}
	model, _ := m["Model"].(map[string]any)
	r, _ := model["VerifyResult"].(string)
	return r
}

// reuseUpstream is an upstream that accepts the newest code of a number
// again and again, as an Alibaba that did not use codes up would: it passes
// requests to the fake and turns an UNKNOWN for that code into PASS. It
// shows that single use is the service's doing, not the fake's.
type reuseUpstream struct {
	fake    *dypnstest.Fake // set before the first request
	base    http.RoundTripper
	anyCode bool // accept every code sent to the number, as DuplicatePolicy 2 does
}

// mutate routes the Service's upstream calls through u.
func (u *reuseUpstream) mutate(c *Config, o *Options) {
	setLimits(c)
	o.HTTPClient = &http.Client{Transport: u}
}

func (u *reuseUpstream) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := u.base.RoundTrip(r)
	if err != nil || r.Header.Get("x-acs-action") != core.ActionCheck {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	q := r.URL.Query()
	codes := u.fake.Codes(q.Get("PhoneNumber"))
	var ans map[string]any
	accept := len(codes) > 0 && codes[len(codes)-1].VerifyCode == q.Get("VerifyCode")
	for _, c := range codes {
		accept = accept || u.anyCode && c.VerifyCode == q.Get("VerifyCode")
	}
	if accept && json.Unmarshal(body, &ans) == nil {
		if model, ok := ans["Model"].(map[string]any); ok {
			model["VerifyResult"] = core.VerifyPass
			body, _ = json.Marshal(ans)
		}
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	resp.Header.Del("Content-Length")
	return resp, nil
}

// newReuseEnv is newEnv behind a reuseUpstream; extra mutates further.
func newReuseEnv(t *testing.T, extra func(*Config, *Options)) (*env, func(*Config, *Options)) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(tr.CloseIdleConnections)
	u := &reuseUpstream{base: tr}
	mut := func(c *Config, o *Options) {
		u.mutate(c, o)
		if extra != nil {
			extra(c, o)
		}
	}
	e := newEnv(t, mut)
	u.fake = e.fake.Fake
	return e, mut
}

func TestSendLimitPerPhone(t *testing.T) {
	e := newEnv(t, limits(func(c *Config) { c.SendLimitPerPhone = rate(t, "3/1h") }))
	p := phone(1)
	for i := range 3 {
		w, m := e.from(ipA, "/send", sendJSON(p))
		ok(t, "send "+strconv.Itoa(i), w, m)
		e.advance(61 * time.Second) // past Alibaba's Interval
	}
	before := e.counts()
	w, m := e.from(ipA, "/send", sendJSON(p))
	// The window slides from the first send, 3*61 s ago.
	if got := refused(t, "4th send", w, m, CodeSendLimitPhone); got != 3600-183 {
		t.Errorf("Retry-After %d, want %d", got, 3600-183)
	}
	w, m = e.from(ipB, "/send", sendJSON(p), bearer...)
	refused(t, "trusted send", w, m, CodeSendLimitPhone)
	if m := e.event(t, eventJSON(core.ActionSend, p)); m["Code"] != CodeSendLimitPhone || m["RetryAfter"] != float64(3600-183) {
		t.Errorf("event send: %v, want %s", m, CodeSendLimitPhone)
	}
	e.unchanged(t, "a refused send", before)

	w, m = e.from(ipA, "/send", sendJSON(phone(2)))
	ok(t, "another number", w, m)
	e.advance((3600 - 183 - 1) * time.Second)
	w, m = e.from(ipA, "/send", sendJSON(p))
	if got := refused(t, "a second early", w, m, CodeSendLimitPhone); got != 1 {
		t.Errorf("Retry-After %d a second before the window frees a slot, want 1", got)
	}
	e.advance(time.Second)
	w, m = e.from(ipA, "/send", sendJSON(p))
	ok(t, "send after the window slid", w, m)
	if got := e.fake.SendCount(); got != 5 {
		t.Errorf("fake sent %d, want 5", got)
	}
}

func TestSendLimitPerIP(t *testing.T) {
	e := newEnv(t, limits(func(c *Config) { c.SendLimitPerIP = rate(t, "3/1h") }))
	for i := range 3 {
		w, m := e.from(ipA, "/send", sendJSON(phone(i)))
		ok(t, "send "+strconv.Itoa(i), w, m)
	}
	before := e.counts()
	w, m := e.from(ipA, "/send", sendJSON(phone(3)))
	if got := refused(t, "4th send", w, m, CodeSendLimitIP); got != 3600 {
		t.Errorf("Retry-After %d, want 3600", got)
	}
	w, m = e.from(ipA, "/send", sendJSON(phone(4)), "X-Forwarded-For", "192.0.2.77")
	refused(t, "send with a forged X-Forwarded-For", w, m, CodeSendLimitIP)
	e.unchanged(t, "a refused send", before)

	w, m = e.from(ipB, "/send", sendJSON(phone(3)))
	ok(t, "another address", w, m)
	for i := 10; i < 15; i++ { // trusted callers bypass the IP limit
		w, m := e.from(ipA, "/send", sendJSON(phone(i)), bearer...)
		ok(t, "trusted send", w, m)
	}
	for i := 20; i < 23; i++ { // and so do events
		if m := e.event(t, eventJSON(core.ActionSend, phone(i))); m["Code"] != CodeOK {
			t.Fatalf("event send: %v", m)
		}
	}
	w, m = e.from(ipA, "/send", sendJSON(phone(30)))
	refused(t, "public send after trusted ones", w, m, CodeSendLimitIP)
	if got := e.fake.SendCount(); got != 3+1+5+3 {
		t.Errorf("fake sent %d, want %d", got, 3+1+5+3)
	}
	e.advance(time.Hour)
	w, m = e.from(ipA, "/send", sendJSON(phone(30)))
	ok(t, "send after the window slid", w, m)
}

func TestSendLimitGlobal(t *testing.T) {
	e := newEnv(t, limits(func(c *Config) { c.SendLimitGlobal = rate(t, "4/24h") }))
	w, m := e.from(ipA, "/send", sendJSON(phone(1)))
	ok(t, "public send", w, m)
	w, m = e.from(ipB, "/send", sendJSON(phone(2)))
	ok(t, "public send", w, m)
	w, m = e.from(ipA, "/send", sendJSON(phone(3)), bearer...)
	ok(t, "trusted send", w, m)
	if m := e.event(t, eventJSON(core.ActionSend, phone(4))); m["Code"] != CodeOK {
		t.Fatalf("event send: %v", m)
	}
	before := e.counts()
	w, m = e.from("192.0.2.9", "/send", sendJSON(phone(5)))
	if got := refused(t, "public send", w, m, CodeSendLimitGlobal); got != 24*3600 {
		t.Errorf("Retry-After %d, want %d", got, 24*3600)
	}
	w, m = e.from(ipA, "/send", sendJSON(phone(6)), bearer...)
	refused(t, "trusted send", w, m, CodeSendLimitGlobal)
	if m := e.event(t, eventJSON(core.ActionSend, phone(7))); m["Code"] != CodeSendLimitGlobal {
		t.Errorf("event send: %v, want %s", m, CodeSendLimitGlobal)
	}
	e.unchanged(t, "a refused send", before)
	e.advance(24 * time.Hour)
	w, m = e.from("192.0.2.9", "/send", sendJSON(phone(5)))
	ok(t, "send the next day", w, m)
}

// TestRefusedSendCountsNowhere: a send refused by one limit is counted by
// none, so it neither spends the number's nor the service's budget.
func TestRefusedSendCountsNowhere(t *testing.T) {
	e := newEnv(t, limits(func(c *Config) {
		c.SendLimitPerPhone = rate(t, "2/1h")
		c.SendLimitPerIP = rate(t, "1/1h")
		c.SendLimitGlobal = rate(t, "3/24h")
	}))
	a, b, c := phone(1), phone(2), phone(3)
	w, m := e.from(ipA, "/send", sendJSON(a))
	ok(t, "first send", w, m)
	for range 5 { // refused by the IP limit: must not count for b or globally
		w, m = e.from(ipA, "/send", sendJSON(b))
		refused(t, "send over the IP limit", w, m, CodeSendLimitIP)
	}
	w, m = e.from(ipB, "/send", sendJSON(b))
	ok(t, "b from another address", w, m)
	e.advance(61 * time.Second)
	w, m = e.from("192.0.2.3", "/send", sendJSON(b))
	ok(t, "b's second send (its budget is 2)", w, m)
	e.advance(61 * time.Second)
	for range 3 { // refused by the phone limit: must not count for the address
		w, m = e.from("192.0.2.4", "/send", sendJSON(b))
		refused(t, "send over the phone limit", w, m, CodeSendLimitPhone)
	}
	// The address 192.0.2.4 is unspent (else SEND_LIMIT_IP); the service's
	// budget is spent by exactly three sends.
	w, m = e.from("192.0.2.4", "/send", sendJSON(c))
	refused(t, "send over the global limit", w, m, CodeSendLimitGlobal)
	if got := e.fake.SendCount(); got != 3 {
		t.Errorf("fake sent %d, want 3", got)
	}
}

func TestCheckLimits(t *testing.T) {
	t.Run("per IP", func(t *testing.T) {
		e := newEnv(t, limits(func(c *Config) { c.CheckLimitPerIP = rate(t, "3/5m") }))
		for i := range 3 {
			w, m := e.from(ipA, "/check", checkJSON(phone(i), "1234"))
			ok(t, "check", w, m)
		}
		before := e.counts()
		w, m := e.from(ipA, "/check", checkJSON(phone(3), "1234"))
		if got := refused(t, "4th check", w, m, CodeCheckLimitIP); got != 300 {
			t.Errorf("Retry-After %d, want 300", got)
		}
		e.unchanged(t, "a refused check", before)
		w, m = e.from(ipA, "/check", checkJSON(phone(3), "1234"), bearer...)
		ok(t, "trusted check", w, m)
		if m := e.event(t, eventJSON(core.ActionCheck, phone(4))); m["Code"] != CodeOK {
			t.Errorf("event check: %v", m)
		}
		w, m = e.from(ipB, "/check", checkJSON(phone(5), "1234"))
		ok(t, "another address", w, m)
		e.advance(5 * time.Minute)
		w, m = e.from(ipA, "/check", checkJSON(phone(6), "1234"))
		ok(t, "check after the window slid", w, m)
		if got := e.fake.CheckCount(); got != 3+3+1 {
			t.Errorf("fake checked %d, want 7", got)
		}
	})
	t.Run("per phone", func(t *testing.T) {
		e := newEnv(t, limits(func(c *Config) { c.CheckLimitPerPhone = rate(t, "2/15m") }))
		p := phone(1)
		for range 2 {
			w, m := e.from(ipA, "/check", checkJSON(p, "1234"))
			ok(t, "check", w, m)
		}
		before := e.counts()
		w, m := e.from(ipB, "/check", checkJSON(p, "1234"))
		if got := refused(t, "3rd check", w, m, CodeCheckLimitPhone); got != 900 {
			t.Errorf("Retry-After %d, want 900", got)
		}
		w, m = e.from(ipA, "/check", checkJSON(p, "1234"), bearer...)
		refused(t, "trusted check", w, m, CodeCheckLimitPhone)
		if m := e.event(t, eventJSON(core.ActionCheck, p)); m["Code"] != CodeCheckLimitPhone {
			t.Errorf("event check: %v, want %s", m, CodeCheckLimitPhone)
		}
		e.unchanged(t, "a refused check", before)
		w, m = e.from(ipA, "/check", checkJSON(phone(2), "1234"))
		ok(t, "another number", w, m)
	})
}

// TestUpstreamFrequencyFail: Alibaba's own Interval refusal is a 429 with
// Retry-After too.
func TestUpstreamFrequencyFail(t *testing.T) {
	e := newEnv(t, limits(nil))
	p := phone(1)
	w, m := e.from(ipA, "/send", sendJSON(p))
	ok(t, "send", w, m)
	e.advance(30 * time.Second)
	before := e.counts()
	w, m = e.from(ipA, "/send", sendJSON(p))
	if got := refused(t, "send within the Interval", w, m, "FREQUENCY_FAIL"); got > 60 {
		t.Errorf("Retry-After %d, want at most the 60 s Interval", got)
	}
	if now := e.counts(); now.requests != before.requests+1 || now.sends != before.sends {
		t.Errorf("fake counts %+v, before %+v: want one refused request", now, before)
	}
	e.advance(31 * time.Second)
	w, m = e.from(ipA, "/send", sendJSON(p))
	ok(t, "send after the Interval", w, m)
}

// assertConcurrentSends fires 200 concurrent public sends to distinct
// numbers from one address, spread over svcs, and requires that exactly n
// pass and reach the fake.
func assertConcurrentSends(t *testing.T, e *env, svcs []*Service, n int) {
	t.Helper()
	const total = 200
	type result struct {
		status     int
		code, wait string
	}
	results := make([]result, total)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range total {
		wg.Go(func() {
			<-start
			w, m := call(svcs[i%len(svcs)], "198.51.100.77", "/send", sendJSON(phone(1000+i)))
			code, _ := m["Code"].(string)
			results[i] = result{w.Code, code, w.Header().Get("Retry-After")}
		})
	}
	close(start)
	wg.Wait()
	passed, limited := 0, 0
	for i, r := range results {
		switch {
		case r.status == http.StatusOK && r.code == CodeOK:
			passed++
		case r.status == http.StatusTooManyRequests && r.code == CodeSendLimitIP && r.wait != "":
			limited++
		default:
			t.Errorf("send %d: %d %s", i, r.status, r.code)
		}
	}
	if passed != n || limited != total-n {
		t.Errorf("%d passed and %d were limited, want %d and %d", passed, limited, n, total-n)
	}
	if got := e.fake.SendCount(); got != int64(n) {
		t.Errorf("fake sent %d, want exactly %d", got, n)
	}
}

func TestConcurrentSends(t *testing.T) {
	const n = 7
	for _, tc := range []struct {
		name  string
		store func(*testing.T) func(*Config, *Options)
	}{
		{"memory", func(*testing.T) func(*Config, *Options) { return func(*Config, *Options) {} }},
		{"redis", withRedis},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store := tc.store(t)
			e := newEnv(t, func(c *Config, o *Options) {
				setLimits(c)
				c.SendLimitPerIP = rate(t, strconv.Itoa(n)+"/1h")
				store(c, o)
			})
			assertConcurrentSends(t, e, []*Service{e.svc}, n)
		})
	}
}

// wrongCode returns a code of the right shape that is not code.
func wrongCode(code string) string {
	if code == "0000" {
		return "1111"
	}
	return "0000"
}

// TestBruteForce: 20 wrong checks interleaved with resends. At most
// CHECK_LIMIT_PER_PHONE (5/15m) reach Alibaba in the window; a new code does
// not reset the count; even the right code is refused until the window
// slides.
func TestBruteForce(t *testing.T) {
	e := newEnv(t, limits(func(c *Config) {
		c.CheckLimitPerPhone = rate(t, "5/15m")
		c.SendLimitPerPhone = rate(t, "10/1h")
	}))
	p := phone(1)
	checks0 := e.fake.CheckCount()
	reached := 0
	for i := range 20 {
		if i%4 == 0 {
			if i > 0 {
				e.advance(61 * time.Second) // past the Interval
			}
			w, m := e.from(ipA, "/send", sendJSON(p))
			ok(t, "resend", w, m)
		}
		before := e.counts()
		w, m := e.from(ipA, "/check", checkJSON(p, wrongCode(e.lastCode(p))))
		switch w.Code {
		case http.StatusOK:
			reached++
			if m["Model"].(map[string]any)["VerifyResult"] != "UNKNOWN" {
				t.Fatalf("wrong code %d: %v", i, m)
			}
		default:
			refused(t, "wrong code "+strconv.Itoa(i), w, m, CodeCheckLimitPhone)
			e.unchanged(t, "a refused check", before)
		}
	}
	if reached != 5 || e.fake.CheckCount()-checks0 != 5 {
		t.Errorf("%d checks answered, %d reached the fake, want 5", reached, e.fake.CheckCount()-checks0)
	}
	w, m := e.from(ipB, "/check", checkJSON(p, e.lastCode(p)))
	refused(t, "the right code inside the window", w, m, CodeCheckLimitPhone)

	e.advance(15 * time.Minute) // the first checks leave the window
	w, m = e.from(ipA, "/send", sendJSON(p))
	ok(t, "send after the window", w, m)
	if r := verifyResult(t, e.svc, checkJSON(p, e.lastCode(p))); r != "PASS" {
		t.Errorf("right code after the window: %s, want PASS", r)
	}
}

// TestPassUsesCodeUp: a PASS uses the code up, whatever the upstream does;
// a new code passes once.
func TestPassUsesCodeUp(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  func(t *testing.T) *env
	}{
		{"single-use upstream", func(t *testing.T) *env { return newEnv(t, limits(nil)) }},
		{"reusing upstream", func(t *testing.T) *env { e, _ := newReuseEnv(t, nil); return e }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := tc.env(t)
			p := phone(1)
			for round := range 2 {
				w, m := e.from(ipA, "/send", sendJSON(p))
				ok(t, "send", w, m)
				body := checkJSON(p, e.lastCode(p))
				if r := verifyResult(t, e.svc, body); r != "PASS" {
					t.Fatalf("round %d: first check %s, want PASS", round, r)
				}
				for range 2 {
					if r := verifyResult(t, e.svc, body); r != "UNKNOWN" {
						t.Fatalf("round %d: replay %s, want UNKNOWN", round, r)
					}
				}
				e.advance(61 * time.Second)
			}
		})
	}
}

// TestConcurrentPass: 20 simultaneous checks of the right code, through an
// upstream that would pass them all, give exactly one PASS.
func TestConcurrentPass(t *testing.T) {
	for _, tc := range []struct {
		name  string
		store func(*testing.T) func(*Config, *Options)
	}{
		{"memory", func(*testing.T) func(*Config, *Options) { return nil }},
		{"redis", withRedis},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, _ := newReuseEnv(t, tc.store(t))
			p := phone(1)
			w, m := e.from(ipA, "/send", sendJSON(p))
			ok(t, "send", w, m)
			body := checkJSON(p, e.lastCode(p))
			results := make([]string, 20)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range results {
				wg.Go(func() {
					<-start
					w, m := call(e.svc, ipA, "/check", body)
					model, _ := m["Model"].(map[string]any)
					results[i] = strconv.Itoa(w.Code) + " " + fmt.Sprint(model["VerifyResult"])
				})
			}
			close(start)
			wg.Wait()
			passes := 0
			for _, r := range results {
				switch r {
				case "200 PASS":
					passes++
				case "200 UNKNOWN":
				default:
					t.Errorf("check answered %s", r)
				}
			}
			if passes != 1 {
				t.Errorf("%d checks passed, want exactly 1: %v", passes, results)
			}
		})
	}
}

const tokenSecret = "0123456789abcdef0123456789abcdef-test"

func TestVerifyToken(t *testing.T) {
	e := newEnv(t, limits(func(c *Config) {
		c.VerifyTokenSecret, c.VerifyTokenTTL = tokenSecret, 10*time.Minute
		c.SchemeName, c.SchemeNames = "login", []string{"login", "signup"}
	}))
	p := phone(1)
	parse := func(token, secret string) (*jwt.Token, jwt.MapClaims, error) {
		claims := jwt.MapClaims{}
		tok, err := jwt.ParseWithClaims(token, claims, func(*jwt.Token) (any, error) { return []byte(secret), nil },
			jwt.WithValidMethods([]string{"HS256"}), jwt.WithIssuer("smsverify"),
			jwt.WithExpirationRequired(), jwt.WithIssuedAt(), jwt.WithTimeFunc(e.clock))
		return tok, claims, err
	}
	pass := func(scheme string) (string, float64) {
		t.Helper()
		w, m := e.from(ipA, "/send", `{"PhoneNumber":"`+p+`","SchemeName":"`+scheme+`"}`)
		ok(t, "send", w, m)
		w, m = e.from(ipA, "/check", `{"PhoneNumber":"`+p+`","SchemeName":"`+scheme+`","VerifyCode":"`+e.lastCode(p)+`"}`)
		ok(t, "check", w, m)
		model := m["Model"].(map[string]any)
		if model["VerifyResult"] != "PASS" {
			t.Fatalf("check: %v", m)
		}
		tok, _ := model["VerifyToken"].(string)
		exp, _ := model["VerifyTokenExpiresAt"].(float64)
		return tok, exp
	}

	token, expAt := pass("login")
	now := e.clock()
	tok, claims, err := parse(token, tokenSecret)
	if err != nil || !tok.Valid {
		t.Fatalf("backend verification: %v", err)
	}
	if tok.Header["alg"] != "HS256" {
		t.Errorf("alg %v", tok.Header["alg"])
	}
	want := map[string]any{
		"phone_number": p, "country_code": "86", "scheme": "login", "sub": "+86" + p, "iss": "smsverify",
		"iat": float64(now.Unix()), "exp": float64(now.Add(10 * time.Minute).Unix()),
	}
	for k, v := range want {
		if claims[k] != v {
			t.Errorf("claim %s = %v, want %v", k, claims[k], v)
		}
	}
	if expAt != float64(now.Add(10*time.Minute).Unix()) {
		t.Errorf("VerifyTokenExpiresAt %v, want exp", expAt)
	}
	jti, _ := claims["jti"].(string)
	if jti == "" {
		t.Error("no jti")
	}

	e.advance(61 * time.Second)
	token2, _ := pass("signup")
	_, claims2, err := parse(token2, tokenSecret)
	if err != nil {
		t.Fatalf("second token: %v", err)
	}
	if claims2["jti"] == jti || claims2["jti"] == "" {
		t.Errorf("jti not unique: %v and %v", jti, claims2["jti"])
	}
	if claims2["scheme"] != "signup" {
		t.Errorf("scheme claim %v, want signup", claims2["scheme"])
	}

	issuer, err := verifytoken.NewIssuer([]byte(tokenSecret), time.Minute, verifytoken.WithClock(e.clock))
	if err != nil {
		t.Fatal(err)
	}
	if c, err := issuer.Verify(token2); err != nil || c.PhoneNumber != p {
		t.Errorf("Issuer.Verify: %v %v", c, err)
	}
	parts := strings.Split(token2, ".")
	forged := strings.Replace(decodeSegment(t, parts[1]), p, phone(2), 1)
	forgedToken := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(forged)) + "." + parts[2]
	noneToken := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + parts[1] + "."
	for _, tc := range []struct {
		name, token, secret string
		want                error
	}{
		{"tampered claims", forgedToken, tokenSecret, jwt.ErrTokenSignatureInvalid},
		{"tampered signature", parts[0] + "." + parts[1] + "." + flip(parts[2]), tokenSecret, jwt.ErrTokenSignatureInvalid},
		{"alg none", noneToken, tokenSecret, jwt.ErrTokenSignatureInvalid},
		{"wrong secret", token2, strings.Repeat("x", 40), jwt.ErrTokenSignatureInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, err := parse(tc.token, tc.secret); err == nil {
				t.Error("backend accepted it")
			}
			other, err := verifytoken.NewIssuer([]byte(tc.secret), time.Minute, verifytoken.WithClock(e.clock))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := other.Verify(tc.token); err == nil {
				t.Error("Issuer.Verify accepted it")
			} else if tc.name != "alg none" && !errors.Is(err, tc.want) {
				t.Errorf("Issuer.Verify: %v, want %v", err, tc.want)
			}
		})
	}
	t.Run("expired", func(t *testing.T) {
		e.advance(10*time.Minute + time.Second)
		if _, _, err := parse(token2, tokenSecret); !errors.Is(err, jwt.ErrTokenExpired) {
			t.Errorf("backend: %v, want expired", err)
		}
		if _, err := issuer.Verify(token2); !errors.Is(err, jwt.ErrTokenExpired) {
			t.Errorf("Issuer.Verify: %v, want expired", err)
		}
	})
	t.Run("no token on UNKNOWN", func(t *testing.T) {
		w, m := e.from(ipA, "/send", sendJSON(phone(3)))
		ok(t, "send", w, m)
		for _, code := range []string{wrongCode(e.lastCode(phone(3))), e.lastCode(phone(3)), e.lastCode(phone(3))} {
			w, m = e.from(ipA, "/check", checkJSON(phone(3), code))
			ok(t, "check", w, m)
			model := m["Model"].(map[string]any)
			if _, has := model["VerifyToken"]; has != (model["VerifyResult"] == "PASS") {
				t.Errorf("%v: token present %v", model["VerifyResult"], has)
			}
		}
	})
	t.Run("no secret, no token", func(t *testing.T) {
		e := newEnv(t, limits(nil))
		w, m := e.from(ipA, "/send", sendJSON(p))
		ok(t, "send", w, m)
		w, m = e.from(ipA, "/check", checkJSON(p, e.lastCode(p)))
		ok(t, "check", w, m)
		model := m["Model"].(map[string]any)
		_, hasTok := model["VerifyToken"]
		_, hasExp := model["VerifyTokenExpiresAt"]
		if model["VerifyResult"] != "PASS" || hasTok || hasExp {
			t.Errorf("check without a secret: %v", model)
		}
	})
}

func decodeSegment(t *testing.T, s string) string {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// flip changes the first character of a base64url segment.
func flip(s string) string {
	if s[0] == 'A' {
		return "B" + s[1:]
	}
	return "A" + s[1:]
}

// TestSendLimitPerIPv6Prefix: one IPv6 client holds a whole /64 (often a
// /56 or /48), so the per-IP limit must count its addresses together, or
// rotating the interface identifier escapes it.
func TestSendLimitPerIPv6Prefix(t *testing.T) {
	e := newEnv(t, limits(func(c *Config) { c.SendLimitPerIP = rate(t, "3/1h") }))
	for i := 1; i <= 3; i++ {
		w, m := e.from("2001:db8:1:2::"+strconv.Itoa(i), "/send", sendJSON(phone(i)))
		ok(t, "send", w, m)
	}
	w, m := e.from("2001:db8:1:2:aaaa::4", "/send", sendJSON(phone(4)))
	refused(t, "4th send from the same /64", w, m, CodeSendLimitIP)
	w, m = e.from("2001:db8:1:3::1", "/send", sendJSON(phone(5)))
	ok(t, "send from another /64", w, m)
}

// TestReplayAfterResendUnderKeepPolicy: with DuplicatePolicy 2 every
// unexpired code stays valid at Alibaba, so a new send must not make an
// already used code pass again.
func TestReplayAfterResendUnderKeepPolicy(t *testing.T) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(tr.CloseIdleConnections)
	u := &reuseUpstream{base: tr, anyCode: true}
	e := newEnv(t, u.mutate)
	u.fake = e.fake.Fake
	auth := []string{"Authorization", "Bearer " + testKey}
	p := phone(1)
	send := `{"PhoneNumber":"` + p + `","DuplicatePolicy":2}`
	w, m := e.from(ipA, "/send", send, auth...)
	ok(t, "send A", w, m)
	codeA := e.lastCode(p)
	if r := verifyResult(t, e.svc, checkJSON(p, codeA)); r != "PASS" {
		t.Fatalf("code A: %s", r)
	}
	e.advance(61 * time.Second)
	w, m = e.from(ipA, "/send", send, auth...)
	ok(t, "send B", w, m)
	codeB := e.lastCode(p)
	if codeB == codeA {
		t.Skip("the fake drew the same code twice")
	}
	if r := verifyResult(t, e.svc, checkJSON(p, codeA)); r != "UNKNOWN" {
		t.Errorf("used code A after a resend: %s, want UNKNOWN", r)
	}
	if r := verifyResult(t, e.svc, checkJSON(p, codeB)); r != "PASS" {
		t.Errorf("new code B: %s, want PASS", r)
	}
}
