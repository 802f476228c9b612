package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/aliyun/fc-runtime-go-sdk/events"
	"github.com/aliyun/fc-runtime-go-sdk/fc/messages"

	"smsverify/adapters/internal/platform"
	"smsverify/core"
	"smsverify/core/dypnstest"
	"smsverify/function"
)

func setHeaders(kv ...string) func(map[string]any) {
	return func(m map[string]any) {
		h := obj(m, "headers")
		for i := 0; i+1 < len(kv); i += 2 {
			h[kv[i]] = kv[i+1]
		}
	}
}

func setField(k string, v any) func(map[string]any) {
	return func(m map[string]any) { m[k] = v }
}

func setMethodPath(method, path string) func(map[string]any) {
	return func(m map[string]any) {
		m["rawPath"] = path
		h := obj(obj(m, "requestContext"), "http")
		h["method"], h["path"] = method, path
	}
}

func chain(edits ...func(map[string]any)) func(map[string]any) {
	return func(m map[string]any) {
		for _, e := range edits {
			e(m)
		}
	}
}

func TestHandleHTTP(t *testing.T) {
	const (
		origin = "https://app.example"
		apiKey = "test-api-key-0123456789"
	)
	noFCCreds := core.Credentials{}
	tests := []struct {
		name   string
		event  []byte
		creds  *core.Credentials // nil: stsCreds; zero: an FC context without credentials
		noFC   bool              // a ctx with no FC context at all
		cfg    func(*function.Config)
		status int
		code   string // the body's Code, "" for none
		check  func(t *testing.T, e *env, res events.HTTPTriggerResponse, body map[string]any)
	}{
		{
			name: "send fixture signs with the STS credentials", event: readEvent(t, sendEvent, nil),
			status: 200, code: "OK",
			check: func(t *testing.T, e *env, res events.HTTPTriggerResponse, body map[string]any) {
				if n := e.fake.SendCount(); n != 1 {
					t.Errorf("fake SendCount = %d, want 1", n)
				}
				if got := len(e.fake.Codes(phone)); got != 1 {
					t.Errorf("fake sent %d codes, want 1", got)
				}
				if body["Success"] != true {
					t.Errorf("Success = %v", body["Success"])
				}
				if got := res.Headers["X-Request-Id"]; got != fcReqID {
					t.Errorf("X-Request-Id = %q, want the FC request id", got)
				}
				if got := res.Headers["Content-Type"]; !strings.HasPrefix(got, "application/json") {
					t.Errorf("Content-Type = %q", got)
				}
			},
		},
		{
			name: "base64 body is decoded", event: readEvent(t, checkB64, nil),
			status: 200, code: "OK",
			check: func(t *testing.T, e *env, _ events.HTTPTriggerResponse, body map[string]any) {
				if got := obj(body, "Model")["VerifyResult"]; got != "UNKNOWN" {
					t.Errorf("VerifyResult = %v, want UNKNOWN (no code was sent)", got)
				}
				if n := e.fake.CheckCount(); n != 1 {
					t.Errorf("fake CheckCount = %d, want 1", n)
				}
			},
		},
		{
			name: "no FC context: 500 MISSING_CREDENTIALS", event: readEvent(t, sendEvent, nil), noFC: true,
			status: 500, code: function.CodeMissingCredentials,
			check: func(t *testing.T, e *env, _ events.HTTPTriggerResponse, _ map[string]any) {
				if n := e.fake.Requests(); n != 0 {
					t.Errorf("fake saw %d requests, want 0", n)
				}
			},
		},
		{
			name: "FC context without credentials: 500 MISSING_CREDENTIALS", event: readEvent(t, sendEvent, nil), creds: &noFCCreds,
			status: 500, code: function.CodeMissingCredentials,
		},
		{
			name: "other credentials are refused upstream", event: readEvent(t, sendEvent, nil),
			creds:  &core.Credentials{AccessKeyID: "STS.other", AccessKeySecret: "x", SecurityToken: "y"},
			status: 0, // whatever the error table says; not 200
			check: func(t *testing.T, e *env, res events.HTTPTriggerResponse, body map[string]any) {
				if res.StatusCode == 200 || body["Success"] != false {
					t.Errorf("status %d body %v: the fake accepted credentials it does not know", res.StatusCode, body)
				}
				if n := e.fake.SendCount(); n != 0 {
					t.Errorf("fake SendCount = %d, want 0", n)
				}
			},
		},
		{
			name:   "minimal event: only method and rawPath",
			event:  []byte(`{"rawPath":"/healthz","requestContext":{"http":{"method":"GET"}}}`),
			status: 200,
			check: func(t *testing.T, _ *env, _ events.HTTPTriggerResponse, body map[string]any) {
				if body["status"] != "ok" {
					t.Errorf("body = %v", body)
				}
			},
		},
		{
			name: "every pointer field null",
			event: []byte(`{"version":"v1","rawPath":null,"body":null,"isBase64Encoded":null,"headers":null,"queryParameters":null,
				"requestContext":{"accountId":null,"domainName":null,"domainPrefix":null,"requestId":null,"time":null,"timeEpoch":null,
				"http":{"method":"GET","path":"/healthz","protocol":null,"sourceIp":null,"userAgent":null}}}`),
			status: 200,
		},
		{
			name: "rawPath missing: requestContext.http.path is used",
			event: readEvent(t, sendEvent, chain(setMethodPath("GET", "/healthz"), func(m map[string]any) {
				delete(m, "rawPath")
			})),
			status: 200,
		},
		{
			name: "rawPath is percent-decoded", event: readEvent(t, sendEvent, setField("rawPath", "/%73end")),
			status: 200, code: "OK",
		},
		{
			name: "HEAD has no body", event: readEvent(t, sendEvent, setMethodPath("HEAD", "/healthz")),
			status: 200,
			check: func(t *testing.T, _ *env, res events.HTTPTriggerResponse, _ map[string]any) {
				if res.Body != "" {
					t.Errorf("body = %q", res.Body)
				}
			},
		},
		{
			name: "unknown path", event: readEvent(t, sendEvent, setMethodPath("POST", "/nope")),
			status: 404, code: function.CodeNotFound,
		},
		{
			name: "OPTIONS preflight",
			event: readEvent(t, sendEvent, chain(setMethodPath("OPTIONS", "/send"), setField("body", ""),
				setHeaders("Origin", origin, "Access-Control-Request-Method", "POST"))),
			cfg:    func(c *function.Config) { c.CORSAllowedOrigins = []string{origin} },
			status: 204,
			check: func(t *testing.T, e *env, res events.HTTPTriggerResponse, _ map[string]any) {
				if got := res.Headers["Access-Control-Allow-Origin"]; got != origin {
					t.Errorf("Access-Control-Allow-Origin = %q", got)
				}
				if got, want := res.Headers["Vary"], "Origin, Access-Control-Request-Method, Access-Control-Request-Headers"; got != want {
					t.Errorf("Vary = %q, want %q", got, want)
				}
				if res.Body != "" {
					t.Errorf("body = %q", res.Body)
				}
				if n := e.fake.Requests(); n != 0 {
					t.Errorf("fake saw %d requests", n)
				}
			},
		},
		{
			// Split on the comma, the header would present the valid key.
			name: "Authorization with a comma is not split",
			event: readEvent(t, sendEvent, chain(setHeaders("Authorization", "Bearer "+apiKey+",k2"),
				setField("body", `{"PhoneNumber":"13800000000","ReturnVerifyCode":true}`))),
			cfg:    func(c *function.Config) { c.APIKeys = []string{apiKey} },
			status: 401, code: function.CodeUnauthorized,
		},
		{
			name: "trusted caller by API key",
			event: readEvent(t, sendEvent, chain(setHeaders("authorization", "Bearer "+apiKey),
				setField("body", `{"PhoneNumber":"13800000000","ReturnVerifyCode":true}`))),
			cfg:    func(c *function.Config) { c.APIKeys = []string{apiKey} },
			status: 200, code: "OK",
			check: func(t *testing.T, e *env, _ events.HTTPTriggerResponse, body map[string]any) {
				if got, want := obj(body, "Model")["VerifyCode"], e.fake.Codes(phone)[0].VerifyCode; got != want {
					t.Errorf("Model.VerifyCode = %v, want %v", got, want)
				}
			},
		},
		{
			name: "lower-case header keys",
			event: readEvent(t, sendEvent, func(m map[string]any) {
				m["headers"] = map[string]any{"content-type": "application/json", "user-agent": "x"}
			}),
			status: 200, code: "OK",
		},
		{
			name: "no Content-Type", event: readEvent(t, sendEvent, setField("headers", nil)),
			status: 415, code: function.CodeUnsupportedMedia,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, tt.cfg)
			ctx := fcCtx(t, stsCreds)
			switch {
			case tt.noFC:
				ctx = t.Context()
			case tt.creds != nil:
				ctx = fcCtx(t, *tt.creds)
			}
			res, body := e.httpCall(t, ctx, tt.event)
			if tt.status != 0 && res.StatusCode != tt.status {
				t.Errorf("status = %d, want %d; body %s", res.StatusCode, tt.status, res.Body)
			}
			if tt.code != "" && body["Code"] != tt.code {
				t.Errorf("Code = %v, want %s", body["Code"], tt.code)
			}
			if tt.check != nil {
				tt.check(t, e, res, body)
			}
		})
	}
}

