package limit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
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
	testRedisURL = os.Getenv("REDIS_URL")
	if testRedisURL == "" {
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

// redisClient returns a client for the test Redis, or skips the test.
func redisClient(tb testing.TB) *redis.Client {
	tb.Helper()
	requireRedis(tb)
	c, err := OpenRedis(testRedisURL)
	if err != nil {
		tb.Fatalf("OpenRedis: %v", err)
	}
	tb.Cleanup(func() { _ = c.Close() })
	return c
}

// testPrefix returns a key prefix no other test uses, and deletes its keys
// when the test ends.
func testPrefix(tb testing.TB, c *redis.Client) string {
	tb.Helper()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	prefix := "limittest:" + hex.EncodeToString(b) + ":"
	tb.Cleanup(func() {
		ctx := context.Background()
		keys, err := prefixKeys(ctx, c, prefix)
		if err == nil && len(keys) > 0 {
			err = c.Del(ctx, keys...).Err()
		}
		if err != nil {
			tb.Errorf("deleting test keys: %v", err)
		}
	})
	return prefix
}

func prefixKeys(ctx context.Context, c *redis.Client, prefix string) ([]string, error) {
	var keys []string
	iter := c.Scan(ctx, 0, prefix+"*", 1000).Iterator()
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	return keys, iter.Err()
}

// advanceRedis simulates d passing for the keys under prefix: keys whose
// ttl is at most d are deleted, the others lose d of their ttl. A key with
// no ttl fails the test: every key the store writes must expire.
func advanceRedis(t *testing.T, c *redis.Client, prefix string, d time.Duration) {
	t.Helper()
	ctx := context.Background()
	keys, err := prefixKeys(ctx, c, prefix)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		ttl, err := c.PTTL(ctx, k).Result()
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case ttl == -2: // gone meanwhile
		case ttl < 0:
			t.Fatalf("key %s has no ttl", k)
		case ttl <= d:
			err = c.Del(ctx, k).Err()
		default:
			err = c.PExpire(ctx, k, ttl-d).Err()
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
	c := redisClient(t)
	prefix := testPrefix(t, c)
	// Registered after testPrefix's cleanup, so it runs before it.
	t.Cleanup(func() { advanceRedis(t, c, prefix, 0) })
	return harness{
		store:   NewRedis(c, prefix),
		advance: func(t *testing.T, d time.Duration) { advanceRedis(t, c, prefix, d) },
	}
}

func TestRedisTwoInstances(t *testing.T) {
	ctx := context.Background()
	c1, c2 := redisClient(t), redisClient(t)
	prefix := testPrefix(t, c1)
	stores := []Store{NewRedis(c1, prefix), NewRedis(c2, prefix)}
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
	ctx := context.Background()
	c := redisClient(t)
	prefix := testPrefix(t, c)
	s := NewRedis(c, prefix)
	wantAllowed(t, allow(t, s, at(0), req("a", "5/15m"), req("b", "30/5m")))
	wantMark(t, s, "p", 7*time.Minute, true)
	keys, err := prefixKeys(ctx, c, prefix)
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
		ttl, err := c.PTTL(ctx, k).Result()
		if err != nil {
			t.Fatal(err)
		}
		if ttl <= 0 || ttl > limit {
			t.Errorf("PTTL %s = %v, want in (0, %v]", k, ttl, limit)
		}
	}
}

func TestRedisPrefixesIsolate(t *testing.T) {
	c := redisClient(t)
	s1 := NewRedis(c, testPrefix(t, c))
	s2 := NewRedis(c, testPrefix(t, c))
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
			c, err := OpenRedis("redis://" + addr(t) + "/0")
			if err != nil {
				t.Fatal(err)
			}
			s := NewRedis(c, "smsverify:")
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

func TestOpenRedis(t *testing.T) {
	t.Run("defaults", func(t *testing.T) {
		c, err := OpenRedis("redis://127.0.0.1:6390/2")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		o := c.Options()
		if o.Addr != "127.0.0.1:6390" || o.DB != 2 {
			t.Errorf("Addr %q DB %d, want 127.0.0.1:6390 and 2", o.Addr, o.DB)
		}
		if o.DialTimeout != time.Second || o.ReadTimeout != time.Second || o.WriteTimeout != time.Second {
			t.Errorf("timeouts dial %v read %v write %v, want 1s each", o.DialTimeout, o.ReadTimeout, o.WriteTimeout)
		}
		if o.PoolSize != redisPoolSize || o.MaxRetries != redisMaxRetries || !o.ContextTimeoutEnabled {
			t.Errorf("PoolSize %d MaxRetries %d ContextTimeoutEnabled %v", o.PoolSize, o.MaxRetries, o.ContextTimeoutEnabled)
		}
	})
	t.Run("URL overrides", func(t *testing.T) {
		c, err := OpenRedis("redis://:pw@127.0.0.1:6390/0?read_timeout=3s&pool_size=7&max_retries=0")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		o := c.Options()
		if o.ReadTimeout != 3*time.Second || o.PoolSize != 7 || o.Password != "pw" {
			t.Errorf("ReadTimeout %v PoolSize %d, want 3s and 7 and the password", o.ReadTimeout, o.PoolSize)
		}
		if o.DialTimeout != time.Second {
			t.Errorf("DialTimeout %v, want the 1s default", o.DialTimeout)
		}
	})
	for _, bad := range []string{
		"http://127.0.0.1:6379",
		"redis://user:hunter2@127.0.0.1:notaport/0",
		"redis://user:hunter2@127.0.0.1:6379/x",
		"redis://user:hunter2@127.0.0.1:6379/0?bogus=1",
		"redis://user:hunter2@[::1/0",
	} {
		t.Run("bad/"+bad, func(t *testing.T) {
			c, err := OpenRedis(bad)
			if err == nil {
				c.Close()
				t.Fatal("OpenRedis succeeded")
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error %q leaks the password", err)
			}
		})
	}
}

func BenchmarkRedisAllow(b *testing.B) {
	c := redisClient(b)
	benchAllow(b, NewRedis(c, testPrefix(b, c)))
}
