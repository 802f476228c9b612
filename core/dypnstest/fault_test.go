package dypnstest_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"smsverify/core"
	"smsverify/core/dypnstest"
)

// faultCases are every fault and the error core must turn it into.
var faultCases = []struct {
	fault     dypnstest.Fault
	kind      core.Kind
	code      string
	status    int
	transient bool
}{
	{dypnstest.FaultUnavailable, core.KindUnavailable, "ServiceUnavailable", 503, true},
	{dypnstest.FaultInternal, core.KindUpstream, "InternalError", 500, true},
	{dypnstest.FaultMalformed, core.KindUpstream, core.CodeBadResponse, 200, false},
	{dypnstest.FaultEmpty, core.KindUpstream, core.CodeBadResponse, 200, false},
	{dypnstest.FaultHang, core.KindTimeout, core.CodeTimeout, 0, true},
}

// giveUp is how long a call waits on a fake that never answers (FaultHang,
// latency): a real deadline, used only where the fake hangs.
const giveUp = 200 * time.Millisecond

// faultContext is the context for a call under fault: a deadline only when
// the fake will never answer, none otherwise.
func faultContext(t *testing.T, fault dypnstest.Fault) context.Context {
	if fault != dypnstest.FaultHang {
		return context.Background()
	}
	ctx, cancel := context.WithTimeout(context.Background(), giveUp)
	t.Cleanup(cancel)
	return ctx
}

func TestFaults(t *testing.T) {
	for _, tc := range faultCases {
		t.Run(tc.fault.String(), func(t *testing.T) {
			fx := newFixture(t, dypnstest.Options{})
			fx.srv.FailNext(1, tc.fault)
			_, err := fx.client.Send(faultContext(t, tc.fault), sendReq("13800000030"))
			var e *core.Error
			if !errors.As(err, &e) || e.Code != tc.code || e.StatusCode != tc.status {
				t.Fatalf("err = %v, want %s with HTTP %d", err, tc.code, tc.status)
			}
			if k := core.KindOf(err); k != tc.kind {
				t.Errorf("KindOf = %v, want %v", k, tc.kind)
			}
			if got := core.IsTransient(err); got != tc.transient {
				t.Errorf("IsTransient = %v, want %v", got, tc.transient)
			}
			if fx.srv.SendCount() != 0 {
				t.Errorf("a faulted request was sent")
			}
			fx.send(t, sendReq("13800000030")) // the fault is used up
		})
	}
}

// TestCheckNeverReportsWrongCodeOnFault: a failure must be an error, never
// an answer with Passed() false.
func TestCheckNeverReportsWrongCodeOnFault(t *testing.T) {
	for _, tc := range faultCases {
		t.Run(tc.fault.String(), func(t *testing.T) {
			fx := newFixture(t, dypnstest.Options{})
			code := fx.send(t, sendReq("13800000031"))
			cr := &core.CheckRequest{PhoneNumber: "13800000031", VerifyCode: code}
			fx.srv.FailNext(1, tc.fault)
			resp, err := fx.client.Check(faultContext(t, tc.fault), cr)
			if err == nil || resp != nil {
				t.Fatalf("Check under %v = %+v, %v; want an error and no answer", tc.fault, resp, err)
			}
			if res := fx.check(t, cr); res != "PASS" {
				t.Errorf("code after the fault = %s, want PASS (a fault must not use it up)", res)
			}
		})
	}
}

func TestFailNextQueue(t *testing.T) {
	fx := newFixture(t, dypnstest.Options{})
	fx.srv.FailNext(2, dypnstest.FaultEmpty)
	fx.srv.FailNext(1, dypnstest.FaultInternal)
	cr := &core.CheckRequest{PhoneNumber: "13800000032", VerifyCode: "1234"}
	for i, want := range []string{core.CodeBadResponse, core.CodeBadResponse, "InternalError"} {
		_, err := fx.client.Check(context.Background(), cr)
		var e *core.Error
		if !errors.As(err, &e) || e.Code != want {
			t.Fatalf("request %d: %v, want %s", i+1, err, want)
		}
	}
	fx.check(t, cr)
	fx.srv.FailNext(5, dypnstest.FaultUnavailable)
	fx.srv.FailNext(0, dypnstest.FaultUnavailable) // clears
	fx.check(t, cr)
}

func TestFailNextUnknownKindPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("no panic")
		}
	}()
	dypnstest.NewHandler(dypnstest.Options{}).FailNext(1, dypnstest.Fault(99))
}

