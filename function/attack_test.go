package function

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// These tests replay, from outside, the attacks issue 15 reported against
// idempotency keys (D9 guessing and squatting, D10 filling the memory store).

// attackIP is the i-th address of an attacker holding many.
func attackIP(i int) string { return fmt.Sprintf("198.18.%d.%d", i/250, i%250+1) }

// victimKey is a well-formed key: what leaked is the key, not its shape.
const victimKey = "3f1c9a52-7d4e-4b8a-9e21-6c0d5b7a8f34"

// TestIdempotencyKeyIsNoOracle (D9): someone who knows a number and the key
// its owner checked a code with gets no more than ordinary guesses: each
// guess under the key, whatever it is answered, is judged through the
// captcha (when checks need one) and the per-number check limit, and once
// the limit is spent the right code under the key does not hand out the
// owner's verification token.
func TestIdempotencyKeyIsNoOracle(t *testing.T) {
	for _, store := range []string{"memory", "redis"} {
		for _, withCaptcha := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/captcha=%v", store, withCaptcha), func(t *testing.T) {
				testNoOracle(t, store, withCaptcha)
			})
		}
	}
}

func testNoOracle(t *testing.T, store string, withCaptcha bool) {
	const perPhone = 5
	var url string
	if store == "redis" {
		url = redisURL(t)
	}
	e := newEnv(t, func(c *Config, o *Options) {
		setLimits(c)
		c.CheckLimitPerPhone = rate(t, fmt.Sprintf("%d/15m", perPhone))
		c.VerifyTokenSecret = strings.Repeat("s", 32)
		if withCaptcha {
			c.CaptchaProvider, c.CaptchaActions, o.Emulator = "test", []string{"send", "check"}, true
		}
		if url != "" {
			o.Store = redisStore(t, url, redisPrefix(t, url))
		}
	})
	body := func(p, code, captcha string) string {
		if !withCaptcha {
			return checkJSON(p, code)
		}
		return `{"PhoneNumber":"` + p + `","VerifyCode":"` + code + `","CaptchaVerifyParam":"` + captcha + `"}`
	}
	p := phone(1)
	w, m := e.from(ipA, "/send", `{"PhoneNumber":"`+p+`","CaptchaVerifyParam":"pass-send"}`)
	ok(t, "send", w, m)
	code := e.lastCode(p)

	// The owner checks, and retries once: the same PASS and token.
	first, m := e.from(ipA, "/check", body(p, code, "pass-owner"), idemHeader, victimKey)
	ok(t, "owner's check", first, m)
	token, _ := m["Model"].(map[string]any)["VerifyToken"].(string)
	if token == "" {
		t.Fatalf("owner's PASS has no token: %v", m)
	}
	w, _ = e.from(ipB, "/check", body(p, code, "pass-owner"), idemHeader, victimKey)
	wantReplay(t, "owner's retry", first, w)

	// The attacker guesses under the owner's key, each guess from a new
	// address. Without a captcha token nothing is judged.
	if withCaptcha {
		for i := range 20 {
			w, m := e.from(attackIP(i), "/check", checkJSON(p, fmt.Sprintf("%04d", i)), idemHeader, victimKey)
			if w.Code != http.StatusBadRequest || m["Code"] != CodeCaptchaRequired {
				t.Fatalf("guess %d without a captcha: %d %v, want 400 %s", i, w.Code, m, CodeCaptchaRequired)
			}
		}
	}
	judged := 2 // the owner's check and retry
	for i := range 20 {
		guess := fmt.Sprintf("%04d", i)
		if guess == code {
			continue
		}
		w, m := e.from(attackIP(100+i), "/check", body(p, guess, "pass-guess"), idemHeader, victimKey)
		switch {
		case w.Code == http.StatusTooManyRequests && m["Code"] == CodeCheckLimitPhone:
		case w.Code == http.StatusUnprocessableEntity && m["Code"] == CodeIdempotencyKeyReused:
			judged++
		default:
			t.Fatalf("guess %d: %d %v", i, w.Code, m)
		}
	}
	if judged != perPhone {
		t.Fatalf("%d codes judged for the number, want the limit, %d", judged, perPhone)
	}
	// The right code under the key, once the limit is spent: refused, no
	// token.
	w, m = e.from(attackIP(200), "/check", body(p, code, "pass-guess"), idemHeader, victimKey)
	refused(t, "the right code after the limit", w, m, CodeCheckLimitPhone)
	if strings.Contains(w.Body.String(), token) {
		t.Fatalf("the owner's token was handed out: %s", w.Body)
	}
}

// TestIdempotencyKeySquatting (D9): a key claimed first for one number
// cannot be held against another number's request: predictable keys are
// still a client's mistake, but one caller cannot squat another's.
func TestIdempotencyKeySquatting(t *testing.T) {
	e := newEnv(t, limits(nil))
	const key = "login-2026-12-07-0001" // predictable: a date and a counter
	w, m := e.from(ipB, "/send", sendJSON(phone(9)), idemHeader, key)
	ok(t, "squatter's send", w, m)
	w, m = e.from(ipB, "/check", checkJSON(phone(9), "0000"), idemHeader, key)
	ok(t, "squatter's check", w, m)

	w, m = e.from(ipA, "/send", sendJSON(phone(1)), idemHeader, key)
	ok(t, "owner's send", w, m)
	wantFresh(t, "owner's send", w)
	w, m = e.from(ipA, "/check", checkJSON(phone(1), e.lastCode(phone(1))), idemHeader, key)
	ok(t, "owner's check", w, m)
	wantFresh(t, "owner's check", w)
	if r := m["Model"].(map[string]any)["VerifyResult"]; r != "PASS" {
		t.Fatalf("owner's check: %v", m)
	}
}

