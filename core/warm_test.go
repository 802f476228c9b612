package core_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"smsverify/core"
	"smsverify/core/dypnstest"
)

// TestWarm: Warm opens a TLS connection in the Client's own pool, without
// calling an action, and the first Send reuses it instead of dialing.
func TestWarm(t *testing.T) {
	fake := dypnstest.NewHandler(dypnstest.Options{})
	defer fake.Close()
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(fake)
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.StartTLS()
	defer srv.Close()
	c, err := core.NewClient(core.Options{Endpoint: srv.URL, HTTPClient: srv.Client(),
		Credentials: core.StaticCredentials(dypnstest.TestCredentials())})
	if err != nil {
		t.Fatal(err)
	}

	if err := c.Warm(t.Context()); err != nil {
		t.Fatalf("Warm: %v", err)
	}
	if n := conns.Load(); n != 1 {
		t.Fatalf("Warm opened %d connections, want 1", n)
	}
	if n := fake.SendCount() + fake.CheckCount(); n != 0 {
		t.Fatalf("Warm called %d actions, want none", n)
	}
	if _, err := c.Send(t.Context(), &core.SendRequest{PhoneNumber: "13800000000", SignName: "速通互联验证码",
		TemplateCode: "100001", TemplateParam: `{"code":"##code##","min":"5"}`}); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("Send after Warm: %d connections in all, want 1 (the warm one reused)", n)
	}
}

// TestWarmUnreachable: an endpoint that refuses connections is an error,
// not a hang or a panic, and a canceled context ends Warm at once.
func TestWarmUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close() // nothing listens there any more
	c, err := core.NewClient(core.Options{Endpoint: "https://" + addr, Credentials: core.StaticCredentials(dypnstest.TestCredentials())})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Warm(t.Context()); err == nil {
		t.Error("Warm of a closed port: no error")
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := c.Warm(ctx); err == nil {
		t.Error("Warm with a canceled context: no error")
	}
}
