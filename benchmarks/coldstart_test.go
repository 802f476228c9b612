package benchmarks

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"smsverify/core/dypnstest"
	"smsverify/internal/redistest"
)

// The cold-start benchmark runs the Lambda bootstrap under the official
// Runtime Interface Emulator (AWS_LAMBDA_RIE) with Captcha 2.0 on and Redis
// for the limits, against an HTTPS upstream (the dypnstest fake) reached
// through a loopback proxy that adds coldRTT to every round trip: one proxy
// port for Dypnsapi and one for Captcha 2.0, as two hosts are in
// production.
//
//	cd benchmarks && AWS_LAMBDA_RIE=/opt/rie/aws-lambda-rie \
//	  go test -run '^$' -bench ColdStart -benchtime 5x
//
// SMSVERIFY_BENCH_BOOTSTRAP names a prebuilt bootstrap to measure instead
// of one built from ../adapters/lambda (to compare two commits).
//
// A userspace proxy accepts a TCP connection at once, so it adds no delay
// to the TCP handshake: only the TLS handshake and the requests pay its
// round trip. A real link adds one more round trip per new connection.

// coldRTT is the round trip the proxy adds: a Lambda far from the region
// of the Alibaba endpoints sees 150–250 ms; 50 ms is a near region.
const coldRTT = 50 * time.Millisecond

// latencyProxy forwards each TCP connection it accepts to target, and
// delivers every chunk of bytes half a round trip after it was read, in
// both directions.
type latencyProxy struct {
	ln     net.Listener
	target string
	oneWay time.Duration
	wg     sync.WaitGroup
	mu     sync.Mutex
	conns  []net.Conn
}

func startLatencyProxy(b *testing.B, target string, rtt time.Duration) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	p := &latencyProxy{ln: ln, target: target, oneWay: rtt / 2}
	p.wg.Go(p.accept)
	b.Cleanup(func() {
		_ = ln.Close()
		p.mu.Lock()
		for _, c := range p.conns {
			_ = c.Close()
		}
		p.mu.Unlock()
		p.wg.Wait()
	})
	return ln.Addr().String()
}

func (p *latencyProxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		u, err := net.Dial("tcp", p.target)
		if err != nil {
			_ = c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, u)
		p.mu.Unlock()
		p.wg.Go(func() { p.pipe(u, c) })
		p.wg.Go(func() { p.pipe(c, u) })
	}
}

// pipe copies src to dst, each chunk oneWay after it was read, and then
// half-closes dst.
func (p *latencyProxy) pipe(dst, src net.Conn) {
	type chunk struct {
		due time.Time
		b   []byte
	}
	q := make(chan chunk, 256)
	go func() {
		defer close(q)
		for {
			buf := make([]byte, 32<<10)
			n, err := src.Read(buf)
			if n > 0 {
				q <- chunk{time.Now().Add(p.oneWay), buf[:n]}
			}
			if err != nil {
				return
			}
		}
	}()
	for c := range q {
		time.Sleep(time.Until(c.due)) // the delay line: the link's latency
		if _, err := dst.Write(c.b); err != nil {
			break
		}
	}
	if tc, ok := dst.(*net.TCPConn); ok {
		_ = tc.CloseWrite()
	}
}

// coldStartEnv is what every RIE of the benchmark shares: the bootstrap,
// the upstream behind its two proxies, Redis.
type coldStartEnv struct {
	rie, bootstrap, dir string
	env                 []string
	phones              atomic.Int64
}

func newColdStartEnv(b *testing.B) *coldStartEnv {
	rie := os.Getenv("AWS_LAMBDA_RIE")
	if rie == "" {
		b.Skip("AWS_LAMBDA_RIE is unset: it names the Lambda Runtime Interface Emulator binary")
	}
	dir := b.TempDir()
	redisURL, stopRedis, err := redistest.Start(dir)
	if err != nil {
		b.Skipf("Redis: %v", err)
	}
	b.Cleanup(stopRedis)

	bootstrap := os.Getenv("SMSVERIFY_BENCH_BOOTSTRAP")
	if bootstrap == "" {
		bootstrap = filepath.Join(dir, "bootstrap")
		build := exec.Command("go", "build", "-trimpath", "-tags", "lambda.norpc", "-o", bootstrap, "./adapters/lambda")
		build.Dir = ".." // the smsverify module, built as the Makefile builds it
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := build.CombinedOutput(); err != nil {
			b.Fatalf("go build bootstrap: %v\n%s", err, out)
		}
	}

	cert, err := tls.LoadX509KeyPair(os.Getenv(certEnv), os.Getenv(keyEnv))
	if err != nil {
		b.Fatal(err)
	}
	fake := dypnstest.NewHandler(dypnstest.Options{DailyLimit: -1})
	b.Cleanup(fake.Close)
	upstream := httptest.NewUnstartedServer(fake)
	upstream.Config.ErrorLog = log.New(io.Discard, "", 0) // handshakes cut by a killed RIE
	upstream.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	upstream.StartTLS()
	b.Cleanup(upstream.Close)
	target := upstream.Listener.Addr().String()
	dypns, captcha := startLatencyProxy(b, target, coldRTT), startLatencyProxy(b, target, coldRTT)

	creds := dypnstest.TestCredentials()
	return &coldStartEnv{rie: rie, bootstrap: bootstrap, dir: dir, env: []string{
		"PATH=" + os.Getenv("PATH"),
		"SSL_CERT_FILE=" + os.Getenv("SSL_CERT_FILE"), // trusts the fake's certificate
		"AWS_LAMBDA_FUNCTION_TIMEOUT=30",
		"ALIBABA_CLOUD_ACCESS_KEY_ID=" + creds.AccessKeyID,
		"ALIBABA_CLOUD_ACCESS_KEY_SECRET=" + creds.AccessKeySecret,
		"DYPNS_ENDPOINT=https://" + dypns,
		"CAPTCHA_PROVIDER=aliyun",
		"CAPTCHA_SCENE_ID=bench-scene",
		"CAPTCHA_ENDPOINT=https://" + captcha,
		"LIMIT_STORE=redis",
		"REDIS_URL=" + redisURL,
		"LIMIT_KEY_SECRET=cold-start-benchmark-limit-key-secret",
		"SMS_LIMIT_PER_PHONE=1000000/1h", "SMS_LIMIT_PER_IP=1000000/1h", "SMS_LIMIT_GLOBAL=1000000/1h",
	}}
}

