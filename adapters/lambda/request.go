package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/aws/aws-lambda-go/events"
)

// v2Request converts an API Gateway HTTP API (payload 2.0) event. The client
// IP is requestContext.http.sourceIp; the cookies array becomes the Cookie
// header; rawQueryString is kept as is. Header values are never split on
// commas (API Gateway joins repeated headers with commas).
func v2Request(ctx context.Context, e events.APIGatewayV2HTTPRequest) (*http.Request, error) {
	h := header(e.Headers, nil)
	if len(e.Cookies) > 0 {
		h.Set("Cookie", strings.Join(e.Cookies, "; "))
	}
	path := e.RawPath
	if path == "" {
		path = e.RequestContext.HTTP.Path
	}
	return newRequest(ctx, e.RequestContext.HTTP.Method, path, e.RawQueryString, h, e.Body, e.IsBase64Encoded, e.RequestContext.HTTP.SourceIP)
}

// urlRequest converts a Lambda function URL event, which has the 2.0 shape.
func urlRequest(ctx context.Context, e events.LambdaFunctionURLRequest) (*http.Request, error) {
	return v2Request(ctx, events.APIGatewayV2HTTPRequest{
		RawPath:         e.RawPath,
		RawQueryString:  e.RawQueryString,
		Cookies:         e.Cookies,
		Headers:         e.Headers,
		Body:            e.Body,
		IsBase64Encoded: e.IsBase64Encoded,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription(e.RequestContext.HTTP),
		},
	})
}

// v1Request converts an API Gateway REST API proxy (payload 1.0) event:
// multiValueHeaders and multiValueQueryStringParameters when present (they
// hold every value), else the single-value maps. The client IP is
// requestContext.identity.sourceIp.
func v1Request(ctx context.Context, e events.APIGatewayProxyRequest) (*http.Request, error) {
	q := url.Values(e.MultiValueQueryStringParameters)
	if len(q) == 0 {
		q = url.Values{}
		for k, v := range e.QueryStringParameters {
			q.Set(k, v)
		}
	}
	return newRequest(ctx, e.HTTPMethod, e.Path, q.Encode(), header(e.Headers, e.MultiValueHeaders), e.Body, e.IsBase64Encoded, e.RequestContext.Identity.SourceIP)
}

// albRequest converts an ALB target group event (single- or multi-value
// mode). ALB passes query parameters as the client sent them (not decoded)
// and appends the connecting address to X-Forwarded-For, so the client IP is
// that header's rightmost entry.
func albRequest(ctx context.Context, e events.ALBTargetGroupRequest) (*http.Request, error) {
	h := header(e.Headers, e.MultiValueHeaders)
	q := e.MultiValueQueryStringParameters
	if len(q) == 0 {
		q = make(map[string][]string, len(e.QueryStringParameters))
		for k, v := range e.QueryStringParameters {
			q[k] = []string{v}
		}
	}
	return newRequest(ctx, e.HTTPMethod, e.Path, rawQuery(q), h, e.Body, e.IsBase64Encoded, rightmostForwardedFor(h))
}

// newRequest builds the request every kind shares, keeping ctx (platform
// deadline, request id). path is as received (percent-encoded); host and
// content length come from the event, the client IP goes to RemoteAddr.
func newRequest(ctx context.Context, method, path, query string, h http.Header, body string, isBase64 bool, sourceIP string) (*http.Request, error) {
	data := []byte(body)
	if isBase64 {
		var err error
		if data, err = base64.StdEncoding.DecodeString(body); err != nil {
			return nil, fmt.Errorf("lambda: event body is not base64: %w", err)
		}
	}
	r, err := http.NewRequestWithContext(ctx, method, "/", bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("lambda: event: %w", err)
	}
	r.URL = requestURL(path, query)
	r.RequestURI = r.URL.RequestURI()
	r.Host = h.Get("Host")
	h.Del("Host")
	h.Del("Content-Length") // r.ContentLength is the decoded body's
	r.Header = h
	r.RemoteAddr = sourceIP
	return r, nil
}

// requestURL is the URL for a percent-encoded path and a raw query.
func requestURL(path, query string) *url.URL {
	u := &url.URL{Path: path, RawQuery: query}
	if p, err := url.PathUnescape(path); err == nil && p != path {
		u.Path, u.RawPath = p, path
	}
	if !strings.HasPrefix(u.Path, "/") {
		u.Path, u.RawPath = "/"+u.Path, ""
	}
	return u
}

// header builds a request header from multi when it has entries, else from
// single. Values are added as they are: a comma inside one value (for
// example in Authorization or User-Agent) never splits it.
func header(single map[string]string, multi map[string][]string) http.Header {
	h := make(http.Header, max(len(single), len(multi)))
	if len(multi) > 0 {
		for k, vs := range multi {
			for _, v := range vs {
				h.Add(k, v)
			}
		}
		return h
	}
	for k, v := range single {
		h.Add(k, v)
	}
	return h
}

// rawQuery joins already-encoded query parameters, keys sorted.
func rawQuery(q map[string][]string) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(q)) {
		for _, v := range q[k] {
			if b.Len() > 0 {
				b.WriteByte('&')
			}
			b.WriteString(k)
			b.WriteByte('=')
			b.WriteString(v)
		}
	}
	return b.String()
}

// rightmostForwardedFor is the last X-Forwarded-For entry: the address that
// connected to the load balancer.
func rightmostForwardedFor(h http.Header) string {
	vs := h.Values("X-Forwarded-For")
	if len(vs) == 0 {
		return ""
	}
	last := vs[len(vs)-1]
	return strings.TrimSpace(last[strings.LastIndexByte(last, ',')+1:])
}
