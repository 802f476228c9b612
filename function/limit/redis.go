package limit

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// allowLua checks and counts a set of sliding-window logs atomically.
//
// KEYS are the logs (sorted sets of event times in ms). ARGV[1] is now in
// ms; ARGV[2i], ARGV[2i+1] are N and Per (ms) of KEYS[i]. It returns
// {1, 0, 0} when every log had room (one event added to each), else
// {0, i, retryMs} for the first full log i, having added nothing.
//
// Members are "now:seq" where seq counts the members already at score now;
// entries leave a log only by whole scores, so the member is always new.
const allowLua = `
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
`

// refundLua removes one event at ARGV[1] (ms) from each log in KEYS. The
// members at one score are "now:0" … "now:(c-1)"; removing the last keeps
// that so, and allowLua's next member at that score stays new.
const refundLua = `
local now = ARGV[1]
for i = 1, #KEYS do
  local c = redis.call('ZCOUNT', KEYS[i], now, now)
  if c > 0 then
    redis.call('ZREM', KEYS[i], now .. ':' .. (c - 1))
  end
end
return 0
`

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
	client redis.UniversalClient
	prefix string
	allow  *redis.Script
	refund *redis.Script
}

// NewRedis returns a Store over client whose keys all start with prefix
// (for example "smsverify:"). The store owns client: Close closes it.
func NewRedis(client redis.UniversalClient, prefix string) *Redis {
	return &Redis{
		client: client,
		prefix: prefix,
		allow:  redis.NewScript(allowLua),
		refund: redis.NewScript(refundLua),
	}
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
	keys := make([]string, len(reqs))
	args := make([]any, 1, 1+2*len(reqs))
	args[0] = now.UnixMilli()
	for i, rq := range reqs {
		perMs := rq.Rate.Per.Milliseconds()
		keys[i] = r.logKey(rq.Key, perMs)
		args = append(args, rq.Rate.N, perMs)
	}
	res, err := r.allow.Run(ctx, r.client, keys, args...).Int64Slice()
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
	keys := make([]string, len(reqs))
	for i, rq := range reqs {
		keys[i] = r.logKey(rq.Key, rq.Rate.Per.Milliseconds())
	}
	if err := r.refund.Run(ctx, r.client, keys, now.UnixMilli()).Err(); err != nil {
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
	// SET NX leaves an existing mark, and its expiry, untouched.
	ok, err := r.client.SetNX(ctx, r.usedKey(key), 1, ttl).Result()
	if err != nil {
		return false, fmt.Errorf("limit: redis mark used: %w", err)
	}
	return ok, nil
}

// Used implements Store.
func (r *Redis) Used(ctx context.Context, key string) (bool, error) {
	if key == "" {
		return false, fmt.Errorf("limit: used: %w", errEmptyKey)
	}
	n, err := r.client.Exists(ctx, r.usedKey(key)).Result()
	if err != nil {
		return false, fmt.Errorf("limit: redis used: %w", err)
	}
	return n == 1, nil
}

// Close implements Store; it closes the client.
func (r *Redis) Close() error { return r.client.Close() }

// Client defaults applied by OpenRedis unless the URL sets them.
const (
	redisDialTimeout  = time.Second
	redisReadTimeout  = time.Second
	redisWriteTimeout = time.Second
	redisPoolTimeout  = time.Second
	redisPoolSize     = 128
	redisMaxRetries   = 1
)

// OpenRedis returns a client for a REDIS_URL such as
// "redis://:password@host:6379/0" or "rediss://…" (TLS). It does not
// connect; the first command does. Unless the URL's query sets them, it
// uses short timeouts (dial, read and write 1s), a pool of 128 connections
// for concurrent invocations, one retry, and honours ctx deadlines, so an
// unreachable Redis fails a call within a few seconds instead of hanging.
// Errors never repeat the URL, which may hold a password.
func OpenRedis(rawURL string) (*redis.Client, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("limit: invalid Redis URL: %w", err)
	}
	opt, err := redis.ParseURL(rawURL)
	if err != nil {
		return nil, fmt.Errorf("limit: invalid Redis URL: %w", err)
	}
	q := u.Query()
	if !q.Has("dial_timeout") {
		opt.DialTimeout = redisDialTimeout
	}
	if !q.Has("read_timeout") {
		opt.ReadTimeout = redisReadTimeout
	}
	if !q.Has("write_timeout") {
		opt.WriteTimeout = redisWriteTimeout
	}
	if !q.Has("pool_timeout") {
		opt.PoolTimeout = redisPoolTimeout
	}
	if !q.Has("pool_size") {
		opt.PoolSize = redisPoolSize
	}
	if !q.Has("max_retries") {
		opt.MaxRetries = redisMaxRetries
	}
	opt.DialerRetries = 1
	opt.ContextTimeoutEnabled = true
	return redis.NewClient(opt), nil
}
