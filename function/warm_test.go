package function

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"smsverify/function/limit"
)

// barrier lets n parties through together: each waits until all n arrived
// or its context ends.
type barrier struct {
	mu      sync.Mutex
	n       int
	arrived []string
	all     chan struct{}
}

func newBarrier(n int) *barrier { return &barrier{n: n, all: make(chan struct{})} }

func (b *barrier) wait(ctx context.Context, who string) error {
	b.mu.Lock()
	b.arrived = append(b.arrived, who)
	if len(b.arrived) == b.n {
		close(b.all)
	}
	b.mu.Unlock()
	select {
	case <-b.all:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// pingStore is a limit store whose Ping the test controls.
type pingStore struct {
	limit.Store
	ping func(context.Context) error
}

func (s pingStore) Ping(ctx context.Context) error { return s.ping(ctx) }

// TestWarmParallel: Warm opens the Dypnsapi and captcha connections and
// pings the store at the same time. Each of the three waits at a barrier
// until all three have arrived, so done one after the other the first
// would wait alone until DYPNS_TIMEOUT and Warm would fail.
func TestWarmParallel(t *testing.T) {
	b := newBarrier(3)
	head := func(who string) *httptest.Server {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodHead || r.URL.Path != "/" {
				t.Errorf("%s got %s %s, want HEAD /", who, r.Method, r.URL)
			}
			if err := b.wait(r.Context(), who); err != nil {
				http.Error(w, err.Error(), http.StatusServiceUnavailable)
			}
		}))
		t.Cleanup(srv.Close)
		return srv
	}
	dypns, turnstile := head("dypnsapi"), head("turnstile")
	cfg := testConfig(dypns.URL)
	cfg.CaptchaProvider, cfg.CaptchaSecret, cfg.CaptchaEndpoint = "turnstile", "turnstile-secret", turnstile.URL+"/turnstile/v0/siteverify"
	store := pingStore{limit.NewMemory(), func(ctx context.Context) error { return b.wait(ctx, "store") }}
	svc, err := New(cfg, Options{Store: store})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	if err := svc.Warm(t.Context()); err != nil {
		t.Fatalf("Warm: %v (arrived: %v)", err, b.arrived)
	}
	if len(b.arrived) != 3 {
		t.Errorf("arrived: %v, want dypnsapi, turnstile and store", b.arrived)
	}
}

// TestWarmUnreachable: hosts that refuse connections make Warm report
// each of them, promptly, and leave the Service as it was.
func TestWarmUnreachable(t *testing.T) {
	closed := func() string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		return ln.Addr().String()
	}
	dypns, captchaHost := closed(), closed()
	e := newEnv(t, nil)
	cfg := testConfig("http://" + dypns)
	cfg.CaptchaProvider, cfg.CaptchaSceneID, cfg.CaptchaEndpoint = "aliyun", "scene1", "http://"+captchaHost
	svc, err := New(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	err = svc.Warm(t.Context())
	if err == nil || !strings.Contains(err.Error(), dypns) || !strings.Contains(err.Error(), captchaHost) {
		t.Fatalf("Warm = %v, want an error naming %s and %s", err, dypns, captchaHost)
	}
	// A warm-up of an unreachable host changes nothing for the requests:
	// the service of a reachable endpoint warms and answers.
	if err := e.svc.Warm(t.Context()); err != nil {
		t.Fatalf("Warm of the fake: %v", err)
	}
	if rec, _ := e.do("POST", "/send", `{"PhoneNumber":"13800000000"}`, "Authorization", "Bearer "+testKey); rec.Code != http.StatusOK {
		t.Fatalf("send after Warm: %d %s", rec.Code, rec.Body)
	}
}
