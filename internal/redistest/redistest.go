// Package redistest starts private Redis servers for tests: a
// non-persistent redis-server from PATH on a free loopback port.
package redistest

import (
	"bufio"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	neturl "net/url"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/gomodule/redigo/redis"

	"smsverify/internal/testcert"
)

// ErrNotInstalled means redis-server is not on PATH.
var ErrNotInstalled = errors.New("redistest: redis-server is not on PATH (apt-get install redis-server)")

// slowTimeouts are the timeouts WithTestTimeouts sets: what a machine busy
// with -race tests of many packages meets, where the 1s defaults of
// limit.OpenRedis (tested on their own) would make tests of other things
// flaky.
var slowTimeouts = []string{"dial_timeout", "read_timeout", "write_timeout", "pool_timeout"}

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

// Start runs a private redis-server with its files in dir and returns its
// URL (WithTestTimeouts) and a function that stops it. It tries three free ports, since a port
// found free may be taken before Redis binds it.
func Start(dir string) (url string, stop func(), err error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return "", nil, ErrNotInstalled
	}
	for range 3 {
		if url, stop, err = start(bin, dir, nil); err == nil {
			return WithTestTimeouts(url), stop, nil
		}
	}
	return "", nil, err
}

// StartTLS is Start for a server that speaks only TLS, with a fresh
// self-signed certificate for the name localhost (and not for 127.0.0.1).
// It returns a rediss://localhost URL and a pool holding the certificate,
// for a client's roots.
func StartTLS(dir string) (url string, roots *x509.CertPool, stop func(), err error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return "", nil, nil, ErrNotInstalled
	}
	cert, err := testcert.Write(dir, "localhost")
	if err != nil {
		return "", nil, nil, err
	}
	tlsArgs := []string{"--tls-cert-file", cert.Cert, "--tls-key-file", cert.Key, "--tls-auth-clients", "no"}
	for range 3 {
		if url, stop, err = start(bin, dir, tlsArgs); err == nil {
			return url, cert.Roots, stop, nil
		}
	}
	return "", nil, nil, err
}

// start runs redis-server on a free port: plain, or TLS only with tlsArgs.
func start(bin, dir string, tlsArgs []string) (string, func(), error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	l.Close()
	args := []string{"--port", port}
	url := "redis://127.0.0.1:" + port + "/0"
	if tlsArgs != nil {
		args = append([]string{"--port", "0", "--tls-port", port}, tlsArgs...)
		url = "rediss://localhost:" + port + "/0"
	}
	cmd := exec.Command(bin, append(args, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", dir, "--logfile", "", "--daemonize", "no")...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return "", nil, err
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	stop := func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }
	ready := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(out)
		var log strings.Builder
		for sc.Scan() {
			if strings.Contains(sc.Text(), "Ready to accept connections") {
				ready <- nil
				_, _ = io.Copy(io.Discard, out) // keep the pipe drained
				return
			}
			log.WriteString(sc.Text() + "\n")
		}
		ready <- fmt.Errorf("redis-server exited before it was ready:\n%s", log.String())
	}()
	select {
	case err := <-ready:
		if err != nil {
			stop()
			return "", nil, err
		}
	case <-time.After(30 * time.Second):
		stop()
		return "", nil, errors.New("redistest: redis-server not ready after 30s")
	}
	return WithTestTimeouts(url), stop, nil
}

// Conn is a connection to the Redis at url for a test's own commands
// (inspecting keys, killing clients): redigo's, timeouts 5s.
func Conn(url string) (redis.Conn, error) {
	return redis.DialURL(url, redis.DialConnectTimeout(5*time.Second),
		redis.DialReadTimeout(5*time.Second), redis.DialWriteTimeout(5*time.Second))
}

// Keys returns the keys on c that match pattern.
func Keys(c redis.Conn, pattern string) ([]string, error) {
	var keys []string
	cursor := "0"
	for {
		res, err := redis.Values(c.Do("SCAN", cursor, "MATCH", pattern, "COUNT", 1000))
		if err != nil {
			return nil, err
		}
		var batch []string
		if _, err := redis.Scan(res, &cursor, &batch); err != nil {
			return nil, err
		}
		keys = append(keys, batch...)
		if cursor == "0" {
			return keys, nil
		}
	}
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
	_, err = c.Do("DEL", redis.Args{}.AddFlat(keys)...)
	return err
}
