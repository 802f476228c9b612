package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda/messages"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"smsverify/adapters/internal/platform"
	"smsverify/function"
)

// service is what the adapter needs from *function.Service.
type service interface {
	http.Handler
	Invoke(ctx context.Context, payload []byte) ([]byte, error)
	Warm(ctx context.Context) error // opens the upstream connections (main, at init)
}

// handler serves every Lambda event kind with one service.
type handler struct {
	svc service
}

// newHandlerFromEnv builds the handler from the environment, with the JSON
// access log written to logOut (Lambda captures stdout).
func newHandlerFromEnv(logOut io.Writer) (*handler, error) {
	svc, _, err := platform.NewService(logOut, nil)
	if err != nil {
		return nil, err
	}
	return &handler{svc: svc}, nil
}

// eventKind is the kind of event a payload is.
type eventKind int

const (
	kindDirect       eventKind = iota // direct invocation or Step Functions: the event API
	kindAPIGatewayV2                  // API Gateway HTTP API, payload format 2.0
	kindFunctionURL                   // Lambda function URL (the 2.0 shape)
	kindAPIGatewayV1                  // API Gateway REST API proxy (and HTTP API payload 1.0)
	kindALB                           // Application Load Balancer target group
	kindSQS                           // SQS batch
)

func (k eventKind) String() string {
	return [...]string{"direct", "API Gateway v2", "function URL", "API Gateway v1", "ALB", "SQS"}[k]
}

// detect tells the event kind from the payload's exact top-level keys (not
// encoding/json's case-insensitive matching). A payload with an "Action" key,
// or one that is not an object, is an event-API invocation.
func detect(raw []byte) eventKind {
	var top map[string]json.RawMessage
	if json.Unmarshal(raw, &top) != nil {
		return kindDirect
	}
	if _, ok := top["Action"]; ok {
		return kindDirect
	}
	if recs, ok := top["Records"]; ok {
		var rs []struct {
			EventSource string `json:"eventSource"`
		}
		if json.Unmarshal(recs, &rs) != nil || len(rs) == 0 {
			return kindDirect
		}
		for _, r := range rs {
			if r.EventSource != "aws:sqs" {
				return kindDirect
			}
		}
		return kindSQS
	}
	var rc map[string]json.RawMessage
	if json.Unmarshal(top["requestContext"], &rc) != nil {
		return kindDirect
	}
	if _, ok := rc["elb"]; ok {
		return kindALB
	}
	if _, ok := rc["http"]; ok {
		var domain string
		_ = json.Unmarshal(rc["domainName"], &domain)
		if strings.Contains(domain, ".lambda-url.") {
			return kindFunctionURL
		}
		return kindAPIGatewayV2
	}
	if _, ok := top["httpMethod"]; ok {
		return kindAPIGatewayV1
	}
	return kindDirect
}

// httpEvents serves each HTTP event kind: how to read its event, and how
// to shape the answer.
var httpEvents = map[eventKind]func(*handler, context.Context, eventKind, json.RawMessage) (any, error){
	kindAPIGatewayV2: httpEvent(v2Request, v2Response),
	kindFunctionURL:  httpEvent(urlRequest, urlResponse),
	kindAPIGatewayV1: httpEvent(v1Request, v1Response),
	kindALB:          httpEvent(albRequest, albResponse),
}

// httpEvent serves one HTTP event kind E through the service's HTTP API,
// answering with the platform's response shape R.
func httpEvent[E, R any](read func(*E) platform.Request, answer func(*E, *platform.Response) R) func(*handler, context.Context, eventKind, json.RawMessage) (any, error) {
	return func(h *handler, ctx context.Context, kind eventKind, raw json.RawMessage) (any, error) {
		var e E
		if err := json.Unmarshal(raw, &e); err != nil {
			return nil, functionError(fmt.Errorf("lambda: %s event: %w: %w", kind, platform.ErrInvalidEvent, err))
		}
		r, err := platform.NewRequest(ctx, read(&e))
		if err != nil {
			return nil, functionError(fmt.Errorf("lambda: %s event: %w", kind, err))
		}
		return answer(&e, platform.Serve(h.svc, r)), nil
	}
}

// handle is the Lambda entry point: it detects the event kind and serves it.
// HTTP events get the platform's HTTP response shape; an SQS batch gets the
// records to retry; anything else is the event API. A returned error is a
// function error: a malformed platform event, or a transient failure of a
// direct invocation (so the caller's retry applies).
func (h *handler) handle(ctx context.Context, raw json.RawMessage) (any, error) {
	if lc, ok := lambdacontext.FromContext(ctx); ok && lc.AwsRequestID != "" {
		ctx = function.WithRequestID(ctx, lc.AwsRequestID)
	}
	kind := detect(raw)
	if serve, ok := httpEvents[kind]; ok {
		return serve(h, ctx, kind, raw)
	}
	if kind == kindSQS {
		var e events.SQSEvent
		if err := json.Unmarshal(raw, &e); err != nil {
			return nil, functionError(fmt.Errorf("lambda: %s event: %w: %w", kind, platform.ErrInvalidEvent, err))
		}
		return h.sqs(ctx, e), nil
	}
	out, err := h.svc.Invoke(ctx, raw)
	if err != nil {
		return nil, functionError(err)
	}
	return json.RawMessage(out), nil
}

// functionError makes Lambda report err under its stable error type
// (platform.ErrorType) rather than the name of its Go type: aws-lambda-go
// takes errorType from an error that is a messages.InvokeResponse_Error.
func functionError(err error) error {
	t := platform.ErrorType(err)
	if t == "" {
		return err
	}
	return messages.InvokeResponse_Error{Message: err.Error(), Type: t}
}

// sqs hands each record's body to the event API, one at a time, and reports
// only the records whose failure is transient: a permanently bad record (not
// JSON, bad input) has been logged by the service and is not retried. Each
// record's access log carries "<AwsRequestID>/<messageId>", and the
// messageId is its idempotency key, so a redelivered record that was sent
// is answered from the first delivery, not sent again.
func (h *handler) sqs(ctx context.Context, e events.SQSEvent) events.SQSEventResponse {
	resp := events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{}}
	id := function.RequestID(ctx)
	for _, rec := range e.Records {
		rid := rec.MessageId
		if id != "" {
			rid = id + "/" + rid
		}
		// The messageId survives redeliveries: it is the record's
		// idempotency key unless the body names one.
		rctx := function.WithIdempotencyKey(function.WithRequestID(ctx, rid), rec.MessageId)
		if _, err := h.svc.Invoke(rctx, []byte(rec.Body)); err != nil {
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: rec.MessageId})
		}
	}
	return resp
}
