package function

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"smsverify/core/dypnstest"
	"smsverify/function/limit"
	"smsverify/internal/redistest"
)

// These tests prove issue 9 part 1, idempotency keys, end to end: upstream
// calls are counted at the dypnstest fake.

const idemHeader = HeaderIdempotencyKey

// wantReplay fails t unless w is a replay of first: same status and body,
// marked Idempotent-Replayed.
func wantReplay(t *testing.T, what string, first, w *httptest.ResponseRecorder) {
	t.Helper()
	if w.Header().Get(HeaderIdempotentReplayed) != "true" {
		t.Fatalf("%s: %d %s without %s: true", what, w.Code, w.Body, HeaderIdempotentReplayed)
	}
	if w.Code != first.Code || w.Body.String() != first.Body.String() {
		t.Fatalf("%s: replayed %d %s, want %d %s", what, w.Code, w.Body, first.Code, first.Body)
	}
}

// wantFresh fails t when w is marked as a replay.
func wantFresh(t *testing.T, what string, w *httptest.ResponseRecorder) {
	t.Helper()
	if w.Header().Get(HeaderIdempotentReplayed) != "" {
		t.Fatalf("%s: a first answer is marked replayed", what)
	}
}

// wantCode fails t unless w answers status with code.
func wantCode(t *testing.T, what string, w *httptest.ResponseRecorder, m map[string]any, status int, code string) {
	t.Helper()
	if w.Code != status || m["Code"] != code {
		t.Fatalf("%s: %d %v, want %d %s", what, w.Code, m, status, code)
	}
}

func TestIdempotentSend(t *testing.T) {
	e := newEnv(t, limits(func(c *Config) { c.SendLimitPerPhone = rate(t, "1/1h") }))
	p := phone(1)
	first, m := e.from(ipA, "/send", sendJSON(p), idemHeader, "order-1-0123456789abcdef")
	ok(t, "first send", first, m)
	wantFresh(t, "first send", first)
	c := e.counts()

	// A retry, even from another address, gets the same answer, with no
	// upstream call and no limit taken (the per-number limit is 1/1h).
	for i, ip := range []string{ipA, ipB, ipA} {
		w, _ := e.from(ip, "/send", sendJSON(p), idemHeader, "order-1-0123456789abcdef")
		wantReplay(t, fmt.Sprint("retry ", i), first, w)
	}
	// Naming a server default explicitly is the same request.
	w, _ := e.from(ipA, "/send", `{"PhoneNumber":"`+p+`","TemplateCode":"100001"}`, idemHeader, "order-1-0123456789abcdef")
	wantReplay(t, "retry with the default template named", first, w)
	e.unchanged(t, "replays", c)

	// Same key, other parameters: refused, showing nothing of the first.
	w, m = e.from(ipA, "/send", `{"PhoneNumber":"`+p+`","OutId":"other"}`, idemHeader, "order-1-0123456789abcdef")
	wantCode(t, "reused key", w, m, http.StatusUnprocessableEntity, CodeIdempotencyKeyReused)
	if strings.Contains(w.Body.String(), "BizId") || strings.Contains(w.Body.String(), p[7:]) {
		t.Fatalf("the 422 shows the first request: %s", w.Body)
	}
	e.unchanged(t, "refused reuse", c)
	// A public caller's keys are namespaced by action and number: the same
	// key on /check, or for another number, is another request.
	w, m = e.from(ipA, "/check", checkJSON(p, "1234"), idemHeader, "order-1-0123456789abcdef")
	ok(t, "the key on /check", w, m)
	wantFresh(t, "the key on /check", w)
	w, m = e.from(ipA, "/send", sendJSON(phone(2)), idemHeader, "order-1-0123456789abcdef")
	ok(t, "the key for another number", w, m)
	wantFresh(t, "the key for another number", w)
	c = e.counts()

	// The replays took no limit: the first send took the only slot.
	w, m = e.from(ipA, "/send", sendJSON(p), idemHeader, "order-2-0123456789abcdef")
	refused(t, "new key", w, m, CodeSendLimitPhone)
	// Without a key nothing is replayed.
	w, m = e.from(ipA, "/send", sendJSON(phone(3)))
	ok(t, "send without a key", w, m)
	wantFresh(t, "send without a key", w)

	logs := e.logs.String()
	if !strings.Contains(logs, `"idempotent_replayed":true`) {
		t.Errorf("the access log does not mark replays:\n%s", logs)
	}
	if strings.Contains(logs, "order-1") {
		t.Errorf("the access log holds the idempotency key:\n%s", logs)
	}
}

