package function

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"smsverify/internal/syncbuf"
)

// These tests prove issue 9 part 2, test numbers.

const (
	reviewPhone = "13800000000"
	reviewCode  = "123456"
)

func withTestNumbers(t *testing.T, set func(*Config)) func(*Config, *Options) {
	return func(c *Config, o *Options) {
		setLimits(c)
		c.TestNumbers = []string{reviewPhone + ":" + reviewCode, "13900000000:8888"}
		c.VerifyTokenSecret = strings.Repeat("k", 32)
		if set != nil {
			set(c)
		}
	}
}

func TestTestNumbers(t *testing.T) {
	e := newEnv(t, withTestNumbers(t, nil))
	c := e.counts()
	w, m := e.from(ipA, "/send", sendJSON(reviewPhone))
	ok(t, "send to a test number", w, m)
	model, _ := m["Model"].(map[string]any)
	biz, _ := model["BizId"].(string)
	if !strings.HasPrefix(biz, "test-") || len(biz) <= len("test-") {
		t.Fatalf("BizId %q, want test-…", biz)
	}
	if m["ResendAfter"] != float64(60) || m["ExpiresIn"] != float64(300) || model["VerifyCode"] != nil {
		t.Fatalf("answer %v, want the usual extras and no code", m)
	}
	// A trusted caller who asks gets the fixed code.
	w, m = e.from(ipA, "/send", `{"PhoneNumber":"`+reviewPhone+`","ReturnVerifyCode":true}`, bearer...)
	ok(t, "trusted send", w, m)
	if model, _ := m["Model"].(map[string]any); model["VerifyCode"] != reviewCode {
		t.Fatalf("trusted send with ReturnVerifyCode: %v", m)
	}

	// The fixed code passes, with a token, every time (a reviewer logs in
	// more than once); any other code is UNKNOWN.
	for i := range 2 {
		w, m = e.from(ipA, "/check", checkJSON(reviewPhone, reviewCode))
		ok(t, "check", w, m)
		model, _ = m["Model"].(map[string]any)
		if model["VerifyResult"] != "PASS" || model["VerifyToken"] == nil {
			t.Fatalf("check %d with the fixed code: %v, want PASS with a token", i, m)
		}
	}
	if got := verifyResult(t, e.svc, checkJSON(reviewPhone, "654321")); got != "UNKNOWN" {
		t.Fatalf("wrong code: %s, want UNKNOWN", got)
	}
	if got := verifyResult(t, e.svc, checkJSON("13900000000", reviewCode)); got != "UNKNOWN" {
		t.Fatalf("another test number's code: %s, want UNKNOWN", got)
	}
	e.unchanged(t, "test numbers", c)

	// An event works the same.
	out, err := e.svc.Invoke(context.Background(), []byte(`{"Action":"CheckSmsVerifyCode","PhoneNumber":"13900000000","VerifyCode":"8888"}`))
	if err != nil || !strings.Contains(string(out), `"VerifyResult":"PASS"`) {
		t.Fatalf("event check: %s %v", out, err)
	}
	e.unchanged(t, "test numbers", c)

	// Other numbers still reach Alibaba.
	w, m = e.from(ipA, "/send", sendJSON(phone(1)))
	ok(t, "send to a real number", w, m)
	if e.fake.SendCount() != 1 {
		t.Fatal("a real number did not reach the fake")
	}

	logs := e.logs.String()
	if !strings.Contains(logs, `"test_number":true`) {
		t.Errorf("the access log does not mark test numbers:\n%s", logs)
	}
	if strings.Contains(logs, reviewPhone) || strings.Contains(logs, reviewCode) {
		t.Errorf("the log holds a test number or its code:\n%s", logs)
	}
}

func TestTestNumberCaseAuthPolicy(t *testing.T) {
	e := newEnv(t, func(c *Config, o *Options) {
		setLimits(c)
		c.TestNumbers = []string{reviewPhone + ":AbCd12"}
	})
	for _, tc := range []struct {
		body, want string
	}{
		{`{"PhoneNumber":"` + reviewPhone + `","VerifyCode":"abcd12"}`, "PASS"},
		{`{"PhoneNumber":"` + reviewPhone + `","VerifyCode":"abcd12","CaseAuthPolicy":2}`, "UNKNOWN"},
		{`{"PhoneNumber":"` + reviewPhone + `","VerifyCode":"AbCd12","CaseAuthPolicy":2}`, "PASS"},
	} {
		if got := verifyResult(t, e.svc, tc.body); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.body, got, tc.want)
		}
	}
}

