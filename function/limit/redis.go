package limit

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// allowScript checks and counts a set of sliding windows atomically.
//
// KEYS are the windows: hashes of stamp (ms, see ExactN) → event count.
// ARGV[1] is now in ms; ARGV[3i-1], ARGV[3i], ARGV[3i+1] are N, Per (ms) and
// the stamp an event at now counts at (stampMs) of KEYS[i]. It returns {1, 0, 0, left...} when
// every window had room (one event counted in each; left[i] is N less the
// events then in window i, see Decision.Left), else {0, i, retryMs} for the
// first full window i, having counted nothing. Its only writes before the
// decision drop stamps that left their window.
var allowScript = redis.NewScript(`
local now = tonumber(ARGV[1])
local pending, stamps, before = {}, {}, {}
for i = 1, #KEYS do
  local key = KEYS[i]
  local limit = tonumber(ARGV[3*i-1])
  local per = tonumber(ARGV[3*i])
  stamps[i] = ARGV[3*i+1]
  local flat = redis.call('HGETALL', key)
  local times, counts, c = {}, {}, 0
  for j = 1, #flat, 2 do
    local t, n = tonumber(flat[j]), tonumber(flat[j+1])
    if t <= now - per then
      redis.call('HDEL', key, flat[j])
    else
      c = c + n
      times[#times+1] = t
      counts[t] = n
    end
  end
  local p = pending[key] or 0
  if c + p >= limit then
    local k = c + p - limit
    local at = tonumber(stamps[i])
    table.sort(times)
    for _, t in ipairs(times) do
      if k < counts[t] then at = t break end
      k = k - counts[t]
    end
    return {0, i, at + per - now}
  end
  pending[key] = p + 1
  before[i] = c
end
local out = {1, 0, 0}
for i = 1, #KEYS do
  local key = KEYS[i]
  redis.call('HINCRBY', key, stamps[i], 1)
  local ttl = tonumber(stamps[i]) + tonumber(ARGV[3*i]) - now
  if redis.call('PTTL', key) < ttl then
    redis.call('PEXPIRE', key, ttl)
  end
  out[3+i] = math.max(tonumber(ARGV[3*i-1]) - before[i] - pending[key], 0)
end
return out
`)

// refundScript takes one event back from each window in KEYS; ARGV[i] is
// the stamp (stampMs) the event was counted at in KEYS[i]. A stamp left
// with no event is deleted.
var refundScript = redis.NewScript(`
for i = 1, #KEYS do
  local stamp = ARGV[i]
  local n = tonumber(redis.call('HGET', KEYS[i], stamp) or '0')
  if n > 1 then
    redis.call('HINCRBY', KEYS[i], stamp, -1)
  elseif n == 1 then
    redis.call('HDEL', KEYS[i], stamp)
  end
end
return 0
`)

// Redis is a Store shared by every instance that talks to one Redis
// (standalone, Cluster or behind Sentinel). Each operation is one command
// or script call, so it is atomic across processes. A window is the hash
// prefix+"win:<Per in ms>:"+Key and a used mark the string
// prefix+"used:"+key, set with SET NX PX; every key expires.
//
// Allow with several requests touches several keys in one script; on Redis
// Cluster they must hash to one slot, so give the store a prefix with a hash
// tag, such as "{smsverify}:".
type Redis struct {
	c      redis.UniversalClient
	prefix string
}

// Redis modes (REDIS_MODE).
const (
	ModeStandalone = "standalone"
	ModeCluster    = "cluster"
	ModeSentinel   = "sentinel"
)