// TestIdempotentCheckReplaysPass: a client that lost the answer to a PASS
// gets it again, with the same verification token; without a key its
// retry is UNKNOWN, the code being used up.
func TestIdempotentCheckReplaysPass(t *testing.T) {
	e := newEnv(t, func(c *Config, o *Options) {
		setLimits(c)
		c.VerifyTokenSecret = strings.Repeat("k", 32)
	})
	p := phone(1)
	w, m := e.from(ipA, "/send", sendJSON(p))
	ok(t, "send", w, m)
	code := e.lastCode(p)
	first, m := e.from(ipA, "/check", checkJSON(p, code), idemHeader, "login-7-0123456789abcdef")
	ok(t, "check", first, m)
	model, _ := m["Model"].(map[string]any)
	if model["VerifyResult"] != "PASS" || model["VerifyToken"] == nil {
		t.Fatalf("check: %v, want PASS with a token", m)
	}
	c := e.counts()
	w, _ = e.from(ipB, "/check", checkJSON(p, code), idemHeader, "login-7-0123456789abcdef")
	wantReplay(t, "retried check", first, w)
	e.unchanged(t, "replayed check", c)
	if got := verifyResult(t, e.svc, checkJSON(p, code)); got != "UNKNOWN" {
		t.Fatalf("check without the key: %s, want UNKNOWN (the code is used up)", got)
	}
	if strings.Contains(e.logs.String(), model["VerifyToken"].(string)) {
		t.Fatal("the access log holds the verification token")
	}
}

func TestIdempotencyKeyValidation(t *testing.T) {
	e := newEnv(t, limits(nil))
	long := strings.Repeat("k", 255)
	for _, tc := range []struct {
		name, key string
		want      int
	}{
		{"255 characters", long, http.StatusOK},
		{"printable punctuation and spaces", "a b:c/d=e+f~!{}[]", http.StatusOK},
		{"16 characters", "0123456789abcdef", http.StatusOK},
		{"15 characters from a public caller", "0123456789abcde", http.StatusBadRequest},
		{"empty", "", http.StatusBadRequest},
		{"256 characters", long + "k", http.StatusBadRequest},
		{"non-ASCII", "clé", http.StatusBadRequest},
		{"control character", "a\x01b", http.StatusBadRequest},
		{"DEL", "a\x7fb", http.StatusBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := e.counts()
			w, m := e.from(ipA, "/send", sendJSON(phone(len(tc.name))), idemHeader, tc.key)
			if w.Code != tc.want {
				t.Fatalf("%d %v, want %d", w.Code, m, tc.want)
			}
			if tc.want == http.StatusBadRequest {
				if m["Code"] != CodeInvalidParameters || !strings.Contains(m["Message"].(string), "Idempotency-Key") {
					t.Fatalf("%v, want INVALID_PARAMETERS naming Idempotency-Key", m)
				}
				e.unchanged(t, "a bad key", c)
			}
		})
	}
	t.Run("short key from a trusted caller", func(t *testing.T) {
		w, m := e.from(ipA, "/send", sendJSON(phone(51)), idemHeader, "order-1", "Authorization", "Bearer "+testKey)
		ok(t, "trusted send with a short key", w, m)
	})
	t.Run("two headers", func(t *testing.T) {
		r := httptest.NewRequest(http.MethodPost, "/send", strings.NewReader(sendJSON(phone(50))))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Add(idemHeader, "a-0123456789abcdef")
		r.Header.Add(idemHeader, "b-0123456789abcdef")
		w := httptest.NewRecorder()
		e.svc.ServeHTTP(w, r)
		if w.Code != http.StatusBadRequest {
			t.Fatalf("%d %s, want 400", w.Code, w.Body)
		}
	})
}

