package limit

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gomodule/redigo/redis"
)

// allowScript checks and counts a set of sliding-window logs atomically.
//
// KEYS are the logs (sorted sets of event times in ms). ARGV[1] is now in
// ms; ARGV[2i], ARGV[2i+1] are N and Per (ms) of KEYS[i]. It returns
// {1, 0, 0} when every log had room (one event added to each), else
// {0, i, retryMs} for the first full log i, having added nothing.
//
// Members are "now:seq" where seq counts the members already at score now;
// entries leave a log only by whole scores, so the member is always new.
var allowScript = redis.NewScript(-1, `
local now = tonumber(ARGV[1])
local pending = {}
for i = 1, #KEYS do
  local key = KEYS[i]
  local limit = tonumber(ARGV[2*i])
  local per = tonumber(ARGV[2*i+1])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - per)
  local c = redis.call('ZCARD', key)
  local p = pending[key] or 0
  if c + p >= limit then
    local k = c + p - limit
    local at = now
    if k < c then
      at = tonumber(redis.call('ZRANGE', key, k, k, 'WITHSCORES')[2])
    end
    return {0, i, at + per - now}
  end
  pending[key] = p + 1
end
for i = 1, #KEYS do
  local key = KEYS[i]
  local per = tonumber(ARGV[2*i+1])
  local seq = redis.call('ZCOUNT', key, now, now)
  redis.call('ZADD', key, now, ARGV[1] .. ':' .. seq)
  local newest = tonumber(redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')[2])
  local ttl = per
  if newest > now then ttl = per + newest - now end
  redis.call('PEXPIRE', key, ttl)
end
return {1, 0, 0}
`)

// refundScript removes one event at ARGV[1] (ms) from each log in KEYS. The
// members at one score are "now:0" … "now:(c-1)"; removing the last keeps
// that so, and allowScript's next member at that score stays new.
var refundScript = redis.NewScript(-1, `
local now = ARGV[1]
for i = 1, #KEYS do
  local c = redis.call('ZCOUNT', KEYS[i], now, now)
  if c > 0 then
    redis.call('ZREM', KEYS[i], now .. ':' .. (c - 1))
  end
end
return 0
`)

// Redis is a Store shared by every instance that talks to one Redis. Each
// operation is one command or script call, so it is atomic across
// processes. A log is the sorted set prefix+"rate:<Per in ms>:"+Key and a
// used mark the string prefix+"used:"+key, set with SET NX PX; every key
// expires.
//
// Allow with several requests touches several keys in one script; on Redis
// Cluster they must hash to one slot, so give the store a prefix with a hash
// tag, such as "{smsverify}:".
type Redis struct {
	pool   *redis.Pool
	slots  chan struct{} // a slot per connection the pool may hold, taken while one is in use
	wait   time.Duration // how long a call waits for a free slot
	now    func() time.Time
	alive  func(net.Conn) bool // connAlive; tests stand in a NAT that drops silently
	prefix string
}

// Connection defaults applied by OpenRedis unless the URL sets them, and
// the pool's care of idle connections.
const (
	redisDialTimeout  = time.Second
	redisReadTimeout  = time.Second
	redisWriteTimeout = time.Second
	redisPoolTimeout  = time.Second
	redisPoolSize     = 128
	// redisIdleCheck: a connection idle this long is PINGed before use, so
	// one the server or a NAT closed meanwhile (an instance thawed after
	// minutes) is replaced instead of failing a request. A busy instance
	// reuses its connections sooner and pays nothing.
	redisIdleCheck = 10 * time.Second
	// redisIdleTimeout: a connection idle this long is closed, not
	// reused: below NAT gateways' idle timeouts (AWS: 350s) and the common
	// Redis `timeout` of 300s.
	redisIdleTimeout = 4 * time.Minute
)

// errPoolTimeout is returned when no connection frees up within the pool
// timeout.
var errPoolTimeout = errors.New("no free connection within the pool timeout")

