package benchmarks

import (
	"context"
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