// TestIdempotencyCallers: a key belongs to its caller (public callers, each
// API key, events): the same key from another caller is another request.
func TestIdempotencyCallers(t *testing.T) {
	const otherKey = "other-api-key-0123456789"
	e := newEnv(t, func(c *Config, o *Options) {
		setLimits(c)
		c.APIKeys = append(c.APIKeys, otherKey)
		c.Interval = 1 // with the clock moved 1s per send, the fake sends again to one number
	})
	body := sendJSON(phone(1))
	callers := [][]string{
		nil,
		{"Authorization", "Bearer " + testKey},
		{"Authorization", "Bearer " + otherKey},
	}
	for i, hdr := range callers {
		w, m := e.from(ipA, "/send", body, append([]string{idemHeader, "shared-0123456789abcdef"}, hdr...)...)
		ok(t, fmt.Sprint("caller ", i), w, m)
		wantFresh(t, fmt.Sprint("caller ", i), w)
		e.advance(time.Second)
	}
	out, err := e.svc.Invoke(context.Background(), []byte(`{"Action":"SendSmsVerifyCode","IdempotencyKey":"shared","PhoneNumber":"`+phone(1)+`"}`))
	if err != nil || strings.Contains(string(out), "IdempotentReplayed") || !strings.Contains(string(out), `"Code":"OK"`) {
		t.Fatalf("event: %s %v, want a fresh OK", out, err)
	}
	if got := e.fake.SendCount(); got != 4 {
		t.Fatalf("fake sent %d, want 4 (one per caller)", got)
	}
	for i, hdr := range callers {
		w, _ := e.from(ipB, "/send", body, append([]string{idemHeader, "shared-0123456789abcdef"}, hdr...)...)
		if w.Header().Get(HeaderIdempotentReplayed) != "true" {
			t.Fatalf("caller %d retry: not replayed", i)
		}
	}
	if got := e.fake.SendCount(); got != 4 {
		t.Fatalf("fake sent %d after the retries, want 4", got)
	}
}

// TestIdempotentEvents: the event field, the platform's key (an SQS
// messageId) and the replay marker; a replayed failure is answered, not
// raised.
func TestIdempotentEvents(t *testing.T) {
	e := newEnv(t, limits(nil))
	ctx := context.Background()
	send := func(ctx context.Context, payload string) (map[string]any, error) {
		out, err := e.svc.Invoke(ctx, []byte(payload))
		if err != nil {
			return nil, err
		}
		var m map[string]any
		if err := json.Unmarshal(out, &m); err != nil {
			t.Fatalf("answer %q: %v", out, err)
		}
		return m, nil
	}
	ev := `{"Action":"SendSmsVerifyCode","IdempotencyKey":"evt-1","PhoneNumber":"` + phone(1) + `"}`
	first, err := send(ctx, ev)
	if err != nil || first["Code"] != CodeOK || first["IdempotentReplayed"] != nil {
		t.Fatalf("first event: %v %v", first, err)
	}
	again, err := send(ctx, ev)
	if err != nil || again["IdempotentReplayed"] != true {
		t.Fatalf("retried event: %v %v, want IdempotentReplayed true", again, err)
	}
	delete(again, "IdempotentReplayed")
	if fmt.Sprint(again) != fmt.Sprint(first) {
		t.Fatalf("replay %v, want %v", again, first)
	}

	// An SQS record's messageId is the key unless the body names one.
	sqs := WithIdempotencyKey(ctx, "msg-0001")
	body := `{"Action":"SendSmsVerifyCode","PhoneNumber":"` + phone(2) + `"}`
	if m, err := send(sqs, body); err != nil || m["IdempotentReplayed"] != nil {
		t.Fatalf("first delivery: %v %v", m, err)
	}
	if m, err := send(sqs, body); err != nil || m["IdempotentReplayed"] != true {
		t.Fatalf("redelivery: %v %v, want a replay", m, err)
	}
	named := `{"Action":"SendSmsVerifyCode","IdempotencyKey":"own","PhoneNumber":"` + phone(2) + `"}`
	// The body's key wins: a new request (which the Interval refuses).
	if m, err := send(sqs, named); err != nil || m["IdempotentReplayed"] != nil || m["Code"] != "FREQUENCY_FAIL" {
		t.Fatalf("record with its own key: %v %v, want a fresh FREQUENCY_FAIL", m, err)
	}
	if got := e.fake.SendCount(); got != 2 {
		t.Fatalf("fake sent %d, want 2", got)
	}

	// A gateway 503 may have come after the SMS left: it is raised once
	// (transient), then replayed as an answer (a retry cannot change it).
	e.fake.FailNext(1, dypnstest.FaultUnavailable)
	bad := `{"Action":"SendSmsVerifyCode","IdempotencyKey":"evt-bad","PhoneNumber":"` + phone(3) + `"}`
	_, err = send(ctx, bad)
	var ae *apiError
	if !errors.As(err, &ae) {
		t.Fatalf("a 503 was not raised: %v", err)
	}
	c := e.counts()
	m, err := send(ctx, bad)
	if err != nil || m["IdempotentReplayed"] != true || m["Code"] != ae.Code || m["Success"] != false {
		t.Fatalf("retry after a 503: %v %v, want a replayed %s answer", m, err, ae.Code)
	}
	e.unchanged(t, "replayed failure", c)

	for _, p := range []string{
		`{"Action":"SendSmsVerifyCode","IdempotencyKey":7,"PhoneNumber":"` + phone(4) + `"}`,
		`{"Action":"SendSmsVerifyCode","IdempotencyKey":"","PhoneNumber":"` + phone(4) + `"}`,
		`{"Action":"SendSmsVerifyCode","IdempotencyKey":"` + strings.Repeat("x", 256) + `","PhoneNumber":"` + phone(4) + `"}`,
	} {
		m, err := send(ctx, p)
		if err != nil || m["Code"] != CodeInvalidParameters {
			t.Errorf("%.60s: %v %v, want INVALID_PARAMETERS", p, m, err)
		}
	}
}

