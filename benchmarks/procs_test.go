package benchmarks

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/metrics"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"smsverify/internal/testcert"
)

// The systems under test run in child processes (this test binary started
// again with roleEnv set), so each process's CPU time and allocations belong
// to one party: the benchmark process is the client or the load generator,
// a child is the upstream (the fake Alibaba endpoint) or one of the three
// implementations of the HTTP contract.
const (
	roleEnv     = "SMSVERIFY_BENCH_ROLE"     // upstream, smsverify, sdk or floor
	upstreamEnv = "SMSVERIFY_BENCH_UPSTREAM" // the upstream URL, for the other roles
	certEnv     = "SMSVERIFY_BENCH_CERT"     // PEM certificate and key files, for upstream's TLS listener
	keyEnv      = "SMSVERIFY_BENCH_KEY"
	// profileEnv names a directory: each child then writes a CPU profile of
	// its whole life there, <role>.<pid>.pprof (for `go tool pprof`).
	profileEnv = "SMSVERIFY_BENCH_CPUPROFILE"
)

// statsPath answers a child's counters (stats) without touching the system
// under test.
const statsPath = "/_stats"

type stats struct {
	CPUNanos   int64  `json:"cpu_ns"`      // user+system CPU time of the process
	Conns      int64  `json:"conns"`       // connections accepted so far
	HeapBytes  uint64 `json:"heap_bytes"`  // bytes allocated on the heap so far
	HeapAllocs uint64 `json:"heap_allocs"` // heap objects allocated so far
}

// heapAllocs reads the process's cumulative heap allocation counters.
func heapAllocs() (bytes, objects uint64) {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}, {Name: "/gc/heap/allocs:objects"}}
	metrics.Read(s)
	return s[0].Value.Uint64(), s[1].Value.Uint64()
}

func cpuNanos() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		panic(err)
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

func TestMain(m *testing.M) {
	if role := os.Getenv(roleEnv); role != "" {
		if err := serveRole(role); err != nil {
			log.Fatalf("%s: %v", role, err)
		}
		os.Exit(0)
	}
	dir, err := os.MkdirTemp("", "smsverify-bench")
	if err != nil {
		log.Fatal(err)
	}
	if err := writeCert(dir); err != nil {
		log.Fatal(err)
	}
	code := m.Run()
	stopChildren()
	os.RemoveAll(dir)
	os.Exit(code)
}

// writeCert writes a self-signed certificate for 127.0.0.1 and makes it the
// only trusted root of this process and its children (SSL_CERT_FILE is read
// by crypto/x509 on Linux), as a public CA's root is in production.
func writeCert(dir string) error {
	cert, err := testcert.Write(dir, "127.0.0.1")
	if err != nil {
		return err
	}
	certFile, keyFile := cert.Cert, cert.Key
	os.Setenv("SSL_CERT_FILE", certFile)
	os.Setenv(certEnv, certFile)
	os.Setenv(keyEnv, keyFile)
	return nil
}

// serveRole runs one child: it prints "listening <url> [<tls url>]" and
// serves until its standard input closes (the parent exited or stopped it).
func serveRole(role string) error {
	var h http.Handler
	switch role {
	case "upstream":
		h = cannedUpstream()
	case "smsverify":
		var err error
		if h, err = smsverifyHandler(os.Getenv(upstreamEnv)); err != nil {
			return err
		}
	case "sdk":
		var err error
		if h, err = sdkHandler(os.Getenv(upstreamEnv)); err != nil {
			return err
		}
	case "floor":
		h = floorHandler(os.Getenv(upstreamEnv))
	default:
		return fmt.Errorf("unknown role %q", role)
	}
	var conns atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+statsPath, func(w http.ResponseWriter, r *http.Request) {
		b, n := heapAllocs()
		json.NewEncoder(w).Encode(stats{CPUNanos: cpuNanos(), Conns: conns.Load(), HeapBytes: b, HeapAllocs: n})
	})
	mux.Handle("/", h)
	newServer := func() *http.Server {
		return &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ErrorLog: log.New(io.Discard, "", 0),
			ConnState: func(_ net.Conn, s http.ConnState) {
				if s == http.StateNew {
					conns.Add(1)
				}
			}}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go newServer().Serve(ln)
	urls := "http://" + ln.Addr().String()
	if role == "upstream" {
		tln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		srv := newServer()
		go srv.ServeTLS(tln, os.Getenv(certEnv), os.Getenv(keyEnv))
		urls += " https://" + tln.Addr().String()
	}
	if dir := os.Getenv(profileEnv); dir != "" {
		f, err := os.Create(filepath.Join(dir, fmt.Sprintf("%s.%d.pprof", role, os.Getpid())))
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	fmt.Printf("listening %s\n", urls)
	io.Copy(io.Discard, os.Stdin)
	return nil
}