// RedisOptions say which Redis OpenRedis talks to.
type RedisOptions struct {
	// Mode is ModeStandalone (the default when empty), ModeCluster or
	// ModeSentinel.
	Mode string
	// URL is redis://[user:password@]host:port[/db][?options] or rediss://
	// for TLS: the server (standalone), any node (cluster) or a sentinel
	// (sentinel). Its options are those of urlOptions, as go-redis reads
	// them; any other is an error.
	URL string
	// SentinelMaster names the primary the sentinels watch (sentinel mode).
	SentinelMaster string
	// SentinelAddrs are more sentinels (host:port) beside the URL's.
	SentinelAddrs []string
	// CAFile is a PEM bundle of the CAs a rediss:// server's certificate
	// must chain to, instead of the system's roots.
	CAFile string
	// Prefix starts every key, such as "{smsverify}:".
	Prefix string
}

// Connection defaults applied by OpenRedis unless the URL sets them.
const (
	redisDialTimeout  = time.Second
	redisReadTimeout  = time.Second
	redisWriteTimeout = time.Second
	redisPoolTimeout  = time.Second
	redisPoolSize     = 128
	// redisIdleTimeout: a connection idle this long is closed, not
	// reused: below NAT gateways' idle timeouts (AWS: 350s) and the common
	// Redis `timeout` of 300s. Sooner, the pool reuses it after checking
	// that the server has not closed it.
	redisIdleTimeout = 4 * time.Minute
	// redisRetryFor: how long a command that Redis refused to run (a
	// failover, a slot on the move, a server loading its data) is retried.
	redisRetryFor = 2 * time.Second
)

// OpenRedis returns a Store on the Redis o names. It does not connect; the
// first call does (see Ping).
//
// It uses short timeouts (dial, read and write 1s each), a pool of up to
// 128 connections for concurrent invocations, and waits at most 1s for a
// free one, unless the URL's options say otherwise; every call also
// honours its ctx's deadline. A command that Redis refused without running
// it (READONLY after a failover, MOVED, ASK, TRYAGAIN, CLUSTERDOWN, LOADING,
// MASTERDOWN) or that never left (a failed dial) is retried for up to 2s;
// one whose answer was lost is not, since it may have counted.
//
// Errors never repeat the URL, which may hold a password.
func OpenRedis(o RedisOptions) (*Redis, error) {
	uo, err := redisOptions(o)
	if err != nil {
		return nil, err
	}
	return newRedis(o.Mode, uo, o.Prefix), nil
}

// quietLogger drops go-redis's log lines: the service logs its own
// errors as JSON, and an unreachable Redis must not also print to stderr.
type quietLogger struct{}

func (quietLogger) Printf(context.Context, string, ...any) {}

// go-redis has one process-wide logger; it is set before any client runs.
func init() { redis.SetLogger(quietLogger{}) }

// newRedis returns a Store on a client made from uo.
func newRedis(mode string, uo *redis.UniversalOptions, prefix string) *Redis {
	var c redis.UniversalClient
	switch mode {
	case ModeCluster:
		co := uo.Cluster()
		// The cluster client retries a command on a lost connection itself;
		// its nodes mark such errors final, since the command may have run.
		co.NewClient = func(o *redis.Options) *redis.Client {
			nc := redis.NewClient(o)
			nc.AddHook(lostReplyFinal{})
			return nc
		}
		c = redis.NewClusterClient(co)
	case ModeSentinel:
		c = redis.NewFailoverClient(uo.Failover())
	default:
		c = redis.NewClient(uo.Simple())
	}
	return &Redis{c: c, prefix: prefix}
}

