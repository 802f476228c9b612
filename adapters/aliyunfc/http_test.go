package main

import (
	"context"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"smsverify/adapters/internal/platform"
)

type ctxKey struct{}

func TestDecodeHTTPTrigger(t *testing.T) {
	tests := []struct {
		name    string
		raw     string
		isHTTP  bool
		wantErr bool
	}{
		{"fixture", string(readEvent(t, sendEvent, nil)), true, false},
		{"base64 fixture", string(readEvent(t, checkB64, nil)), true, false},
		{"version only", `{"version":"v1","requestContext":{"http":{"method":"GET"}}}`, true, false},
		{"rawPath only", `{"rawPath":"/","requestContext":{"http":{"method":"GET"}}}`, true, false},
		{"malformed field", `{"rawPath":"/","body":1,"requestContext":{"http":{"method":"GET"}}}`, true, true},
		{"event API", `{"Action":"SendSmsVerifyCode","PhoneNumber":"13800000000"}`, false, false},
		{"no method", `{"version":"v1","rawPath":"/","requestContext":{"http":{"path":"/"}}}`, false, false},
		{"empty method", `{"version":"v1","rawPath":"/","requestContext":{"http":{"method":""}}}`, false, false},
		{"method is a number", `{"version":"v1","rawPath":"/","requestContext":{"http":{"method":1}}}`, false, false},
		{"method only", `{"requestContext":{"http":{"method":"GET"}}}`, false, false},
		{"requestContext is a string", `{"version":"v1","requestContext":"x"}`, false, false},
		{"null", `null`, false, false},
		{"array", `[{"version":"v1"}]`, false, false},
		{"not JSON", `version`, false, false},
		{"empty", ``, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, isHTTP, err := decodeHTTPTrigger([]byte(tt.raw))
			if isHTTP != tt.isHTTP || (err != nil) != tt.wantErr {
				t.Fatalf("isHTTP, err = %v, %v; want %v, error %v", isHTTP, err, tt.isHTTP, tt.wantErr)
			}
			if (ev != nil) != (isHTTP && err == nil) {
				t.Errorf("ev = %v", ev)
			}
		})
	}
}

func TestNewRequest(t *testing.T) {
	type want struct {
		method, path, rawQuery, host, remote, proto, body string
		header                                            map[string][]string // checked keys only
		query                                             map[string][]string
	}
	tests := []struct {
		name  string
		event []byte
		want  want
	}{
		{
			name:  "send fixture",
			event: readEvent(t, sendEvent, nil),
			want: want{
				method: "POST", path: "/send", rawQuery: "lang=zh-CN&tag=a%2Cb",
				host: "smsverify-abcdefghij.cn-hangzhou.fcapp.run", remote: "203.0.113.10:0", proto: "HTTP/1.1",
				body: `{"PhoneNumber":"13800000000","CountryCode":"86"}`,
				header: map[string][]string{
					"Content-Type": {"application/json"}, "User-Agent": {"curl/8.5.0"},
					"X-Forwarded-For": {"203.0.113.10"}, "Content-Length": nil,
				},
				query: map[string][]string{"tag": {"a,b"}, "lang": {"zh-CN"}},
			},
		},
		{
			name:  "base64 fixture",
			event: readEvent(t, checkB64, nil),
			want: want{
				method: "POST", path: "/check", host: "smsverify-abcdefghij.cn-hangzhou.fcapp.run",
				remote: "198.51.100.7:0", proto: "HTTP/1.1",
				body: `{"PhoneNumber":"13800000000","VerifyCode":"1234"}`,
			},
		},
		{
			name: "comma-joined values stay whole; keys canonical; Host header wins",
			event: readEvent(t, sendEvent, setHeaders(
				"authorization", "Bearer a,b", "accept", "text/html, application/json", "host", "sms.example.com",
				"user-agent", "Mozilla/5.0 (X11; Linux x86_64)")),
			want: want{
				method: "POST", path: "/send", rawQuery: "lang=zh-CN&tag=a%2Cb", host: "sms.example.com",
				remote: "203.0.113.10:0", proto: "HTTP/1.1", body: `{"PhoneNumber":"13800000000","CountryCode":"86"}`,
				header: map[string][]string{
					"Authorization": {"Bearer a,b"}, "User-Agent": {"curl/8.5.0", "Mozilla/5.0 (X11; Linux x86_64)"},
					"Accept": {"application/json", "text/html, application/json"}, "Host": nil,
				},
			},
		},
		{
			name: "encoded rawPath, IPv6 source, HTTP/2, empty query",
			event: readEvent(t, sendEvent, chain(setField("rawPath", "/a%2Fb%20c"), setField("queryParameters", map[string]any{}),
				setField("body", ""), func(m map[string]any) {
					h := obj(obj(m, "requestContext"), "http")
					h["sourceIp"], h["protocol"] = "2001:db8::1", "HTTP/2.0"
				})),
			want: want{
				method: "POST", path: "/a/b c", host: "smsverify-abcdefghij.cn-hangzhou.fcapp.run",
				remote: "[2001:db8::1]:0", proto: "HTTP/2.0",
			},
		},
		{
			name:  "minimal",
			event: []byte(`{"version":"v1","requestContext":{"http":{"method":"GET","sourceIp":"not an ip"}}}`),
			want:  want{method: "GET", path: "/", remote: "not an ip", proto: "HTTP/1.1"},
		},
		{
			name:  "relative rawPath",
			event: []byte(`{"rawPath":"healthz","requestContext":{"http":{"method":"GET"}}}`),
			want:  want{method: "GET", path: "/healthz", proto: "HTTP/1.1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, isHTTP, err := decodeHTTPTrigger(tt.event)
			if !isHTTP || err != nil {
				t.Fatalf("decode: %v %v", isHTTP, err)
			}
			ctx := context.WithValue(t.Context(), ctxKey{}, "fc")
			r, err := platform.NewRequest(ctx, httpRequest(ev))
			if err != nil {
				t.Fatal(err)
			}
			w := tt.want
			if r.Context().Value(ctxKey{}) != "fc" {
				t.Error("the request does not carry the invocation's ctx")
			}
			if r.Method != w.method || r.URL.Path != w.path || r.URL.RawQuery != w.rawQuery || r.Host != w.host ||
				r.RemoteAddr != w.remote || r.Proto != w.proto {
				t.Errorf("got %s %s ?%s host %q remote %q %s\nwant %s %s ?%s host %q remote %q %s",
					r.Method, r.URL.Path, r.URL.RawQuery, r.Host, r.RemoteAddr, r.Proto,
					w.method, w.path, w.rawQuery, w.host, w.remote, w.proto)
			}
			if r.RequestURI != r.URL.RequestURI() || !strings.HasPrefix(r.RequestURI, "/") {
				t.Errorf("RequestURI = %q", r.RequestURI)
			}
			for k, v := range w.header {
				if got := r.Header.Values(k); !slices.Equal(got, v) {
					t.Errorf("header %s = %q, want %q", k, got, v)
				}
			}
			q := r.URL.Query()
			for k, v := range w.query {
				if got := q[k]; !slices.Equal(got, v) {
					t.Errorf("query %s = %q, want %q", k, got, v)
				}
			}
			body, err := io.ReadAll(r.Body)
			if err != nil || string(body) != w.body || r.ContentLength != int64(len(w.body)) {
				t.Errorf("body %q (%v), ContentLength %d; want %q", body, err, r.ContentLength, w.body)
			}
			if w.body == "" && r.Body != http.NoBody {
				t.Errorf("empty body is %T, want http.NoBody", r.Body)
			}
		})
	}
}

