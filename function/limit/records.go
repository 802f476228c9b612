package limit

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/redis/go-redis/v9"
)

// Records are what the service remembers about each SMS beside its limits:
// values written once (a delivery receipt by BizId: Alibaba may push one
// twice, and the first one stands) and short capped lists (the recent sends
// and checks of a number). Every record expires.
//
// Keys may be caller text; callers should hash whatever could name a
// person. A store never puts a key or a value into an error string.

// Item is one value for PutNew.
type Item struct {
	Key   string
	Value []byte
}

// maxListLen bounds Push's max.
const maxListLen = 1000

// checkPut validates PutNew's arguments and returns the ttl in whole
// milliseconds, rounded up.
func checkPut(ttl time.Duration, items []Item) (time.Duration, error) {
	for i, it := range items {
		if it.Key == "" {
			return 0, fmt.Errorf("limit: put: item %d: %w", i, errEmptyKey)
		}
	}
	ttl, err := markTTL("ttl", ttl)
	if err != nil {
		return 0, fmt.Errorf("limit: put: %w", err)
	}
	return ttl, nil
}

// checkPush validates Push's arguments and returns the ttl in whole
// milliseconds, rounded up.
func checkPush(key string, max int, ttl time.Duration) (time.Duration, error) {
	if max < 1 || max > maxListLen {
		return 0, fmt.Errorf("limit: push: max must be 1 to %d, got %d", maxListLen, max)
	}
	ttl, err := markTTL(key, ttl)
	if err != nil {
		return 0, fmt.Errorf("limit: push: %w", err)
	}
	return ttl, nil
}

// checkKeys refuses an empty key.
func checkKeys(op string, keys ...string) error {
	for _, k := range keys {
		if k == "" {
			return fmt.Errorf("limit: %s: %w", op, errEmptyKey)
		}
	}
	return nil
}

// value is Memory's record written once.
type value struct {
	data   []byte
	expiry int64 // Unix ns
}

// list is Memory's capped list: its n values, newest first, each as its
// length (a uvarint) and its bytes, in one slice. One allocation holds a
// whole list, with no pointers in it for the garbage collector to follow.
type list struct {
	data   []byte
	n      int
	expiry int64 // Unix ns
}

// nextValue splits the first value off data.
func nextValue(data []byte) (val, rest []byte) {
	n, k := binary.Uvarint(data)
	return data[k : k+int(n)], data[k+int(n):]
}

// PutNew implements Store.
func (m *Memory) PutNew(ctx context.Context, ttl time.Duration, items ...Item) ([]bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("limit: put: %w", err)
	}
	ttl, err := checkPut(ttl, items)
	if err != nil {
		return nil, err
	}
	ids := make([]keyHash, len(items))
	for i, it := range items {
		ids[i] = m.hash(it.Key, -1)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	stored := make([]bool, len(items))
	fresh := 0
	for i, id := range ids {
		if _, live := m.value(id, now); !live && !slices.Contains(ids[:i], id) {
			stored[i] = true
			fresh++
		}
	}
	if fresh > 0 {
		if err := m.room(fresh, now.UnixMilli()); err != nil {
			return nil, fmt.Errorf("limit: put: %w", err)
		}
	}
	for i, id := range ids {
		if stored[i] {
			m.values[id] = value{data: slices.Clone(items[i].Value), expiry: now.Add(ttl).UnixNano()}
		}
	}
	if len(m.values) >= m.valueSweep {
		m.sweepValues(now)
	}
	return stored, nil
}

// Get implements Store.
func (m *Memory) Get(ctx context.Context, keys ...string) ([][]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("limit: get: %w", err)
	}
	if err := checkKeys("get", keys...); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	out := make([][]byte, len(keys))
	for i, k := range keys {
		if v, live := m.value(m.hash(k, -1), now); live {
			out[i] = slices.Clone(v.data)
		}
	}
	return out, nil
}

// value returns id's live value, dropping an expired one.
func (m *Memory) value(id keyHash, now time.Time) (value, bool) {
	v, ok := m.values[id]
	if ok && now.UnixNano() >= v.expiry {
		delete(m.values, id)
		return value{}, false
	}
	return v, ok
}

// Push implements Store.
func (m *Memory) Push(ctx context.Context, key string, val []byte, max int, ttl time.Duration) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("limit: push: %w", err)
	}
	ttl, err := checkPush(key, max, ttl)
	if err != nil {
		return err
	}
	id := m.hash(key, -2)
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	l, _ := m.list(id, now)
	if l.n < max {
		// A new value is a new entry; one that pushes the oldest out is not.
		if err := m.room(1, now.UnixMilli()); err != nil {
			return fmt.Errorf("limit: push: %w", err)
		}
	}
	keep, rest := 0, l.data // the values kept after val: at most max-1
	for ; keep < l.n && keep < max-1; keep++ {
		_, rest = nextValue(rest)
	}
	data := binary.AppendUvarint(make([]byte, 0, binary.MaxVarintLen64+len(val)+len(l.data)-len(rest)), uint64(len(val)))
	data = append(append(data, val...), l.data[:len(l.data)-len(rest)]...)
	m.listItems += keep + 1 - l.n
	m.lists[id] = list{data: data, n: keep + 1, expiry: now.Add(ttl).UnixNano()}
	if len(m.lists) >= m.listSweep {
		m.sweepLists(now)
	}
	return nil
}

