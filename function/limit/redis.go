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

// noteSendLua starts a new code generation: KEYS[1] is the record hash,
// ARGV[1] its ttl in ms.
const noteSendLua = `
redis.call('HINCRBY', KEYS[1], 'gen', 1)
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
`

// consumePassLua marks the current generation used unless it already
// is: KEYS[1] is the record hash, ARGV[1] its ttl in ms. It returns 1 for
// the first PASS of a generation, else 0.
const consumePassLua = `
local gen = tonumber(redis.call('HGET', KEYS[1], 'gen') or '0')
local used = redis.call('HGET', KEYS[1], 'used')
if used and tonumber(used) >= gen then
  return 0
end
redis.call('HSET', KEYS[1], 'used', gen)
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
`

// Redis is a Store shared by every instance that talks to one Redis. Each
// operation is one script call, so it is atomic across processes. A log is
// the sorted set prefix+"rate:<Per in ms>:"+Key and a code record the hash
// prefix+"pass:"+key; every key expires.
//
// Allow with several requests touches several keys in one script; on Redis
// Cluster they must hash to one slot, so give the store a prefix with a hash
// tag, such as "{smsverify}:".
type Redis struct {
	client      redis.UniversalClient
	prefix      string
	allow       *redis.Script
	noteSend    *redis.Script
	consumePass *redis.Script
}

// NewRedis returns a Store over client whose keys all start with prefix
// (for example "smsverify:"). The store owns client: Close closes it.
func NewRedis(client redis.UniversalClient, prefix string) *Redis {
	return &Redis{
		client:      client,
		prefix:      prefix,
		allow:       redis.NewScript(allowLua),
		noteSend:    redis.NewScript(noteSendLua),
		consumePass: redis.NewScript(consumePassLua),
	}
}

// logKey is the Redis key of the log for one Key and period.
func (r *Redis) logKey(key string, perMs int64) string {
	return r.prefix + "rate:" + strconv.FormatInt(perMs, 10) + ":" + key
}

// passKey is the Redis key of the generation record of key.
func (r *Redis) passKey(key string) string { return r.prefix + "pass:" + key }

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

// NoteSend implements Store.
func (r *Redis) NoteSend(ctx context.Context, key string, ttl time.Duration) error {
	ms, err := ttlMillis(key, ttl)
	if err != nil {
		return fmt.Errorf("limit: note send: %w", err)
	}
	if err := r.noteSend.Run(ctx, r.client, []string{r.passKey(key)}, ms).Err(); err != nil {
		return fmt.Errorf("limit: redis note send: %w", err)
	}
	return nil
}

// ConsumePass implements Store.
func (r *Redis) ConsumePass(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	ms, err := ttlMillis(key, ttl)
	if err != nil {
		return false, fmt.Errorf("limit: consume pass: %w", err)
	}
	n, err := r.consumePass.Run(ctx, r.client, []string{r.passKey(key)}, ms).Int64()
	if err != nil {
		return false, fmt.Errorf("limit: redis consume pass: %w", err)
	}
	return n == 1, nil
}

// Used implements Store.
func (r *Redis) Used(ctx context.Context, key string) (bool, error) {
	if key == "" {
		return false, fmt.Errorf("limit: used: %w", errEmptyKey)
	}
	vals, err := r.client.HMGet(ctx, r.passKey(key), "gen", "used").Result()
	if err != nil {
		return false, fmt.Errorf("limit: redis used: %w", err)
	}
	if len(vals) != 2 || vals[1] == nil {
		return false, nil
	}
	gen, err := hashInt(vals[0])
	if err != nil {
		return false, fmt.Errorf("limit: redis used: %w", err)
	}
	used, err := hashInt(vals[1])
	if err != nil {
		return false, fmt.Errorf("limit: redis used: %w", err)
	}
	return used >= gen, nil
}

// hashInt converts a hash field from HMGET (nil when absent) to an integer.
func hashInt(v any) (int64, error) {
	if v == nil {
		return 0, nil
	}
	s, ok := v.(string)
	if !ok {
		return 0, fmt.Errorf("unexpected field type %T", v)
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, errors.New("field is not an integer")
	}
	return n, nil
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
