package main

import (
	"bytes"
	"testing"

	"smsverify/api"
)

// TestOpenAPIDocument: GET /openapi.json through the HTTP trigger answers
// the embedded document.
func TestOpenAPIDocument(t *testing.T) {
	e := newEnv(t, nil)
	event := readEvent(t, sendEvent, func(m map[string]any) {
		m["rawPath"], m["body"] = "/openapi.json", ""
		obj(m, "requestContext")["http"].(map[string]any)["method"] = "GET"
		obj(m, "requestContext")["http"].(map[string]any)["path"] = "/openapi.json"
		delete(obj(m, "headers"), "Content-Length")
		delete(obj(m, "headers"), "Content-Type")
	})
	res, _ := e.httpCall(t, fcCtx(t, stsCreds), event)
	if res.StatusCode != 200 || !bytes.Equal([]byte(res.Body), api.OpenAPI()) {
		t.Errorf("status %d, %d bytes, want the document (%d bytes)", res.StatusCode, len(res.Body), len(api.OpenAPI()))
	}
}
