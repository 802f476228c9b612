package main

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

const sendBody = `{"PhoneNumber":"13800000000"}`

// sendV2 turns a v2 fixture into POST /send with a JSON body.
func sendV2(t *testing.T, file string, edit func(*events.APIGatewayV2HTTPRequest)) json.RawMessage {
	e := fixture[events.APIGatewayV2HTTPRequest](t, file)
	e.RequestContext.HTTP.Method, e.RawPath, e.RequestContext.HTTP.Path = http.MethodPost, "/send", "/send"
	if e.Headers == nil {
		e.Headers = map[string]string{}
	}
	e.Headers["content-type"] = "application/json"
	e.Headers["content-length"] = strconv.Itoa(len(sendBody))
	e.Body = sendBody
	if edit != nil {
		edit(&e)
	}
	return mustJSON(t, e)
}

func sendURL(t *testing.T) json.RawMessage {
	e := fixture[events.LambdaFunctionURLRequest](t, "lambda-urls-request.json")
	e.RequestContext.HTTP.Method, e.RawPath, e.RequestContext.HTTP.Path = http.MethodPost, "/send", "/send"
	e.Headers["content-type"] = "application/json"
	e.Body = sendBody
	return mustJSON(t, e)
}

func sendV1(t *testing.T, b64 bool) json.RawMessage {
	e := fixture[events.APIGatewayProxyRequest](t, "apigw-request.json")
	e.HTTPMethod, e.Path, e.Resource = http.MethodPost, "/send", "/send"
	e.RequestContext.HTTPMethod, e.RequestContext.Path = http.MethodPost, "/send"
	e.Body = sendBody // Content-Type is application/json in the fixture
	if b64 {
		e.Body, e.IsBase64Encoded = base64.StdEncoding.EncodeToString([]byte(sendBody)), true
	}
	return mustJSON(t, e)
}

func sendALB(t *testing.T, file string) json.RawMessage {
	e := fixture[events.ALBTargetGroupRequest](t, file)
	e.HTTPMethod, e.Path, e.Body = http.MethodPost, "/send", sendBody
	// ALB appends the connecting address; what is left of it is the client's word.
	if e.MultiValueHeaders != nil {
		e.MultiValueHeaders["content-type"] = []string{"application/json"}
		xff := e.MultiValueHeaders["x-forwarded-for"]
		e.MultiValueHeaders["x-forwarded-for"] = []string{"198.51.100.99, " + xff[len(xff)-1]}
	} else {
		e.Headers["content-type"] = "application/json"
		e.Headers["x-forwarded-for"] = "198.51.100.99, " + e.Headers["x-forwarded-for"]
	}
	return mustJSON(t, e)
}

// headerField says where a platform reads response headers from.
type headerField int

const (
	singleHeaders headerField = iota // "headers" only
	multiHeaders                     // "multiValueHeaders" only
	bothHeaders                      // "multiValueHeaders", single values also in "headers"
)

// platformAnswer is a response as the platform reads its JSON.
type platformAnswer struct {
	status int
	header http.Header
	body   string
}

// readAnswer checks that ans is of type want, survives a JSON round trip,
// and has the fields the platform expects; it returns what the platform
// would send to the client.
func readAnswer(t *testing.T, ans any, want any, hf headerField) platformAnswer {
	t.Helper()
	if reflect.TypeOf(ans) != reflect.TypeOf(want) {
		t.Fatalf("answer is %T, want %T", ans, want)
	}
	b := mustJSON(t, ans)
	back := reflect.New(reflect.TypeOf(want))
	if err := json.Unmarshal(b, back.Interface()); err != nil || !reflect.DeepEqual(back.Elem().Interface(), ans) {
		t.Fatalf("answer does not round-trip (%v):\n%s", err, b)
	}
	var p struct {
		StatusCode        *int                `json:"statusCode"`
		StatusDescription string              `json:"statusDescription"`
		Headers           map[string]string   `json:"headers"`
		MultiValueHeaders map[string][]string `json:"multiValueHeaders"`
		Body              *string             `json:"body"`
		IsBase64Encoded   bool                `json:"isBase64Encoded"`
	}
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	if p.StatusCode == nil || p.Body == nil || p.IsBase64Encoded {
		t.Fatalf("answer lacks statusCode or body, or is base64: %s", b)
	}
	if _, ok := ans.(events.ALBTargetGroupResponse); ok && p.StatusDescription != strconv.Itoa(*p.StatusCode)+" "+http.StatusText(*p.StatusCode) {
		t.Errorf("statusDescription = %q", p.StatusDescription)
	}
	h := http.Header{}
	switch hf {
	case singleHeaders:
		if p.Headers == nil || p.MultiValueHeaders != nil {
			t.Fatalf("want headers only: %s", b)
		}
		for k, v := range p.Headers {
			h.Set(k, v)
		}
	case multiHeaders, bothHeaders:
		if p.MultiValueHeaders == nil || (hf == multiHeaders && p.Headers != nil) {
			t.Fatalf("want multiValueHeaders (headers: %v): %s", hf == bothHeaders, b)
		}
		for k, vs := range p.MultiValueHeaders {
			h[http.CanonicalHeaderKey(k)] = vs
		}
		for k, v := range p.Headers {
			if vs := p.MultiValueHeaders[k]; len(vs) != 1 || vs[0] != v {
				t.Errorf("headers[%q] = %q disagrees with multiValueHeaders %q", k, v, vs)
			}
		}
	}
	return platformAnswer{status: *p.StatusCode, header: h, body: *p.Body}
}

