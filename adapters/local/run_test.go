package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"smsverify/core/dypnstest"
	"smsverify/function"
	"smsverify/internal/envdefaults"
	"smsverify/internal/syncbuf"
	"smsverify/internal/testclock"
)

// start runs the adapter on a free loopback port until the test ends.
func start(t *testing.T) (base string, out, logs *syncbuf.Buffer) {
	t.Helper()
	t.Setenv("HOST", "127.0.0.1")
	t.Setenv("PORT", "0")
	out, logs = &syncbuf.Buffer{}, &syncbuf.Buffer{}
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- run(ctx, out, logs, hooks{ready: func(a string) { addrc <- a }}) }()
	select {
	case a := <-addrc:
		base = "http://" + a
	case err := <-done:
		t.Fatalf("run: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("shutdown: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Error("no graceful shutdown")
		}
	})
	return base, out, logs
}

func post(t *testing.T, url, body string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, m
}

// clearCredentials unsets every variable function.Config reads, the
// credentials among them, so that a test starts in emulator mode with the
// defaults whatever the developer's shell sets.
func clearCredentials(t *testing.T) { envdefaults.Unset(t, function.Config{}) }

// setCredentials sets the fake's test AccessKey, so the adapter talks to
// endpoint (when not empty) instead of running in emulator mode.
func setCredentials(t *testing.T, endpoint string) {
	t.Setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", dypnstest.TestCredentials().AccessKeyID)
	t.Setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", dypnstest.TestCredentials().AccessKeySecret)
	if endpoint != "" {
		t.Setenv("DYPNS_ENDPOINT", endpoint)
	}
}

func TestEmulatorMode(t *testing.T) {
	clearCredentials(t)
	base, out, logs := start(t)
	if !strings.Contains(out.String(), "EMULATOR MODE") || !strings.Contains(out.String(), "no SMS is sent") {
		t.Errorf("banner: %q", out.String())
	}
	if st, m := post(t, base+"/send", `{"PhoneNumber":"13800000000"}`); st != 200 || m["Code"] != "OK" {
		t.Fatalf("send: %d %v", st, m)
	}
	resp, err := http.Get(base + "/emulator/codes?PhoneNumber=13800000000")
	if err != nil {
		t.Fatal(err)
	}
	var list struct {
		Codes []struct{ VerifyCode string }
	}
	json.NewDecoder(resp.Body).Decode(&list)
	resp.Body.Close()
	if len(list.Codes) != 1 || len(list.Codes[0].VerifyCode) != 4 {
		t.Fatalf("codes: %+v", list)
	}
	code := list.Codes[0].VerifyCode
	if !strings.Contains(out.String(), "code "+code) || strings.Contains(out.String(), "13800000000") {
		t.Errorf("console: %q", out.String())
	}
	if st, m := post(t, base+"/check", `{"PhoneNumber":"13800000000","VerifyCode":"`+code+`"}`); st != 200 || m["Model"].(map[string]any)["VerifyResult"] != "PASS" {
		t.Errorf("check: %d %v", st, m)
	}
	if r, err := http.Get(base + "/healthz"); err != nil || r.StatusCode != 200 {
		t.Errorf("healthz: %v %v", r, err)
	}
	if strings.Contains(logs.String(), code) || strings.Contains(logs.String(), "13800000000") || !strings.Contains(logs.String(), `"msg":"access"`) {
		t.Errorf("logs: %s", logs.String())
	}
}

func TestWithCredentials(t *testing.T) {
	clearCredentials(t)
	fake := dypnstest.NewServer(dypnstest.Options{})
	defer fake.Close()
	setCredentials(t, fake.URL)
	base, out, _ := start(t)
	if strings.Contains(out.String(), "EMULATOR") {
		t.Errorf("emulator banner with credentials: %q", out.String())
	}
	if st, _ := post(t, base+"/send", `{"PhoneNumber":"13800000000"}`); st != 200 || fake.SendCount() != 1 {
		t.Fatalf("send: %d, upstream sends %d", st, fake.SendCount())
	}
	if r, _ := http.Get(base + "/emulator/codes?PhoneNumber=13800000000"); r.StatusCode != 404 {
		t.Errorf("emulator endpoint with credentials: %d", r.StatusCode)
	}
}

