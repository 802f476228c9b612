package function

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"sync"
	"time"
)

// origins is CORS_ALLOWED_ORIGINS, parsed: exact origins, wildcard
// subdomain rules (https://*.example.com) and the explicit "*".
type origins struct {
	any      bool
	exact    map[string]bool
	suffixes []originSuffix
}

// originSuffix is https://*.example.com: any subdomain of domain, at any
// depth, with this scheme and port; not example.com itself.
type originSuffix struct {
	scheme string
	domain string // ".example.com"
	port   string // "" for the scheme's default
}

// parseOrigins reads CORS_ALLOWED_ORIGINS. An entry is "*", an origin
// scheme://host[:port] (http or https), or a wildcard
// scheme://*.domain[:port]. Capitals, a trailing slash and the scheme's
// default port are normalized away, each with a note for the start log; a
// path, a query, a fragment, user info or anything unparsable is an error.
func parseOrigins(list []string) (origins, []string, error) {
	o := origins{exact: map[string]bool{}}
	var notes []string
	for _, entry := range list {
		if entry == "*" {
			o.any = true
			continue
		}
		norm, err := normalizeOrigin(entry)
		if err != nil {
			return origins{}, nil, fmt.Errorf("entry %q %v; want * or scheme://host[:port], like https://app.example.com or https://*.example.com", entry, err)
		}
		if norm != entry {
			notes = append(notes, fmt.Sprintf("entry %q read as %q", entry, norm))
		}
		scheme, hostport, _ := strings.Cut(norm, "://")
		if host, ok := strings.CutPrefix(hostport, "*."); ok {
			domain, port := host, ""
			if h, p, err := net.SplitHostPort(host); err == nil {
				domain, port = h, p
			}
			o.suffixes = append(o.suffixes, originSuffix{scheme: scheme, domain: "." + domain, port: port})
			continue
		}
		o.exact[norm] = true
	}
	return o, notes, nil
}

// normalizeOrigin returns entry as a browser sends it in Origin: lower
// case, no trailing slash, no default port.
func normalizeOrigin(entry string) (string, error) {
	u, err := url.Parse(entry)
	if err != nil || u.Opaque != "" {
		return "", fmt.Errorf("is not a URL")
	}
	scheme := strings.ToLower(u.Scheme)
	switch {
	case scheme != "http" && scheme != "https":
		return "", fmt.Errorf("needs an http:// or https:// scheme")
	case u.User != nil:
		return "", fmt.Errorf("has user info")
	case u.Path != "" && u.Path != "/":
		return "", fmt.Errorf("has a path (an origin is scheme://host[:port] only)")
	case u.RawQuery != "" || u.ForceQuery:
		return "", fmt.Errorf("has a query")
	case u.Fragment != "" || strings.Contains(entry, "#"):
		return "", fmt.Errorf("has a fragment")
	}
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if port == "" && strings.HasSuffix(u.Host, ":") {
		return "", fmt.Errorf("has an empty port")
	}
	if (scheme == "https" && port == "443") || (scheme == "http" && port == "80") {
		port = ""
	}
	label := host
	if rest, ok := strings.CutPrefix(host, "*."); ok {
		if strings.Count(rest, ".") < 1 {
			return "", fmt.Errorf("is a wildcard over a top-level domain (want https://*.example.com)")
		}
		label = rest
	}
	if !validHost(label) {
		return "", fmt.Errorf("has no valid host (a wildcard is only *. before a domain; IDNs in xn-- form)")
	}
	if strings.Contains(u.Host, "[") {
		host = "[" + host + "]"
	}
	out := scheme + "://" + host
	if port != "" {
		out += ":" + port
	}
	return out, nil
}

// validHost accepts an IP address or a DNS name of letters, digits and
// hyphens (ASCII: browsers send IDNs in their xn-- form).
func validHost(h string) bool {
	if net.ParseIP(h) != nil {
		return true
	}
	if h == "" || len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// configured reports whether any origin is allowed.
func (o *origins) configured() bool { return o.any || len(o.exact) > 0 || len(o.suffixes) > 0 }

// allow returns the Access-Control-Allow-Origin value for origin (a
// request's Origin header), "" when it is not allowed.
func (o *origins) allow(origin string) string {
	if o.exact[origin] {
		return origin
	}
	if len(o.suffixes) > 0 {
		if scheme, hostport, ok := strings.Cut(origin, "://"); ok {
			host, port := hostport, ""
			if h, p, err := net.SplitHostPort(hostport); err == nil {
				host, port = h, p
			}
			for _, s := range o.suffixes {
				if scheme == s.scheme && port == s.port && len(host) > len(s.domain) && strings.HasSuffix(host, s.domain) && validHost(host) {
					return origin
				}
			}
		}
	}
	if o.any {
		return "*"
	}
	return ""
}

// refusedLogEvery is how often one refused origin is logged.
const refusedLogEvery = time.Minute

// maxRefusedOrigins bounds the origins remembered for refusedLog: callers
// choose the Origin header, so a flood of new ones must not grow memory.
const maxRefusedOrigins = 1024

// maxLoggedOriginLen bounds an Origin header quoted in the log.
const maxLoggedOriginLen = 200

// refusedLog logs a refused CORS origin at most once per origin per
// refusedLogEvery, so a misconfigured CORS_ALLOWED_ORIGINS shows in the log
// instead of only as the browser's "network error".
type refusedLog struct {
	mu   sync.Mutex
	last map[string]time.Time // origin → when it was last logged
}

// note logs origin unless it was logged within refusedLogEvery of now.
func (r *refusedLog) note(ctx context.Context, log *slog.Logger, origin string, now time.Time) {
	if len(origin) > maxLoggedOriginLen {
		origin = origin[:maxLoggedOriginLen]
	}
	r.mu.Lock()
	if t, ok := r.last[origin]; ok && now.Sub(t) < refusedLogEvery {
		r.mu.Unlock()
		return
	}
	if r.last == nil {
		r.last = map[string]time.Time{}
	}
	if len(r.last) >= maxRefusedOrigins {
		for o, t := range r.last {
			if now.Sub(t) >= refusedLogEvery {
				delete(r.last, o)
			}
		}
		if len(r.last) >= maxRefusedOrigins {
			r.mu.Unlock()
			return // a flood of origins: those already logged say enough
		}
	}
	r.last[origin] = now
	r.mu.Unlock()
	log.WarnContext(ctx, "CORS: origin refused: not in CORS_ALLOWED_ORIGINS (logged once a minute per origin)", "origin", origin)
}

// sameOrigin reports whether origin names the host the request was sent
// to: a page calling its own server needs no CORS grant.
func sameOrigin(origin, host string) bool {
	_, hostport, ok := strings.Cut(origin, "://")
	return ok && host != "" && strings.EqualFold(hostport, host)
}