func TestHTTPEventsSend(t *testing.T) {
	b64 := base64.StdEncoding.EncodeToString([]byte(sendBody))
	tests := []struct {
		name    string
		event   func(t *testing.T) json.RawMessage
		want    any
		headers headerField
		ip      string
		caller  string
	}{
		{"HTTP API v2", func(t *testing.T) json.RawMessage { return sendV2(t, "apigw-v2-request-no-authorizer.json", nil) },
			events.APIGatewayV2HTTPResponse{}, singleHeaders, "1.2.3.4", "public"},
		{"HTTP API v2 base64 body", func(t *testing.T) json.RawMessage {
			return sendV2(t, "apigw-v2-request-no-authorizer.json", func(e *events.APIGatewayV2HTTPRequest) {
				e.Body, e.IsBase64Encoded = b64, true
			})
		}, events.APIGatewayV2HTTPResponse{}, singleHeaders, "1.2.3.4", "public"},
		{"HTTP API v2 IAM, cookies and query", func(t *testing.T) json.RawMessage {
			return sendV2(t, "apigw-v2-request-iam.json", func(e *events.APIGatewayV2HTTPRequest) {
				e.RequestContext.HTTP.SourceIP = "203.0.113.7"
			})
		}, events.APIGatewayV2HTTPResponse{}, singleHeaders, "203.0.113.7", "public"},
		{"HTTP API v2 trusted caller", func(t *testing.T) json.RawMessage {
			return sendV2(t, "apigw-v2-request-no-authorizer.json", func(e *events.APIGatewayV2HTTPRequest) {
				e.Headers["authorization"] = "Bearer " + testAPIKey
			})
		}, events.APIGatewayV2HTTPResponse{}, singleHeaders, "1.2.3.4", "trusted"},
		{"function URL", sendURL, events.LambdaFunctionURLResponse{}, singleHeaders, "123.123.123.123", "public"},
		{"REST API v1", func(t *testing.T) json.RawMessage { return sendV1(t, false) },
			events.APIGatewayProxyResponse{}, bothHeaders, "192.168.196.186", "public"},
		{"REST API v1 base64 body", func(t *testing.T) json.RawMessage { return sendV1(t, true) },
			events.APIGatewayProxyResponse{}, bothHeaders, "192.168.196.186", "public"},
		{"ALB single-value headers", func(t *testing.T) json.RawMessage { return sendALB(t, "alb-lambda-target-request-headers-only.json") },
			events.ALBTargetGroupResponse{}, singleHeaders, "25.12.198.67", "public"},
		{"ALB multi-value headers", func(t *testing.T) json.RawMessage {
			return sendALB(t, "alb-lambda-target-request-multivalue-headers.json")
		},
			events.ALBTargetGroupResponse{}, multiHeaders, "72.21.198.67", "public"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newTestEnv(t)
			ans, err := env.h.handle(lambdaCtx(t), tt.event(t))
			if err != nil {
				t.Fatalf("handle: %v", err)
			}
			got := readAnswer(t, ans, tt.want, tt.headers)
			if got.status != http.StatusOK {
				t.Fatalf("status = %d, body %s", got.status, got.body)
			}
			if ct := got.header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
				t.Errorf("Content-Type = %q", ct)
			}
			if id := got.header.Get("X-Request-Id"); id != testRequestID {
				t.Errorf("X-Request-Id = %q, want the Lambda request id", id)
			}
			var body struct {
				Code    string
				Success bool
				Model   struct{ BizID string }
			}
			if err := json.Unmarshal([]byte(got.body), &body); err != nil || body.Code != "OK" || !body.Success || body.Model.BizID == "" {
				t.Errorf("body = %s (%v)", got.body, err)
			}
			if n := env.fake.SendCount(); n != 1 {
				t.Errorf("fake SendCount = %d, want 1", n)
			}
			if c := env.fake.Codes(testPhone); len(c) != 1 {
				t.Errorf("fake has %d codes for the phone, want 1", len(c))
			}
			l := env.lastAccessLog(t)
			for k, want := range map[string]string{"client_ip": tt.ip, "request_id": testRequestID, "action": "SendSmsVerifyCode", "caller": tt.caller, "code": "OK"} {
				if l[k] != want {
					t.Errorf("access log %s = %v, want %q", k, l[k], want)
				}
			}
		})
	}
}