// failDial fails the first n round trips as a refused connection would,
// then passes requests to base.
type failDial struct {
	n    atomic.Int64
	base http.RoundTripper
}

func (f *failDial) RoundTrip(r *http.Request) (*http.Response, error) {
	if f.n.Add(-1) >= 0 {
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	}
	return f.base.RoundTrip(r)
}

// TestIdempotencyReleaseOrStore: a first attempt that certainly never
// reached Alibaba gives the key back, so its retry runs; one that may have
// reached it is stored, so its retry sends nothing.
func TestIdempotencyReleaseOrStore(t *testing.T) {
	t.Run("limit refusal releases", func(t *testing.T) {
		e := newEnv(t, limits(func(c *Config) { c.SendLimitPerPhone = rate(t, "1/1h") }))
		p := phone(1)
		w, m := e.from(ipA, "/send", sendJSON(p))
		ok(t, "send", w, m)
		w, m = e.from(ipA, "/send", sendJSON(p), idemHeader, "k-0123456789abcdef")
		refused(t, "limited", w, m, CodeSendLimitPhone)
		e.advance(time.Hour)
		w, m = e.from(ipA, "/send", sendJSON(p), idemHeader, "k-0123456789abcdef")
		ok(t, "retry after the window", w, m)
		wantFresh(t, "retry after the window", w)
	})
	t.Run("connection refused releases", func(t *testing.T) {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		t.Cleanup(tr.CloseIdleConnections)
		fd := &failDial{base: tr}
		fd.n.Store(2) // core redials once
		e := newEnv(t, func(c *Config, o *Options) {
			setLimits(c)
			o.HTTPClient = &http.Client{Transport: fd}
		})
		w, m := e.from(ipA, "/send", sendJSON(phone(1)), idemHeader, "k-0123456789abcdef")
		wantCode(t, "refused connection", w, m, http.StatusBadGateway, CodeUpstreamUnreachable)
		w, m = e.from(ipA, "/send", sendJSON(phone(1)), idemHeader, "k-0123456789abcdef")
		ok(t, "retry", w, m)
		wantFresh(t, "retry", w)
		if got := e.fake.SendCount(); got != 1 {
			t.Fatalf("fake sent %d, want 1", got)
		}
	})
	for _, tc := range []struct {
		name   string
		fault  dypnstest.Fault
		status int
	}{
		{"garbage is stored", dypnstest.FaultMalformed, http.StatusBadGateway},
		{"gateway 503 is stored", dypnstest.FaultUnavailable, http.StatusServiceUnavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, limits(nil))
			e.fake.FailNext(1, tc.fault)
			first, _ := e.from(ipA, "/send", sendJSON(phone(1)), idemHeader, "k-0123456789abcdef")
			if first.Code != tc.status {
				t.Fatalf("first: %d %s, want %d", first.Code, first.Body, tc.status)
			}
			c := e.counts()
			w, _ := e.from(ipA, "/send", sendJSON(phone(1)), idemHeader, "k-0123456789abcdef")
			wantReplay(t, "retry", first, w)
			e.unchanged(t, "retry", c)
		})
	}
	t.Run("business refusal is stored with its Retry-After", func(t *testing.T) {
		e := newEnv(t, limits(nil))
		p := phone(1)
		w, m := e.from(ipA, "/send", sendJSON(p))
		ok(t, "send", w, m)
		first, m := e.from(ipA, "/send", sendJSON(p), idemHeader, "k-0123456789abcdef")
		ra := refused(t, "within the Interval", first, m, "FREQUENCY_FAIL")
		e.advance(2 * time.Minute) // past the Interval, within the record's life
		c := e.counts()
		w, m = e.from(ipA, "/send", sendJSON(p), idemHeader, "k-0123456789abcdef")
		wantReplay(t, "retry", first, w)
		if got := refused(t, "retry", w, m, "FREQUENCY_FAIL"); got != ra {
			t.Fatalf("replayed Retry-After %d, want %d", got, ra)
		}
		e.unchanged(t, "retry", c)
	})
}

