package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"

	"smsverify/api"
	"smsverify/core/dypnstest"
	"smsverify/internal/apitest"
	"smsverify/internal/syncbuf"
)

func get(t *testing.T, url string) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

// TestDemoPage: the demo and the JS module are served in emulator mode,
// and their answers (and the emulator's codes list) match the document.
func TestDemoPage(t *testing.T) {
	clearCredentials(t)
	doc, err := apitest.Load()
	if err != nil {
		t.Fatal(err)
	}
	base, out, _ := start(t)
	if !strings.Contains(out.String(), base+"/demo/") {
		t.Errorf("banner names no demo page: %q", out.String())
	}
	resp, body := get(t, base+"/demo/")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") || !bytes.Contains(body, []byte(`from "./smsverify.js"`)) {
		t.Fatalf("/demo/: %d %v", resp.StatusCode, resp.Header)
	}
	if err := doc.ValidateResponse(resp.Request, resp.StatusCode, resp.Header, body); err != nil {
		t.Error(err)
	}
	resp, body = get(t, base+"/demo/smsverify.js")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/javascript") || !bytes.Contains(body, []byte("export function send(")) {
		t.Errorf("/demo/smsverify.js: %d %v", resp.StatusCode, resp.Header)
	}
	if resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("headers: %v", resp.Header)
	}
	for file, ctype := range map[string]string{"favicon.svg": "image/svg+xml", "smsverify.d.ts": "text/plain; charset=utf-8"} {
		if resp, body := get(t, base+"/demo/"+file); resp.StatusCode != 200 || resp.Header.Get("Content-Type") != ctype || len(body) == 0 {
			t.Errorf("/demo/%s: %d %q, want 200 %s", file, resp.StatusCode, resp.Header.Get("Content-Type"), ctype)
		}
	}
	resp, body = get(t, base+"/openapi.json")
	if resp.StatusCode != 200 || !bytes.Equal(body, api.OpenAPI()) {
		t.Errorf("/openapi.json: %d", resp.StatusCode)
	}
	post(t, base+"/send", `{"PhoneNumber":"13800000000"}`)
	resp, body = get(t, base+"/emulator/codes?PhoneNumber=13800000000")
	if err := doc.ValidateResponse(resp.Request, resp.StatusCode, resp.Header, body); err != nil || !bytes.Contains(body, []byte("VerifyCode")) {
		t.Errorf("codes: %v %s", err, body)
	}
}

// TestDemoPageWithCredentials: with credentials the demo is served only
// when SERVE_DEMO=true.
func TestDemoPageWithCredentials(t *testing.T) {
	for _, serve := range []string{"", "true"} {
		t.Run("SERVE_DEMO="+serve, func(t *testing.T) {
			clearCredentials(t)
			fake := dypnstest.NewServer(dypnstest.Options{})
			defer fake.Close()
			setCredentials(t, fake.URL)
			t.Setenv("SERVE_DEMO", serve)
			if serve == "" {
				os.Unsetenv("SERVE_DEMO") // restored by t.Setenv's cleanup
			}
			base, _, _ := start(t)
			resp, _ := get(t, base+"/demo/")
			if want := map[string]int{"": 404, "true": 200}[serve]; resp.StatusCode != want {
				t.Errorf("/demo/: %d, want %d", resp.StatusCode, want)
			}
		})
	}
}

func TestServeDemoMustBeBool(t *testing.T) {
	clearCredentials(t)
	t.Setenv("SERVE_DEMO", "maybe")
	err := run(context.Background(), &syncbuf.Buffer{}, &syncbuf.Buffer{}, hooks{})
	if err == nil || !strings.Contains(err.Error(), "SERVE_DEMO") {
		t.Errorf("err = %v", err)
	}
}

// do sends one request to the adapter without following redirects and
// validates the answer against the document.
func do(t *testing.T, doc *apitest.Doc, method, url, body string, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.ValidateResponse(req, resp.StatusCode, resp.Header, b); err != nil {
		t.Errorf("%s %s: the answer breaks the document: %v\n%s", method, url, err, b)
	}
	return resp, b
}