func TestHandleHTTPSendThenCheck(t *testing.T) {
	e := newEnv(t, nil)
	ctx := fcCtx(t, stsCreds)
	if res, _ := e.httpCall(t, ctx, readEvent(t, sendEvent, nil)); res.StatusCode != 200 {
		t.Fatalf("send: %d %s", res.StatusCode, res.Body)
	}
	code := e.fake.Codes(phone)[0].VerifyCode
	body := base64.StdEncoding.EncodeToString([]byte(`{"PhoneNumber":"13800000000","VerifyCode":"` + code + `"}`))
	res, m := e.httpCall(t, ctx, readEvent(t, checkB64, setField("body", body)))
	if res.StatusCode != 200 || obj(m, "Model")["VerifyResult"] != "PASS" {
		t.Fatalf("check: %d %s, want 200 PASS", res.StatusCode, res.Body)
	}
}

func TestHandleHTTPMalformed(t *testing.T) {
	tests := []struct {
		name  string
		event []byte
	}{
		{"body not base64", readEvent(t, checkB64, setField("body", "not base64!"))},
		{"body is a number", readEvent(t, sendEvent, setField("body", 12))},
		{"headers are not strings", readEvent(t, sendEvent, setField("headers", map[string]any{"A": 1}))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil)
			out, err := e.h.handle(fcCtx(t, stsCreds), tt.event)
			if err == nil {
				t.Fatalf("handle = %v, want an error", out)
			}
			if strings.Contains(err.Error(), phone) {
				t.Errorf("error %q names the phone number", err)
			}
			var ie messages.InvokeResponse_Error
			if !errors.As(err, &ie) || ie.Type != platform.ErrorTypeInvalidEvent {
				t.Errorf("error %#v, want a function error of type %s", err, platform.ErrorTypeInvalidEvent)
			}
			if n := e.fake.Requests(); n != 0 {
				t.Errorf("fake saw %d requests", n)
			}
		})
	}
}

