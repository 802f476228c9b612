package main

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda/messages"

	"smsverify/core/dypnstest"
	"smsverify/function"
	"smsverify/internal/envdefaults"
)

// TestSQSBatch: records run in order; only the transient failure is retried.
func TestSQSBatch(t *testing.T) {
	env := newTestEnv(t)
	e := fixture[events.SQSEvent](t, "sqs-event.json")
	bad := e.Records[0] // its body, "Message Body", is not JSON
	bad.MessageId = "bad-json"
	transient := e.Records[0]
	transient.MessageId, transient.Body = "transient", `{"Action":"SendSmsVerifyCode","PhoneNumber":"13900000000"}`
	good := e.Records[0]
	good.MessageId, good.Body = "good", `{"Action":"SendSmsVerifyCode","PhoneNumber":"13800000000"}`
	e.Records = []events.SQSMessage{bad, transient, good}
	env.fake.FailNext(1, dypnstest.FaultUnavailable) // the first record to reach the fake: transient

	ans, err := env.h.handle(lambdaCtx(t), mustJSON(t, e))
	if err != nil {
		t.Fatalf("handle: %v", err)
	}
	resp, ok := ans.(events.SQSEventResponse)
	if !ok {
		t.Fatalf("answer is %T, want events.SQSEventResponse", ans)
	}
	want := []events.SQSBatchItemFailure{{ItemIdentifier: "transient"}}
	if !reflect.DeepEqual(resp.BatchItemFailures, want) {
		t.Errorf("BatchItemFailures = %+v, want %+v", resp.BatchItemFailures, want)
	}
	if b := string(mustJSON(t, resp)); b != `{"batchItemFailures":[{"itemIdentifier":"transient"}]}` {
		t.Errorf("marshalled = %s", b)
	}
	if n := env.fake.SendCount(); n != 1 || len(env.fake.Codes("13800000000")) != 1 {
		t.Errorf("fake SendCount = %d, want 1 (the good record)", n)
	}
	logs := env.accessLogs(t)
	if len(logs) != 3 {
		t.Fatalf("got %d access-log lines, want one per record:\n%s", len(logs), env.logs)
	}
	for i, want := range []struct{ id, code string }{{"bad-json", "INVALID_JSON"}, {"transient", ""}, {"good", "OK"}} {
		if logs[i]["request_id"] != testRequestID+"/"+want.id {
			t.Errorf("record %d request_id = %v", i, logs[i]["request_id"])
		}
		if want.code != "" && logs[i]["code"] != want.code {
			t.Errorf("record %d code = %v, want %s", i, logs[i]["code"], want.code)
		}
	}
}

func TestSQSAllGood(t *testing.T) {
	env := newTestEnv(t)
	e := fixture[events.SQSEvent](t, "sqs-event.json")
	e.Records[0].Body = `{"Action":"SendSmsVerifyCode","PhoneNumber":"13800000000"}`
	ans, err := env.h.handle(lambdaCtx(t), mustJSON(t, e))
	if err != nil {
		t.Fatal(err)
	}
	if b := string(mustJSON(t, ans)); b != `{"batchItemFailures":[]}` {
		t.Errorf("answer = %s", b)
	}
	if env.fake.SendCount() != 1 {
		t.Errorf("fake SendCount = %d, want 1", env.fake.SendCount())
	}
}

