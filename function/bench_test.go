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
	cfg := testConfig(srv.URL)
	many := limit.Rate{N: 1000000, Per: time.Second}
	cfg.SendLimitPerPhone, cfg.SendLimitPerIP, cfg.SendLimitGlobal = many, many, many
	cfg.CheckLimitPerPhone, cfg.CheckLimitPerIP = many, many
	svc, err := New(cfg, Options{Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { svc.Close() })
	return svc
}

func benchServe(b *testing.B, path, body string) {
	svc := benchService(b)
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