// TestHTTPEventsStatus runs the HTTP API's other answers through an HTTP API
// v2 event: status and headers reach the platform response.
func TestHTTPEventsStatus(t *testing.T) {
	tests := []struct {
		name, method, path, contentType, auth, body string
		status                                      int
		header                                      map[string]string
		wantBody                                    string
	}{
		{name: "healthz", method: "GET", path: "/healthz", status: 200, wantBody: `{"status":"ok"}`},
		{name: "HEAD has no body", method: "HEAD", path: "/healthz", status: 200, wantBody: ""},
		{name: "unknown path", method: "POST", path: "/nope", contentType: "application/json", body: sendBody, status: 404},
		{name: "wrong method", method: "GET", path: "/send", status: 405, header: map[string]string{"Allow": "POST, OPTIONS"}},
		{name: "not JSON", method: "POST", path: "/send", contentType: "text/plain", body: sendBody, status: 415},
		{name: "bad JSON", method: "POST", path: "/send", contentType: "application/json", body: `{"PhoneNumber":`, status: 400},
		{name: "bad API key", method: "POST", path: "/send", contentType: "application/json", auth: "Bearer wrong-key-0123456789", body: sendBody,
			status: 401, header: map[string]string{"WWW-Authenticate": `Bearer realm="smsverify"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newTestEnv(t)
			e := fixture[events.APIGatewayV2HTTPRequest](t, "apigw-v2-request-no-authorizer.json")
			e.RequestContext.HTTP.Method, e.RawPath, e.Body = tt.method, tt.path, tt.body
			delete(e.Headers, "content-length")
			if tt.contentType != "" {
				e.Headers["content-type"] = tt.contentType
			}
			if tt.auth != "" {
				e.Headers["authorization"] = tt.auth
			}
			ans, err := env.h.handle(lambdaCtx(t), mustJSON(t, e))
			if err != nil {
				t.Fatalf("handle: %v", err)
			}
			got := readAnswer(t, ans, events.APIGatewayV2HTTPResponse{}, singleHeaders)
			if got.status != tt.status {
				t.Errorf("status = %d, want %d; body %s", got.status, tt.status, got.body)
			}
			for k, v := range tt.header {
				if g := got.header.Get(k); g != v {
					t.Errorf("%s = %q, want %q", k, g, v)
				}
			}
			if tt.status != 200 {
				var eb struct {
					Code    string
					Success *bool
				}
				if err := json.Unmarshal([]byte(got.body), &eb); err != nil || eb.Code == "" || eb.Success == nil || *eb.Success {
					t.Errorf("error body = %s", got.body)
				}
			} else if strings.TrimSpace(got.body) != tt.wantBody {
				t.Errorf("body = %q, want %q", got.body, tt.wantBody)
			}
			if n := env.fake.Requests(); n != 0 {
				t.Errorf("fake saw %d requests, want 0", n)
			}
		})
	}
}

// TestRateLimitedMultiValue: a 429's Retry-After reaches a REST API client
// through multiValueHeaders.
func TestRateLimitedMultiValue(t *testing.T) {
	env := newTestEnv(t)
	var got platformAnswer
	for range 2 {
		ans, err := env.h.handle(lambdaCtx(t), sendV1(t, false))
		if err != nil {
			t.Fatal(err)
		}
		got = readAnswer(t, ans, events.APIGatewayProxyResponse{}, bothHeaders)
	}
	if got.status != http.StatusTooManyRequests {
		t.Fatalf("second send: status %d, want 429; body %s", got.status, got.body)
	}
	if ra, err := strconv.Atoi(got.header.Get("Retry-After")); err != nil || ra <= 0 {
		t.Errorf("Retry-After = %q", got.header.Get("Retry-After"))
	}
}
