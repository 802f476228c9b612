package function

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"smsverify/function/limit"
)

// FuzzHTTPBody feeds arbitrary bodies to /send and /check, public and
// trusted, with the test captcha guarding both (so CaptchaVerifyParam is
// decoded too): never a panic, always a JSON answer with a documented
// status.
func FuzzHTTPBody(f *testing.F) {
	for _, s := range []string{`{"PhoneNumber":"13800000000"}`, `{"PhoneNumber":"13800000000","VerifyCode":"1234"}`,
		`{"PhoneNumber":"13800000000","CodeLength":6,"ReturnVerifyCode":true}`, `{"SignName":null}`, `[]`, `{"a":`, `"x"`,
		`{"PhoneNumber":"13800000000","TemplateParam":"{\"code\":\"##code##\"}"}`, "{\"PhoneNumber\":\"\xff\"}",
		`{"PhoneNumber":"13800000000","CaptchaVerifyParam":"pass"}`, `{"PhoneNumber":"13800000000","VerifyCode":"1234","CaptchaVerifyParam":"pass-x"}`,
		`{"PhoneNumber":"13800000000","CaptchaVerifyParam":"fail"}`, `{"PhoneNumber":"13800000000","CaptchaVerifyParam":null}`,
		`{"PhoneNumber":"13800000000","CaptchaVerifyParam":["pass"]}`, "{\"CaptchaVerifyParam\":\"pass\xff\"}"} {
		f.Add(s, false, true)
		f.Add(s, true, false)
	}
	big := limit.Rate{N: limit.MaxN, Per: time.Hour}
	e := newEnv(&testing.T{}, func(c *Config, o *Options) {
		c.SendLimitPerPhone, c.SendLimitPerIP, c.SendLimitGlobal, c.CheckLimitPerPhone, c.CheckLimitPerIP = big, big, big, big, big
		c.CaptchaProvider, c.CaptchaActions, o.Emulator = "test", []string{"send", "check"}, true
	})
	allowed := map[int]bool{200: true, 400: true, 403: true, 429: true}
	f.Fuzz(func(t *testing.T, body string, trusted, check bool) {
		e.t = t
		path := "/send"
		if check {
			path = "/check"
		}
		hdr := []string{"Content-Type", "application/json"} // also for an empty body
		if trusted {
			hdr = append(hdr, "Authorization", "Bearer "+testKey)
		}
		w, m := e.do("POST", path, body, hdr...)
		if !allowed[w.Code] || m["Code"] == nil {
			t.Fatalf("%s %q: %d %s", path, body, w.Code, w.Body)
		}
		if !trusted && m["Model"] != nil {
			if _, ok := m["Model"].(map[string]any)["VerifyCode"]; ok {
				t.Fatal("public caller got a code")
			}
		}
	})
}

// FuzzInvoke feeds arbitrary events to the event API.
func FuzzInvoke(f *testing.F) {
	for _, s := range []string{`{"Action":"SendSmsVerifyCode","PhoneNumber":"13800000000"}`,
		`{"Action":"CheckSmsVerifyCode","PhoneNumber":"13800000000","VerifyCode":"12345"}`, `{"Action":1}`, `{}`, `null`,
		`{"Action":"SendSmsVerifyCode","IdempotencyKey":"k-1","PhoneNumber":"13800000000"}`,
		`{"Action":"SendSmsVerifyCode","IdempotencyKey":7,"PhoneNumber":"13800000000"}`,
		"{\"Action\":\"CheckSmsVerifyCode\",\"IdempotencyKey\":\"\xff\",\"PhoneNumber\":\"13800000000\",\"VerifyCode\":\"1234\"}"} {
		f.Add([]byte(s))
	}
	e := newEnv(&testing.T{}, nil)
	f.Fuzz(func(t *testing.T, payload []byte) {
		out, err := e.svc.Invoke(context.Background(), payload)
		if err != nil {
			return // transient: raised for the platform to retry
		}
		var m map[string]any
		if json.Unmarshal(out, &m) != nil || m["Code"] == nil {
			t.Fatalf("%q: answer %q", payload, out)
		}
	})
}

