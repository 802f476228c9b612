package main

import (
	"maps"
	"slices"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"smsverify/adapters/internal/platform"
)

// v2Request reads an API Gateway HTTP API (payload 2.0) event. The client
// IP is requestContext.http.sourceIp; the cookies array becomes the Cookie
// header; rawQueryString is kept as is. API Gateway joins repeated headers
// with commas.
func v2Request(e *events.APIGatewayV2HTTPRequest) platform.Request {
	h := platform.Header(e.Headers, nil)
	if len(e.Cookies) > 0 {
		h.Set("Cookie", strings.Join(e.Cookies, "; "))
	}
	path := e.RawPath
	if path == "" {
		path = e.RequestContext.HTTP.Path
	}
	return platform.Request{
		Method: e.RequestContext.HTTP.Method, Path: path, RawQuery: e.RawQueryString, Header: h,
		Body: e.Body, Base64: e.IsBase64Encoded, SourceIP: e.RequestContext.HTTP.SourceIP,
	}
}

// urlRequest reads a Lambda function URL event, which has the 2.0 shape.
func urlRequest(e *events.LambdaFunctionURLRequest) platform.Request {
	return v2Request(&events.APIGatewayV2HTTPRequest{
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

// v1Request reads an API Gateway REST API proxy (payload 1.0) event:
// multiValueHeaders and multiValueQueryStringParameters when present (they
// hold every value), else the single-value maps. The client IP is
// requestContext.identity.sourceIp.
func v1Request(e *events.APIGatewayProxyRequest) platform.Request {
	return platform.Request{
		Method: e.HTTPMethod, Path: e.Path,
		RawQuery: platform.Query(e.QueryStringParameters, e.MultiValueQueryStringParameters),
		Header:   platform.Header(e.Headers, e.MultiValueHeaders),
		Body:     e.Body, Base64: e.IsBase64Encoded, SourceIP: e.RequestContext.Identity.SourceIP,
	}
}

// albRequest reads an ALB target group event (single- or multi-value
// mode). ALB passes query parameters as the client sent them (not decoded)
// and appends the connecting address to X-Forwarded-For, so the client IP is
// that header's rightmost entry.
func albRequest(e *events.ALBTargetGroupRequest) platform.Request {
	h := platform.Header(e.Headers, e.MultiValueHeaders)
	q := e.MultiValueQueryStringParameters
	if len(q) == 0 {
		q = make(map[string][]string, len(e.QueryStringParameters))
		for k, v := range e.QueryStringParameters {
			q[k] = []string{v}
		}
	}
	return platform.Request{
		Method: e.HTTPMethod, Path: e.Path, RawQuery: rawQuery(q), Header: h,
		Body: e.Body, Base64: e.IsBase64Encoded, SourceIP: rightmostForwardedFor(h.Values("X-Forwarded-For")),
	}
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
func rightmostForwardedFor(vs []string) string {
	if len(vs) == 0 {
		return ""
	}
	last := vs[len(vs)-1]
	return strings.TrimSpace(last[strings.LastIndexByte(last, ',')+1:])
}