// TestSQSRedelivery: a redelivered record (same messageId) is answered from
// its first delivery and sends no second SMS, even after a transient
// failure that may have reached Alibaba; a new message runs.
func TestSQSRedelivery(t *testing.T) {
	env := newTestEnv(t)
	e := fixture[events.SQSEvent](t, "sqs-event.json")
	e.Records = e.Records[:1]
	e.Records[0].Body = `{"Action":"SendSmsVerifyCode","PhoneNumber":"13800000000"}`
	for i := range 2 {
		ans, err := env.h.handle(lambdaCtx(t), mustJSON(t, e))
		if err != nil {
			t.Fatal(err)
		}
		if b := string(mustJSON(t, ans)); b != `{"batchItemFailures":[]}` {
			t.Errorf("delivery %d: answer = %s", i, b)
		}
	}
	if n := env.fake.Requests(); n != 1 {
		t.Errorf("fake saw %d requests after a redelivery, want 1", n)
	}
	// A 503 may have come after the SMS left: the record is retried once,
	// and its redelivery is answered from the first delivery.
	e.Records[0].MessageId = "second-message"
	e.Records[0].Body = `{"Action":"SendSmsVerifyCode","PhoneNumber":"13900000000"}`
	env.fake.FailNext(1, dypnstest.FaultUnavailable)
	for i, want := range []string{`{"batchItemFailures":[{"itemIdentifier":"second-message"}]}`, `{"batchItemFailures":[]}`} {
		ans, err := env.h.handle(lambdaCtx(t), mustJSON(t, e))
		if err != nil {
			t.Fatal(err)
		}
		if b := string(mustJSON(t, ans)); b != want {
			t.Errorf("delivery %d: answer = %s, want %s", i, b, want)
		}
	}
	if n := env.fake.Requests(); n != 2 {
		t.Errorf("fake saw %d requests in all, want 2 (no resend on redelivery)", n)
	}
}

// TestDirectInvocation: the event API through handle, as Step Functions or
// `aws lambda invoke` would call it.
func TestDirectInvocation(t *testing.T) {
	env := newTestEnv(t)
	invoke := func(payload string) (map[string]any, error) {
		t.Helper()
		ans, err := env.h.handle(lambdaCtx(t), json.RawMessage(payload))
		if err != nil {
			return nil, err
		}
		raw, ok := ans.(json.RawMessage)
		if !ok {
			t.Fatalf("answer is %T, want json.RawMessage", ans)
		}
		var m map[string]any
		if err := json.Unmarshal(mustJSON(t, raw), &m); err != nil {
			t.Fatalf("answer is not a JSON object: %s", raw)
		}
		return m, nil
	}

	got, err := invoke(`{"Action":"SendSmsVerifyCode","PhoneNumber":"13800000000"}`)
	if err != nil || got["Code"] != "OK" {
		t.Fatalf("send: %v %v", got, err)
	}
	codes := env.fake.Codes(testPhone)
	if len(codes) != 1 {
		t.Fatalf("fake has %d codes, want 1", len(codes))
	}
	if l := env.accessLogs(t); len(l) != 1 || l[0]["request_id"] != testRequestID || l[0]["caller"] != "event" {
		t.Errorf("access log = %v", l)
	}

	tests := []struct {
		name, payload, code, result string
	}{
		{"wrong code is answered", `{"Action":"CheckSmsVerifyCode","PhoneNumber":"13800000000","VerifyCode":"` + wrong(codes[0].VerifyCode) + `"}`, "OK", "UNKNOWN"},
		{"right code passes", `{"Action":"CheckSmsVerifyCode","PhoneNumber":"13800000000","VerifyCode":"` + codes[0].VerifyCode + `"}`, "OK", "PASS"},
		{"unknown action is answered", `{"Action":"Nope"}`, "UNKNOWN_ACTION", ""},
		{"not an object is answered", `[1,2]`, "INVALID_JSON", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := invoke(tt.payload)
			if err != nil {
				t.Fatalf("error %v, want an answer", err)
			}
			if got["Code"] != tt.code {
				t.Errorf("Code = %v, want %s (%v)", got["Code"], tt.code, got)
			}
			if tt.result != "" {
				if m, _ := got["Model"].(map[string]any); m["VerifyResult"] != tt.result {
					t.Errorf("VerifyResult = %v, want %s", m["VerifyResult"], tt.result)
				}
			}
		})
	}

	t.Run("transient failure is a function error", func(t *testing.T) {
		env.fake.FailNext(1, dypnstest.FaultUnavailable)
		got, err := invoke(`{"Action":"SendSmsVerifyCode","PhoneNumber":"13900000000"}`)
		if err == nil {
			t.Fatalf("answer %v, want an error", got)
		}
		if strings.Contains(err.Error(), "13900000000") {
			t.Errorf("error names the phone number: %v", err)
		}
		var ie messages.InvokeResponse_Error
		if !errors.As(err, &ie) || ie.Type != function.ErrorTypeUpstreamUnavailable {
			t.Errorf("error %#v, want a messages.InvokeResponse_Error of type %s", err, function.ErrorTypeUpstreamUnavailable)
		}
	})
}

