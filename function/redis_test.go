package function

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"github.com/redis/go-redis/v9"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"smsverify/function/limit"

	"smsverify/internal/redistest"
)

// This file holds the Redis side of the abuse-protection tests: how a test
// gets a Redis, and the tests that need one (shared limits and code use
// across instances, Redis down). Tests that need a Redis use REDIS_URL when
// it is set, else a private redis-server on a free loopback port, and skip
// when neither is available.

// redisURL returns the Redis for t: REDIS_URL, or a private redis-server
// that is stopped when t ends. It skips t when there is neither.
func redisURL(t *testing.T) string {
	t.Helper()
	if u := os.Getenv("REDIS_URL"); u != "" {
		return redistest.WithTestTimeouts(u)
	}
	return privateRedis(t)
}

// privateRedis starts a non-persistent redis-server on a free loopback port
// for t alone, so a test may use fixed key prefixes on it. It skips t when
// redis-server is not installed.
func privateRedis(t *testing.T) string {
	t.Helper()
	url, stop, err := redistest.Start(t.TempDir())
	if errors.Is(err, redistest.ErrNotInstalled) {
		redistest.Skip(t, "no Redis: set REDIS_URL (e.g. redis://127.0.0.1:6379/0) or install redis-server (apt-get install redis-server)")
	}
	if err != nil {
		t.Fatalf("starting redis-server: %v", err)
	}
	t.Cleanup(stop)
	return url
}

// redisPrefix returns a key prefix no other test uses; its keys are deleted
// when t ends.
func redisPrefix(t *testing.T, url string) string {
	t.Helper()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	prefix := "functest:" + hex.EncodeToString(b) + ":"
	t.Cleanup(func() {
		if err := redistest.DeleteKeys(url, prefix+"*"); err != nil {
			t.Errorf("deleting test keys: %v", err)
		}
	})
	return prefix
}

// redisStore returns a Store with its own client (limit.OpenRedis) on url
// under prefix; the Service that receives it closes it.
func redisStore(t *testing.T, url, prefix string) limit.Store {
	t.Helper()
	s, err := limit.OpenRedis(limit.RedisOptions{URL: url, Prefix: prefix})
	if err != nil {
		t.Fatalf("OpenRedis: %v", err)
	}
	if _, err := s.Used(context.Background(), "probe"); err != nil {
		s.Close()
		t.Fatalf("Redis at REDIS_URL does not answer: %v", err)
	}
	return s
}

// withRedis makes newEnv's Service use a fresh prefix on the test Redis.
func withRedis(t *testing.T) func(*Config, *Options) {
	url := redisURL(t)
	prefix := redisPrefix(t, url)
	return func(c *Config, o *Options) { o.Store = redisStore(t, url, prefix) }
}

// TestConcurrentSendsSharedRedis: two instances, each with its own Redis
// client, share one per-IP budget: exactly N of 200 concurrent sends pass.
func TestConcurrentSendsSharedRedis(t *testing.T) {
	const n = 7
	url := redisURL(t)
	prefix := redisPrefix(t, url)
	lim := func(c *Config, o *Options) {
		setLimits(c)
		c.SendLimitPerIP = rate(t, strconv.Itoa(n)+"/1h")
		o.Store = redisStore(t, url, prefix)
	}
	e := newEnv(t, lim)
	b := e.instance(lim)
	assertConcurrentSends(t, e, []*Service{e.svc, b}, n)
}