// OpenRedis returns a Store on the Redis at a REDIS_URL such as
// "redis://:password@host:6379/0", "redis://user:password@host:6379/0" or
// "rediss://…" (TLS, verifying the server's certificate for the URL's
// host), whose keys all start with prefix (for example "{smsverify}:").
// It does not connect; the first call does.
//
// It uses short timeouts (dial, read and write 1s each), a pool of up to
// 128 connections for concurrent invocations, and waits at most 1s for a
// free one; every call also honours its ctx's deadline, so an unreachable
// or hung Redis fails a call within a few seconds instead of hanging. The
// URL's query may set dial_timeout, read_timeout, write_timeout,
// pool_timeout (durations such as "2s", or whole seconds) and pool_size;
// any other option is an error. Commands are never retried (a script that
// reached Redis may have counted); instead each pooled connection is vetted
// before use: one the server closed (a restart, a failover, Redis's
// `timeout`) is seen at once by a non-blocking peek at its socket (Linux
// and macOS), one idle for 10s or more is also PINGed, for a NAT that
// dropped it without a word, and one idle for 4 minutes is closed. So a
// dropped connection is replaced instead of failing a call.
//
// Errors never repeat the URL, which may hold a password.
func OpenRedis(rawURL, prefix string) (*Redis, error) {
	cfg, err := parseRedisURL(rawURL)
	if err != nil {
		return nil, fmt.Errorf("limit: invalid Redis URL: %w", err)
	}
	return newRedis(cfg, prefix), nil
}

// redisConfig is a parsed REDIS_URL.
type redisConfig struct {
	addr     string // host:port
	host     string // the TLS server name
	tls      bool
	rootCAs  *x509.CertPool // nil: the system's (tests set their own)
	user     string
	password string
	db       int

	dialTimeout, readTimeout, writeTimeout, poolTimeout time.Duration
	poolSize                                            int
}

// parseRedisURL parses rawURL and applies the defaults. Its errors never
// hold the URL, nor any value from its query.
func parseRedisURL(rawURL string) (redisConfig, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return redisConfig{}, err
	}
	if u.Scheme != "redis" && u.Scheme != "rediss" {
		return redisConfig{}, errors.New("the scheme must be redis or rediss")
	}
	if u.Opaque != "" {
		return redisConfig{}, errors.New("the URL must be redis://host:port/db")
	}
	cfg := redisConfig{
		host:         u.Hostname(),
		tls:          u.Scheme == "rediss",
		dialTimeout:  redisDialTimeout,
		readTimeout:  redisReadTimeout,
		writeTimeout: redisWriteTimeout,
		poolTimeout:  redisPoolTimeout,
		poolSize:     redisPoolSize,
	}
	if cfg.host == "" {
		cfg.host = "localhost"
	}
	port := u.Port()
	if port == "" {
		port = "6379"
	}
	cfg.addr = net.JoinHostPort(cfg.host, port)
	if u.User != nil {
		cfg.user = u.User.Username()
		cfg.password, _ = u.User.Password()
	}
	if db := strings.Trim(u.Path, "/"); db != "" {
		if cfg.db, err = strconv.Atoi(db); err != nil || cfg.db < 0 {
			return redisConfig{}, errors.New("the path must be a database number")
		}
	}
	for name, vals := range u.Query() {
		if len(vals) != 1 {
			return redisConfig{}, fmt.Errorf("option %q is given %d times", name, len(vals))
		}
		switch name {
		case "dial_timeout":
			err = parseSeconds(vals[0], &cfg.dialTimeout)
		case "read_timeout":
			err = parseSeconds(vals[0], &cfg.readTimeout)
		case "write_timeout":
			err = parseSeconds(vals[0], &cfg.writeTimeout)
		case "pool_timeout":
			err = parseSeconds(vals[0], &cfg.poolTimeout)
		case "pool_size":
			cfg.poolSize, err = strconv.Atoi(vals[0])
			if err != nil || cfg.poolSize < 1 {
				err = errors.New("must be a whole number of at least 1")
			}
		default:
			return redisConfig{}, fmt.Errorf("unknown option %q (known: dial_timeout, read_timeout, write_timeout, pool_size, pool_timeout)", name)
		}
		if err != nil {
			return redisConfig{}, fmt.Errorf("option %s %w", name, err)
		}
	}
	return cfg, nil
}