// redisOptions turns o into go-redis options. Its errors never hold the
// URL, nor any value of its query.
func redisOptions(o RedisOptions) (*redis.UniversalOptions, error) {
	bad := func(err error) (*redis.UniversalOptions, error) {
		return nil, fmt.Errorf("limit: invalid Redis URL: %w", err)
	}
	u, err := url.Parse(o.URL)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return bad(err)
	}
	if u.Scheme != "redis" && u.Scheme != "rediss" {
		return bad(errors.New("the scheme must be redis or rediss"))
	}
	if u.Opaque != "" || u.Host == "" {
		return bad(errors.New("the URL must be redis://host:port/db"))
	}
	q := u.Query()
	if q.Has("skip_verify") {
		return bad(errors.New(`option "skip_verify" is not allowed: trust a private CA with REDIS_CA_FILE`))
	}
	for name := range q {
		if !slices.Contains(urlOptions, name) {
			return bad(fmt.Errorf("unknown option %q (known: %s)", name, strings.Join(urlOptions, ", ")))
		}
	}
	so, err := redis.ParseURL(o.URL)
	if err != nil {
		return bad(redact(err, u))
	}
	if o.Mode == ModeCluster && so.DB != 0 {
		return bad(errors.New("Redis Cluster has database 0 only"))
	}
	defaults := []struct {
		name string
		d    *time.Duration
		v    time.Duration
	}{
		{"dial_timeout", &so.DialTimeout, redisDialTimeout}, {"read_timeout", &so.ReadTimeout, redisReadTimeout},
		{"write_timeout", &so.WriteTimeout, redisWriteTimeout}, {"pool_timeout", &so.PoolTimeout, redisPoolTimeout},
		{"conn_max_idle_time", &so.ConnMaxIdleTime, redisIdleTimeout},
	}
	for _, d := range defaults {
		if !q.Has(d.name) {
			*d.d = d.v
		}
	}
	if !q.Has("pool_size") {
		so.PoolSize = redisPoolSize
	}
	if so.TLSConfig != nil {
		// Each node is verified for the name it is dialed by: the URL's
		// host, or the addresses a cluster or the sentinels hand out.
		so.TLSConfig.ServerName = ""
		if o.CAFile != "" {
			roots, err := readCAFile(o.CAFile)
			if err != nil {
				return nil, err
			}
			so.TLSConfig.RootCAs = roots
		}
	} else if o.CAFile != "" {
		return nil, errors.New("limit: REDIS_CA_FILE is set but the Redis URL is not rediss://")
	}
	uo := &redis.UniversalOptions{
		Addrs:    []string{so.Addr},
		DB:       so.DB,
		Username: so.Username,
		Password: so.Password,
		// RESP2 and no CLIENT SETINFO: the connection setup needs no
		// command beyond AUTH and SELECT (a least-privilege ACL user).
		Protocol:        2,
		DisableIdentity: true,
		// do and run retry what is safe to retry (see OpenRedis).
		MaxRetries:            -1,
		DialTimeout:           so.DialTimeout,
		ReadTimeout:           so.ReadTimeout,
		WriteTimeout:          so.WriteTimeout,
		ContextTimeoutEnabled: true,
		PoolSize:              so.PoolSize,
		PoolTimeout:           so.PoolTimeout,
		MinIdleConns:          so.MinIdleConns,
		MaxIdleConns:          so.MaxIdleConns,
		MaxActiveConns:        so.MaxActiveConns,
		ConnMaxIdleTime:       so.ConnMaxIdleTime,
		ConnMaxLifetime:       so.ConnMaxLifetime,
		TLSConfig:             so.TLSConfig,
	}
	switch o.Mode {
	case "", ModeStandalone:
	case ModeCluster:
		uo.IsClusterMode = true
	case ModeSentinel:
		if o.SentinelMaster == "" {
			return nil, errors.New("limit: sentinel mode needs the primary's name (REDIS_SENTINEL_MASTER)")
		}
		uo.MasterName = o.SentinelMaster
		// The sentinels take the same credentials as the servers.
		uo.SentinelUsername, uo.SentinelPassword = so.Username, so.Password
		for _, a := range o.SentinelAddrs {
			if _, _, err := net.SplitHostPort(a); err != nil {
				return nil, fmt.Errorf("limit: REDIS_SENTINEL_ADDRS: %q is not host:port", a)
			}
			uo.Addrs = append(uo.Addrs, a)
		}
	default:
		return nil, fmt.Errorf("limit: unknown Redis mode %q (standalone, cluster or sentinel)", o.Mode)
	}
	return uo, nil
}