// TestConfigRedisStore: LIMIT_STORE=redis makes New share limits through
// REDIS_URL (no injected Store), so two instances built from the same
// configuration share the per-IP budget. It needs a private server, as the
// prefix is fixed.
func TestConfigRedisStore(t *testing.T) {
	url := privateRedis(t)
	lim := func(c *Config, o *Options) {
		setLimits(c)
		c.SendLimitPerIP = rate(t, "2/1h")
		c.LimitStore, c.RedisURL = "redis", url
	}
	e := newEnv(t, lim)
	b := e.instance(lim)
	for i, svc := range []*Service{e.svc, b, e.svc, b} {
		st, code := serve(svc, "198.51.100.1", "/send", sendJSON(phone(i)))
		want := http.StatusOK
		if i >= 2 {
			want = http.StatusTooManyRequests
		}
		if st != want || (i >= 2 && code != CodeSendLimitIP) {
			t.Fatalf("send %d: %d %s, want %d", i, st, code, want)
		}
	}
	if got := e.fake.SendCount(); got != 2 {
		t.Errorf("fake sent %d, want 2", got)
	}
}

// TestReplayAcrossInstances: a code that PASSed on one instance never
// passes on another that shares the Redis, even when the upstream would
// accept it again. The control shows the upstream used here does.
func TestReplayAcrossInstances(t *testing.T) {
	url := redisURL(t)
	for _, tc := range []struct {
		name   string
		shared bool
		want   string // the replay's VerifyResult on instance B
	}{
		{"shared redis", true, "UNKNOWN"},
		{"separate memory stores (control)", false, "PASS"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			prefix := redisPrefix(t, url)
			e, mut := newReuseEnv(t, func(c *Config, o *Options) {
				if tc.shared {
					o.Store = redisStore(t, url, prefix)
				}
			})
			b := e.instance(mut)
			const p = "13900000001"
			if st, code := serve(e.svc, "198.51.100.1", "/send", sendJSON(p)); st != http.StatusOK {
				t.Fatalf("send: %d %s", st, code)
			}
			body := checkJSON(p, e.lastCode(p))
			if r := verifyResult(t, e.svc, body); r != "PASS" {
				t.Fatalf("check on A: %s, want PASS", r)
			}
			if r := verifyResult(t, b, body); r != tc.want {
				t.Errorf("replay on B: %s, want %s", r, tc.want)
			}
		})
	}
}

// TestRedisDown: with LIMIT_STORE=redis and Redis unreachable, sends and
// checks are refused with 503 LIMIT_STORE_UNAVAILABLE (never unlimited) and
// never reach Alibaba; the event API reports a transient error.
func TestRedisDown(t *testing.T) {
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, func(c *Config, o *Options) {
		setLimits(c)
		c.LimitStore, c.RedisURL = "redis", "redis://127.0.0.1:"+port+"/0"
	})
	const p = "13900000002"
	for _, tc := range []struct {
		name, path, body string
		hdr              []string
	}{
		{"public send", "/send", sendJSON(p), nil},
		{"trusted send", "/send", sendJSON(p), []string{"Authorization", "Bearer " + testKey}},
		{"public check", "/check", checkJSON(p, "1234"), nil},
		{"trusted check", "/check", checkJSON(p, "1234"), []string{"Authorization", "Bearer " + testKey}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, m := e.do("POST", tc.path, tc.body, tc.hdr...)
			if w.Code != http.StatusServiceUnavailable || m["Code"] != CodeLimitStoreDown || m["Success"] != false {
				t.Errorf("%d %v, want 503 %s", w.Code, m, CodeLimitStoreDown)
			}
			if strings.Contains(w.Body.String(), "127.0.0.1:"+port) {
				t.Errorf("answer names the Redis address: %s", w.Body.String())
			}
		})
	}
	for _, action := range []string{"SendSmsVerifyCode", "CheckSmsVerifyCode"} {
		t.Run("event "+action, func(t *testing.T) {
			out, err := e.svc.Invoke(context.Background(), []byte(eventJSON(action, p)))
			if err == nil {
				t.Fatalf("Invoke answered %s with a nil error, want a transient error", out)
			}
			if !strings.Contains(err.Error(), CodeLimitStoreDown) {
				t.Errorf("error %v does not say %s", err, CodeLimitStoreDown)
			}
		})
	}
	if n := e.fake.Requests(); n != 0 {
		t.Errorf("%d requests reached the fake with the limit store down", n)
	}
}