func TestAccessLog(t *testing.T) {
	tests := []struct {
		name      string
		event     []byte
		noFC      bool
		clientIP  string
		requestID string
	}{
		{"source IP", readEvent(t, sendEvent, nil), false, "203.0.113.10", fcReqID},
		{
			"X-Forwarded-For is not believed",
			readEvent(t, sendEvent, setHeaders("X-Forwarded-For", "192.0.2.99")), false, "203.0.113.10", fcReqID,
		},
		{
			"IPv6 source",
			readEvent(t, sendEvent, func(m map[string]any) { obj(obj(m, "requestContext"), "http")["sourceIp"] = "2001:db8::1" }),
			false, "2001:db8::1", fcReqID,
		},
		{
			"request id from the event without an FC context",
			readEvent(t, sendEvent, setMethodPath("GET", "/healthz")), true, "203.0.113.10", "1-6750a1b2-3c4d5e6f7a8b9c0d1e2f3a4b",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil)
			ctx := fcCtx(t, stsCreds)
			if tt.noFC {
				ctx = t.Context()
			}
			e.httpCall(t, ctx, tt.event)
			logs := e.accessLogs(t)
			if len(logs) != 1 {
				t.Fatalf("%d log lines, want 1:\n%s", len(logs), e.logs.String())
			}
			if got := logs[0]["client_ip"]; got != tt.clientIP {
				t.Errorf("client_ip = %v, want %s", got, tt.clientIP)
			}
			if got := logs[0]["request_id"]; got != tt.requestID {
				t.Errorf("request_id = %v, want %s", got, tt.requestID)
			}
			if strings.Contains(e.logs.String(), phone) {
				t.Errorf("log names the full phone number:\n%s", e.logs.String())
			}
		})
	}
}

