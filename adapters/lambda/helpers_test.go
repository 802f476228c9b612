package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/lambdacontext"

	"log/slog"

	"smsverify/core/dypnstest"
	"smsverify/function"
	"smsverify/internal/envdefaults"
)

const (
	testPhone     = "13800000000"
	testRequestID = "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"
	testAPIKey    = "test-api-key-0123456789"
)

// testEnv is a handler on a real function.Service that talks to an
// in-process dypnstest fake, with the service's JSON log captured.
type testEnv struct {
	h    *handler
	fake *dypnstest.Server
	logs *bytes.Buffer
}

func newTestEnv(t *testing.T) *testEnv {
	t.Helper()
	return newTestEnvWith(t, dypnstest.Options{})
}

// newTestEnvWith is newTestEnv with a fake configured by o.
func newTestEnvWith(t *testing.T, o dypnstest.Options) *testEnv {
	t.Helper()
	fake := dypnstest.NewServer(o)
	t.Cleanup(fake.Close)
	creds := dypnstest.TestCredentials()
	var cfg function.Config
	if err := envdefaults.Fill(&cfg); err != nil {
		t.Fatal(err)
	}
	cfg.AccessKeyID, cfg.AccessKeySecret = creds.AccessKeyID, creds.AccessKeySecret
	cfg.Endpoint = fake.URL
	cfg.APIKeys = []string{testAPIKey}
	logs := &bytes.Buffer{}
	svc, err := function.New(cfg, function.Options{Logger: slog.New(slog.NewJSONHandler(logs, nil))})
	if err != nil {
		t.Fatalf("function.New: %v", err)
	}
	t.Cleanup(func() { _ = svc.Close() })
	return &testEnv{h: &handler{svc: svc}, fake: fake, logs: logs}
}

// lambdaCtx is a context like the one aws-lambda-go hands to the handler.
func lambdaCtx(t *testing.T) context.Context {
	return lambdacontext.NewContext(t.Context(), &lambdacontext.LambdaContext{AwsRequestID: testRequestID})
}

// accessLogs returns the service's access-log lines.
func (e *testEnv) accessLogs(t *testing.T) []map[string]any {
	t.Helper()
	var out []map[string]any
	for line := range strings.SplitSeq(strings.TrimSpace(e.logs.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line is not JSON: %q", line)
		}
		if m["msg"] == "access" {
			out = append(out, m)
		}
	}
	return out
}

// lastAccessLog is the only access-log line, failing when there is not
// exactly one.
func (e *testEnv) lastAccessLog(t *testing.T) map[string]any {
	t.Helper()
	l := e.accessLogs(t)
	if len(l) != 1 {
		t.Fatalf("got %d access-log lines, want 1:\n%s", len(l), e.logs)
	}
	return l[0]
}

// fixture decodes testdata/name into a value of type T.
func fixture[T any](t testing.TB, name string) T {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return v
}

func mustJSON(t testing.TB, v any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