// gate holds the first upstream request until released; later ones pass.
type gate struct {
	base    http.RoundTripper
	n       atomic.Int64
	entered chan struct{}
	release chan struct{}
}

func newGate(t *testing.T) *gate {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(tr.CloseIdleConnections)
	return &gate{base: tr, entered: make(chan struct{}), release: make(chan struct{})}
}

func (g *gate) RoundTrip(r *http.Request) (*http.Response, error) {
	if g.n.Add(1) == 1 {
		close(g.entered)
		<-g.release
	}
	return g.base.RoundTrip(r)
}

// TestIdempotencyInProgress: while the first request is in flight a
// duplicate gets 409 with Retry-After: 1, and other parameters 422.
func TestIdempotencyInProgress(t *testing.T) {
	g := newGate(t)
	e := newEnv(t, func(c *Config, o *Options) {
		setLimits(c)
		o.HTTPClient = &http.Client{Transport: g}
	})
	var first *httptest.ResponseRecorder
	done := make(chan struct{})
	go func() {
		defer close(done)
		first, _ = call(e.svc, ipA, "/send", sendJSON(phone(1)), idemHeader, "k-0123456789abcdef")
	}()
	<-g.entered
	w, m := e.from(ipA, "/send", sendJSON(phone(1)), idemHeader, "k-0123456789abcdef")
	wantCode(t, "duplicate in flight", w, m, http.StatusConflict, CodeIdempotencyInProgress)
	if ra := w.Header().Get("Retry-After"); ra != "1" {
		t.Fatalf("Retry-After %q, want 1", ra)
	}
	w, m = e.from(ipA, "/send", `{"PhoneNumber":"`+phone(1)+`","OutId":"other"}`, idemHeader, "k-0123456789abcdef")
	wantCode(t, "other parameters in flight", w, m, http.StatusUnprocessableEntity, CodeIdempotencyKeyReused)
	close(g.release)
	<-done
	if n := g.n.Load(); n != 1 {
		t.Fatalf("%d upstream calls, want 1", n)
	}
	if first.Code != http.StatusOK {
		t.Fatalf("first: %d %s", first.Code, first.Body)
	}
	w, _ = e.from(ipA, "/send", sendJSON(phone(1)), idemHeader, "k-0123456789abcdef")
	wantReplay(t, "after the first finished", first, w)
}

