// Package redistest starts private Redis servers for tests: non-persistent
// redis-server processes (standalone, TLS, a replica, a Cluster) and
// redis-sentinel, from PATH, on free loopback ports.
package redistest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	neturl "net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"smsverify/internal/testcert"
)

// ErrNotInstalled means redis-server (or redis-cli, redis-sentinel) is not
// on PATH.
var ErrNotInstalled = errors.New("redistest: redis-server, redis-cli or redis-sentinel is not on PATH (apt-get install redis-server redis-sentinel)")

// slowTimeouts are the timeouts WithTestTimeouts sets: what a machine busy
// with -race tests of many packages meets, where the 1s defaults of
// limit.OpenRedis (tested on their own) would make tests of other things
// flaky.
var slowTimeouts = []string{"dial_timeout", "read_timeout", "write_timeout", "pool_timeout"}

// Skip skips tb with why, or fails it when SMSVERIFY_REQUIRE_REDIS is set
// (CI, which installs Redis: a missing server there is a failure).
func Skip(tb testing.TB, why any) {
	tb.Helper()
	if os.Getenv("SMSVERIFY_REQUIRE_REDIS") != "" {
		tb.Fatalf("SMSVERIFY_REQUIRE_REDIS is set, but: %v", why)
	}
	tb.Skip(why)
}

