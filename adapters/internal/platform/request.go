// Package platform is the plumbing the serverless adapters share: the
// *http.Request a platform event stands for, a buffering
// http.ResponseWriter, and the Service built from the environment. An
// adapter only translates its platform's event shapes to and from these
// (the approach of aws-lambda-go-api-proxy's core package); nothing here
// knows a platform.
package platform

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"maps"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
)

// Request is an HTTP request as a platform event carries it.
type Request struct {
	Method string
	// Path is the path as received, percent-encoded (an event's rawPath).
	// DecodedPath is used when Path is empty.
	Path, DecodedPath string
	// RawQuery is the encoded query, without '?'.
	RawQuery string
	// Header holds every value as received (see Header). Its Host, if any,
	// wins over Host; its Content-Length is dropped (the decoded body's
	// length counts).
	Header http.Header
	Host   string
	// Proto is the protocol, e.g. "HTTP/2.0"; empty or invalid is HTTP/1.1.
	Proto string
	// Body is the body as the event holds it: base64 when Base64 is set.
	Body   string
	Base64 bool
	// SourceIP is the address that connected to the platform.
	SourceIP string
}

// NewRequest builds the request e stands for, carrying ctx (the platform's
// deadline and request id). It fails, with ErrInvalidEvent, on a missing or
// malformed method and on a body that is not the base64 it claims to be.
func NewRequest(ctx context.Context, e Request) (*http.Request, error) {
	body := []byte(e.Body)
	if e.Base64 {
		var err error
		if body, err = base64.StdEncoding.DecodeString(e.Body); err != nil {
			return nil, fmt.Errorf("%w: body is not valid base64: %w", ErrInvalidEvent, err)
		}
	}
	if e.Method == "" {
		return nil, fmt.Errorf("%w: no HTTP method", ErrInvalidEvent)
	}
	r, err := http.NewRequestWithContext(ctx, e.Method, "/", bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidEvent, err)
	}
	if major, minor, ok := http.ParseHTTPVersion(e.Proto); ok {
		r.Proto, r.ProtoMajor, r.ProtoMinor = e.Proto, major, minor
	}
	r.URL = requestURL(e.Path, e.DecodedPath, e.RawQuery)
	r.RequestURI = r.URL.RequestURI()
	r.Header = e.Header
	if r.Header == nil {
		r.Header = http.Header{}
	}
	r.Host = e.Host
	if h := r.Header.Get("Host"); h != "" {
		r.Host = h
	}
	r.Header.Del("Host")
	r.Header.Del("Content-Length")
	r.RemoteAddr = remoteAddr(e.SourceIP)
	return r, nil
}

// requestURL is the URL for a percent-encoded path (else a decoded one) and
// a raw query. The path always starts with '/'.
func requestURL(escaped, decoded, query string) *url.URL {
	u := &url.URL{Path: decoded, RawQuery: query}
	if escaped != "" {
		u.Path = escaped
		if p, err := url.PathUnescape(escaped); err == nil && p != escaped {
			u.Path, u.RawPath = p, escaped
		}
	}
	if !strings.HasPrefix(u.Path, "/") {
		u.Path, u.RawPath = "/"+u.Path, ""
	}
	return u
}

// remoteAddr is the source IP as "ip:0", the form net/http gives, or the
// value as it came when it is not an IP address.
func remoteAddr(ip string) string {
	if a, err := netip.ParseAddr(ip); err == nil {
		return net.JoinHostPort(a.String(), "0")
	}
	return ip
}

// Header builds a request header from an event's header maps: multi when
// it has entries (it holds every value), else single. Keys are added in
// sorted order, so keys differing only in case come out in a stable order.
// Values are kept whole: platforms join repeated values with commas, and
// splitting them again would break single-value headers such as
// Authorization and User-Agent.
func Header(single map[string]string, multi map[string][]string) http.Header {
	h := make(http.Header, max(len(single), len(multi)))
	if len(multi) > 0 {
		for _, k := range slices.Sorted(maps.Keys(multi)) {
			for _, v := range multi[k] {
				h.Add(k, v)
			}
		}
		return h
	}
	for _, k := range slices.Sorted(maps.Keys(single)) {
		h.Add(k, single[k])
	}
	return h
}

// Query encodes decoded query parameters: multi when it has entries, else
// single.
func Query(single map[string]string, multi map[string][]string) string {
	q := url.Values(multi)
	if len(q) == 0 {
		q = make(url.Values, len(single))
		for k, v := range single {
			q.Set(k, v)
		}
	}
	return q.Encode()
}
