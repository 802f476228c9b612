package core_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
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

// BenchmarkSend is one SendSmsVerifyCode over loopback with keep-alive:
// validation, signing, the HTTP round trip and decoding.
func BenchmarkSend(b *testing.B) {
	srv := cannedServer()
	defer srv.Close()
	c, err := core.NewClient(core.Options{Endpoint: srv.URL, Credentials: core.StaticCredentials(dypnstest.TestCredentials())})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Send(ctx, benchRequest("13800000000")); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSendParallel is BenchmarkSend from many goroutines sharing one
// Client (connections are reused, see TestConnectionReuse in dypnstest).
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

// BenchmarkSendDypnstest is the full round trip against dypnstest, which
// verifies every signature; its server-side work is included.
func BenchmarkSendDypnstest(b *testing.B) {
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
