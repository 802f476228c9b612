package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda/messages"

	"smsverify/adapters/internal/platform"
)

type ctxKey struct{}

// TestEventToRequest converts the real events unchanged and checks what the
// service would see.
func TestEventToRequest(t *testing.T) {
	type basics struct{ method, path, rawQuery, host, remoteAddr, body string }
	type want struct {
		basics
		header map[string][]string // exact values: never split; nil = absent
		query  map[string][]string
	}
	tests := []struct {
		name    string
		convert func(context.Context) (*http.Request, error)
		want    want
	}{
		{"HTTP API v2 IAM", func(ctx context.Context) (*http.Request, error) {
			return build(v2Request)(ctx, fixture[events.APIGatewayV2HTTPRequest](t, "apigw-v2-request-iam.json"))
		}, want{basics: basics{
			method: "GET", path: "/my/path", rawQuery: "parameter1=value1&parameter1=value2&parameter2=value",
			remoteAddr: "IP", body: "{\r\n\t\"a\": 1\r\n}"},
			header: map[string][]string{"Header1": {"value1"}, "Header2": {"value2"}, "Cookie": {"cookie1; cookie2"}},
			query:  map[string][]string{"parameter1": {"value1", "value2"}, "parameter2": {"value"}},
		}},
		{"HTTP API v2 real capture", func(ctx context.Context) (*http.Request, error) {
			return build(v2Request)(ctx, fixture[events.APIGatewayV2HTTPRequest](t, "apigw-v2-request-no-authorizer.json"))
		}, want{basics: basics{
			method: "GET", path: "/", host: "aaaaaaaaaa.execute-api.us-west-2.amazonaws.com", remoteAddr: "1.2.3.4:0"},
			header: map[string][]string{"User-Agent": {"curl/7.58.0"}, "X-Forwarded-For": {"1.2.3.4"}, "Content-Length": nil},
		}},
		{"function URL", func(ctx context.Context) (*http.Request, error) {
			return build(urlRequest)(ctx, fixture[events.LambdaFunctionURLRequest](t, "lambda-urls-request.json"))
		}, want{basics: basics{
			method: "POST", path: "/my/path", rawQuery: "parameter1=value1&parameter1=value2&parameter2=value",
			remoteAddr: "123.123.123.123:0", body: "Hello from client!"},
			header: map[string][]string{"Header2": {"value1,value2"}, "Cookie": {"cookie1; cookie2"}},
		}},
		{"REST API v1", func(ctx context.Context) (*http.Request, error) {
			e := fixture[events.APIGatewayProxyRequest](t, "apigw-request.json")
			e.MultiValueQueryStringParameters["name"] = append(e.MultiValueQueryStringParameters["name"], "you & me")
			return build(v1Request)(ctx, e)
		}, want{basics: basics{
			method: "POST", path: "/hello/world", rawQuery: "name=me&name=you+%26+me", host: "gy415nuibc.execute-api.us-east-1.amazonaws.com",
			remoteAddr: "192.168.196.186:0", body: "{\r\n\t\"a\": 1\r\n}"},
			header: map[string][]string{
				"X-Forwarded-For": {"54.240.196.186, 54.182.214.83"}, "User-Agent": {"PostmanRuntime/2.4.5"},
				"Accept-Encoding": {"gzip, deflate"}, "Content-Type": {"application/json"},
			},
			query: map[string][]string{"name": {"me", "you & me"}},
		}},
		{"REST API v1 single-value maps only", func(ctx context.Context) (*http.Request, error) {
			e := fixture[events.APIGatewayProxyRequest](t, "apigw-request.json")
			e.MultiValueHeaders, e.MultiValueQueryStringParameters = nil, nil
			return build(v1Request)(ctx, e)
		}, want{basics: basics{
			method: "POST", path: "/hello/world", rawQuery: "name=me", host: "gy415nuibc.execute-api.us-east-1.amazonaws.com",
			remoteAddr: "192.168.196.186:0", body: "{\r\n\t\"a\": 1\r\n}"},
			header: map[string][]string{"X-Forwarded-For": {"54.240.196.186, 54.182.214.83"}},
		}},
		{"ALB single-value", func(ctx context.Context) (*http.Request, error) {
			return build(albRequest)(ctx, fixture[events.ALBTargetGroupRequest](t, "alb-lambda-target-request-headers-only.json"))
		}, want{basics: basics{
			method: "GET", path: "/", rawQuery: "key=hello", host: "lambda-test-alb-1334523864.us-east-1.elb.amazonaws.com",
			remoteAddr: "25.12.198.67:0"},
			header: map[string][]string{"X-Myheader": {"123"}},
		}},
		{"ALB multi-value", func(ctx context.Context) (*http.Request, error) {
			e := fixture[events.ALBTargetGroupRequest](t, "alb-lambda-target-request-multivalue-headers.json")
			e.MultiValueHeaders["x-forwarded-for"] = []string{"10.0.0.1", "198.51.100.99, 72.21.198.67"}
			e.MultiValueQueryStringParameters["a%20b"] = []string{"c%26d", "e"}
			return build(albRequest)(ctx, e)
		}, want{basics: basics{
			method: "GET", path: "/", rawQuery: "a%20b=c%26d&a%20b=e&key=hello", host: "lambda-test-alb-1234567.us-east-1.elb.amazonaws.com",
			remoteAddr: "72.21.198.67:0"},
			header: map[string][]string{"X-Forwarded-For": {"10.0.0.1", "198.51.100.99, 72.21.198.67"}},
			query:  map[string][]string{"a b": {"c&d", "e"}, "key": {"hello"}},
		}},
		{"single-value headers with commas, encoded path, base64", func(ctx context.Context) (*http.Request, error) {
			return build(v2Request)(ctx, events.APIGatewayV2HTTPRequest{
				RawPath: "/se%6Ed", Body: "eyJhIjoxfQ==", IsBase64Encoded: true,
				Headers: map[string]string{"authorization": "Bearer a,b", "user-agent": "Mozilla/5.0 (X11, Linux x86_64)", "content-length": "99"},
				RequestContext: events.APIGatewayV2HTTPRequestContext{HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
					Method: "POST", SourceIP: "2001:db8::1"}},
			})
		}, want{basics: basics{
			method: "POST", path: "/send", remoteAddr: "[2001:db8::1]:0", body: `{"a":1}`},
			header: map[string][]string{"Authorization": {"Bearer a,b"}, "User-Agent": {"Mozilla/5.0 (X11, Linux x86_64)"}, "Content-Length": nil},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			deadline := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
			ctx, cancel := context.WithDeadline(context.WithValue(t.Context(), ctxKey{}, "kept"), deadline)
			defer cancel()
			r, err := tt.convert(ctx)
			if err != nil {
				t.Fatalf("convert: %v", err)
			}
			if r.Context().Value(ctxKey{}) != "kept" {
				t.Error("request lost the context")
			}
			if dl, ok := r.Context().Deadline(); !ok || !dl.Equal(deadline) {
				t.Errorf("deadline = %v %v, want %v", dl, ok, deadline)
			}
			body, _ := io.ReadAll(r.Body)
			got := basics{method: r.Method, path: r.URL.Path, rawQuery: r.URL.RawQuery, host: r.Host, remoteAddr: r.RemoteAddr, body: string(body)}
			if got != tt.want.basics {
				t.Errorf("got  %+v\nwant %+v", got, tt.want.basics)
			}
			if r.ContentLength != int64(len(tt.want.body)) {
				t.Errorf("ContentLength = %d, want %d", r.ContentLength, len(tt.want.body))
			}
			for k, v := range tt.want.header {
				if g := r.Header.Values(k); !reflect.DeepEqual(g, v) {
					t.Errorf("header %s = %q, want %q", k, g, v)
				}
			}
			for k, v := range tt.want.query {
				if g := r.URL.Query()[k]; !reflect.DeepEqual(g, v) {
					t.Errorf("query %s = %q, want %q", k, g, v)
				}
			}
		})
	}
}

