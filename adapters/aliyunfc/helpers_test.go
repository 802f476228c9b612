package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aliyun/fc-runtime-go-sdk/events"
	"github.com/aliyun/fc-runtime-go-sdk/fccontext"

	"smsverify/core"
	"smsverify/core/dypnstest"
	"smsverify/function"
	"smsverify/internal/envdefaults"
	"smsverify/internal/syncbuf"
)

// stsCreds are the only credentials the fake accepts: a request that
// succeeds was signed with them, security token included.
var stsCreds = core.Credentials{AccessKeyID: "STS.id", AccessKeySecret: "stssecret", SecurityToken: "ststoken"}

const (
	phone     = "13800000000"
	fcReqID   = "fc-req-1"
	sendEvent = "http-trigger-event.json"
	checkB64  = "http-trigger-event-base64.json"
)

// env is a handler whose service talks to a dypnstest fake on loopback and
// logs to a buffer. The Config has no AccessKey, so only the FC context's
// credentials can sign.
type env struct {
	h    *handler
	fake *dypnstest.Server
	logs *syncbuf.Buffer
}

func newEnv(t *testing.T, mutate func(*function.Config)) *env {
	t.Helper()
	return newEnvWith(t, mutate, dypnstest.Options{})
}

// newEnvWith is newEnv with a fake configured by o (its Credentials are
// always stsCreds).
func newEnvWith(t *testing.T, mutate func(*function.Config), o dypnstest.Options) *env {
	t.Helper()
	e := &env{logs: &syncbuf.Buffer{}}
	o.Credentials = []core.Credentials{stsCreds}
	e.fake = dypnstest.NewServer(o)
	t.Cleanup(e.fake.Close)
	var cfg function.Config
	if err := envdefaults.Fill(&cfg); err != nil {
		t.Fatal(err)
	}
	cfg.Endpoint = e.fake.URL
	if mutate != nil {
		mutate(&cfg)
	}
	fo := function.Options{Logger: slog.New(slog.NewJSONHandler(e.logs, nil))}
	if err := useSTS(&cfg, &fo); err != nil {
		t.Fatal(err)
	}
	svc, err := function.New(cfg, fo)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })
	e.h = &handler{svc: svc}
	return e
}

// fcCtx is the context the SDK hands an invocation carrying creds.
func fcCtx(t *testing.T, creds core.Credentials) context.Context {
	return fccontext.NewContext(t.Context(), &fccontext.FcContext{
		RequestID: fcReqID,
		Credentials: fccontext.Credentials{
			AccessKeyId: creds.AccessKeyID, AccessKeySecret: creds.AccessKeySecret, SecurityToken: creds.SecurityToken,
		},
		Region: "cn-hangzhou",
	})
}

// httpCall runs an HTTP-trigger event through handle and decodes the answer.
func (e *env) httpCall(t *testing.T, ctx context.Context, event []byte) (events.HTTPTriggerResponse, map[string]any) {
	t.Helper()
	out, err := e.h.handle(ctx, event)
	if err != nil {
		t.Fatalf("handle: %v", err)
	}
	res, ok := out.(events.HTTPTriggerResponse)
	if !ok {
		t.Fatalf("handle returned %T, want events.HTTPTriggerResponse", out)
	}
	if res.IsBase64Encoded {
		t.Error("IsBase64Encoded = true")
	}
	var m map[string]any
	if res.Body != "" {
		if err := json.Unmarshal([]byte(res.Body), &m); err != nil {
			t.Fatalf("body is not JSON: %q", res.Body)
		}
	}
	return res, m
}

// accessLogs returns the service's log lines, decoded.
func (e *env) accessLogs(t *testing.T) []map[string]any {
	t.Helper()
	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(e.logs.String()), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line is not JSON: %q", l)
		}
		lines = append(lines, m)
	}
	return lines
}

// readEvent returns a testdata event, passed through edit when not nil.
func readEvent(t testing.TB, name string, edit func(m map[string]any)) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	if edit == nil {
		return b
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	if b, err = json.Marshal(m); err != nil {
		t.Fatal(err)
	}
	return b
}

// obj returns m[key] as an object.
func obj(m map[string]any, key string) map[string]any {
	v, _ := m[key].(map[string]any)
	return v
}
