package captchatest_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"smsverify/function/captcha/captchatest"
)

func post(t *testing.T, u, contentType, body string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Post(u, contentType, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

func firstCode(m map[string]any) string {
	codes, _ := m["error-codes"].([]any)
	if len(codes) == 0 {
		return ""
	}
	s, _ := codes[0].(string)
	return s
}

// TestFakeChecksTheForm: the fake refuses what the providers refuse.
func TestFakeChecksTheForm(t *testing.T) {
	ts := captchatest.NewServer(captchatest.Options{})
	defer ts.Close()
	hc := captchatest.NewServer(captchatest.Options{Flavor: captchatest.HCaptcha, SiteKey: "site-a"})
	defer hc.Close()
	form := func(kv ...string) string {
		v := url.Values{}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Add(kv[i], kv[i+1])
		}
		return v.Encode()
	}
	const ct = "application/x-www-form-urlencoded"
	s := captchatest.TestSecret
	for _, tc := range []struct {
		name, url, ct, body, code string
	}{
		{"json body", ts.URL, "application/json", `{"secret":"x"}`, "bad-request"},
		{"unknown field", ts.URL, ct, form("secret", s, "response", "pass", "extra", "1"), "bad-request"},
		{"sitekey to turnstile", ts.URL, ct, form("secret", s, "response", "pass", "sitekey", "k"), "bad-request"},
		{"field twice", ts.URL, ct, form("secret", s, "response", "pass", "response", "pass2"), "bad-request"},
		{"no secret", ts.URL, ct, form("response", "pass"), "missing-input-secret"},
		{"wrong secret", ts.URL, ct, form("secret", "nope", "response", "pass"), "invalid-input-secret"},
		{"bad remoteip", ts.URL, ct, form("secret", s, "response", "pass", "remoteip", "not-an-ip"), "invalid-remoteip"},
		{"no response", ts.URL, ct, form("secret", s), "missing-input-response"},
		{"hcaptcha other sitekey", hc.URL, ct, form("secret", s, "response", "pass", "sitekey", "site-b"), "sitekey-secret-mismatch"},
		{"passes", hc.URL, ct, form("secret", s, "response", "pass-x", "sitekey", "site-a", "remoteip", "::1"), ""},
		{"once", hc.URL, ct, form("secret", s, "response", "pass-x", "sitekey", "site-a"), "already-seen-response"},
	} {
		_, m := post(t, tc.url, tc.ct, tc.body)
		if got := firstCode(m); got != tc.code || (tc.code == "") != (m["success"] == true) {
			t.Errorf("%s: %v, want %q", tc.name, m, tc.code)
		}
	}
	if ts.Requests() != 8 || hc.Requests() != 3 {
		t.Errorf("requests %d, %d", ts.Requests(), hc.Requests())
	}
}
