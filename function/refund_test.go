package function

import (
	"net"
	"net/http"
	"sync"
	"testing"

	"smsverify/core/dypnstest"
	"smsverify/function/limit"
)

// These tests prove that a send that cost nothing gives its limit slots
// back: one that never reached Alibaba (an outage, a bad AccessKey) gives
// back all of them; a business refusal gives back the global one. Each runs
// on the memory store and on Redis.

// refundStores are the stores the refund tests run on; each call returns a
// fresh store (on Redis, a fresh prefix).
func refundStores(t *testing.T) map[string]func(t *testing.T) limit.Store {
	return map[string]func(t *testing.T) limit.Store{
		"memory": func(*testing.T) limit.Store { return limit.NewMemory() },
		"redis": func(t *testing.T) limit.Store {
			url := redisURL(t)
			return redisStore(t, url, redisPrefix(t, url))
		},
	}
}

// refusedPort returns a loopback URL on which connections are refused.
func refusedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + l.Addr().String()
	l.Close()
	return url
}

// tightLimits sets 2 sends per number and per address and 3 in all.
func tightLimits(t *testing.T, store limit.Store) func(*Config, *Options) {
	return func(c *Config, o *Options) {
		setLimits(c)
		c.SendLimitPerPhone = rate(t, "2/1h")
		c.SendLimitPerIP = rate(t, "3/1h")
		c.SendLimitGlobal = rate(t, "3/24h")
		o.Store = store
	}
}

// wantFullBudget fails t unless e's service can still send to three numbers
// from ipA, the third twice more, and then refuses with the global limit.
func wantFullBudget(t *testing.T, e *env) {
	t.Helper()
	for i := range 3 {
		w, m := e.from(ipA, "/send", sendJSON(phone(i)))
		ok(t, "send after the failures", w, m)
	}
	w, m := e.from(ipB, "/send", sendJSON(phone(9)))
	refused(t, "the fourth send", w, m, CodeSendLimitGlobal)
}

func TestSendNeverReachedRefundsEverySlot(t *testing.T) {
	for name, newStore := range refundStores(t) {
		t.Run(name, func(t *testing.T) {
			for _, fail := range []struct {
				name   string
				mutate func(c *Config, fakeURL string)
				status int
			}{
				{"ConnectionRefused", func(c *Config, _ string) { c.Endpoint = refusedPort(t) }, http.StatusBadGateway},
				{"BadAccessKey", func(c *Config, _ string) { c.AccessKeySecret = "not-the-secret" }, http.StatusInternalServerError},
			} {
				t.Run(fail.name, func(t *testing.T) {
					store := newStore(t)
					e := newEnv(t, tightLimits(t, store))
					broken := e.instance(func(c *Config, o *Options) {
						tightLimits(t, store)(c, o)
						fail.mutate(c, e.fake.URL)
					})
					// Far more failures than any limit allows, on the
					// numbers and the address the good sends use.
					before := e.fake.SendCount()
					for i := range 10 {
						w, m := call(broken, ipA, "/send", sendJSON(phone(i%3)))
						if w.Code != fail.status {
							t.Fatalf("send %d through the broken instance: %d %v, want %d", i, w.Code, m, fail.status)
						}
					}
					if n := e.fake.SendCount(); n != before {
						t.Fatalf("the fake sent %d SMS during the failures", n-before)
					}
					wantFullBudget(t, e)
				})
			}
		})
	}
}

func TestSendNeverReachedRefundsConcurrently(t *testing.T) {
	for name, newStore := range refundStores(t) {
		t.Run(name, func(t *testing.T) {
			store := newStore(t)
			e := newEnv(t, tightLimits(t, store))
			broken := e.instance(func(c *Config, o *Options) {
				setLimits(c)
				c.SendLimitGlobal = rate(t, "3/24h")
				o.Store = store
				c.Endpoint = refusedPort(t)
			})
			var wg sync.WaitGroup
			codes := make([]string, 100)
			for i := range codes {
				wg.Go(func() { _, codes[i] = serve(broken, ipB, "/send", sendJSON(phone(100+i))) })
			}
			wg.Wait()
			for i, code := range codes {
				// A send finds the budget taken by failing sends in
				// flight, or fails upstream itself.
				if code != CodeUpstreamUnreachable && code != CodeSendLimitGlobal {
					t.Fatalf("send %d: %s", i, code)
				}
			}
			wantFullBudget(t, e)
		})
	}
}

func TestSendBusinessRefusalRefundsGlobalOnly(t *testing.T) {
	for name, newStore := range refundStores(t) {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, tightLimits(t, newStore(t)))
			w, m := e.from(ipA, "/send", sendJSON(phone(0)))
			ok(t, "first send", w, m)
			// The fake enforces the 60s Interval: FREQUENCY_FAIL, no SMS.
			w, m = e.from(ipA, "/send", sendJSON(phone(0)))
			refused(t, "send inside the interval", w, m, "FREQUENCY_FAIL")
			// The refusal cost nothing: the global budget has two sends left.
			for i := 1; i <= 2; i++ {
				w, m = e.from(ipB, "/send", sendJSON(phone(i)))
				ok(t, "send to another number", w, m)
			}
			w, m = e.from(ipB, "/send", sendJSON(phone(3)))
			refused(t, "send beyond the budget", w, m, CodeSendLimitGlobal)
			// It still counted against the number's own limit (2/1h).
			e.advance(61e9)
			w, m = e.from(ipB, "/send", sendJSON(phone(0)))
			refused(t, "third send to the number", w, m, CodeSendLimitPhone)
		})
	}
}

func TestSendMaybeSentKeepsSlots(t *testing.T) {
	for name, newStore := range refundStores(t) {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, tightLimits(t, newStore(t)))
			// A garbage answer may follow a sent SMS: the slot stays taken.
			e.fake.FailNext(1, dypnstest.FaultMalformed)
			w, m := e.from(ipA, "/send", sendJSON(phone(0)))
			if w.Code != http.StatusBadGateway {
				t.Fatalf("malformed answer: %d %v", w.Code, m)
			}
			for i := 1; i <= 2; i++ {
				w, m = e.from(ipB, "/send", sendJSON(phone(i)))
				ok(t, "send", w, m)
			}
			w, m = e.from(ipB, "/send", sendJSON(phone(3)))
			refused(t, "send beyond the budget", w, m, CodeSendLimitGlobal)
		})
	}
}
