package core_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"smsverify/core"
	"smsverify/core/dypnstest"
)

const okSend = `{"AccessDeniedDetail":"","Message":"成功","RequestId":"CC3BB6D2-2FDF-4321-9DCE-B38165CE4C47",` +
	`"Model":{"RequestId":"a3671ccf-0102-4c8e-8797-a3678e091d09","OutId":"","BizId":"112231421412414124123^4"},"Code":"OK","Success":true}`

// cannedServer answers every request with Alibaba's documented success
// body, so the benchmarks measure the client (and loopback HTTP) alone.
func cannedServer() *httptest.Server { return httptest.NewServer(canned) }

var canned = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	io.WriteString(w, okSend)
})

func benchRequest(phone string) *core.SendRequest {
	return &core.SendRequest{PhoneNumber: phone, SignName: "速通互联验证码", TemplateCode: "100001",
		TemplateParam: `{"code":"##code##","min":"5"}`, CodeLength: core.Int64(6), ValidTime: core.Int64(300)}
}

// BenchmarkSendCanned is one SendSmsVerifyCode over loopback with
// keep-alive against a server that answers a fixed body: validation,
// signing, the HTTP round trip and decoding, with as little server work as
// possible.
func BenchmarkSendCanned(b *testing.B) {
	srv := cannedServer()
	defer srv.Close()
	c, err := core.NewClient(core.Options{Endpoint: srv.URL, Credentials: core.StaticCredentials(dypnstest.TestCredentials())})
	if err != nil {
		b.Fatal(err)
	}
	sendLoop(b, c)
}

// BenchmarkSendParallel is BenchmarkSendCanned from 16×GOMAXPROCS
// goroutines sharing one Client (connections are reused, see
// TestConnectionReuse).
func BenchmarkSendParallel(b *testing.B) {
	srv := cannedServer()
	defer srv.Close()
	c, _ := core.NewClient(core.Options{Endpoint: srv.URL, Credentials: core.StaticCredentials(dypnstest.TestCredentials())})
	b.ReportAllocs()
	b.SetParallelism(16)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.Send(context.Background(), benchRequest("13800000000")); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkSend is one SendSmsVerifyCode over loopback with keep-alive
// against dypnstest, which verifies every signature and runs Alibaba's
// rules; the fake's server-side work is included in the numbers.
func BenchmarkSend(b *testing.B) {
	srv := dypnstest.NewServer(dypnstest.Options{DailyLimit: -1})
	defer srv.Close()
	c, _ := core.NewClient(core.Options{Endpoint: srv.URL, Credentials: core.StaticCredentials(dypnstest.TestCredentials())})
	phones := make([]string, 100000)
	for i := range phones {
		phones[i] = fmt.Sprintf("138%08d", i)
	}
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := c.Send(ctx, benchRequest(phones[i%len(phones)])); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// roundTripFunc is an http.RoundTripper made of a function.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// BenchmarkSendNoNetwork is the client's own cost per Send: validation,
// signing, building the request, reading and decoding Alibaba's documented
// answer, with a transport that answers in memory (its 3 allocations are
// included).
func BenchmarkSendNoNetwork(b *testing.B) {
	hc := &http.Client{Transport: roundTripFunc(func(*http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: 200, Header: http.Header{}, Body: io.NopCloser(strings.NewReader(okSend))}, nil
	})}
	c, err := core.NewClient(core.Options{HTTPClient: hc, Credentials: core.StaticCredentials(dypnstest.TestCredentials())})
	if err != nil {
		b.Fatal(err)
	}
	sendLoop(b, c)
}

// sendLoop times one Send per iteration on c.
func sendLoop(b *testing.B, c *core.Client) {
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Send(ctx, benchRequest("13800000000")); err != nil {
			b.Fatal(err)
		}
	}
}