func TestEmulatorTestCaptcha(t *testing.T) {
	clearCredentials(t)
	t.Setenv("CAPTCHA_PROVIDER", "test")
	base, out, _ := start(t)
	if !strings.Contains(out.String(), "CAPTCHA_PROVIDER=test") {
		t.Errorf("banner does not mention the test captcha: %q", out.String())
	}
	if st, m := post(t, base+"/send", `{"PhoneNumber":"13800000000"}`); st != 400 || m["Code"] != "CAPTCHA_REQUIRED" {
		t.Fatalf("send without captcha: %d %v", st, m)
	}
	if st, m := post(t, base+"/send", `{"PhoneNumber":"13800000000","CaptchaVerifyParam":"pass-demo"}`); st != 200 {
		t.Fatalf("send with a passing test token: %d %v", st, m)
	}
}

func TestEmulatorAliyunCaptcha(t *testing.T) {
	clearCredentials(t)
	t.Setenv("CAPTCHA_PROVIDER", "aliyun")
	t.Setenv("CAPTCHA_SCENE_ID", "scene-demo")
	base, out, _ := start(t)
	if !strings.Contains(out.String(), "Captcha 2.0 is emulated") {
		t.Errorf("banner: %q", out.String())
	}
	if st, m := post(t, base+"/send", `{"PhoneNumber":"13800000000","CaptchaVerifyParam":"bot"}`); st != 403 || !strings.Contains(m["Message"].(string), "F001") {
		t.Fatalf("refused token: %d %v", st, m)
	}
	if st, m := post(t, base+"/send", `{"PhoneNumber":"13800000000","CaptchaVerifyParam":"pass-demo"}`); st != 200 {
		t.Fatalf("passing token: %d %v", st, m)
	}
}

func TestTestCaptchaNeedsEmulator(t *testing.T) {
	clearCredentials(t)
	setCredentials(t, "")
	t.Setenv("CAPTCHA_PROVIDER", "test")
	err := run(context.Background(), &syncbuf.Buffer{}, &syncbuf.Buffer{}, hooks{})
	if err == nil || !strings.Contains(err.Error(), "CAPTCHA_PROVIDER=test") {
		t.Fatalf("run with credentials and the test captcha: %v", err)
	}
}

func TestBadConfig(t *testing.T) {
	clearCredentials(t)
	t.Setenv("SMS_CODE_LENGTH", "12")
	err := run(context.Background(), &syncbuf.Buffer{}, &syncbuf.Buffer{}, hooks{})
	if err == nil || !strings.Contains(err.Error(), "SMS_CODE_LENGTH") {
		t.Errorf("err = %v", err)
	}
}

// TestOversizedHeader: a header block over maxHeaderBytes is answered 431
// and the connection closed, instead of being read (up to net/http's 1 MiB
// default) and held.
func TestOversizedHeader(t *testing.T) {
	clearCredentials(t)
	base, _, _ := start(t)
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// A bound, not a timing assertion: without the limit the server would
	// wait for the rest of the request.
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	big := strings.Repeat("a", 2*maxHeaderBytes)
	go func() {
		// The server may hang up before it has read all of it.
		_, _ = io.WriteString(conn, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: "+big+"\r\n\r\n")
	}()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("status = %d, want 431", resp.StatusCode)
	}

	// A header block just under the limit is served.
	req, _ := http.NewRequest(http.MethodGet, base+"/healthz", nil)
	req.Header.Set("X-Big", big[:maxHeaderBytes-1024])
	ok, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	ok.Body.Close()
	if ok.StatusCode != http.StatusOK {
		t.Errorf("header under the limit: status %d, want 200", ok.StatusCode)
	}
}

// gatedUpstream is a dypnstest fake whose answers wait for release: a slow
// upstream. arrived gets one value per call that reached it.
type gatedUpstream struct {
	fake    *dypnstest.Fake
	arrived chan struct{}
	release chan struct{}
}

func (g *gatedUpstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost { // the start's warm-up (function.Service.Warm): not gated
		g.fake.ServeHTTP(w, r)
		return
	}
	g.arrived <- struct{}{}
	select {
	case <-g.release:
	case <-r.Context().Done():
		return
	}
	g.fake.ServeHTTP(w, r)
}

// shutdownEnv is the adapter with DYPNS_TIMEOUT=30s against a gated
// upstream, its shutdown grace timer on a test clock, and one POST /send
// in flight upstream.
type shutdownEnv struct {
	up      *gatedUpstream
	clock   *testclock.Clock
	stop    context.CancelFunc // SIGTERM
	release func()             // lets the upstream answer
	armed   chan time.Duration // the grace the shutdown waits for
	done    chan error         // what run returned
	answer  chan error         // the client's answer: nil for a 200
	logs    *syncbuf.Buffer
}

