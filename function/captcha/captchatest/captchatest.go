// Package captchatest is a fake siteverify endpoint (Cloudflare Turnstile or
// hCaptcha), shipped like net/http/httptest, for tests of package captcha
// and of the service. It checks the form the way the providers document it
// (https://developers.cloudflare.com/turnstile/get-started/server-side-validation/,
// https://docs.hcaptcha.com/#verify-the-user-response-server-side) and
// answers like them:
//
//   - POST with an application/x-www-form-urlencoded body whose fields are
//     secret, response, remoteip (optional, an IP address) and, for
//     hCaptcha, sitekey (optional); any other field is a bad-request;
//   - a wrong or missing secret: invalid-input-secret / missing-input-secret;
//     a sitekey that is not the site's: sitekey-secret-mismatch;
//   - a token starting with "pass" passes once (a second use is
//     timeout-or-duplicate, or hCaptcha's already-seen-response); any
//     other token is invalid-input-response; an empty one
//     missing-input-response;
//   - faults on demand: 503, a garbage body, an answer that never comes.
//
// Alibaba Cloud Captcha 2.0 is faked by core/dypnstest, which verifies V3
// signatures.
package captchatest

import (
	"encoding/json"
	"io"
	"mime"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
)

// Flavor is the provider a fake imitates.
type Flavor int

// The flavors.
const (
	Turnstile Flavor = iota
	HCaptcha
)

// TestSecret is the secret a fake accepts unless Options.Secret is set.
const TestSecret = "captchatest-secret-not-a-secret"

// Options configure a fake.
type Options struct {
	Flavor Flavor
	// Secret is the accepted secret; default TestSecret.
	Secret string
	// SiteKey is the site's key: a sitekey field, when sent, must equal it
	// (hCaptcha only). Empty accepts any.
	SiteKey string
	// Hostname is reported for passed tokens; default "example.com".
	Hostname string
}

// Fault is a failure the fake answers with instead of the protocol.
type Fault int

// The faults.
const (
	FaultUnavailable Fault = iota + 1 // HTTP 503 with an HTML body
	FaultGarbage                      // HTTP 200 with a body that is not JSON
	FaultHang                         // no answer until the client goes away or the fake closes
	FaultNoSuccess                    // HTTP 200 JSON without a success field
)

// Request is a form the fake received.
type Request struct {
	Secret, Response, RemoteIP, SiteKey string
	HasSiteKey, HasRemoteIP             bool
}

// Server is a fake siteverify endpoint on loopback.
type Server struct {
	URL string // the siteverify URL, for CAPTCHA_ENDPOINT

	srv      *httptest.Server
	o        Options
	requests atomic.Int64
	done     chan struct{}
	once     sync.Once

	mu     sync.Mutex
	faults []Fault
	seen   map[string]bool
	last   Request
}

// NewServer starts a fake on 127.0.0.1. Close it when done.
func NewServer(o Options) *Server {
	if o.Secret == "" {
		o.Secret = TestSecret
	}
	if o.Hostname == "" {
		o.Hostname = "example.com"
	}
	s := &Server{o: o, done: make(chan struct{}), seen: map[string]bool{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL + "/siteverify"
	return s
}

// Close releases hanging requests and stops the server.
func (s *Server) Close() {
	s.once.Do(func() { close(s.done) })
	s.srv.Close()
}

// Requests returns how many requests reached the fake.
func (s *Server) Requests() int64 { return s.requests.Load() }

// Last returns the last well-formed form the fake received.
func (s *Server) Last() Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last
}

// FailNext makes the next n requests answer with f (after those queued).
func (s *Server) FailNext(n int, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.faults = append(s.faults, f)
	}
}

func (s *Server) nextFault() Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.faults) == 0 {
		return 0
	}
	f := s.faults[0]
	s.faults = s.faults[1:]
	return f
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.requests.Add(1)
	if s.serveFault(w, r, s.nextFault()) {
		return
	}
	if r.Method != http.MethodPost || r.URL.Path != "/siteverify" {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	req, ok := s.readRequest(r)
	if !ok {
		s.refuse(w, http.StatusBadRequest, "bad-request")
		return
	}
	s.mu.Lock()
	s.last = req
	s.mu.Unlock()
	if code := s.verdict(req); code != "" {
		s.refuse(w, http.StatusOK, code)
		return
	}
	answer(w, http.StatusOK, map[string]any{"success": true, "challenge_ts": "2026-11-27T10:00:00Z",
		"hostname": s.o.Hostname, "error-codes": []string{}})
}

// serveFault answers r with fault f, if any, and reports whether it did.
func (s *Server) serveFault(w http.ResponseWriter, r *http.Request, f Fault) bool {
	switch f {
	case FaultUnavailable:
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, "<html><body>503 Service Unavailable</body></html>")
	case FaultGarbage:
		w.Header().Set("Content-Type", "text/html")
		_, _ = io.WriteString(w, "<html><body>captive portal</body></html>")
	case FaultNoSuccess:
		answer(w, http.StatusOK, map[string]any{"hostname": s.o.Hostname})
	case FaultHang:
		select {
		case <-r.Context().Done():
		case <-s.done:
		}
		panic(http.ErrAbortHandler)
	default:
		return false
	}
	return true
}

// readRequest reads a siteverify form: only the provider's fields, each
// once. ok is false for anything else, which the provider refuses as
// bad-request.
func (s *Server) readRequest(r *http.Request) (req Request, ok bool) {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/x-www-form-urlencoded" {
		return req, false
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	if err != nil {
		return req, false
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return req, false
	}
	allowed := map[string]bool{"secret": true, "response": true, "remoteip": true}
	if s.o.Flavor == HCaptcha {
		allowed["sitekey"] = true
	}
	for k, vs := range form {
		if !allowed[k] || len(vs) != 1 {
			return req, false
		}
	}
	return Request{Secret: form.Get("secret"), Response: form.Get("response"), RemoteIP: form.Get("remoteip"),
		SiteKey: form.Get("sitekey"), HasSiteKey: form.Has("sitekey"), HasRemoteIP: form.Has("remoteip")}, true
}

// verdict is the provider's error code for req, "" when the token passes.
func (s *Server) verdict(req Request) string {
	switch {
	case req.Secret == "":
		return "missing-input-secret"
	case req.Secret != s.o.Secret:
		return "invalid-input-secret"
	case req.HasRemoteIP && net.ParseIP(req.RemoteIP) == nil:
		return "invalid-remoteip"
	case req.HasSiteKey && s.o.SiteKey != "" && req.SiteKey != s.o.SiteKey:
		return "sitekey-secret-mismatch"
	case req.Response == "":
		return "missing-input-response"
	case !strings.HasPrefix(req.Response, "pass"):
		return "invalid-input-response"
	case !s.firstUse(req.Response):
		if s.o.Flavor == HCaptcha {
			return "already-seen-response"
		}
		return "timeout-or-duplicate"
	}
	return ""
}

func (s *Server) firstUse(token string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.seen[token] {
		return false
	}
	s.seen[token] = true
	return true
}

func (s *Server) refuse(w http.ResponseWriter, status int, code string) {
	answer(w, status, map[string]any{"success": false, "error-codes": []string{code}})
}

func answer(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
