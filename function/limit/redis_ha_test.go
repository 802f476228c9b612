package limit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
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

// This file tests the Redis store against the deployments users run: a
// Redis Cluster (a URL on a node that does not own the keys' slot, a slot
// migrating under load), a primary that fails over to its replica while it
// keeps its clients' connections, Sentinel, and an ACL user restricted to
// the key prefix with the commands docs/deploying.md lists. Each test
// starts its own servers.

// skipWithout skips t when err says a Redis program is missing, and fails
// it on any other error.
func skipWithout(t *testing.T, err error) {
	t.Helper()
	if errors.Is(err, redistest.ErrNotInstalled) {
		redistest.Skip(t, err)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// tagPrefix returns a fresh key prefix with a hash tag: one slot.
func tagPrefix() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return "{lt" + hex.EncodeToString(b) + "}:"
}

// load runs Allow from workers goroutines spread over stores, each call
// taking a slot of hot (and of a quieter key), until stop is closed and at
// least min calls were made. It returns the number of allowed calls and
// the errors.
func load(stores []*Redis, hot Request, workers, min int, stop <-chan struct{}, progress chan<- int64) (int64, []error) {
	var calls, allowed atomic.Int64
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			quiet := req("quiet:"+string(rune('a'+w)), "1000000/1h")
			for i := 0; ; i++ {
				select {
				case <-stop:
					if calls.Load() >= int64(min) {
						return
					}
				default:
				}
				calls.Add(1)
				d, err := stores[(w+i)%len(stores)].Allow(bg, time.Now(), hot, quiet)
				switch {
				case err != nil:
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				case d.Allowed:
					if n := allowed.Add(1); progress != nil {
						select {
						case progress <- n:
						default:
						}
					}
				}
			}
		})
	}
	wg.Wait()
	return allowed.Load(), errs
}

// wantExact fails t unless allowed is n and there were no errors.
func wantExact(t *testing.T, allowed int64, errs []error, n int64) {
	t.Helper()
	for i, err := range errs {
		if i == 5 {
			t.Errorf("… %d errors in all", len(errs))
			break
		}
		t.Errorf("call failed: %v", err)
	}
	if allowed != n {
		t.Errorf("%d calls allowed, want exactly %d", allowed, n)
	}
}

// waitAllowed waits until progress reports at least n allowed calls.
func waitAllowed(t *testing.T, progress <-chan int64, n int64) {
	t.Helper()
	for got := range progress {
		if got >= n {
			return
		}
	}
}