func startShutdownEnv(t *testing.T) *shutdownEnv {
	t.Helper()
	clearCredentials(t)
	e := &shutdownEnv{
		up:    &gatedUpstream{fake: dypnstest.NewHandler(dypnstest.Options{}), arrived: make(chan struct{}, 1), release: make(chan struct{})},
		clock: testclock.New(time.Now()),
		armed: make(chan time.Duration, 1), done: make(chan error, 1), answer: make(chan error, 1),
		logs: &syncbuf.Buffer{},
	}
	upstream := httptest.NewServer(e.up)
	t.Cleanup(upstream.Close)
	var once sync.Once
	e.release = func() { once.Do(func() { close(e.up.release) }) }
	t.Cleanup(e.release)
	setCredentials(t, upstream.URL)
	t.Setenv("DYPNS_TIMEOUT", "30s")
	t.Setenv("HOST", "127.0.0.1")
	t.Setenv("PORT", "0")

	ctx, stop := context.WithCancel(context.Background())
	e.stop = stop
	t.Cleanup(stop)
	addrc := make(chan string, 1)
	go func() {
		e.done <- run(ctx, &syncbuf.Buffer{}, e.logs, hooks{
			ready: func(a string) { addrc <- a },
			after: func(d time.Duration) <-chan time.Time { e.armed <- d; return e.clock.After(d) },
		})
	}()
	var base string
	select {
	case base = <-addrc:
	case err := <-e.done:
		t.Fatalf("run: %v", err)
	}
	go func() {
		resp, err := http.Post("http://"+base+"/send", "application/json", strings.NewReader(`{"PhoneNumber":"13800000000"}`))
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				err = fmt.Errorf("status %d", resp.StatusCode)
			}
		}
		e.answer <- err
	}()
	<-e.up.arrived // the send is in flight upstream
	return e
}

// wait receives from c, failing the test after a generous bound (a guard
// against a hang, not a timing assertion).
func wait[T any](t *testing.T, c <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-c:
		return v
	case <-time.After(30 * time.Second):
		t.Fatalf("no %s", what)
		panic("unreachable")
	}
}

// TestShutdownAnswersRequestInFlight: a SIGTERM while a send waits on a
// slow upstream still gets the send its answer, even when the upstream
// takes all of DYPNS_TIMEOUT.
func TestShutdownAnswersRequestInFlight(t *testing.T) {
	e := startShutdownEnv(t)
	e.stop()
	grace := wait(t, e.armed, "shutdown")
	// The upstream call takes as long as DYPNS_TIMEOUT allows: the
	// shutdown must still be waiting.
	e.clock.Add(30 * time.Second)
	if grace <= 30*time.Second {
		t.Errorf("shutdown grace %s does not cover DYPNS_TIMEOUT (30s)", grace)
	}
	e.release()
	if err := wait(t, e.answer, "answer"); err != nil {
		t.Errorf("request in flight at shutdown: %v, want its 200", err)
	}
	if err := wait(t, e.done, "return from run"); err != nil {
		t.Errorf("run: %v", err)
	}
	if e.up.fake.SendCount() != 1 {
		t.Errorf("upstream sends = %d, want 1", e.up.fake.SendCount())
	}
}

// TestShutdownGraceExpires: should a request outlast the grace all the
// same, it is cut off with a log line and run reports it.
func TestShutdownGraceExpires(t *testing.T) {
	e := startShutdownEnv(t)
	e.stop()
	e.clock.Add(wait(t, e.armed, "shutdown"))
	if err := wait(t, e.done, "return from run"); err == nil || !strings.Contains(err.Error(), "in flight") {
		t.Errorf("run = %v, want an error about requests in flight", err)
	}
	if err := wait(t, e.answer, "end of the request"); err == nil {
		t.Error("the request cut off by the shutdown got an answer")
	}
	if !strings.Contains(e.logs.String(), "shutdown grace expired") {
		t.Errorf("no log line for the cut-off request:\n%s", e.logs.String())
	}
}

// TestUncleanPathGetsJSON404: the local server answers //send, /./send and
// /x/../send with the service's JSON 404 (X-Request-Id, no-store), never
// the mux's bare 307 redirect.
func TestUncleanPathGetsJSON404(t *testing.T) {
	clearCredentials(t)
	base, _, logs := start(t)
	for _, p := range []string{"//send", "/./send", "/x/../send"} {
		conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.WriteString(conn, "POST "+p+" HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}")
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&m)
		resp.Body.Close()
		conn.Close()
		if resp.StatusCode != http.StatusNotFound || m["Code"] != "NOT_FOUND" ||
			resp.Header.Get("X-Request-Id") == "" || resp.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("POST %s: %d %v %v, want the JSON 404", p, resp.StatusCode, m, resp.Header)
		}
	}
	if n := strings.Count(logs.String(), "(unknown path)"); n != 3 {
		t.Errorf("%d access-log lines for the unclean paths, want 3:\n%s", n, logs.String())
	}
}

