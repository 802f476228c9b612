package limit

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"smsverify/internal/redistest"
)

// testRedisURL is the Redis the tests use: REDIS_URL, or a private
// redis-server started by TestMain, or "" (Redis tests skip).
var testRedisURL string

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	if u := os.Getenv("REDIS_URL"); u != "" {
		testRedisURL = redistest.WithTestTimeouts(u)
	} else {
		dir, err := os.MkdirTemp("", "limit-redis-")
		if err != nil {
			fmt.Fprintln(os.Stderr, "limit tests:", err)
			return 1
		}
		defer os.RemoveAll(dir)
		url, stop, err := redistest.Start(dir)
		switch {
		case err == nil:
			defer stop()
			testRedisURL = url
		case !errors.Is(err, redistest.ErrNotInstalled):
			fmt.Fprintln(os.Stderr, "limit tests: starting redis-server:", err)
			return 1
		}
	}
	return m.Run()
}

// requireRedis skips the test when no Redis is available.
func requireRedis(tb testing.TB) {
	tb.Helper()
	if testRedisURL == "" {
		redistest.Skip(tb, "no Redis: set REDIS_URL (e.g. redis://127.0.0.1:6379/0) or put redis-server on PATH")
	}
}

// redisStore returns a store on the test Redis under prefix, closed when
// the test ends, or skips the test.
func redisStore(tb testing.TB, prefix string) *Redis {
	tb.Helper()
	requireRedis(tb)
	return openRedis(tb, RedisOptions{URL: testRedisURL, Prefix: prefix})
}

// openRedis opens a store as o says, closed when the test ends.
func openRedis(tb testing.TB, o RedisOptions) *Redis {
	tb.Helper()
	s, err := OpenRedis(o)
	if err != nil {
		tb.Fatalf("OpenRedis: %v", err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	return s
}

// bg is the context of the tests' own commands.
var bg = context.Background()

// testConn returns a connection to the test Redis for the test's own
// commands, closed when the test ends, or skips the test.
func testConn(tb testing.TB) *redis.Client {
	tb.Helper()
	requireRedis(tb)
	return conn(tb, testRedisURL)
}

// conn returns a connection to the Redis at url for the test's own
// commands, closed when the test ends.
func conn(tb testing.TB, url string) *redis.Client {
	tb.Helper()
	c, err := redistest.Conn(url)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = c.Close() })
	return c
}

// testPrefix returns a key prefix no other test uses, and deletes its keys
// when the test ends.
func testPrefix(tb testing.TB) string {
	tb.Helper()
	requireRedis(tb)
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	prefix := "limittest:" + hex.EncodeToString(b) + ":"
	tb.Cleanup(func() {
		if err := redistest.DeleteKeys(testRedisURL, prefix+"*"); err != nil {
			tb.Errorf("deleting test keys: %v", err)
		}
	})
	return prefix
}

