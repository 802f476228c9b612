package platform

import (
	"context"
	"errors"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"smsverify/core/dypnstest"
	"smsverify/function"
	"smsverify/internal/envdefaults"
)

type ctxKey struct{}

func TestNewRequest(t *testing.T) {
	type want struct {
		method, path, rawPath, rawQuery, host, remote, proto, body string
		header                                                     http.Header // exact
	}
	tests := []struct {
		name string
		in   Request
		want want
	}{
		{"all fields", Request{
			Method: "POST", Path: "/se%6Ed", RawQuery: "a=1&a=2", Host: "platform.example", Proto: "HTTP/2.0",
			Header: http.Header{"Authorization": {"Bearer a,b"}, "Content-Length": {"99"}, "Host": {"sms.example"}},
			Body:   "eyJhIjoxfQ==", Base64: true, SourceIP: "2001:db8::1",
		}, want{
			method: "POST", path: "/send", rawPath: "/se%6Ed", rawQuery: "a=1&a=2", host: "sms.example",
			remote: "[2001:db8::1]:0", proto: "HTTP/2.0", body: `{"a":1}`,
			header: http.Header{"Authorization": {"Bearer a,b"}},
		}},
		{"minimal", Request{Method: "GET", SourceIP: "not an ip"}, want{
			method: "GET", path: "/", remote: "not an ip", proto: "HTTP/1.1", header: http.Header{},
		}},
		{"decoded path when there is no raw one; platform host", Request{
			Method: "GET", DecodedPath: "/a b", Host: "platform.example", SourceIP: "192.0.2.1", Proto: "HTTP/9",
		}, want{method: "GET", path: "/a b", host: "platform.example", remote: "192.0.2.1:0", proto: "HTTP/1.1", header: http.Header{}}},
		{"relative path; invalid escape kept", Request{Method: "GET", Path: "x%zz"}, want{
			method: "GET", path: "/x%zz", proto: "HTTP/1.1", header: http.Header{},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.WithValue(t.Context(), ctxKey{}, "kept")
			r, err := NewRequest(ctx, tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if r.Context().Value(ctxKey{}) != "kept" {
				t.Error("the request lost the context")
			}
			body, _ := io.ReadAll(r.Body)
			got := want{r.Method, r.URL.Path, r.URL.RawPath, r.URL.RawQuery, r.Host, r.RemoteAddr, r.Proto, string(body), r.Header}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
			if r.ContentLength != int64(len(tt.want.body)) || r.RequestURI != r.URL.RequestURI() {
				t.Errorf("ContentLength %d, RequestURI %q", r.ContentLength, r.RequestURI)
			}
			if tt.want.body == "" && r.Body != http.NoBody {
				t.Errorf("empty body is %T, want http.NoBody", r.Body)
			}
		})
	}
}

func TestNewRequestErrors(t *testing.T) {
	for name, in := range map[string]Request{
		"no method":  {Path: "/"},
		"bad method": {Method: "GET /x"},
		"bad base64": {Method: "POST", Body: "not base64!", Base64: true},
	} {
		t.Run(name, func(t *testing.T) {
			if r, err := NewRequest(t.Context(), in); err == nil {
				t.Errorf("got %s %s, want an error", r.Method, r.URL)
			}
		})
	}
}

func TestHeader(t *testing.T) {
	single := map[string]string{"user-agent": "Mozilla/5.0 (X11, Linux)", "X-A": "2", "x-a": "1"}
	if got, want := Header(single, nil), (http.Header{"User-Agent": {"Mozilla/5.0 (X11, Linux)"}, "X-A": {"2", "1"}}); !reflect.DeepEqual(got, want) {
		t.Errorf("single: %v, want %v (values whole, keys in sorted order)", got, want)
	}
	multi := map[string][]string{"x-forwarded-for": {"10.0.0.1", "198.51.100.99, 72.21.198.67"}}
	if got, want := Header(single, multi), (http.Header{"X-Forwarded-For": multi["x-forwarded-for"]}); !reflect.DeepEqual(got, want) {
		t.Errorf("multi: %v, want %v (multi wins)", got, want)
	}
}

func TestQuery(t *testing.T) {
	if got := Query(map[string]string{"b": "you & me", "a": "1"}, nil); got != "a=1&b=you+%26+me" {
		t.Errorf("single: %q", got)
	}
	if got := Query(map[string]string{"a": "1"}, map[string][]string{"a": {"1", "2"}}); got != "a=1&a=2" {
		t.Errorf("multi: %q", got)
	}
}

func TestResponseWriter(t *testing.T) {
	w := NewResponseWriter()
	w.Header().Set("A", "1")
	w.Header().Add("A", "2")
	w.Header().Add("Set-Cookie", "c=d")
	w.WriteHeader(http.StatusTeapot)
	w.WriteHeader(http.StatusOK)        // ignored, as net/http does
	w.Header().Set("Late", "x")         // after the status: not sent
	_, _ = w.Write([]byte("short and")) // the body keeps accumulating
	_, _ = w.Write([]byte(" stout"))
	res := w.Result(http.MethodGet)
	if res.Status != http.StatusTeapot || res.Body != "short and stout" || res.Header.Get("Late") != "" {
		t.Fatalf("response = %+v", res)
	}
	if got, want := res.JoinedHeader("Set-Cookie"), map[string]string{"A": "1, 2"}; !reflect.DeepEqual(got, want) {
		t.Errorf("JoinedHeader = %v, want %v", got, want)
	}
	if res := NewResponseWriter().Result(http.MethodGet); res.Status != http.StatusOK || res.Header == nil {
		t.Errorf("empty response = %+v, want 200 with a header", res)
	}
	head := Serve(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "body") }),
		&http.Request{Method: http.MethodHead})
	if head.Status != http.StatusOK || head.Body != "" {
		t.Errorf("HEAD answer = %+v, want 200 without a body", head)
	}
}