// WithTestTimeouts returns a Redis URL (REDIS_URL, or one from Start) with
// 10s timeouts in its query where it sets none.
func WithTestTimeouts(rawURL string) string {
	u, err := neturl.Parse(rawURL)
	if err != nil {
		return rawURL // OpenRedis will say what is wrong
	}
	q := u.Query()
	for _, name := range slowTimeouts {
		if !q.Has(name) {
			q.Set(name, "10s")
		}
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// Server is a private redis-server (or redis-sentinel).
type Server struct {
	Addr string // 127.0.0.1:port
	URL  string // redis://127.0.0.1:port/0 or rediss://localhost:port/0, no test timeouts
	cmd  *exec.Cmd
}

// Stop kills the server and waits for it.
func (s *Server) Stop() {
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
}

// Start runs a private redis-server with its files in dir and returns its
// URL (WithTestTimeouts) and a function that stops it.
func Start(dir string) (url string, stop func(), err error) {
	s, err := StartServer(dir)
	if err != nil {
		return "", nil, err
	}
	return WithTestTimeouts(s.URL), s.Stop, nil
}

// StartServer runs a private redis-server with its files in dir and the
// extra arguments of redis-server args.
func StartServer(dir string, args ...string) (*Server, error) {
	return startBin("redis-server", dir, false, args)
}

// StartTLS is Start for a server that speaks only TLS, with a fresh
// self-signed certificate for the name localhost (and not for 127.0.0.1).
// It returns a rediss://localhost URL (WithTestTimeouts) and the file of
// the certificate, in PEM, for a client's roots.
func StartTLS(dir string) (url, caFile string, stop func(), err error) {
	cert, err := testcert.Write(dir, "localhost")
	if err != nil {
		return "", "", nil, err
	}
	s, err := startBin("redis-server", dir, true, []string{"--tls-cert-file", cert.Cert, "--tls-key-file", cert.Key, "--tls-auth-clients", "no"})
	if err != nil {
		return "", "", nil, err
	}
	return WithTestTimeouts(s.URL), cert.Cert, s.Stop, nil
}

// startBin runs bin on a free port, trying three ports, since a port found
// free may be taken before Redis binds it: plain, or TLS only.
func startBin(name, dir string, tls bool, args []string) (*Server, error) {
	bin, err := exec.LookPath(name)
	if err != nil {
		return nil, ErrNotInstalled
	}
	for range 3 {
		var s *Server
		if s, err = start(bin, dir, tls, args); err == nil {
			return s, nil
		}
	}
	return nil, err
}

// start runs a Redis binary on a free port.
func start(bin, dir string, tls bool, extra []string) (*Server, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	l.Close()
	s := &Server{Addr: "127.0.0.1:" + port, URL: "redis://127.0.0.1:" + port + "/0"}
	args := []string{"--port", port}
	if tls {
		args = []string{"--port", "0", "--tls-port", port}
		s.URL = "rediss://localhost:" + port + "/0"
	}
	sentinel := filepath.Base(bin) == "redis-sentinel"
	if sentinel {
		// Sentinel reads its watch list from, and rewrites, a file of its
		// own: extra holds its lines.
		f := filepath.Join(dir, "sentinel-"+port+".conf")
		if err := os.WriteFile(f, []byte(strings.Join(extra, "\n")+"\n"), 0o600); err != nil {
			return nil, err
		}
		args = append([]string{f}, args...)
		extra = nil
	}
	args = append(args, "--bind", "127.0.0.1", "--dir", dir, "--logfile", "", "--daemonize", "no")
	if !sentinel {
		args = append(args, "--save", "", "--appendonly", "no", "--dbfilename", "dump-"+port+".rdb")
	}
	cmd := exec.Command(bin, append(args, extra...)...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s.cmd = cmd
	ready := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(out)
		var log strings.Builder
		for sc.Scan() {
			if strings.Contains(sc.Text(), "Ready to accept connections") || strings.Contains(sc.Text(), "Sentinel ID is") {
				ready <- nil
				_, _ = io.Copy(io.Discard, out) // keep the pipe drained
				return
			}
			log.WriteString(sc.Text() + "\n")
		}
		ready <- fmt.Errorf("%s exited before it was ready:\n%s", filepath.Base(bin), log.String())
	}()
	select {
	case err := <-ready:
		if err != nil {
			s.Stop()
			return nil, err
		}
	case <-time.After(30 * time.Second):
		s.Stop()
		return nil, errors.New("redistest: redis not ready after 30s")
	}
	return s, nil
}

// StartSentinel runs a redis-sentinel that watches the primary at addr
// under the name master, with a quorum of one.
func StartSentinel(dir, master, addr string) (*Server, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	return startBin("redis-sentinel", dir, false, []string{
		"sentinel monitor " + master + " " + host + " " + port + " 1",
		"sentinel down-after-milliseconds " + master + " 2000",
		"sentinel failover-timeout " + master + " 10000",
	})
}

// StartCluster runs a Redis Cluster of masters (at least 3), each with
// replicas replicas, its files in dir, and waits until every slot is
// served and every replica in sync. It needs redis-cli.
func StartCluster(dir string, masters, replicas int) ([]*Server, func(), error) {
	cli, err := exec.LookPath("redis-cli")
	if err != nil {
		return nil, nil, ErrNotInstalled
	}
	var nodes []*Server
	stop := func() {
		for _, n := range nodes {
			n.Stop()
		}
	}
	create := []string{"--cluster", "create"}
	for range masters * (1 + replicas) {
		// Each node has a directory of its own for its nodes.conf.
		nd, err := os.MkdirTemp(dir, "node")
		if err != nil {
			stop()
			return nil, nil, err
		}
		n, err := StartServer(nd, "--cluster-enabled", "yes", "--cluster-node-timeout", "2000")
		if err != nil {
			stop()
			return nil, nil, err
		}
		nodes = append(nodes, n)
		create = append(create, n.Addr)
	}
	create = append(create, "--cluster-replicas", strconv.Itoa(replicas))
	if out, err := exec.Command(cli, append(create, "--cluster-yes")...).CombinedOutput(); err != nil {
		stop()
		return nil, nil, fmt.Errorf("redis-cli --cluster create: %v\n%s", err, out)
	}
	for _, n := range nodes {
		if err := WaitFor(n.URL, func(c *redis.Client) bool {
			info, err := c.ClusterInfo(context.Background()).Result()
			if err != nil || !strings.Contains(info, "cluster_state:ok") {
				return false
			}
			repl, err := c.Info(context.Background(), "replication").Result()
			return err == nil && (strings.Contains(repl, "role:master") || strings.Contains(repl, "master_link_status:up"))
		}); err != nil {
			stop()
			return nil, nil, err
		}
	}
	return nodes, stop, nil
}

// WaitFor polls the Redis at url every 20ms until ok says yes, for at most
// 30s.
func WaitFor(url string, ok func(*redis.Client) bool) error {
	c, err := Conn(url)
	if err != nil {
		return err
	}
	defer c.Close()
	for range 1500 {
		if ok(c) {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("redistest: %s not in the expected state after 30s", c.Options().Addr)
}

// Conn is a client of the Redis at url for a test's own commands
// (inspecting keys, killing clients): go-redis, timeouts 5s, no retries.
func Conn(url string) (*redis.Client, error) {
	o, err := redis.ParseURL(url)
	if err != nil {
		return nil, err
	}
	o.DialTimeout, o.ReadTimeout, o.WriteTimeout = 5*time.Second, 5*time.Second, 5*time.Second
	o.MaxRetries = -1
	o.Protocol = 2
	o.DisableIdentity = true
	return redis.NewClient(o), nil
}

// Keys returns the keys on c that match pattern.
func Keys(c redis.Cmdable, pattern string) ([]string, error) {
	var keys []string
	it := c.Scan(context.Background(), 0, pattern, 1000).Iterator()
	for it.Next(context.Background()) {
		keys = append(keys, it.Val())
	}
	return keys, it.Err()
}

// DeleteKeys deletes the keys on the Redis at url that match pattern.
func DeleteKeys(url, pattern string) error {
	c, err := Conn(url)
	if err != nil {
		return err
	}
	defer c.Close()
	keys, err := Keys(c, pattern)
	if err != nil || len(keys) == 0 {
		return err
	}
	return c.Del(context.Background(), keys...).Err()
}
