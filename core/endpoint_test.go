package core

import (
	"errors"
	"net/http"
	"testing"
)

func TestCheckEndpoint(t *testing.T) {
	for raw, want := range map[string]bool{
		"https://dypnsapi.aliyuncs.com":                    true,
		"https://challenges.cloudflare.com/turnstile/v0/x": true, // a path is the caller's business
		"https://127.0.0.1:8443":                           true,
		"http://127.0.0.1:8080":                            true,
		"http://127.5.6.7":                                 true,
		"http://[::1]:9000":                                true,
		"http://localhost:8080":                            true,
		"http://dypnsapi.aliyuncs.com":                     false,
		"http://localhost.example.com":                     false,
		"http://10.0.0.1":                                  false,
		"http://[::ffff:8.8.8.8]":                          false,
		"ftp://127.0.0.1":                                  false,
		"HTTP://example.com":                               false,
		"//dypnsapi.aliyuncs.com/no-scheme":                false,
		"https://user:pass@host.example":                   false,
		"https://x/?a=b":                                   false,
		"https://x/?":                                      false,
		"https://x/#f":                                     false,
		"":                                                 false,
		"::":                                               false,
	} {
		if got := CheckEndpoint(raw, false) == nil; got != want {
			t.Errorf("CheckEndpoint(%q, false) = %v, want accepted %v", raw, CheckEndpoint(raw, false), want)
		}
	}
	for raw, want := range map[string]bool{
		"https://dypnsapi.aliyuncs.com":  true,
		"https://dypnsapi.aliyuncs.com/": true,
		"https://x/path":                 false,
		"http://x":                       false,
	} {
		if got := CheckEndpoint(raw, true) == nil; got != want {
			t.Errorf("CheckEndpoint(%q, true) = %v, want accepted %v", raw, CheckEndpoint(raw, true), want)
		}
	}
}

// TestWarmEndpointRule: WarmEndpoint sends nothing to an endpoint
// CheckEndpoint refuses.
func TestWarmEndpointRule(t *testing.T) {
	rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		t.Errorf("WarmEndpoint sent %s %s", r.Method, r.URL)
		return nil, errors.New("unreachable")
	})
	for _, ep := range []string{"http://dypnsapi.aliyuncs.com", "ftp://127.0.0.1", "https://user:pw@x"} {
		if err := WarmEndpoint(t.Context(), rt, ep); err == nil {
			t.Errorf("WarmEndpoint(%q): no error", ep)
		}
	}
}
