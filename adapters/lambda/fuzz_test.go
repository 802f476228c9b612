package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"smsverify/adapters/internal/platform"
)

// echoService stands in for function.Service: it reads the request and
// answers, so the fuzzer drives every conversion and response path.
type echoService struct{}

func (echoService) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	w.Header().Add("Set-Cookie", "a=b")
	w.Header().Add("Vary", "Origin")
	w.Header().Add("Vary", "Accept")
	w.WriteHeader(len(b)%400 + 200)
	_, _ = w.Write(b)
}

func (echoService) Warm(context.Context) error { return nil }

func (echoService) Invoke(_ context.Context, payload []byte) ([]byte, error) {
	return []byte(`{"Code":"OK"}`), nil
}

// FuzzEventToRequest feeds arbitrary JSON to every event→request conversion
// and to handle: nothing may panic, and a converted request is usable.
func FuzzEventToRequest(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.json"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		`{"version":"2.0","rawPath":"%zz","requestContext":{"http":{"method":"POST"}},"isBase64Encoded":true,"body":"***"}`,
		`{"httpMethod":"","path":"","requestContext":null,"multiValueHeaders":{"X-Forwarded-For":[]}}`,
		`{"httpMethod":"GET","path":"no-slash?x=1#f","requestContext":{"elb":{}},"multiValueHeaders":{},"headers":{"x-forwarded-for":","}}`,
		`{"Records":[{"eventSource":"aws:sqs","messageId":"m","body":"{}"}]}`,
		`null`, `[]`, `{"Action":1}`,
	} {
		f.Add([]byte(s))
	}
	h := &handler{svc: echoService{}}
	f.Fuzz(func(t *testing.T, data []byte) {
		ctx := t.Context()
		check := func(r *http.Request, err error) {
			if err != nil {
				return
			}
			if r.Context() != ctx || r.URL == nil || r.Header == nil || r.Body == nil {
				t.Fatalf("unusable request: %+v", r)
			}
			if _, err := io.ReadAll(r.Body); err != nil {
				t.Fatal(err)
			}
			res := platform.Serve(echoService{}, r)
			multi := &events.ALBTargetGroupRequest{MultiValueHeaders: map[string][]string{}}
			for _, v := range []any{v2Response(nil, res), urlResponse(nil, res), v1Response(nil, res), albResponse(multi, res), albResponse(&events.ALBTargetGroupRequest{}, res)} {
				if _, err := json.Marshal(v); err != nil {
					t.Fatalf("response does not marshal: %v", err)
				}
			}
		}
		var v2 events.APIGatewayV2HTTPRequest
		if json.Unmarshal(data, &v2) == nil {
			check(build(v2Request)(ctx, v2))
		}
		var u events.LambdaFunctionURLRequest
		if json.Unmarshal(data, &u) == nil {
			check(build(urlRequest)(ctx, u))
		}
		var v1 events.APIGatewayProxyRequest
		if json.Unmarshal(data, &v1) == nil {
			check(build(v1Request)(ctx, v1))
		}
		var alb events.ALBTargetGroupRequest
		if json.Unmarshal(data, &alb) == nil {
			check(build(albRequest)(ctx, alb))
		}
		if ans, err := h.handle(ctx, data); err == nil {
			if _, err := json.Marshal(ans); err != nil {
				t.Fatalf("answer %T does not marshal: %v", ans, err)
			}
		}
	})
}