// urlOptions are the go-redis URL options a store honours. Others, such
// as max_retries, would be read and then ignored: the store decides what
// is retried.
var urlOptions = []string{"dial_timeout", "read_timeout", "write_timeout", "pool_size", "pool_timeout",
	"min_idle_conns", "max_idle_conns", "max_active_conns", "conn_max_idle_time", "conn_max_lifetime"}

// redact replaces the password and every query value of u in err's text.
func redact(err error, u *url.URL) error {
	msg := err.Error()
	secrets := []string{}
	if pw, ok := u.User.Password(); ok && pw != "" {
		secrets = append(secrets, pw)
	}
	for _, vs := range u.Query() {
		secrets = append(secrets, vs...)
	}
	for _, s := range secrets {
		if s != "" {
			msg = strings.ReplaceAll(msg, s, "…")
		}
	}
	return errors.New(strings.TrimPrefix(msg, "redis: "))
}

// readCAFile reads a PEM bundle of CA certificates.
func readCAFile(name string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("limit: REDIS_CA_FILE: %w", err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("limit: REDIS_CA_FILE: %s holds no PEM certificate", name)
	}
	return roots, nil
}

// lostReplyFinal marks the errors after which a command may have run (a
// connection lost or timed out once the command was sent) so that the
// cluster client does not run it again: a second Allow would count twice,
// a second Refund give back twice.
type lostReplyFinal struct{}

func (lostReplyFinal) DialHook(next redis.DialHook) redis.DialHook { return next }

func (lostReplyFinal) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

func (lostReplyFinal) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		if mayHaveRun(err) {
			err = &lostReplyError{msg: err.Error()}
			cmd.SetErr(err)
		}
		return err
	}
}

// lostReplyError is a transport error after which a command may have run.
// It wraps nothing, so no retry logic takes it for a connection error.
type lostReplyError struct{ msg string }

func (e *lostReplyError) Error() string { return "connection lost before the answer: " + e.msg }

// mayHaveRun reports whether err leaves open whether Redis ran the command:
// not an answer from Redis, nor a failure before anything was sent.
func mayHaveRun(err error) bool {
	var re redis.Error
	var oe *net.OpError
	var lost *lostReplyError
	switch {
	case err == nil, err == redis.Nil, errors.As(err, &re), errors.As(err, &lost):
		return false
	case errors.As(err, &oe) && oe.Op == "dial":
		return false
	case errors.Is(err, redis.ErrPoolTimeout), errors.Is(err, redis.ErrClosed):
		return false
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return false // the caller's own end; nothing retries it anyway
	}
	return true
}

// notRun reports whether Redis refused to run a command (or it never
// reached Redis), so that running it again is safe.
func notRun(err error) bool {
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Op == "dial" {
		return true
	}
	var re redis.Error
	if !errors.As(err, &re) {
		return false
	}
	msg := re.Error()
	for _, p := range []string{"READONLY ", "MOVED ", "ASK ", "TRYAGAIN ", "CLUSTERDOWN ", "LOADING ", "MASTERDOWN "} {
		// A script that met the refusal at its first write reports it
		// after its own prefix.
		if strings.HasPrefix(msg, p) || strings.Contains(msg, "-"+p) {
			return true
		}
	}
	return false
}