// parseSeconds sets *d to s, a positive duration ("1.5s", "500ms") or
// whole number of seconds ("2").
func parseSeconds(s string, d *time.Duration) error {
	v, err := time.ParseDuration(s)
	if n, nerr := strconv.Atoi(s); nerr == nil {
		v, err = time.Duration(n)*time.Second, nil
	}
	if err != nil || v <= 0 {
		return errors.New(`must be a positive duration such as "2s" or "500ms", or whole seconds`)
	}
	*d = v
	return nil
}

// newRedis returns a Store whose pool dials as cfg says.
func newRedis(cfg redisConfig, prefix string) *Redis {
	opts := []redis.DialOption{
		redis.DialConnectTimeout(cfg.dialTimeout),
		redis.DialReadTimeout(cfg.readTimeout),
		redis.DialWriteTimeout(cfg.writeTimeout),
		redis.DialDatabase(cfg.db),
	}
	if cfg.password != "" {
		opts = append(opts, redis.DialUsername(cfg.user), redis.DialPassword(cfg.password))
	}
	nd := &net.Dialer{Timeout: cfg.dialTimeout, KeepAlive: 5 * time.Minute}
	netDial := nd.DialContext
	if cfg.tls {
		// tls.Dialer bounds the handshake by ctx and the dial timeout.
		netDial = (&tls.Dialer{
			NetDialer: nd,
			Config:    &tls.Config{ServerName: cfg.host, RootCAs: cfg.rootCAs, MinVersion: tls.VersionTLS12},
		}).DialContext
	}
	r := &Redis{
		slots:  make(chan struct{}, cfg.poolSize),
		wait:   cfg.poolTimeout,
		now:    time.Now,
		alive:  connAlive,
		prefix: prefix,
	}
	r.pool = &redis.Pool{
		DialContext: func(ctx context.Context) (redis.Conn, error) {
			var raw net.Conn
			dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
				c, err := netDial(ctx, network, addr)
				raw = c
				return c, err
			}
			// A copy of opts per dial: the closure holds this dial's raw.
			c, err := redis.DialContext(ctx, "tcp", cfg.addr, append(opts[:len(opts):len(opts)], redis.DialContextFunc(dial))...)
			if err != nil {
				return nil, err
			}
			return liveConn{c.(redis.ConnWithContext), raw}, nil
		},
		TestOnBorrowContext: r.checkIdle,
		MaxIdle:             cfg.poolSize,
		IdleTimeout:         redisIdleTimeout,
	}
	return r
}

// liveConn is a pooled connection with the network connection under it,
// which checkIdle asks whether the server closed it.
type liveConn struct {
	redis.ConnWithContext
	raw net.Conn
}

// errClosedByServer is checkIdle's verdict on a connection the server (or
// a proxy) closed while it sat in the pool.
var errClosedByServer = errors.New("limit: the Redis connection was closed while idle")

// checkIdle vets a pooled connection before use; the pool closes it, and
// dials another, when it fails. A connection the server closed (Redis
// restarted or failed over, or its `timeout` passed) shows it at once:
// that check is one non-blocking peek, so no call is spent on a dead
// connection and none is retried. A connection that sat idle for
// redisIdleCheck or longer is also PINGed, for one that vanished without a
// word (a NAT that forgot it, an instance thawed after minutes).
func (r *Redis) checkIdle(ctx context.Context, c redis.Conn, lastUsed time.Time) error {
	if lc, ok := c.(liveConn); ok && !r.alive(lc.raw) {
		return errClosedByServer
	}
	if r.now().Sub(lastUsed) < redisIdleCheck {
		return nil
	}
	_, err := redis.DoContext(c, ctx, "PING")
	return err
}