// TestConfigRedisNeedsURL: LIMIT_STORE=redis without REDIS_URL is refused
// by New, naming the variable.
func TestConfigRedisNeedsURL(t *testing.T) {
	c := testConfig("http://127.0.0.1:1")
	c.LimitStore, c.RedisURL = "redis", ""
	_, err := New(c, Options{})
	if err == nil || !strings.Contains(err.Error(), "REDIS_URL") {
		t.Errorf("New: %v, want an error naming REDIS_URL", err)
	}
}

// freePort returns a loopback port that nothing listens on right now.
func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port), nil
}

// TestReadyz: GET /readyz says 200 while the Redis limit store answers and
// 503 LIMIT_STORE_UNAVAILABLE once it does not, while /healthz stays 200.
// A store that is down at start (Warm, which every adapter runs as the
// service starts) is logged in one line, and the service starts anyway;
// an eviction policy other than noeviction is warned of.
func TestReadyz(t *testing.T) {
	requireRedisServer(t)
	dir := t.TempDir()
	srv, err := redistest.StartServer(dir, "--maxmemory-policy", "allkeys-lru")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	lim := func(url string) func(*Config, *Options) {
		return func(c *Config, _ *Options) { c.LimitStore, c.RedisURL = "redis", redistest.WithTestTimeouts(url) }
	}
	e := newEnv(t, lim(srv.URL))
	_ = e.svc.Warm(t.Context())
	if w, m := e.do("GET", "/readyz", ""); w.Code != 200 || m["status"] != "ok" {
		t.Fatalf("GET /readyz with Redis up: %d %v", w.Code, m)
	}
	if logs := e.logs.String(); !strings.Contains(logs, `"maxmemory_policy":"allkeys-lru"`) || !strings.Contains(logs, `"level":"WARN"`) {
		t.Errorf("no eviction warning at start:\n%s", logs)
	}
	srv.Stop()
	if w, m := e.do("GET", "/readyz", ""); w.Code != 503 || m["Code"] != CodeLimitStoreDown {
		t.Errorf("GET /readyz with Redis down: %d %v", w.Code, m)
	}
	if w, _ := e.do("GET", "/healthz", ""); w.Code != 200 {
		t.Errorf("GET /healthz with Redis down: %d, want 200 (liveness)", w.Code)
	}

	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	down := newEnv(t, lim("redis://127.0.0.1:"+port+"/0"))
	_ = down.svc.Warm(t.Context())
	lines := strings.Count(down.logs.String(), "does not answer")
	if lines != 1 || !strings.Contains(down.logs.String(), `"level":"ERROR"`) {
		t.Errorf("start with Redis down logged %d lines about it, want 1:\n%s", lines, down.logs.String())
	}
	if w, _ := down.do("GET", "/readyz", ""); w.Code != 503 {
		t.Errorf("GET /readyz on a service started with Redis down: %d, want 503", w.Code)
	}
}

// requireRedisServer skips t unless redis-server is on PATH.
func requireRedisServer(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		redistest.Skip(t, "no redis-server on PATH (apt-get install redis-server)")
	}
}