// TestIdempotencyInProgressEventRaised: a duplicate event while the first
// is in flight is a function error, so the platform retries it later.
func TestIdempotencyInProgressEventRaised(t *testing.T) {
	g := newGate(t)
	e := newEnv(t, func(c *Config, o *Options) {
		setLimits(c)
		o.HTTPClient = &http.Client{Transport: g}
	})
	ev := []byte(`{"Action":"SendSmsVerifyCode","IdempotencyKey":"k","PhoneNumber":"` + phone(1) + `"}`)
	done := make(chan error, 1)
	go func() {
		_, err := e.svc.Invoke(context.Background(), ev)
		done <- err
	}()
	<-g.entered
	_, err := e.svc.Invoke(context.Background(), ev)
	var ae *apiError
	if !errors.As(err, &ae) || ae.Code != CodeIdempotencyInProgress {
		t.Fatalf("duplicate event in flight: %v, want a raised %s", err, CodeIdempotencyInProgress)
	}
	if got := ErrorType(err); got != ErrorTypeIdempotencyInProgress {
		t.Fatalf("error type %q, want %s", got, ErrorTypeIdempotencyInProgress)
	}
	close(g.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := g.n.Load(); n != 1 {
		t.Fatalf("%d upstream calls, want 1", n)
	}
}

// assertOneUpstreamCall fires 200 concurrent sends with one key over svcs
// and requires exactly one upstream call; every answer is that call's
// (first or replayed) or 409.
func assertOneUpstreamCall(t *testing.T, e *env, svcs []*Service) {
	t.Helper()
	const total = 200
	e.fake.SetLatency(20 * time.Millisecond) // keep the first in flight a while
	results := make([]*httptest.ResponseRecorder, total)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range total {
		wg.Go(func() {
			<-start
			results[i], _ = call(svcs[i%len(svcs)], ipA, "/send", sendJSON(phone(1)), idemHeader, "hot-0123456789abcdef")
		})
	}
	close(start)
	wg.Wait()
	var okBody string
	fresh, replays, busy := 0, 0, 0
	for i, w := range results {
		switch {
		case w.Code == http.StatusConflict && w.Header().Get("Retry-After") == "1":
			busy++
		case w.Code == http.StatusOK:
			if okBody != "" && w.Body.String() != okBody {
				t.Fatalf("send %d answered %s, another %s", i, w.Body, okBody)
			}
			okBody = w.Body.String()
			if w.Header().Get(HeaderIdempotentReplayed) == "true" {
				replays++
			} else {
				fresh++
			}
		default:
			t.Fatalf("send %d: %d %s", i, w.Code, w.Body)
		}
	}
	if fresh != 1 {
		t.Errorf("%d fresh answers (%d replays, %d busy), want 1", fresh, replays, busy)
	}
	if got := e.fake.Requests(); got != 1 {
		t.Errorf("the fake saw %d requests, want exactly 1", got)
	}
}

func TestIdempotencyConcurrent(t *testing.T) {
	t.Run("memory", func(t *testing.T) {
		e := newEnv(t, limits(nil))
		assertOneUpstreamCall(t, e, []*Service{e.svc})
	})
	t.Run("redis", func(t *testing.T) {
		store := withRedis(t)
		e := newEnv(t, func(c *Config, o *Options) { setLimits(c); store(c, o) })
		assertOneUpstreamCall(t, e, []*Service{e.svc})
	})
	t.Run("two instances on one redis", func(t *testing.T) {
		url := redisURL(t)
		prefix := redisPrefix(t, url)
		shared := func(c *Config, o *Options) { setLimits(c); o.Store = redisStore(t, url, prefix) }
		e := newEnv(t, shared)
		assertOneUpstreamCall(t, e, []*Service{e.svc, e.instance(shared)})
		// The Redis keys hold neither the number nor the caller's key.
		keys := redisKeys(t, url, prefix)
		if len(keys) == 0 {
			t.Fatal("no keys under the prefix")
		}
		for _, k := range keys {
			if strings.Contains(k, phone(1)) || strings.Contains(k, "hot") {
				t.Errorf("Redis key %q holds a number or an idempotency key", k)
			}
		}
	})
}

// redisKeys lists the keys under prefix.
func redisKeys(t *testing.T, url, prefix string) []string {
	t.Helper()
	c, err := redistest.Conn(url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	keys, err := redistest.Keys(c, prefix+"*")
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

// spyStore records the lease and ttl the service asks the store for.
type spyStore struct {
	limit.Store
	mu         sync.Mutex
	lease, ttl time.Duration
}

func (s *spyStore) Claim(ctx context.Context, key, fp string, lease time.Duration) (limit.Claim, error) {
	s.mu.Lock()
	s.lease = lease
	s.mu.Unlock()
	return s.Store.Claim(ctx, key, fp, lease)
}

func (s *spyStore) Complete(ctx context.Context, key, token string, status int, body []byte, ttl time.Duration) error {
	s.mu.Lock()
	s.ttl = ttl
	s.mu.Unlock()
	return s.Store.Complete(ctx, key, token, status, body, ttl)
}

// TestIdempotencyTTLAndLease: answers are kept for IDEMPOTENCY_TTL, and an
// in-flight record's lease is DYPNS_TIMEOUT plus the margin.
func TestIdempotencyTTLAndLease(t *testing.T) {
	spy := &spyStore{Store: limit.NewMemory()}
	e := newEnv(t, func(c *Config, o *Options) {
		setLimits(c)
		c.IdempotencyTTL, c.Timeout = 2*time.Hour, 7*time.Second
		o.Store = spy
	})
	for _, tc := range []struct {
		name string
		hdr  []string
		path string
		want time.Duration
	}{
		{"trusted", bearer, "/send", 2 * time.Hour},
		// A public caller's records live as long as the longest of the
		// action's per-number and per-address windows (setLimits: 1h for
		// sends, 15m for checks).
		{"public send", nil, "/send", time.Hour},
		{"public check", nil, "/check", 15 * time.Minute},
	} {
		body := sendJSON(phone(len(tc.name)))
		if tc.path == "/check" {
			body = checkJSON(phone(1), "1234")
		}
		w, m := e.from(ipA, tc.path, body, append(tc.hdr, idemHeader, tc.name+"-0123456789abcdef")...)
		if w.Code != http.StatusOK {
			t.Fatalf("%s: %d %v", tc.name, w.Code, m)
		}
		spy.mu.Lock()
		ttl, lease := spy.ttl, spy.lease
		spy.mu.Unlock()
		if ttl != tc.want || lease != 7*time.Second+idemLeaseMargin {
			t.Fatalf("%s: ttl %v, lease %v; want %v and %v", tc.name, ttl, lease, tc.want, 7*time.Second+idemLeaseMargin)
		}
	}
}

// leaveAfterAnswer is a transport whose upstream call completes, after
// which the caller goes away (leave cancels the request's context) before
// the service has stored the answer.
type leaveAfterAnswer struct {
	base  http.RoundTripper
	leave context.CancelFunc
}

func (l leaveAfterAnswer) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := l.base.RoundTrip(r.WithContext(context.WithoutCancel(r.Context())))
	l.leave()
	return resp, err
}

// TestIdempotencyRecordedWhenCallerLeaves: a send that reached Alibaba is
// recorded under its key even when its caller went away meanwhile, so a
// retry gets the answer instead of waiting out the lease and sending a
// second SMS.
func TestIdempotencyRecordedWhenCallerLeaves(t *testing.T) {
	ctx, leave := context.WithCancel(context.Background())
	defer leave()
	tr := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(tr.CloseIdleConnections)
	e := newEnv(t, func(c *Config, o *Options) {
		setLimits(c)
		o.HTTPClient = &http.Client{Transport: leaveAfterAnswer{base: tr, leave: leave}}
	})
	r := newRequest("POST", "/send", sendJSON(phone(1)), idemHeader, "k-0123456789abcdef")
	first := httptest.NewRecorder()
	e.svc.ServeHTTP(first, r.WithContext(ctx))
	if first.Code != http.StatusOK || ctx.Err() == nil {
		t.Fatalf("first: %d %s (caller gone: %v)", first.Code, first.Body, ctx.Err())
	}
	w, _ := e.from(ipA, "/send", sendJSON(phone(1)), idemHeader, "k-0123456789abcdef")
	wantReplay(t, "retry after the caller left", first, w)
	if n := e.fake.Requests(); n != 1 {
		t.Fatalf("%d upstream calls, want 1", n)
	}
}