// TestIdempotencyRecordsCannotFillMemory (D10): someone with many
// addresses filling LIMIT_MEMORY_MAX_KEYS with keyed checks keeps the store
// full no longer than the limit windows: once those have passed, a new
// user sends, however long IDEMPOTENCY_TTL is.
func TestIdempotencyRecordsCannotFillMemory(t *testing.T) {
	e := newEnv(t, func(c *Config, _ *Options) {
		setLimits(c)
		c.LimitMemoryMaxKeys = 60
		c.IdempotencyTTL = 24 * time.Hour
	})
	window := max(e.svc.cfg.CheckLimitPerPhone.Per, e.svc.cfg.CheckLimitPerIP.Per)
	n := 0
	// With records that outlive the windows, each round finds less room
	// (two thirds of the last), and the store stays full within 15 rounds.
	for round := range 15 {
		// Fill the store: each check takes a number's window, an
		// address's window and an idempotency record.
		filled := 0
		for ; ; n++ {
			w, m := e.from(attackIP(n), "/check", checkJSON(phone(1000+n), "0000"), idemHeader, fmt.Sprintf("fill-%016d", n))
			if w.Code == http.StatusServiceUnavailable && m["Code"] == CodeLimitStoreDown {
				break
			}
			ok(t, fmt.Sprintf("round %d: check %d", round, n), w, m)
			filled++
		}
		if filled == 0 {
			t.Fatalf("round %d: the store stayed full %v after the windows", round, window)
		}
		e.advance(window + time.Second)
	}
	w, m := e.from(ipA, "/send", sendJSON(phone(1)))
	ok(t, "a new user's send after the windows", w, m)
}

// TestHangUpDoesNotCancelUpstream (D11): a caller hanging up while its
// send is on its way to Alibaba does not cancel it: the call runs to its
// own deadline, and the real answer is stored under the key, so a retry
// gets it instead of a synthetic timeout.
func TestHangUpDoesNotCancelUpstream(t *testing.T) {
	for _, path := range []string{"/send", "/check"} {
		t.Run(path, func(t *testing.T) {
			g := newGate(t)
			e := newEnv(t, func(c *Config, o *Options) {
				setLimits(c)
				c.VerifyTokenSecret = strings.Repeat("s", 32)
				o.HTTPClient = &http.Client{Transport: g}
			})
			body := sendJSON(phone(1))
			if path == "/check" {
				// The send goes through ungated (the gate holds its first
				// call: start it one below); the check is held.
				g.n.Store(-1)
				w, m := e.from(ipA, "/send", body)
				ok(t, "send", w, m)
				body = checkJSON(phone(1), e.lastCode(phone(1)))
			}
			ctx, hangUp := context.WithCancel(context.Background())
			defer hangUp()
			first := httptest.NewRecorder()
			done := make(chan struct{})
			go func() {
				defer close(done)
				e.svc.ServeHTTP(first, newRequest("POST", path, body, idemHeader, victimKey).WithContext(ctx))
			}()
			<-g.entered
			hangUp()
			close(g.release)
			<-done
			if first.Code != http.StatusOK {
				t.Fatalf("the call its caller hung up on: %d %s, want its real answer", first.Code, first.Body)
			}
			if path == "/check" && !strings.Contains(first.Body.String(), `"VerifyToken"`) {
				t.Fatalf("the check its caller hung up on: %s, want its PASS and token", first.Body)
			}
			w, _ := e.from(ipA, path, body, idemHeader, victimKey)
			wantReplay(t, "retry", first, w)
			if n := g.n.Load(); n != 1 {
				t.Fatalf("%d upstream calls, want 1", n)
			}
		})
	}
}

// TestFrequencyRetryAfterIsTimeLeft: Alibaba's FREQUENCY_FAIL 5 s into a
// 60 s Interval answers Retry-After: 55, the time left, not the whole
// Interval; a number this service never sent to keeps the Interval, the
// bound, and the service's own limits answer their time left too.
func TestFrequencyRetryAfterIsTimeLeft(t *testing.T) {
	for _, store := range []string{"memory", "redis"} {
		t.Run(store, func(t *testing.T) {
			var url string
			if store == "redis" {
				url = redisURL(t)
			}
			e := newEnv(t, func(c *Config, o *Options) {
				setLimits(c)
				c.SendLimitPerPhone = rate(t, "2/1h")
				if url != "" {
					o.Store = redisStore(t, url, redisPrefix(t, url))
				}
			})
			p := phone(1)
			w, m := e.from(ipA, "/send", sendJSON(p))
			ok(t, "send", w, m)
			e.advance(5 * time.Second)
			w, m = e.from(ipA, "/send", sendJSON(p))
			if got := refused(t, "5 s into the Interval", w, m, "FREQUENCY_FAIL"); got != 55 {
				t.Fatalf("Retry-After %d, want 55", got)
			}
			// The per-number limit (2/1h) is spent now: its refusal says
			// when its oldest send leaves the window.
			e.advance(60 * time.Second)
			w, m = e.from(ipA, "/send", sendJSON(p))
			if got := refused(t, "the number's limit", w, m, CodeSendLimitPhone); got != 3600-65 {
				t.Fatalf("Retry-After %d, want %d", got, 3600-65)
			}
			// Another instance's send is not known here: the whole Interval.
			q := phone(2)
			other := e.instance(limits(nil))
			if w, m := call(other, ipA, "/send", sendJSON(q)); w.Code != http.StatusOK {
				t.Fatalf("other instance's send: %d %v", w.Code, m)
			}
			w, m = e.from(ipA, "/send", sendJSON(q))
			if got := refused(t, "a number sent to elsewhere", w, m, "FREQUENCY_FAIL"); got != 60 {
				t.Fatalf("Retry-After %d, want 60", got)
			}
		})
	}
}
