package main

import (
	"net/http"
	"strconv"

	"github.com/aws/aws-lambda-go/events"

	"smsverify/adapters/internal/platform"
)

// v2Response is the HTTP API payload 2.0 answer; Set-Cookie goes to cookies.
func v2Response(_ *events.APIGatewayV2HTTPRequest, r *platform.Response) events.APIGatewayV2HTTPResponse {
	return events.APIGatewayV2HTTPResponse{StatusCode: r.Status, Headers: r.JoinedHeader("Set-Cookie"), Cookies: r.Header.Values("Set-Cookie"), Body: r.Body}
}

// urlResponse is the function URL answer; Set-Cookie goes to cookies.
func urlResponse(_ *events.LambdaFunctionURLRequest, r *platform.Response) events.LambdaFunctionURLResponse {
	return events.LambdaFunctionURLResponse{StatusCode: r.Status, Headers: r.JoinedHeader("Set-Cookie"), Cookies: r.Header.Values("Set-Cookie"), Body: r.Body}
}

// v1Response is the REST API proxy answer: every value in
// multiValueHeaders, and the headers that have one value also in headers
// (API Gateway merges the two, preferring multiValueHeaders).
func v1Response(_ *events.APIGatewayProxyRequest, r *platform.Response) events.APIGatewayProxyResponse {
	single := make(map[string]string, len(r.Header))
	for k, vs := range r.Header {
		if len(vs) == 1 {
			single[k] = vs[0]
		}
	}
	return events.APIGatewayProxyResponse{StatusCode: r.Status, Headers: single, MultiValueHeaders: r.Header.Clone(), Body: r.Body}
}

// albResponse is the ALB answer, with multiValueHeaders iff the target group
// has multi-value headers on (the request used them), else headers.
func albResponse(e *events.ALBTargetGroupRequest, r *platform.Response) events.ALBTargetGroupResponse {
	resp := events.ALBTargetGroupResponse{
		StatusCode:        r.Status,
		StatusDescription: strconv.Itoa(r.Status) + " " + http.StatusText(r.Status),
		Body:              r.Body,
	}
	if e.MultiValueHeaders != nil {
		resp.MultiValueHeaders = r.Header.Clone()
	} else {
		resp.Headers = r.JoinedHeader("Set-Cookie")
		if c := r.Header.Values("Set-Cookie"); len(c) > 0 {
			resp.Headers["Set-Cookie"] = c[len(c)-1] // one value only in this mode
		}
	}
	return resp
}
