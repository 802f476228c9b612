package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda/messages"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"smsverify/function"
)

// service is what the adapter needs from *function.Service.
type service interface {
	http.Handler
	Invoke(ctx context.Context, payload []byte) ([]byte, error)
}

// handler serves every Lambda event kind with one service.
type handler struct {
	svc service
}

// newHandlerFromEnv builds the handler from the environment (function.Config),
// with the JSON access log written to logOut (Lambda captures stdout).
func newHandlerFromEnv(logOut io.Writer) (*handler, error) {
	cfg, err := function.LoadConfig()
	if err != nil {
		return nil, err
	}
	svc, err := function.New(cfg, function.Options{Logger: slog.New(slog.NewJSONHandler(logOut, nil))})
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
	switch kind {
	case kindAPIGatewayV2:
		var e events.APIGatewayV2HTTPRequest
		if err := json.Unmarshal(raw, &e); err != nil {
			return nil, fmt.Errorf("lambda: %s event: %w", kind, err)
		}
		r, err := v2Request(ctx, e)
		if err != nil {
			return nil, err
		}
		return h.serve(r).v2Response(), nil
	case kindFunctionURL:
		var e events.LambdaFunctionURLRequest
		if err := json.Unmarshal(raw, &e); err != nil {
			return nil, fmt.Errorf("lambda: %s event: %w", kind, err)
		}
		r, err := urlRequest(ctx, e)
		if err != nil {
			return nil, err
		}
		return h.serve(r).urlResponse(), nil
	case kindAPIGatewayV1:
		var e events.APIGatewayProxyRequest
		if err := json.Unmarshal(raw, &e); err != nil {
			return nil, fmt.Errorf("lambda: %s event: %w", kind, err)
		}
		r, err := v1Request(ctx, e)
		if err != nil {
			return nil, err
		}
		return h.serve(r).v1Response(), nil
	case kindALB:
		var e events.ALBTargetGroupRequest
		if err := json.Unmarshal(raw, &e); err != nil {
			return nil, fmt.Errorf("lambda: %s event: %w", kind, err)
		}
		r, err := albRequest(ctx, e)
		if err != nil {
			return nil, err
		}
		return h.serve(r).albResponse(e.MultiValueHeaders != nil), nil
	case kindSQS:
		var e events.SQSEvent
		if err := json.Unmarshal(raw, &e); err != nil {
			return nil, fmt.Errorf("lambda: %s event: %w", kind, err)
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
// (function.ErrorType) rather than the name of its Go type: aws-lambda-go
// takes errorType from an error that is a messages.InvokeResponse_Error.
func functionError(err error) error {
	t := function.ErrorType(err)
	if t == "" {
		return err
	}
	return messages.InvokeResponse_Error{Message: err.Error(), Type: t}
}

// serve runs r through the service's HTTP API.
func (h *handler) serve(r *http.Request) *response {
	w := newResponseWriter()
	h.svc.ServeHTTP(w, r)
	return w.result(r.Method)
}

// sqs hands each record's body to the event API, one at a time, and reports
// only the records whose failure is transient: a permanently bad record (not
// JSON, bad input) has been logged by the service and is not retried. Each
// record's access log carries "<AwsRequestID>/<messageId>".
func (h *handler) sqs(ctx context.Context, e events.SQSEvent) events.SQSEventResponse {
	resp := events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{}}
	id := function.RequestID(ctx)
	for _, rec := range e.Records {
		rid := rec.MessageId
		if id != "" {
			rid = id + "/" + rid
		}
		if _, err := h.svc.Invoke(function.WithRequestID(ctx, rid), []byte(rec.Body)); err != nil {
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: rec.MessageId})
		}
	}
	return resp
}