// List implements Store.
func (m *Memory) List(ctx context.Context, key string) ([][]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("limit: list: %w", err)
	}
	if err := checkKeys("list", key); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	l, ok := m.list(m.hash(key, -2), m.now())
	if !ok {
		return nil, nil
	}
	out := make([][]byte, l.n)
	for i, rest := 0, l.data; i < l.n; i++ {
		var v []byte
		v, rest = nextValue(rest)
		out[i] = slices.Clone(v)
	}
	return out, nil
}

// list returns id's live list, dropping an expired one.
func (m *Memory) list(id keyHash, now time.Time) (list, bool) {
	l, ok := m.lists[id]
	if ok && now.UnixNano() >= l.expiry {
		delete(m.lists, id)
		m.listItems -= l.n
		return list{}, false
	}
	return l, ok
}

// sweepValues drops the values expired at now.
func (m *Memory) sweepValues(now time.Time) {
	for id := range m.values {
		m.value(id, now)
	}
	m.valueSweep = max(minSweep, 2*len(m.values))
}

// sweepLists drops the lists expired at now.
func (m *Memory) sweepLists(now time.Time) {
	for id := range m.lists {
		m.list(id, now)
	}
	m.listSweep = max(minSweep, 2*len(m.lists))
}

// putNewLua: KEYS the values; ARGV[1] the ttl in ms, ARGV[1+i] the value of
// KEYS[i]. It returns, for each key, 1 when it stored the value and 0 when
// the key held one (left as it was).
const putNewLua = `
local out = {}
for i = 1, #KEYS do
  if redis.call('SET', KEYS[i], ARGV[1+i], 'PX', ARGV[1], 'NX') then
    out[i] = 1
  else
    out[i] = 0
  end
end
return out
`

// pushLua: KEYS[1] the list; ARGV the value, max, ttl in ms.
const pushLua = `
redis.call('LPUSH', KEYS[1], ARGV[1])
redis.call('LTRIM', KEYS[1], 0, tonumber(ARGV[2]) - 1)
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
`

var (
	putNewScript = redis.NewScript(putNewLua)
	pushScript   = redis.NewScript(pushLua)
)

// byteSlices reads a reply of bulk strings, nil for a nil one.
func byteSlices(v any) ([][]byte, error) {
	vs, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("unexpected reply type %T", v)
	}
	out := make([][]byte, len(vs))
	for i, x := range vs {
		switch x := x.(type) {
		case nil:
		case string:
			out[i] = []byte(x)
		default:
			return nil, fmt.Errorf("unexpected reply type %T", x)
		}
	}
	return out, nil
}

// valueKey is the Redis key of the value PutNew writes under key.
func (r *Redis) valueKey(key string) string { return r.prefix + "val:" + key }

// listKey is the Redis key of the list Push writes under key.
func (r *Redis) listKey(key string) string { return r.prefix + "list:" + key }

// PutNew implements Store. The values are written by one script, so on
// Redis Cluster their keys must share a slot: give the store a prefix with
// a hash tag.
func (r *Redis) PutNew(ctx context.Context, ttl time.Duration, items ...Item) ([]bool, error) {
	ttl, err := checkPut(ttl, items)
	if err != nil {
		return nil, err
	}
	if len(items) == 0 {
		return []bool{}, nil
	}
	keys := make([]string, len(items))
	args := make([]any, 0, 1+len(items))
	args = append(args, ttl.Milliseconds())
	for i, it := range items {
		keys[i] = r.valueKey(it.Key)
		args = append(args, it.Value)
	}
	v, err := r.run(ctx, putNewScript, keys, args...)
	if err != nil {
		return nil, fmt.Errorf("limit: redis put: %w", err)
	}
	res, err := int64s(v)
	if err != nil {
		return nil, fmt.Errorf("limit: redis put: %w", err)
	}
	if len(res) != len(items) {
		return nil, fmt.Errorf("limit: redis put: unexpected reply of %d values", len(res))
	}
	stored := make([]bool, len(res))
	for i, v := range res {
		stored[i] = v == 1
	}
	return stored, nil
}

// Get implements Store.
func (r *Redis) Get(ctx context.Context, keys ...string) ([][]byte, error) {
	if err := checkKeys("get", keys...); err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		return [][]byte{}, nil
	}
	args := make([]any, 1+len(keys))
	args[0] = "MGET"
	for i, k := range keys {
		args[1+i] = r.valueKey(k)
	}
	v, err := r.do(ctx, args...)
	if err != nil {
		return nil, fmt.Errorf("limit: redis get: %w", err)
	}
	res, err := byteSlices(v)
	if err != nil {
		return nil, fmt.Errorf("limit: redis get: %w", err)
	}
	if len(res) != len(keys) {
		return nil, errors.New("limit: redis get: unexpected reply length")
	}
	return res, nil
}

// Push implements Store.
func (r *Redis) Push(ctx context.Context, key string, val []byte, max int, ttl time.Duration) error {
	ttl, err := checkPush(key, max, ttl)
	if err != nil {
		return err
	}
	if _, err := r.run(ctx, pushScript, []string{r.listKey(key)}, val, max, ttl.Milliseconds()); err != nil {
		return fmt.Errorf("limit: redis push: %w", err)
	}
	return nil
}

// List implements Store.
func (r *Redis) List(ctx context.Context, key string) ([][]byte, error) {
	if err := checkKeys("list", key); err != nil {
		return nil, err
	}
	v, err := r.do(ctx, "LRANGE", r.listKey(key), 0, -1)
	if err != nil {
		return nil, fmt.Errorf("limit: redis list: %w", err)
	}
	res, err := byteSlices(v)
	if err != nil {
		return nil, fmt.Errorf("limit: redis list: %w", err)
	}
	return res, nil
}