// FuzzIdempotencyKey sends each Idempotency-Key twice with one body: never
// a panic or a 5xx; a malformed key is 400, a valid one runs and then
// replays the same answer (or 409/422 when the key is taken).
func FuzzIdempotencyKey(f *testing.F) {
	for _, s := range []string{"k", "", " ", "order-1", "a b", "\x00", "\x7f", "clé", strings.Repeat("k", 255), strings.Repeat("k", 256)} {
		f.Add(s, false)
		f.Add(s, true)
	}
	big := limit.Rate{N: limit.MaxN, Per: time.Hour}
	e := newEnv(&testing.T{}, func(c *Config, o *Options) {
		c.SendLimitPerPhone, c.SendLimitPerIP, c.SendLimitGlobal, c.CheckLimitPerPhone, c.CheckLimitPerIP = big, big, big, big, big
	})
	f.Fuzz(func(t *testing.T, key string, check bool) {
		e.t = t
		path, body := "/send", `{"PhoneNumber":"13800000000"}`
		if check {
			path, body = "/check", `{"PhoneNumber":"13800000000","VerifyCode":"1234"}`
		}
		first, m := e.do("POST", path, body, HeaderIdempotencyKey, key)
		if !validIdempotencyKey(key) {
			if first.Code != 400 || m["Code"] != CodeInvalidParameters {
				t.Fatalf("key %q: %d %s, want 400", key, first.Code, first.Body)
			}
			return
		}
		if first.Code >= 500 || m["Code"] == nil {
			t.Fatalf("key %q: %d %s", key, first.Code, first.Body)
		}
		again, _ := e.do("POST", path, body, HeaderIdempotencyKey, key)
		switch {
		case again.Code == 409 || again.Code == 422: // the fuzzer reused a key across paths
		case again.Header().Get(HeaderIdempotentReplayed) != "true" || again.Body.String() != first.Body.String():
			if first.Code == 200 || first.Code == 429 && m["Code"] == "FREQUENCY_FAIL" {
				t.Fatalf("key %q: retry %d %s, want a replay of %d %s", key, again.Code, again.Body, first.Code, first.Body)
			}
		}
	})
}

// FuzzReports holds decodeReports, the decoder of Alibaba's pushes, to a
// reference: a body is accepted iff encoding/json reads it as an array of
// at most maxReports objects, each with a valid biz_id and a boolean
// success; an accepted body yields exactly those receipts. Never a panic.
func FuzzReports(f *testing.F) {
	for _, s := range []string{`[]`, `[{"biz_id":"1^0","success":true}]`, `[{"biz_id":"1^0","success":"true"}]`,
		`[{"biz_id":"","success":false}]`, `[null]`, `{}`, `null`, `[{"biz_id":"1 0","success":true}]`,
		`[{"biz_id":"1^0","success":false,"err_code":"MK:0001","report_time":"2026-01-01 00:00:00"},1]`, "[{\"biz_id\":\"\xff\",\"success\":true}]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		rs, e := decodeReports([]byte(body))
		var ref []map[string]any
		ok := json.Unmarshal([]byte(body), &ref) == nil && ref != nil && len(ref) <= maxReports
		for _, m := range ref {
			for k := range m {
				if k != "biz_id" && k != "success" && (strings.EqualFold(k, "biz_id") || strings.EqualFold(k, "success")) {
					t.Skip("encoding/json matches keys case-insensitively; the reference does not model which of several wins")
				}
			}
			id, isStr := m["biz_id"].(string)
			_, isBool := m["success"].(bool)
			if m == nil || !isStr || !isBool || id == "" || len(id) > maxBizIDLen || strings.ContainsFunc(id, func(r rune) bool { return r <= ' ' || r > '~' }) {
				ok = false
			}
		}
		if ok != (e == nil) {
			t.Fatalf("decodeReports(%q): error %v, reference accepts: %v", body, e, ok)
		}
		if e != nil {
			if e.Status != 400 {
				t.Fatalf("status %d", e.Status)
			}
			return
		}
		if len(rs) != len(ref) {
			t.Fatalf("%d receipts, reference %d", len(rs), len(ref))
		}
		for i, rc := range rs {
			if rc.BizID != ref[i]["biz_id"] || *rc.Success != ref[i]["success"] {
				t.Fatalf("receipt %d = %+v, reference %v", i, rc, ref[i])
			}
		}
	})
}
