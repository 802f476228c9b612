package main

import (
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"smsverify/api"
)

// TestOpenAPIDocument: GET /openapi.json through API Gateway answers the
// embedded document.
func TestOpenAPIDocument(t *testing.T) {
	env := newTestEnv(t)
	e := fixture[events.APIGatewayV2HTTPRequest](t, "apigw-v2-request-no-authorizer.json")
	e.RequestContext.HTTP.Method, e.RawPath, e.RequestContext.HTTP.Path, e.Body = "GET", "/openapi.json", "/openapi.json", ""
	delete(e.Headers, "content-length")
	ans, err := env.h.handle(lambdaCtx(t), mustJSON(t, e))
	if err != nil {
		t.Fatal(err)
	}
	got := readAnswer(t, ans, events.APIGatewayV2HTTPResponse{}, singleHeaders)
	if got.status != 200 || got.body != string(api.OpenAPI()) {
		t.Errorf("status %d, %d bytes, want the document (%d bytes)", got.status, len(got.body), len(api.OpenAPI()))
	}
}
