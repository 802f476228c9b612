package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/aliyun/fc-runtime-go-sdk/fc/messages"
	"github.com/aliyun/fc-runtime-go-sdk/fccontext"

	"smsverify/adapters/internal/platform"
	"smsverify/core"
	"smsverify/function"
)

// handler translates Function Compute invocations to the service.
type handler struct {
	svc *function.Service
}

// newHandler builds the service from the environment, with its access log
// as JSON lines on logw.
func newHandler(logw io.Writer) (*handler, error) {
	svc, _, err := platform.NewService(logw, useSTS)
	if err != nil {
		return nil, err
	}
	return &handler{svc: svc}, nil
}

// useSTS signs with the invocation's STS credentials when the
// configuration has no AccessKey.
func useSTS(_ *function.Config, o *function.Options) error {
	o.Credentials = core.CredentialsFunc(stsCredentials)
	return nil
}

// stsCredentials returns the temporary credentials Function Compute hands
// each invocation of a function that has a role.
func stsCredentials(ctx context.Context) (core.Credentials, error) {
	lc, ok := fccontext.FromContext(ctx)
	if !ok {
		return core.Credentials{}, fmt.Errorf("aliyunfc: no Function Compute context: %w", core.ErrNoCredentials)
	}
	c := core.Credentials{
		AccessKeyID:     lc.Credentials.AccessKeyId,
		AccessKeySecret: lc.Credentials.AccessKeySecret,
		SecurityToken:   lc.Credentials.SecurityToken,
	}
	if !c.Valid() {
		return core.Credentials{}, fmt.Errorf("aliyunfc: the invocation carries no credentials (give the function a role): %w", core.ErrNoCredentials)
	}
	return c, nil
}

// invoke is the function registered with fc.Start. Taking []byte, it gets
// the payload as it came, so that a payload that is not JSON is answered by
// the service (INVALID_JSON) instead of being rejected by the SDK's decoder
// as a function error, which an asynchronous trigger would retry.
func (h *handler) invoke(ctx context.Context, payload []byte) (any, error) {
	return h.handle(ctx, payload)
}

// handle serves one invocation. An FC 3.0 HTTP-trigger event goes to the
// HTTP API and is answered with an events.HTTPTriggerResponse; any other
// payload goes to the event API, whose answer is returned as JSON. A non-nil
// error is a transient failure (or a malformed HTTP-trigger event): Function
// Compute reports it as a function error, and retries asynchronous
// invocations.
func (h *handler) handle(ctx context.Context, raw json.RawMessage) (any, error) {
	ev, isHTTP, err := decodeHTTPTrigger(raw)
	if isHTTP && err != nil {
		return nil, functionError(err)
	}
	var triggerID *string
	if ev != nil {
		triggerID = ev.TriggerContext.RequestId
	}
	ctx = function.WithRequestID(ctx, requestID(ctx, triggerID))
	if !isHTTP {
		out, err := h.svc.Invoke(ctx, raw)
		if err != nil {
			return nil, functionError(err)
		}
		return json.RawMessage(out), nil
	}
	r, err := platform.NewRequest(ctx, httpRequest(ev))
	if err != nil {
		return nil, functionError(fmt.Errorf("aliyunfc: HTTP-trigger event: %w", err))
	}
	return httpResponse(platform.Serve(h.svc, r)), nil
}

// requestID is the invocation's id from the FC context, else the one in the
// HTTP-trigger event, else "" (the service then makes one up).
func requestID(ctx context.Context, trigger *string) string {
	if lc, ok := fccontext.FromContext(ctx); ok && lc.RequestID != "" {
		return lc.RequestID
	}
	if trigger != nil {
		return *trigger
	}
	return ""
}

// functionError makes Function Compute report err under its stable error
// type (platform.ErrorType) rather than the name of its Go type:
// fc-runtime-go-sdk takes errorType from an error that is a
// messages.InvokeResponse_Error.
func functionError(err error) error {
	t := platform.ErrorType(err)
	if t == "" {
		return err
	}
	return messages.InvokeResponse_Error{Message: err.Error(), Type: t}
}