func TestHandleEvent(t *testing.T) {
	tests := []struct {
		name    string
		payload string
		noFC    bool
		fault   dypnstest.Fault
		code    string // the answer's Code; "" when an error is wanted
		sends   int64
	}{
		{name: "send", payload: `{"Action":"SendSmsVerifyCode","PhoneNumber":"13800000000"}`, code: "OK", sends: 1},
		{name: "transient failure is raised", payload: `{"Action":"SendSmsVerifyCode","PhoneNumber":"13800000000"}`, fault: dypnstest.FaultUnavailable},
		{name: "bad input is answered", payload: `{"Action":"SendSmsVerifyCode","PhoneNumber":"12"}`, code: function.CodeMobileNumberIllegal},
		{name: "missing credentials are answered", payload: `{"Action":"SendSmsVerifyCode","PhoneNumber":"13800000000"}`, noFC: true, code: function.CodeMissingCredentials},
		{name: "timer trigger", payload: `{"triggerTime":"2024-12-04T18:30:00Z","triggerName":"every-minute","payload":"x"}`, code: function.CodeUnknownAction},
		{name: "OSS trigger", payload: `{"events":[{"eventName":"ObjectCreated:PutObject","eventSource":"acs:oss","region":"cn-hangzhou"}]}`, code: function.CodeUnknownAction},
		{name: "requestContext without method is not HTTP", payload: `{"version":"v1","rawPath":"/send","requestContext":{"http":{}}}`, code: function.CodeUnknownAction},
		{name: "method without rawPath or version is not HTTP", payload: `{"requestContext":{"http":{"method":"POST"}}}`, code: function.CodeUnknownAction},
		{name: "null", payload: `null`, code: function.CodeUnknownAction},
		{name: "a JSON string", payload: `"hello"`, code: function.CodeInvalidJSON},
		{name: "not JSON", payload: `hello`, code: function.CodeInvalidJSON},
		{name: "empty", payload: ``, code: function.CodeInvalidJSON},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil)
			if tt.fault != 0 {
				e.fake.FailNext(1, tt.fault)
			}
			ctx := fcCtx(t, stsCreds)
			if tt.noFC {
				ctx = t.Context()
			}
			out, err := e.h.invoke(ctx, []byte(tt.payload))
			if tt.code == "" {
				if err == nil {
					t.Fatalf("invoke = %v, want an error", out)
				}
				if strings.Contains(err.Error(), phone) {
					t.Errorf("error %q names the phone number", err)
				}
				var ie messages.InvokeResponse_Error
				if !errors.As(err, &ie) || ie.Type != function.ErrorTypeUpstreamUnavailable {
					t.Errorf("error %#v, want a messages.InvokeResponse_Error of type %s", err, function.ErrorTypeUpstreamUnavailable)
				}
				return
			}
			if err != nil {
				t.Fatalf("invoke: %v", err)
			}
			raw, ok := out.(json.RawMessage)
			if !ok {
				t.Fatalf("invoke returned %T, want json.RawMessage", out)
			}
			var m map[string]any
			if err := json.Unmarshal(raw, &m); err != nil {
				t.Fatalf("answer is not JSON: %q", raw)
			}
			if m["Code"] != tt.code {
				t.Errorf("Code = %v, want %s; answer %s", m["Code"], tt.code, raw)
			}
			if n := e.fake.SendCount(); n != tt.sends {
				t.Errorf("fake SendCount = %d, want %d", n, tt.sends)
			}
			logs := e.accessLogs(t)
			if len(logs) != 1 {
				t.Fatalf("access log %v, want one line", logs)
			}
			// Without an FC context the service makes an id up.
			if id, _ := logs[0]["request_id"].(string); tt.noFC && (id == "" || id == fcReqID) || !tt.noFC && id != fcReqID {
				t.Errorf("access log request_id %q (FC id %q, no FC context %v)", id, fcReqID, tt.noFC)
			}
		})
	}
}