// child is a running child process.
type child struct {
	cmd   *exec.Cmd
	stdin io.Closer
	urls  []string
	stats *http.Client
}

var (
	childrenMu sync.Mutex
	children   = map[string]*child{}
)

// startChild starts (once per role and upstream) a child serving role.
func startChild(tb testing.TB, role, upstream string) *child {
	tb.Helper()
	childrenMu.Lock()
	defer childrenMu.Unlock()
	key := role + " " + upstream
	if c := children[key]; c != nil {
		return c
	}
	exe, err := os.Executable()
	if err != nil {
		tb.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), roleEnv+"="+role, upstreamEnv+"="+upstream)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		tb.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		tb.Fatalf("%s child: %v", role, err)
	}
	urls, ok := strings.CutPrefix(strings.TrimSpace(line), "listening ")
	if !ok {
		tb.Fatalf("%s child said %q", role, line)
	}
	c := &child{cmd: cmd, stdin: stdin, urls: strings.Fields(urls), stats: &http.Client{Transport: &http.Transport{Proxy: nil}}}
	children[key] = c
	return c
}

func stopChildren() {
	childrenMu.Lock()
	defer childrenMu.Unlock()
	for k, c := range children {
		c.stdin.Close()
		c.cmd.Wait()
		delete(children, k)
	}
}

// counters reads the child's CPU time and accepted connections.
func (c *child) counters(tb testing.TB) stats {
	tb.Helper()
	resp, err := c.stats.Get(c.urls[0] + statsPath)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	var s stats
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		tb.Fatal(err)
	}
	return s
}

// upstream returns the shared fake Alibaba endpoint: its plain and TLS URLs.
func upstream(tb testing.TB) *child { return startChild(tb, "upstream", "") }

// okSend and okCheck are Alibaba's documented success bodies.
const (
	okSend = `{"AccessDeniedDetail":"","Message":"成功","RequestId":"CC3BB6D2-2FDF-4321-9DCE-B38165CE4C47",` +
		`"Model":{"RequestId":"a3671ccf-0102-4c8e-8797-a3678e091d09","OutId":"","BizId":"112231421412414124123^4"},"Code":"OK","Success":true}`
	okCheck = `{"AccessDeniedDetail":"","Message":"成功","RequestId":"CC3BB6D2-2FDF-4321-9DCE-B38165CE4C48",` +
		`"Model":{"OutId":"","VerifyResult":"PASS"},"Code":"OK","Success":true}`
)

// cannedUpstream answers SendSmsVerifyCode and CheckSmsVerifyCode (V3: the
// x-acs-action header; V1: the Action parameter) with a fixed success body,
// so that its own cost is the same, and small, for every client.
func cannedUpstream() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		action := r.Header.Get("x-acs-action")
		if action == "" {
			action = r.URL.Query().Get("Action")
		}
		w.Header().Set("Content-Type", "application/json;charset=utf-8")
		switch action {
		case "SendSmsVerifyCode":
			io.WriteString(w, okSend)
		case "CheckSmsVerifyCode":
			io.WriteString(w, okCheck)
		default:
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `{"Code":"InvalidAction.NotFound","Message":"unknown action","RequestId":"x"}`)
		}
	})
}
