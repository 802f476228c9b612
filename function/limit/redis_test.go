package limit

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"

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
		tb.Skip("no Redis: set REDIS_URL (e.g. redis://127.0.0.1:6379/0) or put redis-server on PATH")
	}
}

// redisStore returns a store on the test Redis under prefix, closed when
// the test ends, or skips the test.
func redisStore(tb testing.TB, prefix string) *Redis {
	tb.Helper()
	requireRedis(tb)
	s, err := OpenRedis(testRedisURL, prefix)
	if err != nil {
		tb.Fatalf("OpenRedis: %v", err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	return s
}

// testConn returns a connection to the test Redis for the test's own
// commands, closed when the test ends, or skips the test.
func testConn(tb testing.TB) redis.Conn {
	tb.Helper()
	requireRedis(tb)
	c, err := redistest.Conn(testRedisURL)
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
func advanceRedis(t *testing.T, c redis.Conn, prefix string, d time.Duration) {
	t.Helper()
	keys, err := redistest.Keys(c, prefix+"*")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		ms, err := redis.Int64(c.Do("PTTL", k))
		if err != nil {
			t.Fatal(err)
		}
		switch ttl := time.Duration(ms) * time.Millisecond; {
		case ms == -2: // gone meanwhile
		case ms < 0:
			t.Fatalf("key %s has no ttl", k)
		case ttl <= d:
			_, err = c.Do("DEL", k)
		default:
			_, err = c.Do("PEXPIRE", k, (ttl - d).Milliseconds())
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
	ctx := context.Background()
	prefix := testPrefix(t)
	stores := []Store{redisStore(t, prefix), redisStore(t, prefix)}
	k := req("send:global", "7/1h")
	var allowed atomic.Int64
	errs := make(chan error, 200)
	var wg sync.WaitGroup
	for i := range 200 {
		wg.Go(func() {
			d, err := stores[i%2].Allow(ctx, at(time.Duration(i)*time.Millisecond), k)
			if err != nil {
				errs <- err
			} else if d.Allowed {
				allowed.Add(1)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if got := allowed.Load(); got != 7 {
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
		prefix + "rate:900000:a": 15 * time.Minute,
		prefix + "rate:300000:b": 5 * time.Minute,
		prefix + "used:p":        7 * time.Minute,
	}
	for k, limit := range limits {
		ms, err := redis.Int64(c.Do("PTTL", k))
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
			s, err := OpenRedis("redis://"+addr(t)+"/0", "smsverify:")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = s.Close() })
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

func TestParseRedisURL(t *testing.T) {
	def := redisConfig{
		addr: "127.0.0.1:6390", host: "127.0.0.1", db: 2,
		dialTimeout: time.Second, readTimeout: time.Second, writeTimeout: time.Second,
		poolTimeout: time.Second, poolSize: 128,
	}
	for _, tc := range []struct {
		url  string
		edit func(*redisConfig)
	}{
		{"redis://127.0.0.1:6390/2", func(*redisConfig) {}},
		{"redis://:pw@127.0.0.1:6390/2?read_timeout=3s&pool_size=7", func(c *redisConfig) {
			c.password, c.readTimeout, c.poolSize = "pw", 3*time.Second, 7
		}},
		{"redis://user:p%40ss@127.0.0.1:6390/2?dial_timeout=2&write_timeout=1500ms&pool_timeout=5", func(c *redisConfig) {
			c.user, c.password = "user", "p@ss"
			c.dialTimeout, c.writeTimeout, c.poolTimeout = 2*time.Second, 1500*time.Millisecond, 5*time.Second
		}},
		{"rediss://cache.example:6390/2", func(c *redisConfig) {
			c.addr, c.host, c.tls = "cache.example:6390", "cache.example", true
		}},
		{"redis://[::1]:6390/", func(c *redisConfig) { c.addr, c.host, c.db = "[::1]:6390", "::1", 0 }},
		{"redis://localhost", func(c *redisConfig) { c.addr, c.host, c.db = "localhost:6379", "localhost", 0 }},
	} {
		t.Run(tc.url, func(t *testing.T) {
			got, err := parseRedisURL(tc.url)
			if err != nil {
				t.Fatal(err)
			}
			want := def
			tc.edit(&want)
			if got != want {
				t.Errorf("got  %+v\nwant %+v", got, want)
			}
		})
	}
	for _, bad := range []struct{ url, names string }{
		{"http://127.0.0.1:6379", "scheme"},
		{"redis:127.0.0.1", "redis://"},
		{"redis://user:hunter2@127.0.0.1:notaport/0", "port"},
		{"redis://user:hunter2@127.0.0.1:6379/x", "database"},
		{"redis://user:hunter2@127.0.0.1:6379/0/1", "database"},
		{"redis://user:hunter2@[::1/0", "]"},
		{"redis://user:hunter2@127.0.0.1:6379/0?bogus=hunter2", `"bogus"`},
		{"redis://127.0.0.1:6379/0?max_retries=hunter2", `"max_retries"`},
		{"redis://127.0.0.1:6379/0?read_timeout=hunter2", "read_timeout"},
		{"redis://127.0.0.1:6379/0?dial_timeout=0", "dial_timeout"},
		{"redis://127.0.0.1:6379/0?write_timeout=-1s", "write_timeout"},
		{"redis://127.0.0.1:6379/0?pool_timeout=", "pool_timeout"},
		{"redis://127.0.0.1:6379/0?pool_size=0", "pool_size"},
		{"redis://127.0.0.1:6379/0?pool_size=1&pool_size=2", "pool_size"},
	} {
		t.Run("bad/"+bad.url, func(t *testing.T) {
			s, err := OpenRedis(bad.url, "p:")
			if err == nil {
				s.Close()
				t.Fatal("OpenRedis succeeded")
			}
			msg := err.Error()
			if strings.Contains(msg, "hunter2") {
				t.Errorf("error %q leaks a value of the URL", msg)
			}
			if !strings.HasPrefix(msg, "limit: invalid Redis URL: ") || !strings.Contains(msg, bad.names) {
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
	if _, err := c.Do("ACL", "SETUSER", user, "on", ">s3cret", "~*", "+@all"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = c.Do("ACL", "DELUSER", user) })
	u, err := url.Parse(testRedisURL)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/3"
	open := func(pw string) *Redis {
		u.User = url.UserPassword(user, pw)
		s, err := OpenRedis(u.String(), testPrefix(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
	ctx := context.Background()
	if _, err := open("wrong").Used(ctx, "k"); err == nil || !strings.Contains(err.Error(), "WRONGPASS") {
		t.Errorf("wrong password: %v, want WRONGPASS", err)
	}
	s := open("s3cret")
	wantMark(t, s, "k", time.Minute, true)
	if _, err := c.Do("SELECT", 3); err != nil {
		t.Fatal(err)
	}
	defer c.Do("SELECT", 0)
	n, err := redis.Int(c.Do("DEL", s.usedKey("k")))
	if err != nil || n != 1 {
		t.Errorf("DEL of the mark in database 3: %d, %v; want 1", n, err)
	}
}

// TestRedisPasswordOnly: the REDIS_URL form of a server with requirepass
// and no users (redis://:password@host:port/db, the usual managed Redis)
// authenticates with the password alone; a wrong or missing password
// fails the call, and no error repeats the password. It runs on a private
// server, since requirepass would lock every other test out of a shared one.
func TestRedisPasswordOnly(t *testing.T) {
	requireRedis(t)
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skip("no redis-server on PATH for a private server")
	}
	raw, stop, err := redistest.Start(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	c, err := redistest.Conn(raw)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const pw = "pw-do-not-leak-42"
	if _, err := c.Do("CONFIG", "SET", "requirepass", pw); err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
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
		s, err := OpenRedis(u.String(), "smsverify:")
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.MarkUsed(ctx, "k", time.Minute)
		s.Close()
		if (err == nil) != tc.ok || (err != nil && strings.Contains(err.Error(), pw)) {
			t.Errorf("with %s: MarkUsed error %v, want ok %v and never the password", tc.name, err, tc.ok)
		}
	}
}

// TestRedisTLS: rediss:// talks TLS and verifies the server's certificate
// for the URL's host: a server that speaks only TLS, whose certificate
// names localhost, serves the store; the same server fails a call when its
// certificate is not trusted, when the URL names it by an address the
// certificate does not hold, and when the URL says redis://.
func TestRedisTLS(t *testing.T) {
	tlsURL, roots, stop, err := redistest.StartTLS(t.TempDir())
	if errors.Is(err, redistest.ErrNotInstalled) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	open := func(rawURL string, roots *x509.CertPool) *Redis {
		t.Helper()
		cfg, err := parseRedisURL(rawURL)
		if err != nil {
			t.Fatal(err)
		}
		cfg.rootCAs = roots
		s := newRedis(cfg, "smsverify:")
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
	ctx := context.Background()
	wantMark(t, open(tlsURL, roots), "k", time.Minute, true)

	var unknown x509.UnknownAuthorityError
	if _, err := open(tlsURL, nil).Used(ctx, "k"); !errors.As(err, &unknown) {
		t.Errorf("with the system's roots: %v, want an unknown authority", err)
	}
	var wrongHost x509.HostnameError
	byAddr := strings.Replace(tlsURL, "localhost", "127.0.0.1", 1)
	if _, err := open(byAddr, roots).Used(ctx, "k"); !errors.As(err, &wrongHost) {
		t.Errorf("by address: %v, want a certificate not valid for 127.0.0.1", err)
	}
	plain := strings.Replace(tlsURL, "rediss:", "redis:", 1)
	if _, err := open(plain, roots).Used(ctx, "k"); err == nil {
		t.Error("redis:// to a TLS port succeeded")
	}
}

// TestRedisKilledIdleConnection: a pooled connection that the server
// closed (CLIENT KILL, as a restart or failover would) fails no call: the
// peek before use finds it closed and the pool dials another. One that
// vanished without a word (a NAT that forgot it; here a peek that sees
// nothing) is PINGed once idle for redisIdleCheck and replaced too; used
// sooner, it fails one call, and the pool drops it.
func TestRedisKilledIdleConnection(t *testing.T) {
	c := testConn(t)
	s := redisStore(t, testPrefix(t))
	var idle atomic.Int64 // how long after the real time s's clock runs
	s.now = func() time.Time { return time.Now().Add(time.Duration(idle.Load())) }
	var peekSeesNothing atomic.Bool
	var last net.Conn // the connection checkIdle last vetted
	s.alive = func(raw net.Conn) bool {
		last = raw
		return peekSeesNothing.Load() || connAlive(raw)
	}
	ctx := context.Background()
	// killPooled kills the connection the pool holds idle and waits until
	// its socket shows the end of stream.
	killPooled := func() {
		t.Helper()
		if _, err := s.Used(ctx, "k"); err != nil {
			t.Fatal(err)
		}
		pc := s.pool.Get() // vetted by checkIdle: last is its socket
		id, err := redis.Int64(pc.Do("CLIENT", "ID"))
		pc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if n, err := redis.Int(c.Do("CLIENT", "KILL", "ID", id)); err != nil || n != 1 {
			t.Fatalf("CLIENT KILL ID: %d, %v", n, err)
		}
		for i := 0; connAlive(last); i++ {
			if i == 10000 {
				t.Fatal("the killed connection's socket never showed its end")
			}
			time.Sleep(time.Millisecond)
		}
	}

	killPooled()
	if _, err := s.Used(ctx, "k"); err != nil {
		t.Fatalf("a connection the server closed failed a call: %v", err)
	}
	wantAllowed(t, allow(t, s, at(0), req("k", "1/1h")))

	peekSeesNothing.Store(true)
	killPooled()
	if _, err := s.Used(ctx, "k"); err == nil {
		t.Fatal("a dead connection used at once served a call: was it PINGed?")
	}
	killPooled()
	idle.Store(int64(redisIdleCheck))
	wantAllowed(t, allow(t, s, at(0), req("k2", "1/1h")))
}

// TestRedisPoolTimeout: a call that finds every connection in use waits
// for one no longer than pool_timeout, or its ctx, and then fails.
func TestRedisPoolTimeout(t *testing.T) {
	requireRedis(t)
	u, err := url.Parse(testRedisURL)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("pool_size", "1")
	q.Set("pool_timeout", "50ms")
	u.RawQuery = q.Encode()
	s, err := OpenRedis(u.String(), testPrefix(t))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	held, err := s.conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Allow(ctx, at(0), req("k", "1/1h"))
	if !errors.Is(err, errPoolTimeout) || !strings.HasPrefix(err.Error(), "limit: redis allow: ") {
		t.Errorf("Allow with the pool in use: %v, want the pool timeout", err)
	}
	done, stop := context.WithCancel(ctx)
	stop()
	if _, err := s.Used(done, "k"); !errors.Is(err, context.Canceled) {
		t.Errorf("Used with the pool in use and ctx canceled: %v, want context.Canceled", err)
	}
	s.release(held)
	wantAllowed(t, allow(t, s, at(0), req("k", "1/1h")))
}

// TestRedisHonoursContext: a call to a Redis that never answers ends when
// its ctx is canceled, long before the read timeout.
func TestRedisHonoursContext(t *testing.T) {
	s, err := OpenRedis("redis://"+silentServer(t)+"/0?read_timeout=1h", "smsverify:")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithCancel(context.Background())
	// Whether the cancel finds the call dialing or reading, it ends it.
	stop := time.AfterFunc(50*time.Millisecond, cancel)
	defer stop.Stop()
	if _, err := s.Allow(ctx, at(0), req("k", "1/1h")); !errors.Is(err, context.Canceled) {
		t.Errorf("Allow: %v, want context.Canceled", err)
	}
}

func BenchmarkRedisAllow(b *testing.B) {
	benchAllow(b, redisStore(b, testPrefix(b)))
}