// FuzzHTTPTriggerToRequest feeds arbitrary payloads through the decision
// (HTTP or event), the decoder and the conversion: none may panic, and a
// converted request must be one net/http could have produced.
func FuzzHTTPTriggerToRequest(f *testing.F) {
	f.Add(readEvent(f, sendEvent, nil))
	f.Add(readEvent(f, checkB64, nil))
	f.Add([]byte(`{"rawPath":"/%zz","requestContext":{"http":{"method":"GET","protocol":"HTTP/9","sourceIp":"::ffff:1.2.3.4"}}}`))
	f.Add([]byte(`{"version":"v1","isBase64Encoded":true,"requestContext":{"http":{"method":"POST","path":"x"}}}`))
	f.Add([]byte(`{"version":"v1","headers":{"host":"a","Host":"b","X":""},"queryParameters":{"":""},"requestContext":{"http":{"method":" "}}}`))
	f.Add([]byte(`{"Action":"SendSmsVerifyCode"}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		ev, isHTTP, err := decodeHTTPTrigger(raw)
		if !isHTTP && (ev != nil || err != nil) {
			t.Fatalf("not HTTP but ev %v, err %v", ev, err)
		}
		if ev == nil {
			return
		}
		r, err := platform.NewRequest(t.Context(), httpRequest(ev))
		if err != nil {
			return
		}
		if r.Method == "" || r.URL == nil || !strings.HasPrefix(r.URL.Path, "/") || r.Header == nil || r.Body == nil {
			t.Fatalf("request %+v", r)
		}
		_ = r.URL.String()
		body, err := io.ReadAll(r.Body)
		if err != nil || int64(len(body)) != r.ContentLength {
			t.Fatalf("body of %d bytes (%v), ContentLength %d", len(body), err, r.ContentLength)
		}
		if ev.Body != nil && (ev.IsBase64Encoded == nil || !*ev.IsBase64Encoded) && string(body) != *ev.Body {
			t.Fatalf("body %q, want %q", body, *ev.Body)
		}
		if ev.Headers != nil {
			for k, v := range *ev.Headers {
				if ck := http.CanonicalHeaderKey(k); ck != "Host" && ck != "Content-Length" && !slices.Contains(r.Header.Values(k), v) {
					t.Fatalf("header %q: %q missing from %q", k, v, r.Header.Values(k))
				}
			}
		}
	})
}
