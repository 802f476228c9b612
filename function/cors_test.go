package function

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestParseOrigins(t *testing.T) {
	ok := []struct {
		entry, want string // want "" means unchanged
	}{
		{"https://app.example.com", ""},
		{"http://127.0.0.1:8080", ""},
		{"https://app.example.com:8443", ""},
		{"http://[::1]:3000", ""},
		{"https://*.example.com", ""},
		{"https://*.example.com:8443", ""},
		{"https://xn--fiqs8s.example", ""},
		{"HTTPS://App.Example.COM", "https://app.example.com"},
		{"https://app.example.com/", "https://app.example.com"},
		{"https://app.example.com:443", "https://app.example.com"},
		{"http://app.example.com:80/", "http://app.example.com"},
		{"https://*.Example.com/", "https://*.example.com"},
	}
	for _, tc := range ok {
		o, notes, err := parseOrigins([]string{tc.entry})
		if err != nil {
			t.Errorf("%q: %v", tc.entry, err)
			continue
		}
		want := tc.want
		if want == "" {
			want = tc.entry
			if len(notes) != 0 {
				t.Errorf("%q: notes %v for an entry kept as it is", tc.entry, notes)
			}
		} else if len(notes) != 1 || !strings.Contains(notes[0], want) {
			t.Errorf("%q: notes %v, want one naming %q", tc.entry, notes, want)
		}
		if !o.exact[want] && len(o.suffixes) != 1 {
			t.Errorf("%q: not read as %q: %+v", tc.entry, want, o)
		}
	}
	bad := []string{
		"app.example.com", "//app.example.com", "ftp://app.example.com", "https:app.example.com",
		"https://app.example.com/path", "https://app.example.com/?", "https://app.example.com?x=1",
		"https://app.example.com#top", "https://user:pw@app.example.com", "https://app.example.com:",
		"https://*.com", "https://*", "https://a*.example.com", "https://app.*.com", "https://exa mple.com",
		"https://例子.example", "https://-app.example.com", "**",
	}
	for _, entry := range bad {
		if _, _, err := parseOrigins([]string{entry}); err == nil {
			t.Errorf("%q accepted", entry)
		}
		c := defaultConfig()
		c.AccessKeyID, c.AccessKeySecret = "id", "secret"
		c.CORSAllowedOrigins = []string{entry}
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "CORS_ALLOWED_ORIGINS") {
			t.Errorf("%q: Validate = %v, want an error naming CORS_ALLOWED_ORIGINS", entry, err)
		}
	}
}

func TestOriginsAllow(t *testing.T) {
	o, _, err := parseOrigins([]string{"https://app.example.com", "https://*.example.org", "http://*.local.test:8080"})
	if err != nil {
		t.Fatal(err)
	}
	for origin, want := range map[string]string{
		"https://app.example.com":        "https://app.example.com",
		"https://a.example.org":          "https://a.example.org",
		"https://a.b.example.org":        "https://a.b.example.org",
		"http://x.local.test:8080":       "http://x.local.test:8080",
		"https://example.org":            "",
		"https://evilexample.org":        "",
		"http://a.example.org":           "",
		"https://a.example.org:8443":     "",
		"https://a.example.org.evil.com": "",
		"http://x.local.test":            "",
		"https://.example.org":           "",
		"https://other.example.com":      "",
		"null":                           "",
	} {
		if got := o.allow(origin); got != want {
			t.Errorf("allow(%q) = %q, want %q", origin, got, want)
		}
	}
	star, _, _ := parseOrigins([]string{"https://app.example.com", "*"})
	if star.allow("https://app.example.com") != "https://app.example.com" || star.allow("https://any.example") != "*" {
		t.Error("* with an exact origin: want the origin echoed for it and * for the rest")
	}
}

// TestCORSWildcardAndNotes: a wildcard entry grants its subdomains through
// the service, and a normalized entry is noted in the start log.
func TestCORSWildcardAndNotes(t *testing.T) {
	e := newEnv(t, func(c *Config, _ *Options) {
		c.CORSAllowedOrigins = []string{"https://*.example.com", "HTTPS://Shop.Example.NET/"}
	})
	if !strings.Contains(e.logs.String(), `read as \"https://shop.example.net\"`) {
		t.Errorf("no start note for the normalized entry: %s", e.logs)
	}
	for origin, want := range map[string]string{
		"https://m.example.com":    "https://m.example.com",
		"https://shop.example.net": "https://shop.example.net",
		"https://example.com":      "",
	} {
		w, _ := e.do("OPTIONS", "/send", "", "Origin", origin, "Access-Control-Request-Method", "POST")
		if got := w.Header().Get("Access-Control-Allow-Origin"); got != want {
			t.Errorf("preflight from %s: Allow-Origin %q, want %q", origin, got, want)
		}
	}
}

// TestCORSRefusedLogged: a refused origin is logged once per origin per
// minute (on the injected clock); an allowed origin and a same-origin
// request are not.
func TestCORSRefusedLogged(t *testing.T) {
	e := newEnv(t, func(c *Config, _ *Options) { c.CORSAllowedOrigins = []string{"https://app.example"} })
	refused := func() int { return strings.Count(e.logs.String(), "CORS: origin refused") }
	send := func(origin string) {
		t.Helper()
		e.do("OPTIONS", "/send", "", "Origin", origin, "Access-Control-Request-Method", "POST")
	}
	send("https://app.example")
	send("http://example.com") // httptest's Host: the page's own server
	if n := refused(); n != 0 {
		t.Fatalf("%d refused lines for an allowed and a same-origin request", n)
	}
	send("https://evil.example")
	send("https://evil.example")
	e.advance(59 * time.Second)
	send("https://evil.example")
	if n := refused(); n != 1 {
		t.Errorf("%d refused lines within a minute, want 1", n)
	}
	if !strings.Contains(e.logs.String(), `"origin":"https://evil.example"`) {
		t.Errorf("the line does not name the origin: %s", e.logs)
	}
	send("https://other.example")
	e.advance(time.Second)
	send("https://evil.example")
	if n := refused(); n != 3 {
		t.Errorf("%d refused lines, want 3 (another origin, then the first again after a minute)", n)
	}
}

// TestCORSRefusedLogBounded: a flood of made-up origins cannot grow the
// refused-origin memory beyond maxRefusedOrigins.
func TestCORSRefusedLogBounded(t *testing.T) {
	e := newEnv(t, func(c *Config, _ *Options) { c.CORSAllowedOrigins = []string{"https://app.example"} })
	for i := range maxRefusedOrigins + 50 {
		e.do("GET", "/healthz", "", "Origin", "https://o"+strconv.Itoa(i)+".example")
	}
	e.svc.refused.mu.Lock()
	n := len(e.svc.refused.last)
	e.svc.refused.mu.Unlock()
	if n > maxRefusedOrigins {
		t.Errorf("%d origins remembered, bound %d", n, maxRefusedOrigins)
	}
	e.advance(time.Minute)
	e.do("GET", "/healthz", "", "Origin", "https://late.example")
	if !strings.Contains(e.logs.String(), "https://late.example") {
		t.Error("after a minute the memory is swept and a new origin is logged again")
	}
}