func TestRedisCluster(t *testing.T) {
	requireRedis(t)
	nodes, stop, err := redistest.StartCluster(t.TempDir(), 3, 0)
	skipWithout(t, err)
	t.Cleanup(stop)
	c := conn(t, nodes[0].URL)
	prefix := tagPrefix()
	slot, err := c.ClusterKeySlot(bg, prefix).Result()
	if err != nil {
		t.Fatal(err)
	}
	owner, ids := slotOwner(t, c, int(slot), nodes)
	// The stores know one node: one that does not own the slot.
	stranger := nodes[(owner+1)%len(nodes)]
	open := func() *Redis {
		return openRedis(t, RedisOptions{Mode: ModeCluster, URL: redistest.WithTestTimeouts(stranger.URL), Prefix: prefix})
	}
	stores := []*Redis{open(), open()}

	t.Run("ExactOverTwoInstances", func(t *testing.T) {
		both := []Store{stores[0], stores[1]}
		if got := concurrentAllows(t, both, req("send:global", "7/1h"), 100, func(int) time.Time { return at(0) }); got != 7 {
			t.Fatalf("%d of 100 allowed across two instances, want 7", got)
		}
		if got := concurrentMarks(t, both, "used:c", time.Minute, 100); got != 1 {
			t.Fatalf("%d of 100 MarkUsed calls got true, want 1", got)
		}
		if err := stores[0].Ping(bg); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("SlotMigrationUnderLoad", func(t *testing.T) {
		dst := (owner + 2) % len(nodes)
		hot := req("hot", "1000/1h")
		stopLoad := make(chan struct{})
		progress := make(chan int64, 1)
		type result struct {
			allowed int64
			errs    []error
		}
		done := make(chan result)
		go func() {
			a, e := load(stores, hot, 8, 1500, stopLoad, progress)
			done <- result{a, e}
		}()
		waitAllowed(t, progress, 100)
		migrateSlot(t, int(slot), nodes[owner], nodes[dst], ids, nodes)
		close(stopLoad)
		r := <-done
		wantExact(t, r.allowed, r.errs, 1000)
		// The window now lives on the node the slot moved to.
		if n, err := conn(t, nodes[dst].URL).Exists(bg, stores[0].logKey("hot", time.Hour.Milliseconds())).Result(); err != nil || n != 1 {
			t.Errorf("the window on the new owner: %d, %v", n, err)
		}
	})
}

// TestRedisClusterFailover: the replica of the master that owns the keys'
// slot takes over (CLUSTER FAILOVER) under load, the old master staying up
// as its replica with the stores' connections: the stores follow, without
// a failed call, and count exactly across the switch.
func TestRedisClusterFailover(t *testing.T) {
	requireRedis(t)
	nodes, stop, err := redistest.StartCluster(t.TempDir(), 3, 1)
	skipWithout(t, err)
	t.Cleanup(stop)
	c := conn(t, nodes[0].URL)
	prefix := tagPrefix()
	slot, err := c.ClusterKeySlot(bg, prefix).Result()
	if err != nil {
		t.Fatal(err)
	}
	owner, ids := slotOwner(t, c, int(slot), nodes)
	// The node learns of the replicas by gossip.
	replica := -1
	err = redistest.WaitFor(nodes[0].URL, func(c *redis.Client) bool {
		slots, err := c.ClusterSlots(bg).Result()
		for _, s := range slots {
			if err == nil && s.Start <= int(slot) && int(slot) <= s.End && len(s.Nodes) > 1 {
				for i, id := range ids {
					if s.Nodes[1].ID == id {
						replica = i
					}
				}
			}
		}
		return replica >= 0
	})
	if err != nil {
		t.Fatalf("slot %d has no replica: %v", slot, err)
	}
	open := func() *Redis {
		return openRedis(t, RedisOptions{Mode: ModeCluster, URL: redistest.WithTestTimeouts(nodes[owner].URL), Prefix: prefix})
	}
	stores := []*Redis{open(), open()}
	stopLoad := make(chan struct{})
	progress := make(chan int64, 1)
	var allowed int64
	var errs []error
	done := make(chan struct{})
	go func() {
		allowed, errs = load(stores, req("hot", "1000/1h"), 8, 1500, stopLoad, progress)
		close(done)
	}()
	waitAllowed(t, progress, 100)
	if err := conn(t, nodes[replica].URL).Do(bg, "CLUSTER", "FAILOVER").Err(); err != nil {
		t.Fatal(err)
	}
	waitInfo(t, nodes[replica].URL, "role:master")
	waitInfo(t, nodes[owner].URL, "role:slave")
	close(stopLoad)
	<-done
	wantExact(t, allowed, errs, 1000)
}

// slotOwner returns the index in nodes of the node that owns slot, and
// every node's id.
func slotOwner(t *testing.T, c *redis.Client, slot int, nodes []*redistest.Server) (int, []string) {
	t.Helper()
	ids := make([]string, len(nodes))
	for i, n := range nodes {
		id, err := conn(t, n.URL).Do(bg, "CLUSTER", "MYID").Text()
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = id
	}
	slots, err := c.ClusterSlots(bg).Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range slots {
		if s.Start <= slot && slot <= s.End {
			for i, id := range ids {
				if s.Nodes[0].ID == id {
					return i, ids
				}
			}
		}
	}
	t.Fatalf("no node owns slot %d", slot)
	return 0, nil
}

// migrateSlot moves slot from src to dst as redis-cli --cluster reshard
// does: IMPORTING and MIGRATING, MIGRATE of its keys, then SETSLOT NODE on
// every node.
func migrateSlot(t *testing.T, slot int, src, dst *redistest.Server, ids []string, nodes []*redistest.Server) {
	t.Helper()
	id := func(s *redistest.Server) string {
		for i, n := range nodes {
			if n == s {
				return ids[i]
			}
		}
		t.Fatal("unknown node")
		return ""
	}
	sc, dc := conn(t, src.URL), conn(t, dst.URL)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(dc.Do(bg, "CLUSTER", "SETSLOT", slot, "IMPORTING", id(src)).Err())
	must(sc.Do(bg, "CLUSTER", "SETSLOT", slot, "MIGRATING", id(dst)).Err())
	host, port, _ := net.SplitHostPort(dst.Addr)
	for {
		keys, err := sc.ClusterGetKeysInSlot(bg, slot, 10).Result()
		must(err)
		if len(keys) == 0 {
			break
		}
		for _, k := range keys {
			// One key at a time: each MIGRATE is a moment when the keys of
			// one script sit on two nodes (TRYAGAIN).
			if err := sc.Migrate(bg, host, port, k, 0, 5*time.Second).Err(); err != nil && err.Error() != "NOKEY" {
				t.Fatal(err)
			}
		}
	}
	for _, n := range nodes {
		must(conn(t, n.URL).Do(bg, "CLUSTER", "SETSLOT", slot, "NODE", id(dst)).Err())
	}
}

// TestRedisFailover: a primary hands over to its replica (FAILOVER) while
// it stays up as a replica and keeps the stores' connections, and the
// endpoint the stores dial moves to the new primary as a managed Redis's
// DNS name does: the stores recover from READONLY without one failed call,
// and count exactly across the switch.
func TestRedisFailover(t *testing.T) {
	primary := privateServer(t)
	_, pport, _ := net.SplitHostPort(primary.Addr)
	replica := privateServer(t, "--replicaof", "127.0.0.1", pport)
	waitInfo(t, replica.URL, "master_link_status:up")

	var endpoint atomic.Value // the address the endpoint name resolves to
	endpoint.Store(primary.Addr)
	open := func() *Redis {
		uo, err := redisOptions(RedisOptions{URL: redistest.WithTestTimeouts("redis://primary.test:6379/0")})
		if err != nil {
			t.Fatal(err)
		}
		uo.Dialer = func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, endpoint.Load().(string))
		}
		s := newRedis(ModeStandalone, uo, tagPrefix())
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
	a := open()
	b := open()
	b.prefix = a.prefix
	stores := []*Redis{a, b}

	hot := req("hot", "1000/1h")
	stopLoad := make(chan struct{})
	progress := make(chan int64, 1)
	var allowed int64
	var errs []error
	done := make(chan struct{})
	go func() {
		allowed, errs = load(stores, hot, 8, 1500, stopLoad, progress)
		close(done)
	}()
	waitAllowed(t, progress, 100)
	if err := conn(t, primary.URL).Do(bg, "FAILOVER").Err(); err != nil {
		t.Fatal(err)
	}
	waitInfo(t, primary.URL, "role:slave")
	endpoint.Store(replica.Addr)
	close(stopLoad)
	<-done
	wantExact(t, allowed, errs, 1000)
}

// waitInfo waits until the INFO of the Redis at url holds line.
func waitInfo(t *testing.T, url, line string) {
	t.Helper()
	err := redistest.WaitFor(url, func(c *redis.Client) bool {
		info, err := c.Info(bg).Result()
		return err == nil && strings.Contains(info, line)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestRedisSentinel: in sentinel mode the store finds the primary through
// a sentinel, and after the sentinel fails it over to the replica (the old
// primary staying up as a replica) the store writes to the new primary.
func TestRedisSentinel(t *testing.T) {
	primary := privateServer(t)
	_, pport, _ := net.SplitHostPort(primary.Addr)
	replica := privateServer(t, "--replicaof", "127.0.0.1", pport)
	waitInfo(t, replica.URL, "master_link_status:up")
	sentinel, err := redistest.StartSentinel(t.TempDir(), "mymaster", primary.Addr)
	skipWithout(t, err)
	t.Cleanup(sentinel.Stop)
	// The sentinel learns of the replica from the primary's INFO.
	if err := redistest.WaitFor(sentinel.URL, func(c *redis.Client) bool {
		r, err := c.Do(bg, "SENTINEL", "REPLICAS", "mymaster").Slice()
		return err == nil && len(r) == 1
	}); err != nil {
		t.Fatal(err)
	}

	s := openRedis(t, RedisOptions{Mode: ModeSentinel, URL: redistest.WithTestTimeouts(sentinel.URL), SentinelMaster: "mymaster", Prefix: tagPrefix()})
	wantMark(t, s, "before", time.Hour, true)
	if n, err := conn(t, primary.URL).Exists(bg, s.usedKey("before")).Result(); err != nil || n != 1 {
		t.Fatalf("the mark on the primary: %d, %v", n, err)
	}

	// Until the sentinel has heard from the replica itself, it finds no
	// replica good enough (NOGOODSLAVE).
	if err := redistest.WaitFor(sentinel.URL, func(c *redis.Client) bool {
		return c.Do(bg, "SENTINEL", "FAILOVER", "mymaster").Err() == nil
	}); err != nil {
		t.Fatal(err)
	}
	waitInfo(t, replica.URL, "role:master")
	waitInfo(t, primary.URL, "role:slave")
	for i := range 20 {
		key := "after" + string(rune('a'+i))
		wantMark(t, s, key, time.Hour, true)
		if n, err := conn(t, replica.URL).Exists(bg, s.usedKey(key)).Result(); err != nil || n != 1 {
			t.Fatalf("mark %d on the new primary: %d, %v", i, n, err)
		}
	}
	wantUsed(t, s, "before", true)
}

// documentedACL is the least-privilege ACL lines of docs/deploying.md,
// for user and password on keys under prefix: the user, then what cluster
// mode adds.
func documentedACL(t *testing.T, user, password, prefix string) [][]any {
	t.Helper()
	doc, err := os.ReadFile("../../docs/deploying.md")
	if err != nil {
		t.Fatal(err)
	}
	var cmds [][]any
	for line := range strings.SplitSeq(string(doc), "\n") {
		if !strings.HasPrefix(line, "ACL SETUSER smsverify ") {
			continue
		}
		var args []any
		for _, f := range strings.Fields(line) {
			switch f {
			case "smsverify":
				f = user
			case ">PASSWORD":
				f = ">" + password
			case "~{smsverify}:*":
				f = "~" + prefix + "*"
			}
			args = append(args, f)
		}
		cmds = append(cmds, args)
	}
	if len(cmds) != 2 {
		t.Fatalf("docs/deploying.md has %d lines starting ACL SETUSER smsverify, want 2 (the user; cluster mode)", len(cmds))
	}
	return cmds
}

// aclStoreWorks runs every store operation as the restricted user of s.
func aclStoreWorks(t *testing.T, s *Redis) {
	t.Helper()
	if err := s.Ping(bg); err != nil {
		t.Fatal(err)
	}
	k := req("k", "1/1h")
	wantAllowed(t, allow(t, s, at(0), k))
	refund(t, s, at(0), k)
	wantAllowed(t, allow(t, s, at(0), k))
	wantMark(t, s, "m", time.Minute, true)
	wantUsed(t, s, "m", true)
	cl, err := s.Claim(bg, "i", "fp", time.Minute)
	if err != nil || cl.Token == "" {
		t.Fatalf("Claim: %+v, %v", cl, err)
	}
	if err := s.Complete(bg, "i", cl.Token, 200, []byte("{}"), time.Minute); err != nil {
		t.Fatal(err)
	}
	cl, err = s.Claim(bg, "j", "fp", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Release(bg, "j", cl.Token); err != nil {
		t.Fatal(err)
	}
	if stored, err := s.PutNew(bg, time.Minute, Item{"r", []byte("v")}); err != nil || !stored[0] {
		t.Fatalf("PutNew: %v, %v", stored, err)
	}
	if v, err := s.Get(bg, "r", "none"); err != nil || string(v[0]) != "v" || v[1] != nil {
		t.Fatalf("Get: %q, %v", v, err)
	}
	if err := s.Push(bg, "l", []byte("x"), 3, time.Minute); err != nil {
		t.Fatal(err)
	}
	if l, err := s.List(bg, "l"); err != nil || len(l) != 1 {
		t.Fatalf("List: %q, %v", l, err)
	}
	if _, err := s.do(bg, "SET", "elsewhere", 1); err == nil || !strings.Contains(err.Error(), "NOPERM") {
		t.Errorf("SET outside the prefix: %v, want NOPERM", err)
	}
	if p := s.EvictionPolicy(bg); p != "" {
		t.Errorf("EvictionPolicy = %q for a user without CONFIG, want \"\"", p)
	}
}

// TestRedisACL: a user restricted to the key prefix with exactly the
// commands docs/deploying.md lists runs every store operation; it may not
// touch other keys, and reading the eviction policy is refused quietly.
func TestRedisACL(t *testing.T) {
	srv := privateServer(t)
	prefix := tagPrefix()
	if err := conn(t, srv.URL).Do(bg, documentedACL(t, "smsverify-test", "s3cret-acl", prefix)[0]...).Err(); err != nil {
		t.Fatalf("the documented ACL line: %v", err)
	}
	u := strings.Replace(srv.URL, "redis://", "redis://smsverify-test:s3cret-acl@", 1)
	aclStoreWorks(t, openRedis(t, RedisOptions{URL: u, Prefix: prefix}))
}

// TestRedisClusterACL: on a Cluster the documented user with the
// documented cluster addition runs every store operation.
func TestRedisClusterACL(t *testing.T) {
	requireRedis(t)
	nodes, stop, err := redistest.StartCluster(t.TempDir(), 3, 0)
	skipWithout(t, err)
	t.Cleanup(stop)
	prefix := tagPrefix()
	for _, n := range nodes {
		for _, cmd := range documentedACL(t, "smsverify-test", "s3cret-acl", prefix) {
			if err := conn(t, n.URL).Do(bg, cmd...).Err(); err != nil {
				t.Fatalf("the documented ACL lines: %v", err)
			}
		}
	}
	u := strings.Replace(nodes[0].URL, "redis://", "redis://smsverify-test:s3cret-acl@", 1)
	aclStoreWorks(t, openRedis(t, RedisOptions{Mode: ModeCluster, URL: redistest.WithTestTimeouts(u), Prefix: prefix}))
}