// rieProcess is one RIE with its bootstrap not started yet: the RIE starts
// it on the first invocation, which is then a cold start.
type rieProcess struct {
	base string
	c    *http.Client
	stop func() // kills the RIE and the bootstrap
}

// freeAddr returns a loopback address whose port was free just now.
func freeAddr(b *testing.B) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func (e *coldStartEnv) startRIE(b *testing.B) *rieProcess {
	addr := freeAddr(b)
	var out bytes.Buffer
	cmd := exec.Command(e.rie, "--runtime-interface-emulator-address", addr, "--runtime-api-address", freeAddr(b), e.bootstrap)
	cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = e.dir, e.env, &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // the bootstrap too is stopped
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	r := &rieProcess{c: &http.Client{Timeout: 30 * time.Second}}
	var once sync.Once
	r.stop = func() {
		once.Do(func() {
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			_ = cmd.Wait()
			if b.Failed() {
				b.Logf("RIE log:\n%s", out.String())
			}
		})
	}
	b.Cleanup(r.stop)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	for {
		var d net.Dialer
		if c, err := d.DialContext(ctx, "tcp", addr); err == nil {
			_ = c.Close()
			break
		}
		if ctx.Err() != nil {
			b.Fatalf("RIE not listening on %s", addr)
		}
		time.Sleep(5 * time.Millisecond)
	}
	r.base = "http://" + addr
	return r
}

// httpEvent is an API Gateway HTTP API (payload 2.0) event from a public
// client.
func httpEvent(method, path, body string) []byte {
	e := map[string]any{
		"version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": "",
		"headers": map[string]string{"content-type": "application/json", "host": "bench.execute-api.example.com"},
		"requestContext": map[string]any{
			"http":      map[string]string{"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.7", "userAgent": "bench"},
			"requestId": "bench", "routeKey": "$default", "stage": "$default",
		},
		"body": body, "isBase64Encoded": false,
	}
	out, _ := json.Marshal(e)
	return out
}

// invoke sends one event and returns how long the answer took; the HTTP
// answer must have status want.
func (r *rieProcess) invoke(b *testing.B, event []byte, want int) time.Duration {
	start := time.Now()
	resp, err := r.c.Post(r.base+"/2015-03-31/functions/function/invocations", "application/json", bytes.NewReader(event))
	if err != nil {
		b.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	took := time.Since(start)
	var ans struct {
		StatusCode int    `json:"statusCode"`
		Body       string `json:"body"`
	}
	if err != nil || json.Unmarshal(body, &ans) != nil || ans.StatusCode != want {
		b.Fatalf("invoke: HTTP %d %v: %s, want status %d", resp.StatusCode, err, body, want)
	}
	return took
}

// send is a public POST /send with a captcha token the fake passes once.
func (e *coldStartEnv) send() []byte {
	n := e.phones.Add(1)
	body := fmt.Sprintf(`{"PhoneNumber":"139%08d","CaptchaVerifyParam":"pass-%d"}`, n, n)
	return httpEvent("POST", "/send", body)
}

func median(ds []time.Duration) time.Duration {
	s := slices.Sorted(slices.Values(ds))
	return s[len(s)/2]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// BenchmarkColdStart measures, per iteration, on fresh RIEs:
//   - start-ms: process start, the first GET /healthz (no upstream) less a
//     warm one;
//   - cold-send-ms: the first public POST /send of a fresh process
//     (captcha, Redis limits, Dypnsapi);
//   - warm-send-ms: a later one (the median of warmSends);
//   - cold-extra-ms: cold-send − start − warm-send, what the first send
//     pays for its connections; the goal is at most about one round trip
//     (rtt-ms).
//
// Each is the median over the iterations.
func BenchmarkColdStart(b *testing.B) {
	const warmSends = 5
	e := newColdStartEnv(b)
	var starts, colds, warms []time.Duration
	b.ResetTimer()
	for range b.N {
		r := e.startRIE(b)
		healthz := httpEvent("GET", "/healthz", "")
		coldHealthz := r.invoke(b, healthz, http.StatusOK)
		var warmHealthz []time.Duration
		for range warmSends {
			warmHealthz = append(warmHealthz, r.invoke(b, healthz, http.StatusOK))
		}
		starts = append(starts, coldHealthz-median(warmHealthz))
		r.stop()

		r = e.startRIE(b)
		colds = append(colds, r.invoke(b, e.send(), http.StatusOK))
		var w []time.Duration
		for range warmSends {
			w = append(w, r.invoke(b, e.send(), http.StatusOK))
		}
		warms = append(warms, median(w))
		r.stop()
	}
	b.StopTimer()
	start, cold, warm := median(starts), median(colds), median(warms)
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(ms(start), "start-ms")
	b.ReportMetric(ms(cold), "cold-send-ms")
	b.ReportMetric(ms(warm), "warm-send-ms")
	b.ReportMetric(ms(cold-start-warm), "cold-extra-ms")
	b.ReportMetric(ms(coldRTT), "rtt-ms")
}