// wrong returns a code of the same length that differs from c.
func wrong(c string) string {
	if strings.HasPrefix(c, "0") {
		return "1" + c[1:]
	}
	return "0" + c[1:]
}

func TestNewHandlerFromEnv(t *testing.T) {
	envdefaults.Unset(t, function.Config{}) // the shell's settings are not the test's
	creds := dypnstest.TestCredentials()
	tests := []struct {
		name    string
		env     map[string]string
		wantErr string
	}{
		{"ok", map[string]string{"ALIBABA_CLOUD_ACCESS_KEY_ID": creds.AccessKeyID, "ALIBABA_CLOUD_ACCESS_KEY_SECRET": creds.AccessKeySecret}, ""},
		{"bad endpoint", map[string]string{"ALIBABA_CLOUD_ACCESS_KEY_ID": creds.AccessKeyID, "ALIBABA_CLOUD_ACCESS_KEY_SECRET": creds.AccessKeySecret,
			"DYPNS_ENDPOINT": "http://example.com"}, "DYPNS_ENDPOINT"},
		{"no credentials", map[string]string{"ALIBABA_CLOUD_ACCESS_KEY_ID": "", "ALIBABA_CLOUD_ACCESS_KEY_SECRET": ""}, "credentials"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("LIMIT_STORE", "memory")
			t.Setenv("DYPNS_ENDPOINT", "https://dypnsapi.aliyuncs.com")
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			h, err := newHandlerFromEnv(&strings.Builder{})
			switch {
			case tt.wantErr == "" && (err != nil || h == nil):
				t.Fatalf("err = %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("err = %v, want one naming %s", err, tt.wantErr)
			}
			if err == nil {
				_ = h.svc.(interface{ Close() error }).Close()
			}
		})
	}
}

// TestHangUpDoesNotCancelSend (issue 15, D11): an invocation whose context
// is canceled while its send is at Alibaba still gets, and stores under its
// key, Alibaba's real answer: a retry replays it instead of a timeout.
func TestHangUpDoesNotCancelSend(t *testing.T) {
	arrived, release := make(chan struct{}, 1), make(chan struct{})
	env := newTestEnvWith(t, dypnstest.Options{OnSend: func(dypnstest.Sent) {
		arrived <- struct{}{}
		<-release
	}})
	payload := json.RawMessage(`{"Action":"SendSmsVerifyCode","PhoneNumber":"13800000000","IdempotencyKey":"9b2f6c1e-4a7d-4e3b-8c5a-0d1e2f3a4b5c"}`)
	ctx, hangUp := context.WithCancel(lambdaCtx(t))
	defer hangUp()
	done := make(chan error, 1)
	go func() {
		_, err := env.h.handle(ctx, payload)
		done <- err
	}()
	<-arrived
	hangUp()
	close(release)
	if err := <-done; err != nil {
		t.Fatalf("the invocation canceled while at Alibaba: %v, want its real answer", err)
	}
	ans, err := env.h.handle(lambdaCtx(t), payload)
	if err != nil {
		t.Fatalf("retry: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(ans.(json.RawMessage), &m); err != nil || m["Code"] != "OK" || m["IdempotentReplayed"] != true {
		t.Fatalf("retry = %s (%v), want the replayed OK", ans, err)
	}
	if n := env.fake.SendCount(); n != 1 {
		t.Fatalf("%d sends, want 1", n)
	}
}
