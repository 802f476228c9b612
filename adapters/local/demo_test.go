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
