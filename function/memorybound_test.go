package function

import (
	"strings"
	"testing"
)

// TestMemoryStoreFullFailsClosed: with LIMIT_MEMORY_MAX_KEYS reached, a
// request that needs a new key is refused with 503 LIMIT_STORE_UNAVAILABLE
// and no upstream call, the access log says why, and requests on keys the
// store already holds still work.
func TestMemoryStoreFullFailsClosed(t *testing.T) {
	e := newEnv(t, func(c *Config, _ *Options) {
		setLimits(c)
		c.LimitMemoryMaxKeys = 4 // one send: its number, its address, the global budget, its attempts log
	})
	w, m := e.from(ipA, "/send", sendJSON(phone(0)))
	ok(t, "first send", w, m)
	before := e.counts()
	w, m = e.from(ipA, "/send", sendJSON(phone(1)))
	if w.Code != 503 || m["Code"] != CodeLimitStoreDown {
		t.Fatalf("send needing a new key in a full store: %d %v, want 503 %s", w.Code, m, CodeLimitStoreDown)
	}
	e.unchanged(t, "a send refused for a full store", before)
	if !strings.Contains(e.logs.String(), "memory store is full") {
		t.Errorf("the access log does not say the store is full:\n%s", e.logs.String())
	}
	// The number and address already tracked still get their sends.
	e.advance(61e9)
	w, m = e.from(ipA, "/send", sendJSON(phone(0)))
	ok(t, "send on tracked keys", w, m)
}
