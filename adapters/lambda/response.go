package main

import (
	"bytes"
	"net/http"
	"strconv"
	"strings"

	"github.com/aws/aws-lambda-go/events"
)

// responseWriter buffers what the service writes. Like net/http, the header
// is fixed at the first WriteHeader or Write.
type responseWriter struct {
	header http.Header
	sent   http.Header // the header as of WriteHeader
	status int
	body   bytes.Buffer
}

func newResponseWriter() *responseWriter { return &responseWriter{header: http.Header{}} }

// Header implements http.ResponseWriter.
func (w *responseWriter) Header() http.Header { return w.header }

// WriteHeader implements http.ResponseWriter; only the first call counts.
func (w *responseWriter) WriteHeader(status int) {
	if w.status != 0 {
		return
	}
	w.status = status
	w.sent = w.header.Clone()
}

// Write implements http.ResponseWriter.
func (w *responseWriter) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.body.Write(b)
}

// response is a finished HTTP answer, ready for any platform shape.
type response struct {
	status int
	header http.Header
	body   string
}

// result finishes the response; a HEAD answer has no body, as in net/http.
func (w *responseWriter) result(method string) *response {
	w.WriteHeader(http.StatusOK)
	r := &response{status: w.status, header: w.sent, body: w.body.String()}
	if method == http.MethodHead {
		r.body = ""
	}
	return r
}

// single joins each header's values with ", " (Set-Cookie is left to the
// caller: cookies cannot be joined).
func (r *response) single() map[string]string {
	m := make(map[string]string, len(r.header))
	for k, vs := range r.header {
		if k != "Set-Cookie" {
			m[k] = strings.Join(vs, ", ")
		}
	}
	return m
}

// v2Response is the HTTP API payload 2.0 answer; Set-Cookie goes to cookies.
func (r *response) v2Response() events.APIGatewayV2HTTPResponse {
	return events.APIGatewayV2HTTPResponse{StatusCode: r.status, Headers: r.single(), Cookies: r.header.Values("Set-Cookie"), Body: r.body}
}

// urlResponse is the function URL answer; Set-Cookie goes to cookies.
func (r *response) urlResponse() events.LambdaFunctionURLResponse {
	return events.LambdaFunctionURLResponse{StatusCode: r.status, Headers: r.single(), Cookies: r.header.Values("Set-Cookie"), Body: r.body}
}

// v1Response is the REST API proxy answer: every value in
// multiValueHeaders, and the headers that have one value also in headers
// (API Gateway merges the two, preferring multiValueHeaders).
func (r *response) v1Response() events.APIGatewayProxyResponse {
	single := make(map[string]string, len(r.header))
	for k, vs := range r.header {
		if len(vs) == 1 {
			single[k] = vs[0]
		}
	}
	return events.APIGatewayProxyResponse{StatusCode: r.status, Headers: single, MultiValueHeaders: r.header.Clone(), Body: r.body}
}

// albResponse is the ALB answer, with multiValueHeaders iff the target group
// has multi-value headers on (the request used them), else headers.
func (r *response) albResponse(multi bool) events.ALBTargetGroupResponse {
	resp := events.ALBTargetGroupResponse{
		StatusCode:        r.status,
		StatusDescription: strconv.Itoa(r.status) + " " + http.StatusText(r.status),
		Body:              r.body,
	}
	if multi {
		resp.MultiValueHeaders = r.header.Clone()
	} else {
		resp.Headers = r.single()
		if c := r.header.Values("Set-Cookie"); len(c) > 0 {
			resp.Headers["Set-Cookie"] = c[len(c)-1] // one value only in this mode
		}
	}
	return resp
}
