package benchmarks

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"smsverify/core/dypnstest"
)

// TestClientsAgainstFake checks that core and the V3 SDK, configured as the
// benchmarks configure them, really send SendSmsVerifyCode to the loopback
// endpoint and that the fake, which verifies V3 signatures like Alibaba's
// gateway, accepts them: the benchmarks compare working clients.
// (The fake speaks only V3; the V1 SDK is checked by the canned upstream's
// answer, which needs its Action parameter.)
func TestClientsAgainstFake(t *testing.T) {
	srv := dypnstest.NewServer(dypnstest.Options{})
	defer srv.Close()

	cc, err := newCore(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cc.Send(context.Background(), coreRequest("13800000001")); err != nil {
		t.Fatalf("core: %v", err)
	}
	v3, err := newV3(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v3CallSend(v3, "13800000002"); err != nil {
		t.Fatalf("V3 SDK: %v", err)
	}
	for _, phone := range []string{"13800000001", "13800000002"} {
		if got := srv.Codes(phone); len(got) != 1 {
			t.Errorf("fake sent %d codes to %s, want 1", len(got), phone)
		}
	}
}

// TestV1AgainstCanned checks that the V1 SDK reaches the canned upstream
// (its Domain is set, so it resolves no endpoint) and gets an OK answer.
func TestV1AgainstCanned(t *testing.T) {
	up := upstream(t)
	before := up.counters(t)
	if err := senders(t, up.urls[0])["v1sdk"](0); err != nil {
		t.Fatal(err)
	}
	if after := up.counters(t); after.Conns == before.Conns {
		t.Error("the V1 SDK did not connect to the loopback upstream")
	}
}

// TestFunctionsAgainstFake checks that the three implementations of the
// function's contract answer POST /send with Alibaba's OK, talking to the
// fake that verifies signatures and runs Alibaba's rules.
func TestFunctionsAgainstFake(t *testing.T) {
	srv := dypnstest.NewServer(dypnstest.Options{})
	defer srv.Close()
	for _, k := range []string{"ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET", "DYPNS_ENDPOINT",
		"SMS_LIMIT_PER_IP", "SMS_LIMIT_GLOBAL", "SMS_CODE_LENGTH", "SMS_VALID_TIME"} {
		t.Setenv(k, "") // restored after the test; smsverifyHandler sets them
	}
	fn, err := smsverifyHandler(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	sdk, err := sdkHandler(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	handlers := map[string]http.Handler{"smsverify": fn, "v3sdk": sdk, "floor": floorHandler(srv.URL)}
	phones := map[string]string{"smsverify": "13800000011", "v3sdk": "13800000012", "floor": "13800000013"}
	for name, h := range handlers {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, "/send", strings.NewReader(`{"PhoneNumber":"`+phones[name]+`"}`))
		req.Header.Set("Content-Type", "application/json")
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"Code":"OK"`) {
			t.Errorf("%s: %d %s", name, rec.Code, rec.Body)
		}
		if got := srv.Codes(phones[name]); len(got) != 1 {
			t.Errorf("%s: fake sent %d codes, want 1", name, len(got))
		}
	}
}