// retrying calls f until it succeeds, fails with an error other than a
// refusal to run (notRun), or redisRetryFor has passed; it waits 10ms, then
// twice as long each time up to 250ms, between calls.
func retrying(ctx context.Context, f func() (any, error)) (any, error) {
	give := time.Now().Add(redisRetryFor)
	wait := 10 * time.Millisecond
	for {
		v, err := f()
		if !notRun(err) || time.Now().Add(wait).After(give) {
			return v, err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
		wait = min(2*wait, 250*time.Millisecond)
	}
}

// do runs one command; a nil reply is nil, not an error.
func (r *Redis) do(ctx context.Context, args ...any) (any, error) {
	return retrying(ctx, func() (any, error) { return nilReply(r.c.Do(ctx, args...).Result()) })
}

// run runs a script with EVALSHA, falling back to EVAL when Redis does not
// have it cached; a nil reply is nil, not an error.
func (r *Redis) run(ctx context.Context, s *redis.Script, keys []string, args ...any) (any, error) {
	return retrying(ctx, func() (any, error) { return nilReply(s.Run(ctx, r.c, keys, args...).Result()) })
}

// nilReply turns go-redis's redis.Nil, a nil reply, into a nil value.
func nilReply(v any, err error) (any, error) {
	if err == redis.Nil {
		return nil, nil
	}
	return v, err
}

// int64s reads a reply of integers.
func int64s(v any) ([]int64, error) {
	vs, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("unexpected reply type %T", v)
	}
	out := make([]int64, len(vs))
	for i, x := range vs {
		if out[i], ok = x.(int64); !ok {
			return nil, fmt.Errorf("unexpected reply type %T", x)
		}
	}
	return out, nil
}

// logKey is the Redis key of the window for one Key and period.
func (r *Redis) logKey(key string, perMs int64) string {
	return r.prefix + "win:" + strconv.FormatInt(perMs, 10) + ":" + key
}

// usedKey is the Redis key of the used mark of key.
func (r *Redis) usedKey(key string) string { return r.prefix + "used:" + key }

// Allow implements Store.
func (r *Redis) Allow(ctx context.Context, now time.Time, reqs ...Request) (Decision, error) {
	if err := checkRequests(reqs); err != nil {
		return Decision{}, err
	}
	if len(reqs) == 0 {
		return allowedDecision([]int{}), nil
	}
	keys := make([]string, len(reqs))
	nowMs := now.UnixMilli()
	args := make([]any, 1+3*len(reqs))
	args[0] = nowMs
	for i, rq := range reqs {
		perMs := rq.Rate.Per.Milliseconds()
		keys[i] = r.logKey(rq.Key, perMs)
		args[1+3*i], args[2+3*i], args[3+3*i] = rq.Rate.N, perMs, stampMs(nowMs, rq.Rate.widthMs())
	}
	v, err := r.run(ctx, allowScript, keys, args...)
	if err != nil {
		return Decision{}, fmt.Errorf("limit: redis allow: %w", err)
	}
	res, err := int64s(v)
	if err != nil || len(res) < 3 {
		return Decision{}, fmt.Errorf("limit: redis allow: unexpected reply %v", v)
	}
	if res[0] == 1 {
		if len(res) != 3+len(reqs) {
			return Decision{}, fmt.Errorf("limit: redis allow: unexpected reply %v", res)
		}
		left := make([]int, len(reqs))
		for i, n := range res[3:] {
			left[i] = int(n)
		}
		return allowedDecision(left), nil
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
	keys := make([]string, len(reqs))
	args := make([]any, len(reqs))
	for i, rq := range reqs {
		keys[i] = r.logKey(rq.Key, rq.Rate.Per.Milliseconds())
		args[i] = stampMs(now.UnixMilli(), rq.Rate.widthMs())
	}
	if _, err := r.run(ctx, refundScript, keys, args...); err != nil {
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
	v, err := r.do(ctx, "EXISTS", r.usedKey(key))
	if err != nil {
		return false, fmt.Errorf("limit: redis used: %w", err)
	}
	return v == int64(1), nil
}

// Ping checks that Redis answers (the readiness check). It does not retry.
func (r *Redis) Ping(ctx context.Context) error {
	if err := r.c.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("limit: redis ping: %w", err)
	}
	return nil
}

// EvictionPolicy returns Redis's maxmemory-policy, or "" when Redis will not
// say (managed services may refuse CONFIG).
func (r *Redis) EvictionPolicy(ctx context.Context) string {
	m, err := r.c.ConfigGet(ctx, "maxmemory-policy").Result()
	if err != nil {
		return ""
	}
	return m["maxmemory-policy"]
}

// Close implements Store; it closes the client.
func (r *Redis) Close() error { return r.c.Close() }