// TestConfigRedisVariables: the Redis variables are checked together, each
// problem naming its variable.
func TestConfigRedisVariables(t *testing.T) {
	base := func() Config {
		c := testConfig("http://127.0.0.1:1")
		c.LimitStore, c.RedisURL, c.LimitKeySecret = "redis", "redis://127.0.0.1:6379/0", testLimitKeySecret
		return c
	}
	for _, tc := range []struct {
		name  string
		edit  func(*Config)
		names string // "" when valid
	}{
		{"standalone", func(*Config) {}, ""},
		{"cluster", func(c *Config) { c.RedisMode = "cluster" }, ""},
		{"sentinel", func(c *Config) {
			c.RedisMode, c.RedisSentinelMaster, c.RedisSentinelAddrs = "sentinel", "mymaster", []string{"10.0.0.2:26379"}
		}, ""},
		{"rediss with a CA file", func(c *Config) { c.RedisURL, c.RedisCAFile = "rediss://cache.example:6380", "/opt/ca.pem" }, ""},
		{"unknown mode", func(c *Config) { c.RedisMode = "ring" }, "REDIS_MODE"},
		{"cluster without a hash tag", func(c *Config) { c.RedisMode, c.LimitKeyPrefix = "cluster", "smsverify:" }, "LIMIT_KEY_PREFIX"},
		{"cluster with an empty hash tag", func(c *Config) { c.RedisMode, c.LimitKeyPrefix = "cluster", "{}smsverify:" }, "LIMIT_KEY_PREFIX"},
		{"sentinel without a master", func(c *Config) { c.RedisMode = "sentinel" }, "REDIS_SENTINEL_MASTER"},
		{"sentinel address without a port", func(c *Config) {
			c.RedisMode, c.RedisSentinelMaster, c.RedisSentinelAddrs = "sentinel", "m", []string{"10.0.0.2"}
		}, "REDIS_SENTINEL_ADDRS"},
		{"a master outside sentinel mode", func(c *Config) { c.RedisSentinelMaster = "m" }, "REDIS_SENTINEL_MASTER"},
		{"a CA file for redis://", func(c *Config) { c.RedisCAFile = "/opt/ca.pem" }, "REDIS_CA_FILE"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := base()
			tc.edit(&c)
			err := c.Validate()
			switch {
			case tc.names == "" && err != nil:
				t.Errorf("Validate: %v", err)
			case tc.names != "" && (err == nil || !strings.Contains(err.Error(), tc.names)):
				t.Errorf("Validate: %v, want an error naming %s", err, tc.names)
			}
		})
	}
}

