package function

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// serveRaw serves a send to number from ipA with exactly the header values
// given, and returns the recorder.
func serveRaw(svc *Service, number string, hdr http.Header) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, "/send", strings.NewReader(sendJSON(number)))
	r.RemoteAddr = ipA + ":40000"
	r.Header = hdr
	r.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	svc.ServeHTTP(w, r)
	return w
}

// TestAuthorizationHeaderCount: an empty Authorization header, or more than
// one, is 401 without an upstream call, even when one of them holds a good
// key; no header at all is a public caller.
func TestAuthorizationHeaderCount(t *testing.T) {
	e := newEnv(t, func(c *Config, _ *Options) { setLimits(c) })
	good := "Bearer " + testKey
	for name, vals := range map[string][]string{
		"empty":           {""},
		"blank":           {"   "},
		"two good keys":   {good, good},
		"good then bad":   {good, "Bearer wrong-key-0123456789"},
		"empty then good": {"", good},
	} {
		t.Run(name, func(t *testing.T) {
			before := e.counts()
			w := serveRaw(e.svc, phone(1), http.Header{"Authorization": vals})
			if w.Code != http.StatusUnauthorized || !strings.Contains(w.Body.String(), CodeUnauthorized) {
				t.Fatalf("%q: %d %s, want 401 %s", vals, w.Code, w.Body, CodeUnauthorized)
			}
			if w.Header().Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
			e.unchanged(t, "a refused caller", before)
		})
	}
	if w := serveRaw(e.svc, phone(2), http.Header{}); w.Code != http.StatusOK {
		t.Fatalf("no Authorization header: %d %s, want 200 as a public caller", w.Code, w.Body)
	}
	if w := serveRaw(e.svc, phone(3), http.Header{"Authorization": {good}}); w.Code != http.StatusOK {
		t.Fatalf("one good key: %d %s, want 200", w.Code, w.Body)
	}
}

// TestIntervalRange: a trusted caller's Interval outside 1–86400 seconds is
// refused with 400 before any upstream call; the bounds themselves pass.
func TestIntervalRange(t *testing.T) {
	e := newEnv(t, func(c *Config, _ *Options) { setLimits(c) })
	for i, v := range []string{"0", "-1", "86401", "9007199254740991"} {
		before := e.counts()
		body := `{"PhoneNumber":"` + phone(i) + `","Interval":` + v + `}`
		w, m := e.from(ipA, "/send", body, bearer...)
		if w.Code != http.StatusBadRequest || m["Code"] != CodeInvalidParameters || !strings.Contains(m["Message"].(string), "Interval") {
			t.Errorf("Interval %s: %d %v, want 400 %s naming Interval", v, w.Code, m, CodeInvalidParameters)
		}
		e.unchanged(t, "a send with Interval "+v, before)
	}
	for i, v := range []string{"1", "86400"} {
		w, m := e.from(ipA, "/send", `{"PhoneNumber":"`+phone(10+i)+`","Interval":`+v+`}`, bearer...)
		ok(t, "Interval "+v, w, m)
	}
	c := testConfig("http://127.0.0.1:1")
	c.Interval = 0
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "SMS_INTERVAL") {
		t.Errorf("SMS_INTERVAL=0: %v", err)
	}
}

// rawRequest writes one HTTP/1.1 request line for path to addr as is (a
// client would clean the path) and reads the answer.
func rawRequest(t *testing.T, addr, method, path string) (*http.Response, map[string]any) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, err = io.WriteString(conn, method+" "+path+" HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}")
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp, m
}

// TestGuardUncleanPaths: behind Guard, an http.ServeMux never answers an
// unclean path with its bare redirect: the Service answers its JSON 404
// with X-Request-Id, Cache-Control: no-store and an access-log line. Clean
// paths, with or without a trailing slash, reach the mux.
func TestGuardUncleanPaths(t *testing.T) {
	e := newEnv(t, nil)
	mux := http.NewServeMux()
	mux.Handle("/", e.svc)
	mux.HandleFunc("GET /other/", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusAccepted) })
	srv := httptest.NewServer(e.svc.Guard(mux))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	for _, p := range []string{"//send", "/./send", "/x/../send", "/send/.", "//healthz", "/other/../other/"} {
		before := strings.Count(e.logs.String(), "\n")
		resp, m := rawRequest(t, addr, http.MethodPost, p)
		if resp.StatusCode != http.StatusNotFound || m["Code"] != CodeNotFound {
			t.Errorf("POST %s: %d %v, want the JSON 404", p, resp.StatusCode, m)
		}
		if resp.Header.Get("X-Request-Id") == "" || resp.Header.Get("Cache-Control") != "no-store" || resp.Header.Get("Location") != "" {
			t.Errorf("POST %s: headers %v", p, resp.Header)
		}
		if strings.Count(e.logs.String(), "\n") != before+1 {
			t.Errorf("POST %s: no access-log line", p)
		}
	}
	if resp, _ := rawRequest(t, addr, http.MethodGet, "/healthz"); resp.StatusCode != http.StatusOK {
		t.Errorf("GET /healthz: %d", resp.StatusCode)
	}
	if resp, _ := rawRequest(t, addr, http.MethodGet, "/other/"); resp.StatusCode != http.StatusAccepted {
		t.Errorf("GET /other/ did not reach the mux: %d", resp.StatusCode)
	}
}
