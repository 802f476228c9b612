package function

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"smsverify/function/limit"
)

// cannedAnswers are Alibaba's documented success bodies, by action.
var cannedAnswers = map[string]string{
	"SendSmsVerifyCode": `{"AccessDeniedDetail":"","Message":"成功","RequestId":"CC3BB6D2-2FDF-4321-9DCE-B38165CE4C47",` +
		`"Model":{"RequestId":"a3671ccf-0102-4c8e-8797-a3678e091d09","OutId":"","BizId":"112231421412414124123^4"},"Code":"OK","Success":true}`,
	"CheckSmsVerifyCode": `{"AccessDeniedDetail":"","Message":"成功","RequestId":"CC3BB6D2-2FDF-4321-9DCE-B38165CE4C47",` +
		`"Model":{"OutId":"","VerifyResult":"UNKNOWN"},"Code":"OK","Success":true}`,
}

// benchService is a Service whose upstream answers a fixed success body
// (so the benchmarks measure the function, not a fake), with limits no
// benchmark reaches and an access log that is encoded but discarded.
func benchService(b *testing.B) *Service {
	b.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json;charset=utf-8")
		io.WriteString(w, cannedAnswers[r.Header.Get("x-acs-action")])
	}))
	b.Cleanup(srv.Close)
	return newBenchService(b, srv.URL, nil)
}

// newBenchService is the Service of the benchmarks over endpoint, through hc
// when it is not nil.
func newBenchService(b *testing.B, endpoint string, hc *http.Client) *Service {
	b.Helper()
	cfg := testConfig(endpoint)
	many := limit.Rate{N: 1000000, Per: time.Second}
	cfg.SendLimitPerPhone, cfg.SendLimitPerIP, cfg.SendLimitGlobal = many, many, many
	cfg.CheckLimitPerPhone, cfg.CheckLimitPerIP = many, many
	svc, err := New(cfg, Options{Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)), HTTPClient: hc})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { svc.Close() })
	return svc
}

// roundTripFunc is an http.RoundTripper made of a function.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// benchServiceNoNetwork is benchService with an upstream transport that
// answers in memory, so a benchmark measures the function's own work.
func benchServiceNoNetwork(b *testing.B) *Service {
	b.Helper()
	hc := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: http.StatusOK, Header: http.Header{"Content-Type": {"application/json;charset=utf-8"}},
			Body: io.NopCloser(strings.NewReader(cannedAnswers[r.Header.Get("x-acs-action")]))}, nil
	})}
	return newBenchService(b, "https://dypnsapi.aliyuncs.com", hc)
}

func benchServe(b *testing.B, path, body string) {
	benchServeOn(b, benchService(b), path, body)
}

func benchServeOn(b *testing.B, svc *Service, path, body string) {
	b.ReportAllocs()
	for b.Loop() {
		r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
		r.RemoteAddr = "203.0.113.7:5555"
		r.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		svc.ServeHTTP(w, r.WithContext(context.Background()))
		if w.Code != http.StatusOK {
			b.Fatalf("%s: %d %s", path, w.Code, w.Body)
		}
	}
}

// BenchmarkServeHTTPSend is one public POST /send over loopback with
// keep-alive: decoding, validation, limits, signing, the upstream round trip,
// the answer and the access log.
func BenchmarkServeHTTPSend(b *testing.B) {
	benchServe(b, "/send", `{"PhoneNumber":"13800000000"}`)
}

// BenchmarkServeHTTPSendNoNetwork is BenchmarkServeHTTPSend with an
// upstream that answers in memory: the function's own cost per send.
func BenchmarkServeHTTPSendNoNetwork(b *testing.B) {
	benchServeOn(b, benchServiceNoNetwork(b), "/send", `{"PhoneNumber":"13800000000"}`)
}

// BenchmarkServeHTTPCheckNoNetwork is BenchmarkServeHTTPCheck with an
// upstream that answers in memory.
func BenchmarkServeHTTPCheckNoNetwork(b *testing.B) {
	benchServeOn(b, benchServiceNoNetwork(b), "/check", `{"PhoneNumber":"13800000000","VerifyCode":"123456"}`)
}

// BenchmarkServeHTTPCheck is one public POST /check, as BenchmarkServeHTTPSend.
func BenchmarkServeHTTPCheck(b *testing.B) {
	benchServe(b, "/check", `{"PhoneNumber":"13800000000","VerifyCode":"123456"}`)
}

// BenchmarkSecureHash is the keyed hash naming one phone in the limit store.
func BenchmarkSecureHash(b *testing.B) {
	svc := benchService(b)
	b.ReportAllocs()
	for b.Loop() {
		svc.secureHash("86", "13800000000")
	}
}