func TestHandleEventSendThenCheck(t *testing.T) {
	e := newEnv(t, nil)
	ctx := fcCtx(t, stsCreds)
	if _, err := e.h.handle(ctx, json.RawMessage(`{"Action":"SendSmsVerifyCode","PhoneNumber":"13800000000"}`)); err != nil {
		t.Fatal(err)
	}
	code := e.fake.Codes(phone)[0].VerifyCode
	out, err := e.h.handle(ctx, json.RawMessage(`{"Action":"CheckSmsVerifyCode","PhoneNumber":"13800000000","VerifyCode":"`+code+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	var ans function.CheckAnswer
	if err := json.Unmarshal(out.(json.RawMessage), &ans); err != nil || ans.Model.VerifyResult != "PASS" {
		t.Fatalf("check = %s (%v), want PASS", out, err)
	}
}

// TestHTTPResponse: repeated values are joined (the trigger's headers are
// a map of strings), and an empty answer still has a header map.
func TestHTTPResponse(t *testing.T) {
	res := httpResponse(&platform.Response{Status: http.StatusTeapot, Header: http.Header{"A": {"1", "2"}}, Body: "short and stout"})
	if res.StatusCode != http.StatusTeapot || res.Body != "short and stout" || res.Headers["A"] != "1, 2" || res.IsBase64Encoded {
		t.Fatalf("response = %+v", res)
	}
	if res := httpResponse(platform.NewResponseWriter().Result(http.MethodGet)); res.StatusCode != http.StatusOK || res.Headers == nil {
		t.Fatalf("empty response = %+v, want 200 with a non-nil header map", res)
	}
}

// TestHangUpDoesNotCancelSend (issue 15, D11): an event invocation whose
// context is canceled while its send is at Alibaba still gets, and stores
// under its key, Alibaba's real answer: a retry replays it instead of a
// timeout.
func TestHangUpDoesNotCancelSend(t *testing.T) {
	arrived, release := make(chan struct{}, 1), make(chan struct{})
	e := newEnvWith(t, nil, dypnstest.Options{OnSend: func(dypnstest.Sent) {
		arrived <- struct{}{}
		<-release
	}})
	payload := json.RawMessage(`{"Action":"SendSmsVerifyCode","PhoneNumber":"13800000000","IdempotencyKey":"9b2f6c1e-4a7d-4e3b-8c5a-0d1e2f3a4b5c"}`)
	ctx, hangUp := context.WithCancel(fcCtx(t, stsCreds))
	defer hangUp()
	done := make(chan error, 1)
	go func() {
		_, err := e.h.handle(ctx, payload)
		done <- err
	}()
	<-arrived
	hangUp()
	close(release)
	if err := <-done; err != nil {
		t.Fatalf("the invocation canceled while at Alibaba: %v, want its real answer", err)
	}
	ans, err := e.h.handle(fcCtx(t, stsCreds), payload)
	if err != nil {
		t.Fatalf("retry: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(ans.(json.RawMessage), &m); err != nil || m["Code"] != "OK" || m["IdempotentReplayed"] != true {
		t.Fatalf("retry = %s (%v), want the replayed OK", ans, err)
	}
	if n := e.fake.SendCount(); n != 1 {
		t.Fatalf("%d sends, want 1", n)
	}
}
