package function

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"smsverify/core"
	"smsverify/core/dypnstest"
	"smsverify/internal/envdefaults"
	"smsverify/internal/syncbuf"
	"smsverify/internal/testclock"
)

// testLimitKeySecret is LIMIT_KEY_SECRET in tests.
const testLimitKeySecret = "test-limit-key-secret-0123456789abcdef"

// testKey is an API key in tests.
const testKey = "test-api-key-0123456789"

// env is a Service wired to a dypnstest fake over loopback, with a log
// capture and a settable clock.
type env struct {
	t    *testing.T
	svc  *Service
	fake *dypnstest.Server
	logs *syncbuf.Buffer
	clk  *testclock.Clock
}

// defaultConfig returns the documented defaults (Config's default tags,
// normalized as LoadConfig normalizes), ignoring the environment.
// TestDefaultConfigMatchesEnv keeps it equal to LoadConfig in an empty
// environment.
func defaultConfig() Config {
	var c Config
	if err := envdefaults.Fill(&c); err != nil {
		panic(err) // a bad default tag; TestDefaultConfig names it
	}
	c.normalize()
	return c
}

// testConfig is the default Config pointed at url, with generous limits
// unless a test sets its own.
func testConfig(url string) Config {
	c := defaultConfig()
	c.Endpoint = url
	c.AccessKeyID, c.AccessKeySecret = dypnstest.TestCredentials().AccessKeyID, dypnstest.TestCredentials().AccessKeySecret
	c.APIKeys = []string{testKey}
	// Fixed, so that instances sharing a store name phones alike.
	c.LimitKeySecret = testLimitKeySecret
	return c
}

// hangTimeout is DYPNS_TIMEOUT for a case whose fake never answers
// (dypnstest.FaultHang): the hang is certain, so a short deadline proves the
// timeout however loaded the machine is. Every other case keeps the default
// of seconds, so load cannot turn a fast answer into a timeout.
const hangTimeout = 100 * time.Millisecond

// timeoutFor sets DYPNS_TIMEOUT to hangTimeout when fault is FaultHang and
// leaves the default otherwise.
func timeoutFor(c *Config, fault dypnstest.Fault) {
	if fault == dypnstest.FaultHang {
		c.Timeout = hangTimeout
	}
}

func newEnv(t *testing.T, mutate func(*Config, *Options)) *env {
	t.Helper()
	e := &env{t: t, logs: &syncbuf.Buffer{}, clk: testclock.New(time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC))}
	e.fake = dypnstest.NewServer(dypnstest.Options{Now: e.clock, DailyLimit: -1})
	t.Cleanup(e.fake.Close)
	cfg := testConfig(e.fake.URL)
	o := Options{Logger: slog.New(slog.NewJSONHandler(e.logs, nil)), Now: e.clock}
	if mutate != nil {
		mutate(&cfg, &o)
	}
	svc, err := New(cfg, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })
	e.svc = svc
	return e
}

func (e *env) clock() time.Time { return e.clk.Now() }

func (e *env) advance(d time.Duration) { e.clk.Add(d) }

// newRequest builds a request as the tests send it: from a public client's
// address, JSON when it has a body, with hdr's name/value pairs set.
func newRequest(method, path, body string, hdr ...string) *http.Request {
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	r.RemoteAddr = "203.0.113.7:5555"
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	return r
}

// do sends an HTTP request to the service and decodes the JSON answer.
func (e *env) do(method, path, body string, hdr ...string) (*httptest.ResponseRecorder, map[string]any) {
	e.t.Helper()
	w := httptest.NewRecorder()
	e.svc.ServeHTTP(w, newRequest(method, path, body, hdr...))
	var m map[string]any
	if w.Body.Len() > 0 {
		if err := json.Unmarshal(w.Body.Bytes(), &m); err != nil {
			e.t.Fatalf("%s %s: answer is not JSON: %q", method, path, w.Body.String())
		}
	}
	return w, m
}

// lastCode is the newest code the fake sent to phone.
func (e *env) lastCode(phone string) string {
	e.t.Helper()
	codes := e.fake.Codes(phone)
	if len(codes) == 0 {
		e.t.Fatal("no code sent")
	}
	return codes[len(codes)-1].VerifyCode
}

var _ = io.Discard
var _ = core.ActionSend
