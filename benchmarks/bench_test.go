// Package benchmarks compares smsverify with Alibaba Cloud's official Go SDKs
// in one run, on one machine, against one loopback upstream. It is its own
// module so that the SDKs never enter smsverify's. Run it with run.sh, which
// prints the table docs/performance.md shows.
//
// Benchmark names are Benchmark<Measure>/<implementation>[/<transport>];
// the ratios program (./ratios) reads them.
package benchmarks

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	openapiutil "github.com/alibabacloud-go/darabonba-openapi/v2/utils"
	"github.com/alibabacloud-go/tea/dara"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/auth"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/auth/credentials"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"

	"smsverify/core/acs3"
)

// concurrency is the number of goroutines of the throughput benchmarks;
// warmup calls at that concurrency precede each measurement, so that every
// client has opened the connections it is going to keep.
const (
	concurrency = 200
	warmup      = 2 * concurrency
)

const phone = "13800000000"

// BenchmarkSign is building and signing one SendSmsVerifyCode request from
// its parameters: acs3.SignHTTP (V3, the path core's Client signs through), the V3 SDK's
// GetAuthorization as its DoRequest calls it, and the V1 SDK's RPC signer
// (HMAC-SHA1) after its parameter reflection.
func BenchmarkSign(b *testing.B) {
	b.Run("core", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			q := url.Values{"PhoneNumber": {phone}, "SignName": {signName}, "TemplateCode": {templateCode},
				"TemplateParam": {templateParam}, "CodeLength": {"6"}, "ValidTime": {"300"}}
			r, err := http.NewRequest(http.MethodPost, "https://dypnsapi.aliyuncs.com/?"+q.Encode(), nil)
			if err != nil {
				b.Fatal(err)
			}
			r.Header.Set("x-acs-action", "SendSmsVerifyCode")
			r.Header.Set("x-acs-version", apiVersion)
			if err := acs3.SignHTTP(r, "", creds, time.Now(), nonce()); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("v3sdk", func(b *testing.B) {
		alg := dara.String("ACS3-HMAC-SHA256")
		b.ReportAllocs()
		for b.Loop() {
			r := dara.NewRequest()
			r.Protocol, r.Method, r.Pathname = dara.String("https"), dara.String("POST"), dara.String("/")
			r.Query = v3SendQuery(phone)
			r.Headers = map[string]*string{
				"host": dara.String("dypnsapi.aliyuncs.com"), "x-acs-version": dara.String(apiVersion),
				"x-acs-action": dara.String("SendSmsVerifyCode"), "user-agent": openapiutil.GetUserAgent(nil),
				"x-acs-date": openapiutil.GetTimestamp(), "x-acs-signature-nonce": openapiutil.GetNonce(),
				"accept": dara.String("application/json"),
			}
			payload := dara.String(hex.EncodeToString(openapiutil.Hash([]byte{}, alg)))
			r.Headers["x-acs-content-sha256"] = payload
			r.Headers["Authorization"] = openapiutil.GetAuthorization(r, alg, payload,
				dara.String(creds.AccessKeyID), dara.String(creds.AccessKeySecret))
		}
	})
	b.Run("v1sdk", func(b *testing.B) {
		u := &url.URL{Scheme: "https", Host: "dypnsapi.aliyuncs.com"}
		provider := credentials.NewStaticAKCredentialsProvider(creds.AccessKeyID, creds.AccessKeySecret)
		b.ReportAllocs()
		for b.Loop() {
			r := v1Request(u, phone)
			if err := requests.InitParams(r); err != nil {
				b.Fatal(err)
			}
			if err := auth.Sign(r, nil, "cn-hangzhou", provider); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// nonce is what core's Client uses: 16 random bytes in hex.
func nonce() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// sender is one client's SendSmsVerifyCode against the upstream.
type sender func(i int) error

func senders(tb testing.TB, endpoint string) map[string]sender {
	cc, err := newCore(endpoint)
	if err != nil {
		tb.Fatal(err)
	}
	v3, err := newV3(endpoint)
	if err != nil {
		tb.Fatal(err)
	}
	v1, err := newV1()
	if err != nil {
		tb.Fatal(err)
	}
	u, err := url.Parse(endpoint)
	if err != nil {
		tb.Fatal(err)
	}
	return map[string]sender{
		"core": func(int) error {
			_, err := cc.Send(context.Background(), coreRequest(phone))
			return err
		},
		"v3sdk": func(int) error {
			_, err := v3CallSend(v3, phone)
			return err
		},
		"v1sdk": func(int) error {
			res, err := v1.SendSmsVerifyCode(v1Request(u, phone))
			if err == nil && res.Code != "OK" {
				err = fmt.Errorf("V1 SDK: answer %q", res.Code)
			}
			return err
		},
	}
}

var clients = []string{"core", "v3sdk", "v1sdk"}

// BenchmarkSend is one SendSmsVerifyCode after another over loopback HTTP
// keep-alive against the canned upstream (a child process): cpu-ns/op is
// this process's CPU time per call, that is the client's.
func BenchmarkSend(b *testing.B) {
	up := upstream(b)
	ss := senders(b, up.urls[0])
	for _, name := range clients {
		b.Run(name, func(b *testing.B) {
			send := ss[name]
			if err := send(0); err != nil { // connect outside the measurement
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			cpu := cpuNanos()
			for i := range b.N {
				if err := send(i); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(cpuNanos()-cpu)/float64(b.N), "cpu-ns/op")
		})
	}
}

// BenchmarkSend200 is the same from 200 goroutines sharing one client:
// calls/s, client CPU per call, and the connections the upstream accepted
// per 1,000 calls (a client that keeps its connections opens ~0).
func BenchmarkSend200(b *testing.B) {
	up := upstream(b)
	ss := senders(b, up.urls[0])
	for _, name := range clients {
		b.Run(name, func(b *testing.B) {
			send := ss[name]
			parallel(b, warmup, send) // open the connections the client keeps
			b.ReportAllocs()
			before := up.counters(b)
			b.ResetTimer()
			cpu := cpuNanos()
			parallel(b, b.N, send)
			b.StopTimer()
			b.ReportMetric(float64(cpuNanos()-cpu)/float64(b.N), "cpu-ns/op")
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
			after := up.counters(b)
			b.ReportMetric(float64(after.Conns-before.Conns)*1000/float64(b.N), "conns/1000")
		})
	}
}

// parallel runs n calls of f from concurrency goroutines.
func parallel(tb testing.TB, n int, f sender) {
	var (
		next  atomic.Int64
		wg    sync.WaitGroup
		once  sync.Once
		first error
	)
	for range concurrency {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(n) {
					return
				}
				if err := f(int(i)); err != nil {
					once.Do(func() { first = err })
					next.Store(int64(n))
					return
				}
			}
		})
	}
	wg.Wait()
	if first != nil {
		tb.Fatal(first)
	}
}

// BenchmarkFunction is the whole function, three ways, each a child process
// serving POST /send behind net/http: smsverify (function.Service), the same
// contract on the official V3 SDK, and the stdlib floor. The load comes from
// this process, 200 goroutines over keep-alive; each request is a new phone
// number. The function's upstream is the canned server over plain HTTP or
// over TLS (self-signed certificate, trusted through SSL_CERT_FILE).
// cpu-ns/op is the function process's CPU time per request; srv-B/op and
// srv-allocs/op are its heap allocations per request.
func BenchmarkFunction(b *testing.B) {
	up := upstream(b)
	driver := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 2 * concurrency, MaxIdleConns: 2 * concurrency}}
	roles := map[string]string{"smsverify": "smsverify", "v3sdk": "sdk", "floor": "floor"}
	var seq atomic.Int64
	for _, impl := range []string{"smsverify", "v3sdk", "floor"} {
		for i, tr := range []string{"http", "tls"} {
			b.Run(impl+"/"+tr, func(b *testing.B) {
				fn := startChild(b, roles[impl], up.urls[i])
				send := func(int) error {
					body := fmt.Sprintf(`{"PhoneNumber":"139%08d"}`, seq.Add(1)%100000000)
					resp, err := driver.Post(fn.urls[0]+"/send", "application/json", bytes.NewBufferString(body))
					if err != nil {
						return err
					}
					defer resp.Body.Close()
					answer, _ := io.ReadAll(resp.Body)
					if resp.StatusCode != http.StatusOK || !bytes.Contains(answer, []byte(`"Code":"OK"`)) {
						return fmt.Errorf("%s: %d %s", impl, resp.StatusCode, answer)
					}
					return nil
				}
				parallel(b, warmup, send)
				before, upBefore := fn.counters(b), up.counters(b)
				b.ResetTimer()
				parallel(b, b.N, send)
				b.StopTimer()
				after, upAfter := fn.counters(b), up.counters(b)
				b.ReportMetric(float64(after.CPUNanos-before.CPUNanos)/float64(b.N), "cpu-ns/op")
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
				b.ReportMetric(float64(upAfter.Conns-upBefore.Conns)*1000/float64(b.N), "conns/1000")
				b.ReportMetric(float64(after.HeapBytes-before.HeapBytes)/float64(b.N), "srv-B/op")
				b.ReportMetric(float64(after.HeapAllocs-before.HeapAllocs)/float64(b.N), "srv-allocs/op")
			})
		}
	}
}