// TestEmulatorRoutes: GET / redirects to the demo, /emulator/codes answers
// CORS and a missing number with a RequestId, and /emulator/reset forgets
// codes, limits and idempotency records; every answer matches the document.
func TestEmulatorRoutes(t *testing.T) {
	clearCredentials(t)
	t.Setenv("SMS_LIMIT_PER_PHONE", "1/1h")
	doc, err := apitest.Load()
	if err != nil {
		t.Fatal(err)
	}
	base, out, _ := start(t)
	if !strings.Contains(out.String(), "/emulator/reset") {
		t.Errorf("banner does not mention the reset: %q", out.String())
	}

	resp, _ := do(t, doc, "GET", base+"/", "")
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/demo/" {
		t.Errorf("GET /: %d Location %q, want 302 /demo/", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, body := do(t, doc, "GET", base+"/emulator/codes", "")
	if resp.StatusCode != 400 || !bytes.Contains(body, []byte(`"RequestId"`)) || resp.Header.Get("X-Request-Id") == "" {
		t.Errorf("codes without a number: %d %s", resp.StatusCode, body)
	}

	const phone = "13800000000"
	send := func() (*http.Response, []byte) {
		return do(t, doc, "POST", base+"/send", `{"PhoneNumber":"`+phone+`"}`, "Idempotency-Key", "k-1-0123456789abcdef")
	}
	if resp, body := send(); resp.StatusCode != 200 {
		t.Fatalf("send: %d %s", resp.StatusCode, body)
	}
	if resp, _ := send(); resp.Header.Get("Idempotent-Replayed") != "true" {
		t.Error("the same Idempotency-Key was not replayed")
	}
	if resp, body := do(t, doc, "POST", base+"/send", `{"PhoneNumber":"`+phone+`"}`); resp.StatusCode != 429 || !bytes.Contains(body, []byte("SEND_LIMIT_PHONE")) {
		t.Fatalf("second send: %d %s, want 429 SEND_LIMIT_PHONE", resp.StatusCode, body)
	}
	resp, body = do(t, doc, "GET", base+"/emulator/codes?PhoneNumber="+phone, "", "Origin", "http://localhost:5173")
	if resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != "*" || !bytes.Contains(body, []byte("VerifyCode")) {
		t.Errorf("codes from another origin (none configured): %d %v %s", resp.StatusCode, resp.Header, body)
	}

	resp, body = do(t, doc, "POST", base+"/emulator/reset", "", "Origin", "http://localhost:5173")
	if resp.StatusCode != 200 || !bytes.Contains(body, []byte(`"Forgotten":["codes","limits","idempotency","receipts","attempts"]`)) || resp.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("reset: %d %v %s", resp.StatusCode, resp.Header, body)
	}
	if _, body := do(t, doc, "GET", base+"/emulator/codes?PhoneNumber="+phone, ""); !bytes.Contains(body, []byte(`"Codes":[]`)) {
		t.Errorf("codes after reset: %s", body)
	}
	resp, body = send()
	if resp.StatusCode != 200 || resp.Header.Get("Idempotent-Replayed") != "" {
		t.Errorf("send after reset: %d replayed %q %s; want a fresh 200 (limits and the record forgotten)", resp.StatusCode, resp.Header.Get("Idempotent-Replayed"), body)
	}
	if resp, _ := do(t, doc, "GET", base+"/emulator/reset", ""); resp.StatusCode != 404 {
		t.Errorf("GET /emulator/reset: %d, want the JSON 404: only POST resets", resp.StatusCode)
	}
}

// TestEmulatorCodesCORS: with CORS_ALLOWED_ORIGINS set, /emulator/codes
// answers CORS for those origins only.
func TestEmulatorCodesCORS(t *testing.T) {
	clearCredentials(t)
	t.Setenv("CORS_ALLOWED_ORIGINS", "https://*.example.com")
	doc, err := apitest.Load()
	if err != nil {
		t.Fatal(err)
	}
	base, _, _ := start(t)
	for origin, want := range map[string]string{"https://app.example.com": "https://app.example.com", "https://evil.example": ""} {
		resp, _ := do(t, doc, "GET", base+"/emulator/codes?PhoneNumber=13800000000", "", "Origin", origin)
		if got := resp.Header.Get("Access-Control-Allow-Origin"); resp.StatusCode != 200 || got != want {
			t.Errorf("from %s: %d Allow-Origin %q, want %q", origin, resp.StatusCode, got, want)
		}
	}
}

// TestDemoRedirects (issue 15, D12): /, /demo and /demo/index.html redirect
// to /demo/ the way every other route answers: a JSON body, X-Request-Id,
// no-store, as the document says.
func TestDemoRedirects(t *testing.T) {
	clearCredentials(t)
	doc, err := apitest.Load()
	if err != nil {
		t.Fatal(err)
	}
	base, _, _ := start(t)
	for _, path := range []string{"/", "/demo", "/demo/index.html"} {
		resp, body := do(t, doc, "GET", base+path, "")
		if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/demo/" ||
			resp.Header.Get("X-Request-Id") == "" || resp.Header.Get("Cache-Control") != "no-store" ||
			!bytes.Contains(body, []byte(`"RequestId"`)) {
			t.Errorf("GET %s: %d %v %s", path, resp.StatusCode, resp.Header, body)
		}
	}
}