// TestTestNumbersLimited: limits apply to test numbers as to any other.
func TestTestNumbersLimited(t *testing.T) {
	e := newEnv(t, withTestNumbers(t, func(c *Config) {
		c.SendLimitPerPhone = rate(t, "1/1h")
		c.CheckLimitPerPhone = rate(t, "2/1h")
	}))
	w, m := e.from(ipA, "/send", sendJSON(reviewPhone))
	ok(t, "send", w, m)
	w, m = e.from(ipA, "/send", sendJSON(reviewPhone))
	refused(t, "second send", w, m, CodeSendLimitPhone)
	for range 2 {
		w, m = e.from(ipA, "/check", checkJSON(reviewPhone, reviewCode))
		ok(t, "check", w, m)
	}
	w, m = e.from(ipA, "/check", checkJSON(reviewPhone, reviewCode))
	refused(t, "third check", w, m, CodeCheckLimitPhone)
	e.advance(time.Hour)
	w, m = e.from(ipA, "/send", sendJSON(reviewPhone))
	ok(t, "send after the window", w, m)
}

// TestTestNumbersStartLog: New logs the test numbers, masked, once.
func TestTestNumbersStartLog(t *testing.T) {
	logs := &syncbuf.Buffer{}
	cfg := testConfig("http://127.0.0.1:1")
	cfg.TestNumbers = []string{"13800001234:123456"}
	svc, err := New(cfg, Options{Logger: slog.New(slog.NewJSONHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	got := logs.String()
	if !strings.Contains(got, "SMS_TEST_NUMBERS") || !strings.Contains(got, "138****1234") {
		t.Fatalf("start log %q does not list the masked test number", got)
	}
	if strings.Contains(got, "13800001234") || strings.Contains(got, "123456") {
		t.Fatalf("start log %q shows a number or a code", got)
	}
	// With real credentials the warning says so; in the emulator it does not.
	if !strings.Contains(got, "real Alibaba Cloud credentials") || !strings.Contains(got, `"real_credentials":true`) {
		t.Fatalf("start log %q does not warn of test numbers with real credentials", got)
	}
	emu := &syncbuf.Buffer{}
	svcEmu, err := New(cfg, Options{Logger: slog.New(slog.NewJSONHandler(emu, nil)), Emulator: true})
	if err != nil {
		t.Fatal(err)
	}
	defer svcEmu.Close()
	if got := emu.String(); !strings.Contains(got, "138****1234") || strings.Contains(got, "real Alibaba Cloud credentials") {
		t.Fatalf("emulator start log %q", got)
	}
	logs2 := &syncbuf.Buffer{}
	svc2, err := New(testConfig("http://127.0.0.1:1"), Options{Logger: slog.New(slog.NewJSONHandler(logs2, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer svc2.Close()
	if logs2.String() != "" {
		t.Fatalf("start log without test numbers: %q", logs2.String())
	}
}

func TestTestNumbersConfig(t *testing.T) {
	for _, tc := range []struct {
		name    string
		entries []string
		ok      bool
	}{
		{"two", []string{"13800000000:123456", "13900000000:8888"}, true},
		{"letters", []string{"13800000000:AbC123"}, true},
		{"no colon", []string{"13812345678"}, false},
		{"bad number", []string{"12800000000:123456"}, false},
		{"short number", []string{"1380000000:123456"}, false},
		{"short code", []string{"13800000000:123"}, false},
		{"long code", []string{"13800000000:123456789"}, false},
		{"code with a sign", []string{"13800000000:12-456"}, false},
		{"repeated number", []string{"13800000000:123456", "13800000000:4444"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := defaultConfig()
			c.TestNumbers = tc.entries
			err := c.Validate()
			if (err == nil) != tc.ok {
				t.Fatalf("Validate: %v, want ok=%v", err, tc.ok)
			}
			if err != nil {
				if !strings.Contains(err.Error(), "SMS_TEST_NUMBERS") {
					t.Fatalf("error does not name SMS_TEST_NUMBERS: %v", err)
				}
				for _, e := range tc.entries {
					if phone, code, _ := strings.Cut(e, ":"); strings.Contains(err.Error(), phone) || code != "" && strings.Contains(err.Error(), code) {
						t.Fatalf("error %q quotes an entry", err)
					}
				}
			}
		})
	}
	t.Run("from the environment", func(t *testing.T) {
		unsetConfigEnv(t)
		t.Setenv("SMS_TEST_NUMBERS", " 13800000000:123456 , 13900000000:8888 ")
		t.Setenv("IDEMPOTENCY_TTL", "1h")
		c, err := LoadConfig()
		if err != nil {
			t.Fatal(err)
		}
		if len(c.TestNumbers) != 2 || c.IdempotencyTTL != time.Hour {
			t.Fatalf("TestNumbers %q, IdempotencyTTL %v", c.TestNumbers, c.IdempotencyTTL)
		}
	})
}

func TestIdempotencyTTLConfig(t *testing.T) {
	c := defaultConfig()
	if c.IdempotencyTTL != 24*time.Hour {
		t.Fatalf("default IDEMPOTENCY_TTL %v, want 24h", c.IdempotencyTTL)
	}
	c.IdempotencyTTL = 0
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "IDEMPOTENCY_TTL") {
		t.Fatalf("IDEMPOTENCY_TTL=0: %v", err)
	}
}