func TestEventToRequestErrors(t *testing.T) {
	tests := []struct {
		name    string
		convert func() (*http.Request, error)
	}{
		{"bad base64", func() (*http.Request, error) {
			return build(v2Request)(t.Context(), events.APIGatewayV2HTTPRequest{Body: "not base64!", IsBase64Encoded: true,
				RequestContext: events.APIGatewayV2HTTPRequestContext{HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "POST"}}})
		}},
		{"bad method", func() (*http.Request, error) {
			return build(v1Request)(t.Context(), events.APIGatewayProxyRequest{HTTPMethod: "GET /x"})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if r, err := tt.convert(); err == nil {
				t.Errorf("got a request for %s %s, want an error", r.Method, r.URL)
			}
		})
	}
}

func TestDetect(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		want eventKind
	}{
		{"apigw-v2-request-iam.json", "", kindAPIGatewayV2},
		{"apigw-v2-request-no-authorizer.json", "", kindAPIGatewayV2},
		{"lambda-urls-request.json", "", kindFunctionURL},
		{"apigw-request.json", "", kindAPIGatewayV1},
		{"alb-lambda-target-request-headers-only.json", "", kindALB},
		{"alb-lambda-target-request-multivalue-headers.json", "", kindALB},
		{"sqs-event.json", "", kindSQS},
		{"event API", `{"Action":"SendSmsVerifyCode","PhoneNumber":"13800000000"}`, kindDirect},
		{"event API with HTTP-looking keys", `{"Action":"CheckSmsVerifyCode","httpMethod":"POST","requestContext":{"http":{}}}`, kindDirect},
		{"keys match exactly, not case-insensitively", `{"HTTPMETHOD":"POST","RequestContext":{}}`, kindDirect},
		{"SNS records", `{"Records":[{"EventSource":"aws:sns"}]}`, kindDirect},
		{"SQS and SNS mixed", `{"Records":[{"eventSource":"aws:sqs"},{"eventSource":"aws:sns"}]}`, kindDirect},
		{"empty records", `{"Records":[]}`, kindDirect},
		{"null", `null`, kindDirect},
		{"array", `[1]`, kindDirect},
		{"string", `"x"`, kindDirect},
		{"not JSON", `{`, kindDirect},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := []byte(tt.raw)
			if tt.raw == "" {
				var err error
				if raw, err = os.ReadFile(filepath.Join("testdata", tt.name)); err != nil {
					t.Fatal(err)
				}
			}
			if got := detect(raw); got != tt.want {
				t.Errorf("detect = %v, want %v", got, tt.want)
			}
		})
	}
}

