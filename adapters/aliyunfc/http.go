package main

import (
	"encoding/json"
	"fmt"

	"github.com/aliyun/fc-runtime-go-sdk/events"

	"smsverify/adapters/internal/platform"
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
		return nil, true, fmt.Errorf("aliyunfc: HTTP-trigger event: %w: %w", platform.ErrInvalidEvent, err)
	}
	return &e, true, nil
}

// httpRequest reads an HTTP-trigger event; every pointer field of ev may be
// nil. The path is rawPath (percent-encoded), else requestContext.http.path;
// the host is the trigger's domain unless a Host header names one; the
// client IP is requestContext.http.sourceIp. The platform joins repeated
// header values with commas.
func httpRequest(ev *events.HTTPTriggerEvent) platform.Request {
	hc := ev.TriggerContext.Http
	e := platform.Request{
		Method: deref(hc.Method), Path: deref(ev.RawPath), DecodedPath: deref(hc.Path),
		Host: deref(ev.TriggerContext.DomainName), Proto: deref(hc.Protocol),
		Body: deref(ev.Body), Base64: ev.IsBase64Encoded != nil && *ev.IsBase64Encoded,
		SourceIP: deref(hc.SourceIp),
	}
	if ev.Headers != nil {
		e.Header = platform.Header(*ev.Headers, nil)
	}
	if ev.QueryParameters != nil {
		e.RawQuery = platform.Query(*ev.QueryParameters, nil)
	}
	return e
}

// httpResponse is the answer for Function Compute: the trigger's headers
// are a map of strings, so repeated values are joined with ", ".
func httpResponse(r *platform.Response) events.HTTPTriggerResponse {
	return events.HTTPTriggerResponse{StatusCode: r.Status, Headers: r.JoinedHeader(), Body: r.Body}
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
