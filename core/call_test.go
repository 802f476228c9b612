package core_test

import (
	"context"
	"errors"
	"net"
	"testing"

	"smsverify/core"
	"smsverify/core/dypnstest"
)

// checkAnswer is CheckSmsVerifyCode's answer, decoded by a Call user.
type checkAnswer struct {
	Code      string
	RequestID string `json:"RequestId"`
	Success   bool
	Model     struct{ VerifyResult string }
}

func fakeClient(t *testing.T, url string, creds core.Credentials) *core.Client {
	t.Helper()
	c, err := core.NewClient(core.Options{Endpoint: url, Credentials: core.StaticCredentials(creds)})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestCallAgainstFake: Call's requests pass the fake's V3 signature check,
// with plain and with STS credentials, and the answer is decoded into out.
func TestCallAgainstFake(t *testing.T) {
	sts := core.Credentials{AccessKeyID: "STS.key", AccessKeySecret: "sts-secret", SecurityToken: "token=="}
	srv := dypnstest.NewServer(dypnstest.Options{Credentials: []core.Credentials{dypnstest.TestCredentials(), sts}})
	defer srv.Close()
	for _, creds := range []core.Credentials{dypnstest.TestCredentials(), sts} {
		c := fakeClient(t, srv.URL, creds)
		var out checkAnswer
		err := c.Call(context.Background(), core.APIVersion, core.ActionCheck,
			map[string]string{"PhoneNumber": "13800000000", "VerifyCode": "1234", "SchemeName": "默认 方案*+"}, &out)
		if err != nil {
			t.Fatalf("%s: %v", creds.AccessKeyID, err)
		}
		if out.Code != "OK" || !out.Success || out.Model.VerifyResult != "UNKNOWN" || out.RequestID == "" {
			t.Errorf("%s: out = %+v", creds.AccessKeyID, out)
		}
	}
	if n := srv.CheckCount(); n != 2 {
		t.Errorf("fake answered %d checks, want 2", n)
	}
}

// TestCallErrors: what Call returns for gateway rejections, garbage and bad
// arguments, and whether NeverReached says the request never reached the
// business logic.
func TestCallErrors(t *testing.T) {
	srv := dypnstest.NewServer(dypnstest.Options{})
	defer srv.Close()
	good := fakeClient(t, srv.URL, dypnstest.TestCredentials())
	wrongSecret := fakeClient(t, srv.URL, core.Credentials{AccessKeyID: dypnstest.TestCredentials().AccessKeyID, AccessKeySecret: "wrong"})
	unknownKey := fakeClient(t, srv.URL, core.Credentials{AccessKeyID: "LTAInobody", AccessKeySecret: "x"})
	check := map[string]string{"PhoneNumber": "13800000000", "VerifyCode": "1234"}
	for _, tc := range []struct {
		name         string
		c            *core.Client
		version      string
		action       string
		fault        dypnstest.Fault
		code         string
		kind         core.Kind
		neverReached bool
		requests     int64 // how many requests reached the fake
	}{
		{"unknown action", good, core.APIVersion, "NoSuchAction", 0, "InvalidAction.NotFound", core.KindUpstream, true, 1},
		{"wrong version", good, "2000-01-01", core.ActionCheck, 0, "InvalidVersion", core.KindUpstream, true, 1},
		{"wrong secret", wrongSecret, core.APIVersion, core.ActionCheck, 0, "SignatureDoesNotMatch", core.KindMisconfigured, true, 1},
		{"unknown key", unknownKey, core.APIVersion, core.ActionCheck, 0, "InvalidAccessKeyId.NotFound", core.KindMisconfigured, true, 1},
		{"2xx not JSON", good, core.APIVersion, core.ActionCheck, dypnstest.FaultMalformed, core.CodeBadResponse, core.KindUpstream, false, 1},
		{"2xx empty", good, core.APIVersion, core.ActionCheck, dypnstest.FaultEmpty, core.CodeBadResponse, core.KindUpstream, false, 1},
		{"503", good, core.APIVersion, core.ActionCheck, dypnstest.FaultUnavailable, "ServiceUnavailable", core.KindUnavailable, false, 1},
		{"empty action", good, core.APIVersion, "", 0, "", core.KindBadInput, true, 0},
		{"action with a space", good, core.APIVersion, "Send Sms", 0, "", core.KindBadInput, true, 0},
		{"empty version", good, "", core.ActionCheck, 0, "", core.KindBadInput, true, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := srv.Requests()
			if tc.fault != 0 {
				srv.FailNext(1, tc.fault)
			}
			var out checkAnswer
			err := tc.c.Call(context.Background(), tc.version, tc.action, check, &out)
			if err == nil {
				t.Fatalf("no error; out = %+v", out)
			}
			var e *core.Error
			if tc.code != "" && (!errors.As(err, &e) || e.Code != tc.code) {
				t.Errorf("err = %v, want code %s", err, tc.code)
			}
			if k := core.KindOf(err); k != tc.kind {
				t.Errorf("kind %v, want %v (%v)", k, tc.kind, err)
			}
			if core.IsTransient(err) != (tc.fault == dypnstest.FaultUnavailable) {
				t.Errorf("IsTransient = %v (%v)", core.IsTransient(err), err)
			}
			if got := core.NeverReached(err); got != tc.neverReached {
				t.Errorf("NeverReached = %v, want %v (%v)", got, tc.neverReached, err)
			}
			if n := srv.Requests() - before; n != tc.requests {
				t.Errorf("%d requests reached the fake, want %d", n, tc.requests)
			}
		})
	}
	// out must be a non-nil pointer; nothing is sent otherwise.
	before := srv.Requests()
	var out checkAnswer
	if err := good.Call(context.Background(), core.APIVersion, core.ActionCheck, check, out); err == nil {
		t.Error("Call accepted a non-pointer out")
	}
	if err := good.Call(context.Background(), core.APIVersion, core.ActionCheck, check, (*checkAnswer)(nil)); err == nil {
		t.Error("Call accepted a nil pointer out")
	}
	if srv.Requests() != before {
		t.Error("a Call with a bad out reached the fake")
	}
	// A nil out discards a JSON answer.
	if err := good.Call(context.Background(), core.APIVersion, core.ActionCheck, check, nil); err != nil {
		t.Errorf("nil out: %v", err)
	}
}