// advanceRedis simulates d passing for the keys under prefix: keys whose
// ttl is at most d are deleted, the others lose d of their ttl. A key with
// no ttl fails the test: every key the store writes must expire.
func advanceRedis(t *testing.T, c *redis.Client, prefix string, d time.Duration) {
	t.Helper()
	keys, err := redistest.Keys(c, prefix+"*")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		ms, err := c.Do(bg, "PTTL", k).Int64()
		if err != nil {
			t.Fatal(err)
		}
		switch ttl := time.Duration(ms) * time.Millisecond; {
		case ms == -2: // gone meanwhile
		case ms < 0:
			t.Fatalf("key %s has no ttl", k)
		case ttl <= d:
			err = c.Del(bg, k).Err()
		default:
			err = c.PExpire(bg, k, ttl-d).Err()
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestRedis(t *testing.T) {
	requireRedis(t)
	testStore(t, redisHarness)
}

// redisHarness is a Redis store under a fresh key prefix whose clock the
// test advances.
func redisHarness(t *testing.T) harness {
	c := testConn(t)
	prefix := testPrefix(t)
	// Registered after testPrefix's cleanup, so it runs before it.
	t.Cleanup(func() { advanceRedis(t, c, prefix, 0) })
	return harness{
		store:   redisStore(t, prefix),
		advance: func(t *testing.T, d time.Duration) { advanceRedis(t, c, prefix, d) },
	}
}

func TestRedisTwoInstances(t *testing.T) {
	prefix := testPrefix(t)
	stores := []Store{redisStore(t, prefix), redisStore(t, prefix)}
	if got := concurrentAllows(t, stores, req("send:global", "7/1h"), 200, msApart); got != 7 {
		t.Fatalf("%d of 200 allowed across two clients, want 7", got)
	}

	// One code, marked on both instances at once: one mark wins.
	const key = "used:two"
	if got := concurrentMarks(t, stores, key, time.Minute, 100); got != 1 {
		t.Fatalf("%d of 100 MarkUsed calls across two clients got true, want 1", got)
	}
	for _, s := range stores {
		wantUsed(t, s, key, true)
		wantMark(t, s, key, time.Minute, false)
	}
}

func TestRedisKeysExpire(t *testing.T) {
	c := testConn(t)
	prefix := testPrefix(t)
	s := redisStore(t, prefix)
	wantAllowed(t, allow(t, s, at(0), req("a", "5/15m"), req("b", "30/5m")))
	wantMark(t, s, "p", 7*time.Minute, true)
	keys, err := redistest.Keys(c, prefix+"*")
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 3 {
		t.Fatalf("store wrote keys %q, want 3", keys)
	}
	limits := map[string]time.Duration{
		prefix + "win:900000:a": 15 * time.Minute,
		prefix + "win:300000:b": 5 * time.Minute,
		prefix + "used:p":       7 * time.Minute,
	}
	for k, limit := range limits {
		ms, err := c.Do(bg, "PTTL", k).Int64()
		if err != nil {
			t.Fatal(err)
		}
		if ttl := time.Duration(ms) * time.Millisecond; ttl <= 0 || ttl > limit {
			t.Errorf("PTTL %s = %v, want in (0, %v]", k, ttl, limit)
		}
	}
}

func TestRedisPrefixesIsolate(t *testing.T) {
	s1 := redisStore(t, testPrefix(t))
	s2 := redisStore(t, testPrefix(t))
	k := req("k", "1/1h")
	wantAllowed(t, allow(t, s1, at(0), k))
	wantAllowed(t, allow(t, s2, at(0), k))
	wantDenied(t, allow(t, s1, at(0), k), 0, time.Hour)
}

// closedPort returns a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// silentServer accepts connections and never answers.
func silentServer(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	return l.Addr().String()
}

func TestRedisUnavailable(t *testing.T) {
	for name, addr := range map[string]func(*testing.T) string{
		"refused": closedPort,
		"silent":  silentServer,
	} {
		t.Run(name, func(t *testing.T) {
			s := openRedis(t, RedisOptions{URL: "redis://" + addr(t) + "/0", Prefix: "smsverify:"})
			// A generous deadline: the store must fail by itself, through
			// its own short timeouts, long before it.
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			const phone = "13800001111"
			check := func(op string, err error) {
				t.Helper()
				switch {
				case err == nil:
					t.Errorf("%s succeeded against an unavailable Redis", op)
				case errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil:
					t.Errorf("%s waited for the caller's deadline: %v", op, err)
				case strings.Contains(err.Error(), phone):
					t.Errorf("%s error %q leaks the key", op, err)
				case !strings.HasPrefix(err.Error(), "limit: redis "):
					t.Errorf("%s error %q is not wrapped", op, err)
				}
			}
			d, err := s.Allow(ctx, at(0), req("send:phone:86:"+phone, "5/1h"))
			if d.Allowed {
				t.Error("Allow allowed against an unavailable Redis")
			}
			check("Allow", err)
			if name == "silent" {
				return // one timeout proves the point; each costs seconds
			}
			ok, err := s.MarkUsed(ctx, "used:"+phone, time.Minute)
			if ok {
				t.Error("MarkUsed returned true against an unavailable Redis")
			}
			check("MarkUsed", err)
			_, err = s.Used(ctx, "used:"+phone)
			check("Used", err)
		})
	}
}

func TestRedisOptions(t *testing.T) {
	for _, tc := range []struct {
		o    RedisOptions
		want func(*redis.UniversalOptions) string // "" when as wanted
	}{
		{RedisOptions{URL: "redis://127.0.0.1:6390/2"}, func(u *redis.UniversalOptions) string {
			if u.Addrs[0] != "127.0.0.1:6390" || u.DB != 2 || u.ReadTimeout != time.Second || u.PoolSize != 128 ||
				u.PoolTimeout != time.Second || u.DialTimeout != time.Second || u.MaxRetries != -1 || u.TLSConfig != nil {
				return "defaults"
			}
			return ""
		}},
		{RedisOptions{URL: "redis://user:p%40ss@127.0.0.1:6390/2?read_timeout=3s&pool_size=7"}, func(u *redis.UniversalOptions) string {
			if u.Username != "user" || u.Password != "p@ss" || u.ReadTimeout != 3*time.Second || u.PoolSize != 7 {
				return "user, password and options"
			}
			return ""
		}},
		{RedisOptions{URL: "rediss://cache.example:6390"}, func(u *redis.UniversalOptions) string {
			if u.TLSConfig == nil || u.TLSConfig.RootCAs != nil || u.TLSConfig.MinVersion != tls.VersionTLS12 {
				return "TLS with the system's roots"
			}
			return ""
		}},
		{RedisOptions{Mode: ModeCluster, URL: "redis://10.0.0.1:7000"}, func(u *redis.UniversalOptions) string {
			if !u.IsClusterMode || u.Addrs[0] != "10.0.0.1:7000" {
				return "cluster"
			}
			return ""
		}},
		{RedisOptions{Mode: ModeSentinel, URL: "redis://:pw@10.0.0.1:26379/1", SentinelMaster: "mymaster", SentinelAddrs: []string{"10.0.0.2:26379"}},
			func(u *redis.UniversalOptions) string {
				if u.MasterName != "mymaster" || len(u.Addrs) != 2 || u.Addrs[1] != "10.0.0.2:26379" || u.DB != 1 ||
					u.Password != "pw" || u.SentinelPassword != "pw" {
					return "sentinel"
				}
				return ""
			}},
	} {
		t.Run(tc.o.URL, func(t *testing.T) {
			uo, err := redisOptions(tc.o)
			if err != nil {
				t.Fatal(err)
			}
			if what := tc.want(uo); what != "" {
				t.Errorf("%s not as wanted: %+v", what, uo)
			}
		})
	}
	for _, bad := range []struct {
		o     RedisOptions
		names string
	}{
		{RedisOptions{URL: "http://127.0.0.1:6379"}, "scheme"},
		{RedisOptions{URL: "redis:127.0.0.1"}, "redis://"},
		{RedisOptions{URL: "redis://user:hunter2@[::1/0"}, "]"},
		{RedisOptions{URL: "redis://user:hunter2@127.0.0.1:6379/x"}, "database"},
		{RedisOptions{URL: "redis://user:hunter2@127.0.0.1:6379/0?bogus=hunter2"}, "bogus"},
		{RedisOptions{URL: "redis://127.0.0.1:6379/0?read_timeout=hunter2"}, "read_timeout"},
		{RedisOptions{URL: "redis://127.0.0.1:6379/0?pool_size=hunter2"}, "pool_size"},
		{RedisOptions{URL: "redis://127.0.0.1:6379/0?max_retries=5"}, "max_retries"},
		{RedisOptions{URL: "rediss://127.0.0.1:6379/0?skip_verify=true"}, "REDIS_CA_FILE"},
		{RedisOptions{URL: "redis://127.0.0.1:6379/0", CAFile: "ca.pem"}, "rediss"},
		{RedisOptions{URL: "rediss://127.0.0.1:6379/0", CAFile: "/nonexistent/ca.pem"}, "REDIS_CA_FILE"},
		{RedisOptions{URL: "redis://127.0.0.1:6379/0", Mode: "ring"}, "mode"},
		{RedisOptions{URL: "redis://127.0.0.1:6379/3", Mode: ModeCluster}, "database 0"},
		{RedisOptions{URL: "redis://127.0.0.1:26379", Mode: ModeSentinel}, "REDIS_SENTINEL_MASTER"},
		{RedisOptions{URL: "redis://127.0.0.1:26379", Mode: ModeSentinel, SentinelMaster: "m", SentinelAddrs: []string{"nohost"}}, "REDIS_SENTINEL_ADDRS"},
	} {
		t.Run("bad/"+bad.o.URL, func(t *testing.T) {
			s, err := OpenRedis(bad.o)
			if err == nil {
				s.Close()
				t.Fatal("OpenRedis succeeded")
			}
			msg := err.Error()
			if strings.Contains(msg, "hunter2") {
				t.Errorf("error %q leaks a value of the URL", msg)
			}
			if !strings.HasPrefix(msg, "limit: ") || !strings.Contains(msg, bad.names) {
				t.Errorf("error %q does not name %s", msg, bad.names)
			}
		})
	}
}

// TestRedisURLOnServer: the user, password and database of the URL reach
// Redis (an ACL user of the test's own).
func TestRedisURLOnServer(t *testing.T) {
	c := testConn(t)
	user := "limittest-" + strings.TrimSuffix(strings.TrimPrefix(testPrefix(t), "limittest:"), ":")
	if err := c.Do(bg, "ACL", "SETUSER", user, "on", ">s3cret", "~*", "+@all").Err(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Do(bg, "ACL", "DELUSER", user) })
	u, err := url.Parse(testRedisURL)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/3"
	open := func(pw string) *Redis {
		u.User = url.UserPassword(user, pw)
		return openRedis(t, RedisOptions{URL: u.String(), Prefix: testPrefix(t)})
	}
	if _, err := open("wrong").Used(bg, "k"); err == nil || !strings.Contains(err.Error(), "WRONGPASS") {
		t.Errorf("wrong password: %v, want WRONGPASS", err)
	}
	s := open("s3cret")
	wantMark(t, s, "k", time.Minute, true)
	u.User = nil
	db3 := conn(t, u.String())
	if n, err := db3.Del(bg, s.usedKey("k")).Result(); err != nil || n != 1 {
		t.Errorf("DEL of the mark in database 3: %d, %v; want 1", n, err)
	}
}

// privateServer starts a redis-server of the test's own, or skips.
func privateServer(t *testing.T, args ...string) *redistest.Server {
	t.Helper()
	requireRedis(t)
	s, err := redistest.StartServer(t.TempDir(), args...)
	if errors.Is(err, redistest.ErrNotInstalled) {
		redistest.Skip(t, err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s
}

// TestRedisPasswordOnly: the REDIS_URL form of a server with requirepass
// and no users (redis://:password@host:port/db, the usual managed Redis)
// authenticates with the password alone; a wrong or missing password
// fails the call, and no error repeats the password. It runs on a private
// server, since requirepass would lock every other test out of a shared one.
func TestRedisPasswordOnly(t *testing.T) {
	const pw = "pw-do-not-leak-42"
	srv := privateServer(t, "--requirepass", pw)
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		user *url.Userinfo
		ok   bool
	}{
		{"the password", url.UserPassword("", pw), true},
		{"a wrong password", url.UserPassword("", "wrong"), false},
		{"no password", nil, false},
	} {
		u.User = tc.user
		s := openRedis(t, RedisOptions{URL: u.String(), Prefix: "smsverify:"})
		_, err = s.MarkUsed(bg, "k", time.Minute)
		if (err == nil) != tc.ok || (err != nil && strings.Contains(err.Error(), pw)) {
			t.Errorf("with %s: MarkUsed error %v, want ok %v and never the password", tc.name, err, tc.ok)
		}
		if err := s.Ping(bg); (err == nil) != tc.ok {
			t.Errorf("with %s: Ping error %v, want ok %v", tc.name, err, tc.ok)
		}
	}
}

// TestRedisTLS: rediss:// talks TLS and verifies the server's certificate
// for the URL's host against REDIS_CA_FILE: a server that speaks only TLS,
// whose certificate names localhost, serves the store; the same server
// fails a call with the system's roots, when the URL names it by an
// address the certificate does not hold, and when the URL says redis://.
func TestRedisTLS(t *testing.T) {
	requireRedis(t)
	tlsURL, caFile, stop, err := redistest.StartTLS(t.TempDir())
	if errors.Is(err, redistest.ErrNotInstalled) {
		redistest.Skip(t, err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	open := func(rawURL, caFile string) *Redis {
		return openRedis(t, RedisOptions{URL: rawURL, CAFile: caFile, Prefix: "smsverify:"})
	}
	wantMark(t, open(tlsURL, caFile), "k", time.Minute, true)

	var unknown x509.UnknownAuthorityError
	if _, err := open(tlsURL, "").Used(bg, "k"); !errors.As(err, &unknown) {
		t.Errorf("with the system's roots: %v, want an unknown authority", err)
	}
	var wrongHost x509.HostnameError
	byAddr := strings.Replace(tlsURL, "localhost", "127.0.0.1", 1)
	if _, err := open(byAddr, caFile).Used(bg, "k"); !errors.As(err, &wrongHost) {
		t.Errorf("by address: %v, want a certificate not valid for 127.0.0.1", err)
	}
	plain := strings.Replace(tlsURL, "rediss:", "redis:", 1)
	if _, err := open(plain, "").Used(bg, "k"); err == nil {
		t.Error("redis:// to a TLS port succeeded")
	}
}

// TestRedisKilledIdleConnection: a pooled connection that the server
// closed (CLIENT KILL, as a restart or `timeout` would) fails no call: the
// pool sees it closed and dials another.
func TestRedisKilledIdleConnection(t *testing.T) {
	c := testConn(t)
	s := redisStore(t, testPrefix(t))
	for range 3 {
		if _, err := s.Used(bg, "k"); err != nil {
			t.Fatal(err)
		}
		id, err := s.do(bg, "CLIENT", "ID")
		if err != nil {
			t.Fatal(err)
		}
		if n, err := c.ClientKillByFilter(bg, "ID", fmt.Sprint(id)).Result(); err != nil || n != 1 {
			t.Fatalf("CLIENT KILL ID: %d, %v", n, err)
		}
		if _, err := s.Used(bg, "k"); err != nil {
			t.Fatalf("a connection the server closed failed a call: %v", err)
		}
	}
}

// connectionsReceived is the number of connections the Redis behind c has
// accepted.
func connectionsReceived(t *testing.T, c *redis.Client) int64 {
	t.Helper()
	info, err := c.Info(bg, "stats").Result()
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.SplitSeq(info, "\r\n") {
		if v, ok := strings.CutPrefix(line, "total_connections_received:"); ok {
			var n int64
			if _, err := fmt.Sscan(v, &n); err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatal("INFO stats has no total_connections_received")
	return 0
}

// TestRedisIdleReuse: at one call every 1.2s (a quiet service) every call
// reuses the one pooled connection: Redis accepts one connection in all.
func TestRedisIdleReuse(t *testing.T) {
	srv := privateServer(t)
	c := conn(t, srv.URL)
	before := connectionsReceived(t, c)
	s := openRedis(t, RedisOptions{URL: srv.URL, Prefix: "smsverify:"})
	for i := range 4 {
		if i > 0 {
			time.Sleep(1200 * time.Millisecond) // idle, as between two users' requests
		}
		if _, err := s.Allow(bg, time.Now(), req("k", "10/1h")); err != nil {
			t.Fatal(err)
		}
	}
	if n := connectionsReceived(t, c) - before; n != 1 {
		t.Errorf("4 calls 1.2s apart opened %d connections, want 1", n)
	}
}

// TestRedisHonoursContext: a call to a Redis that never answers ends at
// its ctx's deadline, long before the read timeout of an hour (the socket
// takes the deadline, so the error may be the socket's timeout).
func TestRedisHonoursContext(t *testing.T) {
	s := openRedis(t, RedisOptions{URL: "redis://" + silentServer(t) + "/0?read_timeout=1h", Prefix: "smsverify:"})
	ctx, cancel := context.WithTimeout(bg, 100*time.Millisecond)
	defer cancel()
	_, err := s.Allow(ctx, at(0), req("k", "1/1h"))
	var ne net.Error
	if !errors.Is(err, context.DeadlineExceeded) && !(errors.As(err, &ne) && ne.Timeout()) {
		t.Errorf("Allow: %v, want the deadline's timeout", err)
	}
}

func BenchmarkRedisAllow(b *testing.B) {
	benchAllow(b, redisStore(b, testPrefix(b)))
}
