package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aliyun/fc-runtime-go-sdk/events"

	"smsverify/core"
	"smsverify/core/dypnstest"
	"smsverify/function"
	"smsverify/internal/syncbuf"
)

// invocation is one event the fake runtime API hands out.
type invocation struct {
	id      string
	payload []byte
	creds   core.Credentials
}

// result is what the function posted back for an invocation.
type result struct {
	id    string
	kind  string // "response" or "error"
	body  []byte
	ctype string
}

// runtimeAPI is a fake Function Compute runtime API (the protocol of
// fc-runtime-go-sdk): GET .../invocation/next blocks until an invocation is
// queued; POST .../{id}/response and .../{id}/error are recorded.
type runtimeAPI struct {
	queue   chan invocation
	results chan result
	done    chan struct{} // closed to release blocked GETs
	timeout time.Duration // the function timeout announced
	now     func() time.Time
}

const runtimePrefix = "/2020-11-11/runtime/invocation/"

func (a *runtimeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.Path, runtimePrefix)
	switch {
	case ok && r.Method == http.MethodGet && rest == "next":
		select {
		case inv := <-a.queue:
			h := w.Header()
			h.Set("x-fc-request-id", inv.id)
			h.Set("x-fc-function-deadline", strconv.FormatInt(a.now().Add(a.timeout).UnixMilli(), 10))
			h.Set("x-fc-function-timeout", strconv.Itoa(int(a.timeout/time.Second)))
			h.Set("x-fc-access-key-id", inv.creds.AccessKeyID)
			h.Set("x-fc-access-key-secret", inv.creds.AccessKeySecret)
			h.Set("x-fc-security-token", inv.creds.SecurityToken)
			h.Set("x-fc-function-name", "smsverify")
			h.Set("x-fc-function-handler", "main")
			h.Set("x-fc-function-memory", "128")
			h.Set("x-fc-region", "cn-hangzhou")
			h.Set("x-fc-account-id", "1234567890123456")
			_, _ = w.Write(inv.payload)
		case <-r.Context().Done():
		case <-a.done:
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	case ok && r.Method == http.MethodPost:
		id, kind, ok := strings.Cut(rest, "/")
		if !ok || (kind != "response" && kind != "error") {
			http.NotFound(w, r)
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		select {
		case a.results <- result{id: id, kind: kind, body: body, ctype: r.Header.Get("Content-Type")}:
		case <-a.done:
		}
	default:
		http.NotFound(w, r)
	}
}

// TestRuntimeAPI builds the function and drives it through a fake FC runtime
// API, with no AccessKey in its environment: every upstream call must be
// signed with the STS credentials of the invocation.
func TestRuntimeAPI(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()

	bin := filepath.Join(t.TempDir(), "main")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, ".")
	build.Env = append(build.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	fake := dypnstest.NewServer(dypnstest.Options{Credentials: []core.Credentials{stsCreds}})
	t.Cleanup(fake.Close)
	watched, warmed := dypnstest.WarmUp(fake)
	upstream := httptest.NewServer(watched)
	t.Cleanup(upstream.Close)

	api := &runtimeAPI{
		queue: make(chan invocation, 4), results: make(chan result, 4), done: make(chan struct{}),
		timeout: 30 * time.Second, now: time.Now,
	}
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)                  // last: no GET is blocked any more
	t.Cleanup(func() { close(api.done) }) // then release anything still waiting

	child := exec.CommandContext(ctx, bin)
	child.Env = []string{
		"FC_RUNTIME_API=" + strings.TrimPrefix(srv.URL, "http://"),
		"DYPNS_ENDPOINT=" + upstream.URL,
		"LIMIT_STORE=memory",
	}
	out := &syncbuf.Buffer{}
	child.Stdout, child.Stderr = out, out
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- child.Wait() }()
	t.Cleanup(func() { // first: the SDK retries a failing next without pause
		_ = child.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("function output:\n%s", out.String())
		}
	})

	call := func(id string, payload []byte) result {
		t.Helper()
		api.queue <- invocation{id: id, payload: payload, creds: stsCreds}
		select {
		case res := <-api.results:
			if res.id != id {
				t.Fatalf("result for %q, want %q", res.id, id)
			}
			if res.ctype != "application/json" {
				t.Errorf("%s: Content-Type %q", id, res.ctype)
			}
			return res
		case err := <-exited:
			t.Fatalf("%s: the function exited: %v\n%s", id, err, out.String())
		case <-ctx.Done():
			t.Fatalf("%s: no result: %v\n%s", id, ctx.Err(), out.String())
		}
		panic("unreachable")
	}

	// 1: an HTTP-trigger event, POST /send.
	res := call("req-1", readEvent(t, sendEvent, nil))
	if res.kind != "response" {
		t.Fatalf("req-1: %s %s", res.kind, res.body)
	}
	var hres events.HTTPTriggerResponse
	if err := json.Unmarshal(res.body, &hres); err != nil {
		t.Fatalf("req-1: %v: %s", err, res.body)
	}
	if hres.StatusCode != 200 || hres.Headers["X-Request-Id"] != "req-1" {
		t.Fatalf("req-1: %d %v %s", hres.StatusCode, hres.Headers, hres.Body)
	}
	if n := fake.SendCount(); n != 1 {
		t.Fatalf("fake SendCount = %d, want 1", n)
	}
	codes := fake.Codes(phone)
	if len(codes) != 1 {
		t.Fatalf("fake sent %d codes", len(codes))
	}

	// 2: a plain event, CheckSmsVerifyCode with that code.
	res = call("req-2", fmt.Appendf(nil, `{"Action":"CheckSmsVerifyCode","PhoneNumber":%q,"VerifyCode":%q}`, phone, codes[0].VerifyCode))
	var check function.CheckAnswer
	if err := json.Unmarshal(res.body, &check); res.kind != "response" || err != nil || check.Model.VerifyResult != "PASS" {
		t.Fatalf("req-2: %s %s (%v), want PASS", res.kind, res.body, err)
	}

	// 3: a payload that is not JSON is answered, not raised.
	res = call("req-3", []byte("not json"))
	var bad function.ErrorAnswer
	if err := json.Unmarshal(res.body, &bad); res.kind != "response" || err != nil || bad.Code != function.CodeInvalidJSON {
		t.Fatalf("req-3: %s %s (%v), want an INVALID_JSON answer", res.kind, res.body, err)
	}

	// 4: a transient upstream failure of an event is a function error.
	fake.FailNext(1, dypnstest.FaultUnavailable)
	res = call("req-4", []byte(`{"Action":"SendSmsVerifyCode","PhoneNumber":"13900000000"}`))
	var fnErr struct{ ErrorMessage, ErrorType string }
	if err := json.Unmarshal(res.body, &fnErr); res.kind != "error" || err != nil || fnErr.ErrorMessage == "" ||
		fnErr.ErrorType != function.ErrorTypeUpstreamUnavailable {
		t.Fatalf("req-4: %s %s (%v), want a function error of type %s", res.kind, res.body, err, function.ErrorTypeUpstreamUnavailable)
	}
	if strings.Contains(string(res.body), "13900000000") {
		t.Errorf("req-4: the error names the phone number: %s", res.body)
	}

	if strings.Contains(out.String(), phone) || strings.Contains(out.String(), `":"`+codes[0].VerifyCode+`"`) {
		t.Errorf("the function's output names the phone number or the code:\n%s", out.String())
	}

	// 5: the start opened the Dypnsapi connection (function.Service.Warm),
	// unsigned: it needs no invocation's credentials.
	select {
	case got := <-warmed:
		if got != "HEAD /" {
			t.Errorf("warm-up request: %s, want HEAD /", got)
		}
	case <-time.After(30 * time.Second): // a guard against a hang, not a timing assertion
		t.Error("the function sent no warm-up request")
	}
}