func TestNewService(t *testing.T) {
	envdefaults.Unset(t, function.Config{}) // the shell's settings are not the test's
	creds := dypnstest.TestCredentials()
	t.Setenv("LIMIT_STORE", "memory")
	t.Setenv("DYPNS_ENDPOINT", "https://dypnsapi.aliyuncs.com")
	t.Setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", creds.AccessKeyID)
	t.Setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", creds.AccessKeySecret)

	logs := &strings.Builder{}
	svc, cfg, err := NewService(logs, func(c *function.Config, o *function.Options) error {
		if o.Logger == nil {
			t.Error("prepare got no logger")
		}
		c.Port = "9999"
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	if cfg.Port != "9999" || cfg.AccessKeyID != creds.AccessKeyID {
		t.Errorf("config = %+v, want the environment's with prepare's change", cfg)
	}
	svc.ServeHTTP(NewResponseWriter(), &http.Request{Method: "GET", URL: requestURL("/healthz", "", ""), Header: http.Header{}})
	if !strings.Contains(logs.String(), `"msg":"access"`) {
		t.Errorf("no JSON access log on logw: %q", logs.String())
	}

	boom := errors.New("boom")
	if _, _, err := NewService(io.Discard, func(*function.Config, *function.Options) error { return boom }); !errors.Is(err, boom) {
		t.Errorf("prepare's error: got %v", err)
	}
	t.Setenv("SMS_CODE_LENGTH", "12")
	if _, _, err := NewService(io.Discard, nil); err == nil || !strings.Contains(err.Error(), "SMS_CODE_LENGTH") {
		t.Errorf("bad environment: got %v", err)
	}
}

func TestErrorType(t *testing.T) {
	_, err := NewRequest(t.Context(), Request{Method: "POST", Body: "not base64!", Base64: true})
	if got := ErrorType(err); got != ErrorTypeInvalidEvent {
		t.Errorf("ErrorType(%v) = %q, want %q", err, got, ErrorTypeInvalidEvent)
	}
	if got := ErrorType(errors.New("other")); got != "" {
		t.Errorf("ErrorType(other) = %q, want none", got)
	}
}
