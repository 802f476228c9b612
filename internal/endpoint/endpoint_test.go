package endpoint

import (
	"net/url"
	"testing"
)

func TestAllowed(t *testing.T) {
	for raw, want := range map[string]bool{
		"https://dypnsapi.aliyuncs.com":       true,
		"https://127.0.0.1:8443":              true,
		"http://127.0.0.1:8080":               true,
		"http://127.5.6.7":                    true,
		"http://[::1]:9000":                   true,
		"http://localhost:8080":               true,
		"http://dypnsapi.aliyuncs.com":        false,
		"http://localhost.example.com":        false,
		"http://10.0.0.1":                     false,
		"http://[::ffff:8.8.8.8]":             false,
		"ftp://127.0.0.1":                     false,
		"HTTP://example.com":                  false,
		"//dypnsapi.aliyuncs.com/no-scheme":   false,
		"https://user:pass@host.example/path": true, // credentials and paths are the callers' rules
	} {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		if got := Allowed(u); got != want {
			t.Errorf("Allowed(%s) = %v, want %v", raw, got, want)
		}
	}
}