// conn takes a connection from the pool, waiting for a free slot no longer
// than the pool timeout and ctx allow. Pass it to release when done.
func (r *Redis) conn(ctx context.Context) (redis.Conn, error) {
	select {
	case r.slots <- struct{}{}:
	default:
		t := time.NewTimer(r.wait)
		defer t.Stop()
		select {
		case r.slots <- struct{}{}:
		case <-t.C:
			return nil, errPoolTimeout
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	c, err := r.pool.GetContext(ctx)
	if err != nil {
		<-r.slots
		return nil, err
	}
	return c, nil
}

// release returns c to the pool; the pool drops it if it failed.
func (r *Redis) release(c redis.Conn) {
	_ = c.Close()
	<-r.slots
}

// do runs one command.
func (r *Redis) do(ctx context.Context, cmd string, args ...any) (any, error) {
	c, err := r.conn(ctx)
	if err != nil {
		return nil, err
	}
	defer r.release(c)
	return redis.DoContext(c, ctx, cmd, args...)
}

// run runs a script with EVALSHA, falling back to EVAL when Redis does not
// have it cached.
func (r *Redis) run(ctx context.Context, s *redis.Script, keysAndArgs ...any) (any, error) {
	c, err := r.conn(ctx)
	if err != nil {
		return nil, err
	}
	defer r.release(c)
	return s.DoContext(ctx, c, keysAndArgs...)
}

// logKey is the Redis key of the log for one Key and period.
func (r *Redis) logKey(key string, perMs int64) string {
	return r.prefix + "rate:" + strconv.FormatInt(perMs, 10) + ":" + key
}

// usedKey is the Redis key of the used mark of key.
func (r *Redis) usedKey(key string) string { return r.prefix + "used:" + key }

// Allow implements Store.
func (r *Redis) Allow(ctx context.Context, now time.Time, reqs ...Request) (Decision, error) {
	if err := checkRequests(reqs); err != nil {
		return Decision{}, err
	}
	if len(reqs) == 0 {
		return allowedDecision(), nil
	}
	// The key count, the keys, then ARGV: now and each N and Per.
	args := make([]any, 2+3*len(reqs))
	args[0] = len(reqs)
	args[1+len(reqs)] = now.UnixMilli()
	for i, rq := range reqs {
		perMs := rq.Rate.Per.Milliseconds()
		args[1+i] = r.logKey(rq.Key, perMs)
		args[2+len(reqs)+2*i], args[3+len(reqs)+2*i] = rq.Rate.N, perMs
	}
	res, err := redis.Int64s(r.run(ctx, allowScript, args...))
	if err != nil {
		return Decision{}, fmt.Errorf("limit: redis allow: %w", err)
	}
	if len(res) != 3 {
		return Decision{}, fmt.Errorf("limit: redis allow: unexpected reply of %d values", len(res))
	}
	if res[0] == 1 {
		return allowedDecision(), nil
	}
	i, retry := int(res[1])-1, res[2]
	if i < 0 || i >= len(reqs) || retry <= 0 {
		return Decision{}, fmt.Errorf("limit: redis allow: unexpected reply %v", res)
	}
	return Decision{Denied: i, RetryAfter: time.Duration(retry) * time.Millisecond}, nil
}

// Refund implements Store.
func (r *Redis) Refund(ctx context.Context, now time.Time, reqs ...Request) error {
	if err := checkRequests(reqs); err != nil {
		return err
	}
	if len(reqs) == 0 {
		return nil
	}
	args := make([]any, 2+len(reqs))
	args[0] = len(reqs)
	for i, rq := range reqs {
		args[1+i] = r.logKey(rq.Key, rq.Rate.Per.Milliseconds())
	}
	args[1+len(reqs)] = now.UnixMilli()
	if _, err := r.run(ctx, refundScript, args...); err != nil {
		return fmt.Errorf("limit: redis refund: %w", err)
	}
	return nil
}

// MarkUsed implements Store.
func (r *Redis) MarkUsed(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	ttl, err := markTTL(key, ttl)
	if err != nil {
		return false, fmt.Errorf("limit: mark used: %w", err)
	}
	// SET NX leaves an existing mark, and its expiry, untouched; it answers
	// OK when it set the mark, else nil.
	res, err := r.do(ctx, "SET", r.usedKey(key), 1, "PX", ttl.Milliseconds(), "NX")
	if err != nil {
		return false, fmt.Errorf("limit: redis mark used: %w", err)
	}
	return res != nil, nil
}

// Used implements Store.
func (r *Redis) Used(ctx context.Context, key string) (bool, error) {
	if key == "" {
		return false, fmt.Errorf("limit: used: %w", errEmptyKey)
	}
	n, err := redis.Int64(r.do(ctx, "EXISTS", r.usedKey(key)))
	if err != nil {
		return false, fmt.Errorf("limit: redis used: %w", err)
	}
	return n == 1, nil
}

// Close implements Store; it closes the pool.
func (r *Redis) Close() error { return r.pool.Close() }
