package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"

	"github.com/aliyun/fc-runtime-go-sdk/events"
)

// decodeHTTPTrigger decodes raw as an FC 3.0 HTTP-trigger event. isHTTP is
// false, and ev nil, when raw is not one: it must name a method in
// requestContext.http.method and carry rawPath or version, as every event of
// an HTTP trigger does. An event that is one but does not decode is an error.
func decodeHTTPTrigger(raw []byte) (ev *events.HTTPTriggerEvent, isHTTP bool, err error) {
	var e events.HTTPTriggerEvent
	// A syntax error leaves e empty; a type error still fills in the
	// fields that match, which tells an HTTP event that is malformed from
	// an event of another kind.
	err = json.Unmarshal(raw, &e)
	m := e.TriggerContext.Http.Method
	if m == nil || *m == "" || (e.RawPath == nil && e.Version == nil) {
		return nil, false, nil
	}
	if err != nil {
		return nil, true, fmt.Errorf("aliyunfc: malformed HTTP-trigger event: %w", err)
	}
	return &e, true, nil
}

// newRequest converts an HTTP-trigger event to the request it stands for,
// carrying ctx. Every pointer field of ev may be nil. Header and query values
// are kept whole: the platform joins repeated values with commas, but
// splitting them again would break single-value headers such as
// Authorization.
func newRequest(ctx context.Context, ev *events.HTTPTriggerEvent) (*http.Request, error) {
	hc := ev.TriggerContext.Http
	r := &http.Request{
		Method:     deref(hc.Method),
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     http.Header{},
		Host:       deref(ev.TriggerContext.DomainName),
		RemoteAddr: remoteAddr(deref(hc.SourceIp)),
	}
	if r.Method == "" {
		return nil, errors.New("aliyunfc: HTTP-trigger event has no method")
	}
	if p := deref(hc.Protocol); p != "" {
		if major, minor, ok := http.ParseHTTPVersion(p); ok {
			r.Proto, r.ProtoMajor, r.ProtoMinor = p, major, minor
		}
	}

	r.URL = &url.URL{Path: "/"}
	switch {
	case ev.RawPath != nil && *ev.RawPath != "":
		raw := *ev.RawPath
		if !strings.HasPrefix(raw, "/") {
			raw = "/" + raw
		}
		if p, err := url.PathUnescape(raw); err == nil {
			r.URL.Path, r.URL.RawPath = p, raw // URL.EscapedPath drops RawPath if it is not a valid encoding of Path
		} else {
			r.URL.Path = raw
		}
	case hc.Path != nil && *hc.Path != "":
		r.URL.Path = *hc.Path
		if !strings.HasPrefix(r.URL.Path, "/") {
			r.URL.Path = "/" + r.URL.Path
		}
	}
	if ev.QueryParameters != nil && len(*ev.QueryParameters) > 0 {
		q := url.Values{}
		for k, v := range *ev.QueryParameters {
			q.Set(k, v)
		}
		r.URL.RawQuery = q.Encode()
	}
	r.RequestURI = r.URL.RequestURI()

	if ev.Headers != nil {
		// Sorted, so that keys differing only in case are added in a
		// stable order.
		hdr := *ev.Headers
		for _, k := range slices.Sorted(maps.Keys(hdr)) {
			ck := http.CanonicalHeaderKey(k)
			if ck == "Host" {
				r.Host = hdr[k]
				continue
			}
			r.Header.Add(ck, hdr[k])
		}
	}

	var body []byte
	if ev.Body != nil {
		body = []byte(*ev.Body)
		if ev.IsBase64Encoded != nil && *ev.IsBase64Encoded {
			var err error
			if body, err = base64.StdEncoding.DecodeString(*ev.Body); err != nil {
				return nil, fmt.Errorf("aliyunfc: HTTP-trigger event body is not valid base64: %w", err)
			}
		}
	}
	r.Body = http.NoBody
	if len(body) > 0 {
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	r.ContentLength = int64(len(body))
	r.Header.Del("Content-Length") // the body as decoded is what counts
	return r.WithContext(ctx), nil
}

// remoteAddr is the source IP as "ip:0", the form net/http gives, or the
// value as it came when it is not an IP address.
func remoteAddr(ip string) string {
	if a, err := netip.ParseAddr(ip); err == nil {
		return net.JoinHostPort(a.String(), "0")
	}
	return ip
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// responseBuffer is the http.ResponseWriter the service writes its answer
// to, turned into an events.HTTPTriggerResponse.
type responseBuffer struct {
	header http.Header
	sent   http.Header // the header as it was when the status was written
	status int
	body   bytes.Buffer
}

func newResponseBuffer() *responseBuffer { return &responseBuffer{header: http.Header{}} }

func (b *responseBuffer) Header() http.Header { return b.header }

func (b *responseBuffer) WriteHeader(status int) {
	if b.status != 0 {
		return
	}
	b.status, b.sent = status, b.header.Clone()
}

func (b *responseBuffer) Write(p []byte) (int, error) {
	b.WriteHeader(http.StatusOK)
	return b.body.Write(p)
}

// response is the answer for Function Compute. Repeated header values are
// joined with ", " (the trigger's headers are a map of strings). A HEAD
// request gets no body.
func (b *responseBuffer) response(method string) events.HTTPTriggerResponse {
	b.WriteHeader(http.StatusOK)
	res := events.HTTPTriggerResponse{StatusCode: b.status, Headers: make(map[string]string, len(b.sent))}
	for k, v := range b.sent {
		res.Headers[k] = strings.Join(v, ", ")
	}
	if method != http.MethodHead {
		res.Body = b.body.String()
	}
	return res
}
