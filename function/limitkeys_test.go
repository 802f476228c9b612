package function

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"

	"smsverify/internal/redistest"
)

// TestLimitKeysOnRedis: with LIMIT_STORE=redis every key starts with
// LIMIT_KEY_PREFIX (default {smsverify}:, one Redis Cluster slot for all
// the keys of a request), and no key holds the number or its unkeyed hash,
// nor the client's address: numbers and addresses are HMAC'd with
// LIMIT_KEY_SECRET, so another secret names them differently.
func TestLimitKeysOnRedis(t *testing.T) {
	url := privateRedis(t)
	number := phone(7)
	keysFor := func(secret string) []string {
		c, err := redistest.Conn(url)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := c.FlushDB(context.Background()).Err(); err != nil {
			t.Fatal(err)
		}
		e := newEnv(t, func(c *Config, _ *Options) {
			setLimits(c)
			c.LimitStore, c.RedisURL, c.LimitKeySecret = "redis", url, secret
			c.LimitKeyPrefix = defaultConfig().LimitKeyPrefix
		})
		w, m := e.from(ipA, "/send", sendJSON(number))
		ok(t, "send", w, m)
		code := e.lastCode(number)
		w, m = e.from(ipA, "/check", checkJSON(number, code))
		ok(t, "check", w, m)
		keys, err := redistest.Keys(c, "*")
		if err != nil {
			t.Fatal(err)
		}
		return keys
	}
	plain := sha256.New()
	plain.Write([]byte("86\x00" + number + "\x00"))
	unkeyed := hex.EncodeToString(plain.Sum(nil)[:16])
	a := keysFor(testLimitKeySecret)
	if len(a) < 4 { // send: phone, IP, global; check: phone, IP; the used mark
		t.Fatalf("only %d keys: %v", len(a), a)
	}
	for _, k := range a {
		if !strings.HasPrefix(k, "{smsverify}:") {
			t.Errorf("key %q lacks the prefix {smsverify}:", k)
		}
		if strings.Contains(k, number) || strings.Contains(k, number[3:]) || strings.Contains(k, unkeyed) {
			t.Errorf("key %q holds the number or its unkeyed hash", k)
		}
		if strings.Contains(k, ipA) || strings.Contains(k, "198.51.100") {
			t.Errorf("key %q holds the client's address", k)
		}
	}
	b := keysFor("another-limit-key-secret-0123456789abcdef")
	for _, k := range b {
		if (strings.Contains(k, "phone") || strings.Contains(k, ":ip:")) && strings.Contains(strings.Join(a, " "), k) {
			t.Errorf("key %q is the same under another secret", k)
		}
	}
}

// TestLimitKeyConfig: Redis needs LIMIT_KEY_SECRET; a short secret and a
// prefix with spaces are refused; the memory store runs without a secret.
func TestLimitKeyConfig(t *testing.T) {
	c := testConfig("http://127.0.0.1:1")
	c.LimitKeySecret = ""
	if err := c.Validate(); err != nil {
		t.Fatalf("memory store without LIMIT_KEY_SECRET: %v", err)
	}
	c.LimitStore, c.RedisURL = "redis", "redis://127.0.0.1:1/0"
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "LIMIT_KEY_SECRET") {
		t.Errorf("redis without LIMIT_KEY_SECRET: %v", err)
	}
	c.LimitKeySecret = "short-secret"
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "LIMIT_KEY_SECRET") || strings.Contains(err.Error(), "short-secret") {
		t.Errorf("short LIMIT_KEY_SECRET: %v", err)
	}
	c.LimitKeySecret = testLimitKeySecret
	c.LimitKeyPrefix = "my prefix:"
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "LIMIT_KEY_PREFIX") {
		t.Errorf("LIMIT_KEY_PREFIX with a space: %v", err)
	}
	c.LimitKeyPrefix = "{app1}:sms:"
	if err := c.Validate(); err != nil {
		t.Errorf("good prefix and secret: %v", err)
	}
}

// TestSecureHashIsHMAC pins how a number is named in the store, which must
// not change between versions sharing a Redis: the first 16 bytes, in hex,
// of HMAC-SHA256 under LIMIT_KEY_SECRET of each part followed by a 0 byte.
func TestSecureHashIsHMAC(t *testing.T) {
	e := newEnv(t, func(c *Config, _ *Options) { c.LimitKeySecret = testLimitKeySecret })
	for _, parts := range [][]string{{"86", "13800000000"}, {"ip", "203.0.113.7"}, {""}, {strings.Repeat("长", 100), "x"}} {
		mac := hmac.New(sha256.New, []byte(testLimitKeySecret))
		for _, p := range parts {
			mac.Write([]byte(p))
			mac.Write([]byte{0})
		}
		if got, want := e.svc.secureHash(parts...), hex.EncodeToString(mac.Sum(nil)[:16]); got != want {
			t.Errorf("secureHash(%q) = %s, want %s", parts, got, want)
		}
	}
}
