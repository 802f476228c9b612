package function

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"io"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"path"
	"strconv"
	"strings"
	"time"

	"smsverify/api"
)

// action is one API action (send or check) behind a route.
type action func(ctx context.Context, c caller, body []byte, al *accessLog) (any, *apiError)

// ServeHTTP serves the HTTP API: POST /send, POST /check, GET /healthz,
// GET /readyz, GET /openapi.json, GET /client-config, GET /.well-known/jwks.json
// and CORS preflights. Every request gets one access-log line.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.serve(w, r, r.Method+" "+routeName(r.URL.Path), func(ctx context.Context, al *accessLog) *apiError {
		return s.route(ctx, w, r, al)
	})
}

// serve is what every HTTP answer of the service shares: a request id,
// the common headers, a recovered panic answered 500, an error answered
// with its code and status, and one access-log line named action.
func (s *Service) serve(w http.ResponseWriter, r *http.Request, action string, handle func(ctx context.Context, al *accessLog) *apiError) {
	start := time.Now()
	ctx, id := withRequestID(r.Context())
	s.commonHeaders(w.Header(), r, id)
	al := &accessLog{Action: action, Caller: callerPublic, ClientIP: s.clientIP(r)}
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			al.Err = errors.New("panic recovered")
			s.writeError(w, al, newError(CodeInternal, "internal error"), id)
		}
		s.logAccess(ctx, al, start)
	}()
	if e := handle(ctx, al); e != nil {
		if e.Status == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Bearer realm="smsverify"`)
		}
		s.writeError(w, al, e, id)
	}
}

// withRequestID returns ctx with a request id, a new one unless the
// platform gave one, and the id.
func withRequestID(ctx context.Context) (context.Context, string) {
	id := RequestID(ctx)
	if id == "" {
		id = randomID()
		ctx = WithRequestID(ctx, id)
	}
	return ctx, id
}

// commonHeaders sets the headers of every answer.
func (s *Service) commonHeaders(h http.Header, r *http.Request, id string) {
	h.Set("X-Request-Id", id)
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	s.cors(h, r)
}

// routeName names the route for the access log, never the raw path: a path
// is the caller's text and could hold a phone number.
func routeName(path string) string {
	switch path {
	case "/send", "/check", "/healthz", "/readyz", "/openapi.json", "/client-config", jwksPath, "/reports", "/attempts", "/metrics":
		return path
	}
	return "(unknown path)"
}

// route dispatches by path; a failure is returned for ServeHTTP to write.
func (s *Service) route(ctx context.Context, w http.ResponseWriter, r *http.Request, al *accessLog) *apiError {
	switch r.URL.Path {
	case "/send":
		return s.serveAction(ctx, w, r, al, s.send)
	case "/check":
		return s.serveAction(ctx, w, r, al, s.check)
	case "/healthz":
		return s.serveGet(w, r, al, healthBody, "")
	case "/readyz":
		return s.serveReady(ctx, w, r, al)
	case "/openapi.json":
		return s.serveGet(w, r, al, api.OpenAPI(), documentCache)
	case "/client-config":
		return s.serveGet(w, r, al, s.clientConfig, "")
	case jwksPath:
		if s.tokens == nil || s.tokens.JWKS() == nil {
			return newError(CodeNotFound, "no public keys: tokens are signed with VERIFY_TOKEN_SECRET (HS256) or not at all; set VERIFY_TOKEN_PRIVATE_KEY")
		}
		return s.serveGet(w, r, al, s.tokens.JWKS(), documentCache)
	case "/reports":
		return s.serveReports(ctx, w, r, al)
	case "/attempts":
		return s.serveAttempts(ctx, w, r, al)
	case "/metrics":
		return s.serveMetrics(w, r, al)
	}
	return newError(CodeNotFound, "no such path; use POST /send or POST /check")
}

// jwksPath serves the public keys that verify tokens (RFC 8615 well-known
// location, as OpenID Connect providers publish theirs).
const jwksPath = "/.well-known/jwks.json"

// healthBody is the answer of GET /healthz, and of GET /readyz when ready.
var healthBody = marshal(map[string]string{"status": "ok"})

// serveGet answers a GET or HEAD of a read-only route with the JSON body;
// cache, when set, replaces the no-store Cache-Control.
func (s *Service) serveGet(w http.ResponseWriter, r *http.Request, al *accessLog, body []byte, cache string) *apiError {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return s.methodNotAllowed(w.Header(), "GET, HEAD")
	}
	if cache != "" {
		w.Header().Set("Cache-Control", cache)
	}
	al.Code, al.Status = CodeOK, http.StatusOK
	writeJSON(w, http.StatusOK, body)
	return nil
}

// serveAction answers a preflight, or authenticates the caller, reads the
// body and runs the action.
func (s *Service) serveAction(ctx context.Context, w http.ResponseWriter, r *http.Request, al *accessLog, run action) *apiError {
	switch r.Method {
	case http.MethodOptions:
		s.preflight(w, r, al)
		return nil
	case http.MethodPost:
	default:
		return s.methodNotAllowed(w.Header(), "POST, OPTIONS")
	}
	c, e := s.authenticate(r, al.ClientIP)
	if e != nil {
		return e
	}
	al.Caller = c.kind
	if c.idemKey, e = headerIdempotencyKey(r, c); e != nil {
		return e
	}
	body, e := readBody(w, r)
	if e != nil {
		return e
	}
	ans, e := run(ctx, c, body, al)
	if e != nil {
		return e
	}
	if rp, ok := ans.(*replayed); ok {
		h := w.Header()
		h.Set(HeaderIdempotentReplayed, "true")
		if ra := rp.retryAfter(); ra > 0 {
			h.Set("Retry-After", strconv.FormatInt(ra, 10))
		}
		al.Code, al.Status = rp.code, rp.status
		writeJSON(w, rp.status, rp.body)
		return nil
	}
	al.Code, al.Status = CodeOK, http.StatusOK
	writeJSON(w, http.StatusOK, marshal(ans))
	return nil
}

func (s *Service) methodNotAllowed(h http.Header, allow string) *apiError {
	h.Set("Allow", allow)
	return newError(CodeMethodNotAllowed, "method not allowed; use "+allow)
}

func (s *Service) writeError(w http.ResponseWriter, al *accessLog, e *apiError, id string) {
	al.Code, al.Status = e.Code, e.Status
	if e.cause != nil && al.Err == nil {
		al.Err = e.cause
	}
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.FormatInt(retrySeconds(e.RetryAfter), 10))
	}
	writeJSON(w, e.Status, marshal(errorAnswer(e, id)))
}

func writeJSON(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// readBody enforces JSON and MaxBodyBytes.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, *apiError) {
	if ct := r.Header.Get("Content-Type"); ct != "application/json" { // the usual one needs no parsing
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return nil, newError(CodeUnsupportedMedia, "Content-Type must be application/json")
		}
	}
	return readLimited(w, r, MaxBodyBytes, CodeBodyTooLarge, bodyTooLarge)
}

// bodyTooLarge is the message of BODY_TOO_LARGE.
var bodyTooLarge = "body is larger than " + strconv.Itoa(MaxBodyBytes) + " bytes"

// readLimited reads r's body up to limit bytes; a longer one is refused
// with tooLarge and msg.
func readLimited(w http.ResponseWriter, r *http.Request, limit int64, tooLarge, msg string) ([]byte, *apiError) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
			return nil, newError(tooLarge, msg)
		}
		return nil, newError(CodeInvalidJSON, "could not read the body")
	}
	return body, nil
}

// trustedGet admits GET and HEAD from trusted callers only: the routes
// that answer what only a backend may read.
func (s *Service) trustedGet(w http.ResponseWriter, r *http.Request, al *accessLog) *apiError {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return s.methodNotAllowed(w.Header(), "GET, HEAD")
	}
	return s.trustedOnly(r, al)
}

// authenticate makes a caller trusted when it presents a key from API_KEYS.
// A wrong or malformed key is refused rather than downgraded to public.
// A caller without an Authorization header is public; an empty header, or
// more than one, is refused: a request must not be read two ways.
func (s *Service) authenticate(r *http.Request, ip string) (caller, *apiError) {
	vals, present := r.Header["Authorization"]
	if !present {
		return caller{kind: callerPublic, ip: ip}, nil
	}
	if len(vals) != 1 || strings.TrimSpace(vals[0]) == "" {
		return caller{}, newError(CodeUnauthorized, "send one Authorization header, Bearer <key>, or none")
	}
	auth := vals[0]
	scheme, key, ok := strings.Cut(auth, " ")
	key = strings.TrimSpace(key)
	if ok && strings.EqualFold(scheme, "Bearer") && key != "" {
		sum := sha256.Sum256([]byte(key))
		match := 0
		for _, k := range s.apiKeys {
			match |= subtle.ConstantTimeCompare(sum[:], k[:])
		}
		if match == 1 {
			return caller{kind: callerTrusted, ip: ip, keyID: hex.EncodeToString(sum[:8])}, nil
		}
	}
	return caller{}, newError(CodeUnauthorized, "invalid API key")
}

// clientIP is the platform's source address (the adapters put it in
// RemoteAddr); X-Forwarded-For is believed only from TRUSTED_PROXIES, and
// then the nearest address that is not itself a trusted proxy is the client.
func (s *Service) clientIP(r *http.Request) string {
	addr := parseAddr(r.RemoteAddr)
	if !addr.IsValid() {
		return r.RemoteAddr
	}
	if !s.trustedProxy(addr) {
		return addr.String()
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a := parseAddr(strings.TrimSpace(hops[i]))
		if !a.IsValid() {
			break
		}
		addr = a
		if !s.trustedProxy(a) {
			break
		}
	}
	return addr.String()
}

func (s *Service) trustedProxy(a netip.Addr) bool {
	for _, p := range s.proxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// parseAddr accepts "ip", "ip:port" and "[ipv6]:port".
func parseAddr(s string) netip.Addr {
	if host, _, err := net.SplitHostPort(s); err == nil {
		s = host
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap()
}

// cors sets the CORS answer headers for an allowed Origin. A cross-origin
// request from an origin not allowed gets none, and is logged (refusedLog).
func (s *Service) cors(h http.Header, r *http.Request) {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return
	}
	if s.origins.configured() {
		h.Add("Vary", "Origin")
	}
	allow := s.origins.allow(origin)
	if allow == "" {
		if !sameOrigin(origin, r.Host) {
			s.refused.note(r.Context(), s.log, origin, s.now())
		}
		return
	}
	h.Set("Access-Control-Allow-Origin", allow)
	h.Set("Access-Control-Expose-Headers", "Retry-After, X-Request-Id, "+HeaderIdempotentReplayed)
}

// AllowOrigin returns the Access-Control-Allow-Origin value the Service
// grants a request with this Origin header (CORS_ALLOWED_ORIGINS): the
// origin itself, "*", or "" when it is refused. The local adapter's
// emulator routes answer CORS with it.
func (s *Service) AllowOrigin(origin string) string { return s.origins.allow(origin) }

// preflight answers OPTIONS: 204, with the CORS grant when the origin is
// allowed (cors already set Allow-Origin) and none otherwise, so the browser
// blocks the request.
func (s *Service) preflight(w http.ResponseWriter, r *http.Request, al *accessLog) {
	h := w.Header()
	h.Set("Allow", "POST, OPTIONS")
	if h.Get("Access-Control-Allow-Origin") != "" {
		h.Add("Vary", "Access-Control-Request-Method")
		h.Add("Vary", "Access-Control-Request-Headers")
		h.Set("Access-Control-Allow-Methods", "POST, OPTIONS")
		h.Set("Access-Control-Allow-Headers", "Content-Type, Authorization, "+HeaderIdempotencyKey)
		h.Set("Access-Control-Max-Age", "600")
	}
	al.Code, al.Status = CodeOK, http.StatusNoContent
	w.WriteHeader(http.StatusNoContent)
}

// Guard returns next behind a check of the path: a request whose path is
// not clean (//send, /./send, /x/../send) is answered by the Service (its
// JSON 404, X-Request-Id, Cache-Control: no-store and an access-log line)
// instead of reaching next. Put it in front of an http.ServeMux, which would
// otherwise answer such a path with a bare redirect.
func (s *Service) Guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !cleanPath(r.URL.Path) {
			s.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// cleanPath reports whether p is a path an http.ServeMux serves as is:
// rooted, without empty, "." or ".." elements (a trailing slash is fine).
func cleanPath(p string) bool {
	if p == "" || p[0] != '/' {
		return false
	}
	c := path.Clean(p)
	if p[len(p)-1] == '/' && c != "/" {
		c += "/"
	}
	return c == p
}

// redirectAnswer is the body of a Redirect.
type redirectAnswer struct {
	Location  string `json:"Location"`
	Message   string `json:"Message"`
	RequestID string `json:"RequestId"`
}

// Redirect returns a handler that sends every request to location (a path
// of this server) the way the Service answers its own routes: 302 Found
// with Location, a JSON body, X-Request-Id, Cache-Control: no-store and an
// access-log line. The local adapter answers / (emulator mode), /demo and
// /demo/index.html with it, where an http.RedirectHandler, ServeMux or
// FileServer would answer a bare redirect. 302, not 301: a browser would
// keep a permanent redirect after the demo is turned off.
func (s *Service) Redirect(location string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.serve(w, r, r.Method+" (redirect to "+location+")", func(ctx context.Context, al *accessLog) *apiError {
			al.Code, al.Status = CodeOK, http.StatusFound
			w.Header().Set("Location", location)
			writeJSON(w, http.StatusFound, marshal(redirectAnswer{Location: location, Message: "moved to " + location, RequestID: RequestID(ctx)}))
			return nil
		})
	})
}