func TestLatency(t *testing.T) {
	fx := newFixture(t, dypnstest.Options{})
	fx.srv.SetLatency(time.Hour)
	ctx, cancel := context.WithTimeout(context.Background(), giveUp)
	defer cancel()
	_, err := fx.client.Check(ctx, &core.CheckRequest{PhoneNumber: "13800000033", VerifyCode: "1234"})
	if core.KindOf(err) != core.KindTimeout || !core.IsTransient(err) {
		t.Fatalf("err = %v, want a timeout", err)
	}
	fx.srv.SetLatency(time.Millisecond)
	fx.check(t, &core.CheckRequest{PhoneNumber: "13800000033", VerifyCode: "1234"})
	if n := fx.srv.Requests(); n != 2 {
		t.Errorf("Requests = %d, want 2", n)
	}
}

// serveAsync runs ServeHTTP in a goroutine and returns a channel that yields
// the panic value (nil if none) when it returns.
func serveAsync(f *dypnstest.Fake, w http.ResponseWriter, r *http.Request) <-chan any {
	done := make(chan any, 1)
	go func() {
		defer func() { done <- recover() }()
		f.ServeHTTP(w, r)
	}()
	return done
}

// waitDone fails the test if the handler does not return; the 10 s bound
// only stops a hung test, it asserts nothing about speed.
func waitDone(t *testing.T, done <-chan any) any {
	t.Helper()
	select {
	case v := <-done:
		return v
	case <-time.After(10 * time.Second):
		t.Fatal("handler did not return")
		return nil
	}
}

func TestWaitsStopWhenClientGoesAway(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(*dypnstest.Fake)
	}{
		{"latency", func(f *dypnstest.Fake) { f.SetLatency(time.Hour) }},
		{"hang", func(f *dypnstest.Fake) { f.FailNext(1, dypnstest.FaultHang) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := dypnstest.NewHandler(dypnstest.Options{})
			tc.setup(f)
			ctx, cancel := context.WithCancel(context.Background())
			rec := httptest.NewRecorder()
			done := serveAsync(f, rec, httptest.NewRequest(http.MethodPost, "/", nil).WithContext(ctx))
			cancel()
			if v := waitDone(t, done); v != nil {
				t.Fatalf("panic %v", v)
			}
			if rec.Body.Len() != 0 || rec.Header().Get("Content-Type") != "" {
				t.Errorf("answered a client that went away: %q", rec.Body)
			}
		})
	}
}

func TestCloseReleasesWaits(t *testing.T) {
	t.Run("hang aborts", func(t *testing.T) {
		f := dypnstest.NewHandler(dypnstest.Options{})
		f.FailNext(1, dypnstest.FaultHang)
		done := serveAsync(f, httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "/", nil))
		f.Close()
		if v := waitDone(t, done); v != http.ErrAbortHandler {
			t.Fatalf("panic value %v, want http.ErrAbortHandler", v)
		}
	})
	t.Run("latency answers", func(t *testing.T) {
		f := dypnstest.NewHandler(dypnstest.Options{})
		f.SetLatency(time.Hour)
		rec := httptest.NewRecorder()
		done := serveAsync(f, rec, httptest.NewRequest(http.MethodPost, "/", nil))
		f.Close()
		if v := waitDone(t, done); v != nil {
			t.Fatalf("panic %v", v)
		}
		if rec.Code != http.StatusNotFound || !strings.Contains(rec.Body.String(), "InvalidAction.NotFound") {
			t.Errorf("answer after Close: %d %s", rec.Code, rec.Body)
		}
	})
	t.Run("server close with a hanging request", func(t *testing.T) {
		srv := dypnstest.NewServer(dypnstest.Options{})
		srv.FailNext(1, dypnstest.FaultHang)
		c := newClient(t, srv.URL, dypnstest.TestCredentials(), nil, time.Hour)
		errc := make(chan error, 1)
		go func() {
			_, err := c.Check(context.Background(), &core.CheckRequest{PhoneNumber: "13800000034", VerifyCode: "1234"})
			errc <- err
		}()
		// Wait until the request reached the fake, within a bound that only
		// stops a broken test (it asserts nothing about speed).
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		bound := time.After(10 * time.Second)
		for srv.Requests() == 0 {
			select {
			case <-tick.C:
			case <-bound:
				t.Fatal("the request never reached the fake")
			}
		}
		srv.Close()
		select {
		case err := <-errc:
			if err == nil || core.KindOf(err) != core.KindUpstream {
				t.Errorf("err = %v, want a transport error", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("client still waiting after Close")
		}
	})
}