// build reads an event with read and builds its request, as handle does.
func build[E any](read func(*E) platform.Request) func(context.Context, E) (*http.Request, error) {
	return func(ctx context.Context, e E) (*http.Request, error) { return platform.NewRequest(ctx, read(&e)) }
}

// TestMalformedEventType: an event that claims a kind but does not decode
// is a function error of the stable type InvalidEvent.
func TestMalformedEventType(t *testing.T) {
	h := &handler{svc: echoService{}}
	for name, raw := range map[string]string{
		"v2 body not base64":   `{"version":"2.0","rawPath":"/send","requestContext":{"http":{"method":"POST"}},"isBase64Encoded":true,"body":"not base64!"}`,
		"v2 body is a number":  `{"version":"2.0","requestContext":{"http":{"method":"POST"}},"body":1}`,
		"v1 bad method":        `{"httpMethod":"GET /x","path":"/","requestContext":{}}`,
		"SQS body is a number": `{"Records":[{"eventSource":"aws:sqs","messageId":"m","body":1}]}`,
	} {
		t.Run(name, func(t *testing.T) {
			ans, err := h.handle(t.Context(), json.RawMessage(raw))
			var ie messages.InvokeResponse_Error
			if !errors.As(err, &ie) || ie.Type != platform.ErrorTypeInvalidEvent {
				t.Errorf("handle = %v, %#v; want a function error of type %s", ans, err, platform.ErrorTypeInvalidEvent)
			}
		})
	}
}