// TestNeverReachedEndToEnd: errors from real calls. A refused connection,
// missing credentials and a gateway rejection never reached Alibaba; a
// business refusal and a timeout may have.
func TestNeverReachedEndToEnd(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := "http://" + ln.Addr().String()
	ln.Close()
	c := fakeClient(t, refused, dypnstest.TestCredentials())
	if _, err := c.Send(context.Background(), benchRequest("13800000000")); !core.NeverReached(err) {
		t.Errorf("refused connection: NeverReached false for %v", err)
	}

	srv := dypnstest.NewServer(dypnstest.Options{})
	defer srv.Close()
	noCreds, err := core.NewClient(core.Options{Endpoint: srv.URL,
		Credentials: core.CredentialsFunc(func(context.Context) (core.Credentials, error) { return core.Credentials{}, core.ErrNoCredentials })})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := noCreds.Send(context.Background(), benchRequest("13800000000")); !core.NeverReached(err) {
		t.Errorf("no credentials: NeverReached false for %v", err)
	}
	c = fakeClient(t, srv.URL, dypnstest.TestCredentials())
	if _, err := c.Send(context.Background(), benchRequest("13800000000")); err != nil {
		t.Fatal(err)
	}
	_, err = c.Send(context.Background(), benchRequest("13800000000"))
	if core.KindOf(err) != core.KindRateLimited || core.NeverReached(err) {
		t.Errorf("FREQUENCY_FAIL: kind %v, NeverReached %v (%v)", core.KindOf(err), core.NeverReached(err), err)
	}
}
