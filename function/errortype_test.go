package function

import (
	"context"
	"errors"
	"testing"

	"smsverify/core/dypnstest"
)

// TestErrorType drives each kind of transient failure through Invoke and
// checks the error type a platform reports for it.
func TestErrorType(t *testing.T) {
	const send = `{"Action":"SendSmsVerifyCode","PhoneNumber":"13800000000"}`
	const check = `{"Action":"CheckSmsVerifyCode","PhoneNumber":"13800000000","VerifyCode":"1234"}`
	redisDown := func(t *testing.T) func(*Config, *Options) {
		port, err := freePort()
		if err != nil {
			t.Fatal(err)
		}
		return func(c *Config, _ *Options) { c.LimitStore, c.RedisURL = "redis", "redis://127.0.0.1:"+port+"/0" }
	}
	unreachable := func(t *testing.T) func(*Config, *Options) {
		port, err := freePort()
		if err != nil {
			t.Fatal(err)
		}
		return func(c *Config, _ *Options) { c.Endpoint = "http://127.0.0.1:" + port }
	}
	tests := []struct {
		name    string
		payload string
		fault   dypnstest.Fault
		mutate  func(*testing.T) func(*Config, *Options)
		want    string
	}{
		{"503 ServiceUnavailable", send, dypnstest.FaultUnavailable, nil, ErrorTypeUpstreamUnavailable},
		{"500 InternalError", check, dypnstest.FaultInternal, nil, ErrorTypeUpstreamUnavailable},
		{"no answer in time", send, dypnstest.FaultHang, nil, ErrorTypeUpstreamTimeout},
		{"connection refused", send, 0, unreachable, ErrorTypeUpstreamUnavailable},
		{"limit store down", check, 0, redisDown, ErrorTypeLimitStoreUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, func(c *Config, o *Options) {
				timeoutFor(c, tt.fault)
				if tt.mutate != nil {
					tt.mutate(t)(c, o)
				}
			})
			if tt.fault != 0 {
				e.fake.FailNext(1, tt.fault)
			}
			out, err := e.svc.Invoke(context.Background(), []byte(tt.payload))
			if err == nil {
				t.Fatalf("Invoke answered %s, want a transient error", out)
			}
			if got := ErrorType(err); got != tt.want {
				t.Errorf("ErrorType(%v) = %q, want %q", err, got, tt.want)
			}
		})
	}

	for _, err := range []error{nil, errors.New("lambda: malformed event")} {
		if got := ErrorType(err); got != "" {
			t.Errorf("ErrorType(%v) = %q, want none", err, got)
		}
	}
}