// TestRunWarmsUpstream: as it starts, the server opens its connection to
// Dypnsapi (function.Service.Warm) before any request asks for it.
func TestRunWarmsUpstream(t *testing.T) {
	clearCredentials(t)
	heads := make(chan string, 1)
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case heads <- r.Method + " " + r.URL.Path:
		default:
		}
	}))
	t.Cleanup(upstream.Close)
	setCredentials(t, upstream.URL)
	t.Setenv("HOST", "127.0.0.1")
	t.Setenv("PORT", "0")
	ctx, stop := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- run(ctx, &syncbuf.Buffer{}, &syncbuf.Buffer{}, hooks{}) }()
	if got := wait(t, heads, "warm-up request"); got != "HEAD /" {
		t.Errorf("first upstream request: %s, want HEAD /", got)
	}
	stop()
	if err := wait(t, done, "return from run"); err != nil {
		t.Errorf("run: %v", err)
	}
}

// TestEmulatorReceipts: with no configuration the emulator pushes a
// receipt for each send to the service's own /reports, DELIVERED or, for
// EMULATOR_FAIL_NUMBERS, FAILED; /emulator/attempts shows them.
func TestEmulatorReceipts(t *testing.T) {
	clearCredentials(t)
	t.Setenv("HOST", "127.0.0.1")
	t.Setenv("PORT", "0")
	t.Setenv("REPORT_TOKEN", "")
	t.Setenv("EMULATOR_FAIL_NUMBERS", "13900000000")
	t.Setenv("EMULATOR_REPORT_DELAY", "3s")
	var (
		mu      sync.Mutex
		pending []func()
		delays  []time.Duration
	)
	out, logs := &syncbuf.Buffer{}, &syncbuf.Buffer{}
	ctx, cancel := context.WithCancel(context.Background())
	addrc, done := make(chan string, 1), make(chan error, 1)
	go func() {
		done <- run(ctx, out, logs, hooks{ready: func(a string) { addrc <- a }, reportAfter: func(d time.Duration, f func()) {
			mu.Lock()
			defer mu.Unlock()
			pending, delays = append(pending, f), append(delays, d)
		}})
	}()
	var base string
	select {
	case a := <-addrc:
		base = "http://" + a
	case err := <-done:
		t.Fatalf("run: %v", err)
	}
	defer func() { cancel(); <-done }()

	for _, phone := range []string{"13800000000", "13900000000"} {
		if st, m := post(t, base+"/send", `{"PhoneNumber":"`+phone+`"}`); st != 200 {
			t.Fatalf("send: %d %v", st, m)
		}
	}
	delivery := func(phone string) any {
		t.Helper()
		resp, err := http.Get(base + "/emulator/attempts?PhoneNumber=" + phone)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m struct{ Attempts []map[string]any }
		if err := json.NewDecoder(resp.Body).Decode(&m); err != nil || resp.StatusCode != 200 || len(m.Attempts) != 1 {
			t.Fatalf("attempts: %d %+v %v", resp.StatusCode, m, err)
		}
		return m.Attempts[0]["Delivery"]
	}
	if d := delivery("13800000000"); d != "PENDING" {
		t.Fatalf("before the receipt: %v", d)
	}
	mu.Lock()
	run, ds := pending, delays
	mu.Unlock()
	if len(run) != 2 || ds[0] != 3*time.Second {
		t.Fatalf("%d receipts scheduled after %v, want 2 after 3s", len(run), ds)
	}
	for _, f := range run {
		f() // the push is synchronous: answered when f returns
	}
	if d := delivery("13800000000"); d != "DELIVERED" {
		t.Errorf("13800000000: %v, want DELIVERED", d)
	}
	if d := delivery("13900000000"); d != "FAILED" {
		t.Errorf("13900000000 (EMULATOR_FAIL_NUMBERS): %v, want FAILED", d)
	}
	if resp, err := http.Get(base + "/emulator/attempts?PhoneNumber=1"); err != nil || resp.StatusCode != 400 {
		t.Errorf("attempts of a bad number: %v %v", resp, err)
	}
	if !strings.Contains(out.String(), "Delivery receipts reach POST /reports 3s after each send") {
		t.Errorf("banner: %s", out)
	}
	if strings.Contains(logs.String(), "push failed") || strings.Contains(logs.String(), "13900000000") {
		t.Errorf("logs: %s", logs)
	}
}