// clientCommands is the number of commands the service's clients have sent
// the Redis behind c: its round trips. Commands its scripts run count
// under their own names (HGETALL, HINCRBY, ...), which no client sends.
func clientCommands(t testing.TB, c *redis.Client) int64 {
	t.Helper()
	info, err := c.Info(context.Background(), "commandstats").Result()
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for line := range strings.SplitSeq(info, "\r\n") {
		name, rest, ok := strings.Cut(line, ":calls=")
		if !ok {
			continue
		}
		switch strings.TrimPrefix(name, "cmdstat_") {
		case "evalsha", "eval", "exists", "set", "lrange", "mget", "ping", "config|get":
			calls, _, _ := strings.Cut(rest, ",")
			v, err := strconv.ParseInt(calls, 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			n += v
		}
	}
	return n
}

// TestRedisRoundTrips: a send takes two round trips to Redis (the limit
// script before Alibaba, then the accepted send's entry in the attempts
// log, which a later FREQUENCY_FAIL's Retry-After reads), a check three
// (the limits, whose answer carries AttemptsLeft; the used mark; its entry
// in the attempts log) and a check that passes four (and the mark), once
// the scripts are cached. A send Alibaba refuses with FREQUENCY_FAIL, the
// rare path, takes three: the limits, the global slot given back, and the
// attempts log read for its Retry-After.
func TestRedisRoundTrips(t *testing.T) {
	url := privateRedis(t)
	c, err := redistest.Conn(url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	e := newEnv(t, func(c *Config, _ *Options) { setLimits(c); c.LimitStore, c.RedisURL = "redis", url })
	// trips runs one request, answered OK or refused with the code
	// refusal, and counts its round trips.
	trips := func(what, path, body, refusal string, want int64) {
		t.Helper()
		before := clientCommands(t, c)
		w, m := e.from(ipA, path, body)
		if refusal != "" {
			refused(t, what, w, m, refusal)
		} else {
			ok(t, what, w, m)
		}
		if got := clientCommands(t, c) - before; got != want {
			t.Errorf("%s: %d round trips to Redis, want %d", what, got, want)
		}
	}
	// Warm the script cache (a first EVALSHA falls back to EVAL).
	w, m := e.from(ipA, "/send", sendJSON(phone(1)))
	ok(t, "send", w, m)
	w, m = e.from(ipA, "/send", sendJSON(phone(1)))
	refused(t, "resend", w, m, "FREQUENCY_FAIL")
	w, m = e.from(ipA, "/check", checkJSON(phone(1), "0000"))
	ok(t, "check", w, m)
	trips("send", "/send", sendJSON(phone(2)), "", 2)
	trips("a wrong check", "/check", checkJSON(phone(2), "0000"), "", 3)
	trips("a passing check", "/check", checkJSON(phone(2), e.lastCode(phone(2))), "", 4)
	trips("a resend", "/send", sendJSON(phone(2)), "FREQUENCY_FAIL", 3)
}

// TestConcurrentSendsCluster: two instances configured for a 3-master
// Redis Cluster (REDIS_MODE=cluster, REDIS_URL on one node) share one
// per-IP budget: exactly N of 200 concurrent sends pass.
func TestConcurrentSendsCluster(t *testing.T) {
	requireRedisServer(t)
	nodes, stop, err := redistest.StartCluster(t.TempDir(), 3, 0)
	if errors.Is(err, redistest.ErrNotInstalled) {
		redistest.Skip(t, err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	const n = 7
	lim := func(c *Config, o *Options) {
		setLimits(c)
		c.SendLimitPerIP = rate(t, strconv.Itoa(n)+"/1h")
		c.LimitStore, c.RedisMode, c.RedisURL = "redis", "cluster", redistest.WithTestTimeouts(nodes[1].URL)
	}
	e := newEnv(t, lim)
	b := e.instance(lim)
	if w, _ := e.do("GET", "/readyz", ""); w.Code != 200 {
		t.Fatalf("GET /readyz on the cluster: %d", w.Code)
	}
	assertConcurrentSends(t, e, []*Service{e.svc, b}, n)
}

// BenchmarkRedisRoundTrips reports the round trips to Redis of a public
// send and of a wrong check (trips/send, trips/check: 2 and 3, see
// TestRedisRoundTrips), counted by the server, with a private
// redis-server, and the time of a send and a check.
func BenchmarkRedisRoundTrips(b *testing.B) {
	url, stop, err := redistest.Start(b.TempDir())
	if errors.Is(err, redistest.ErrNotInstalled) {
		redistest.Skip(b, err)
	}
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(stop)
	c, err := redistest.Conn(url)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json;charset=utf-8")
		io.WriteString(w, cannedAnswers[r.Header.Get("x-acs-action")])
	}))
	b.Cleanup(srv.Close)
	cfg := testConfig(srv.URL)
	many := limit.Rate{N: 1000000, Per: time.Second}
	cfg.SendLimitPerPhone, cfg.SendLimitPerIP, cfg.SendLimitGlobal = many, many, many
	cfg.CheckLimitPerPhone, cfg.CheckLimitPerIP = many, many
	cfg.LimitStore, cfg.RedisURL, cfg.LimitKeySecret = "redis", url, testLimitKeySecret
	svc, err := New(cfg, Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer svc.Close()
	serve := func(path, body string) {
		r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
		r.RemoteAddr = "203.0.113.7:5555"
		r.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		svc.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			b.Fatalf("%s: %d %s", path, w.Code, w.Body)
		}
	}
	serve("/send", sendJSON(phone(0))) // caches the scripts
	var sends, checks int64
	for b.Loop() {
		n := clientCommands(b, c)
		serve("/send", sendJSON(phone(1)))
		m := clientCommands(b, c)
		serve("/check", checkJSON(phone(1), "0000"))
		sends += m - n
		checks += clientCommands(b, c) - m
	}
	b.ReportMetric(float64(sends)/float64(b.N), "trips/send")
	b.ReportMetric(float64(checks)/float64(b.N), "trips/check")
}
