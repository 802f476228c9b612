package dypnstest_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"smsverify/core/dypnstest"
)

// TestReports: each send schedules one receipt after Delay, pushed to the
// URL as Alibaba's batch push is: DELIVERED, or FAILED for FailNumbers.
func TestReports(t *testing.T) {
	var (
		mu       sync.Mutex
		pushes   [][]dypnstest.Receipt
		pending  []func()
		delays   []time.Duration
		outcomes []error
	)
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var rs []dypnstest.Receipt
		if r.Method != http.MethodPost || r.URL.Query().Get("token") != "t" || r.Header.Get("Content-Type") != "application/json" || json.Unmarshal(b, &rs) != nil {
			http.Error(w, "bad push", http.StatusBadRequest)
			return
		}
		mu.Lock()
		pushes = append(pushes, rs)
		mu.Unlock()
		_, _ = w.Write([]byte(`{"code":0,"msg":"接收成功"}`))
	}))
	t.Cleanup(sink.Close)
	fx := newFixture(t, dypnstest.Options{Reports: &dypnstest.Reports{
		URL: sink.URL + "/reports?token=t", Delay: 2 * time.Second, FailNumbers: []string{"13900000001"},
		AfterFunc: func(d time.Duration, f func()) {
			mu.Lock()
			defer mu.Unlock()
			delays, pending = append(delays, d), append(pending, f)
		},
		OnPush: func(_ dypnstest.Receipt, err error) {
			mu.Lock()
			defer mu.Unlock()
			outcomes = append(outcomes, err)
		},
	}})
	ctx := context.Background()
	r1 := sendReq("13800000001")
	r1.OutID = "o-1"
	a, err := fx.client.Send(ctx, r1)
	if err != nil {
		t.Fatal(err)
	}
	b, err := fx.client.Send(ctx, sendReq("13900000001"))
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	if len(pending) != 2 || len(pushes) != 0 || delays[0] != 2*time.Second {
		t.Fatalf("after two sends: %d scheduled (delays %v), %d pushed; want 2 scheduled after 2s, none pushed", len(pending), delays, len(pushes))
	}
	run := pending
	mu.Unlock()
	fx.clock.Add(2 * time.Second)
	for _, f := range run {
		f()
	}
	mu.Lock()
	defer mu.Unlock()
	if len(pushes) != 2 || outcomes[0] != nil || outcomes[1] != nil {
		t.Fatalf("pushes %v, outcomes %v", pushes, outcomes)
	}
	sent := start.In(time.FixedZone("CST", 8*3600)).Format(time.DateTime)
	reported := start.Add(2 * time.Second).In(time.FixedZone("CST", 8*3600)).Format(time.DateTime)
	want := []dypnstest.Receipt{
		{PhoneNumber: "13800000001", SendTime: sent, ReportTime: reported, Success: true, ErrCode: "DELIVERED", ErrMsg: "用户接收成功", SmsSize: "1", BizID: a.Model.BizID, OutID: "o-1"},
		{PhoneNumber: "13900000001", SendTime: sent, ReportTime: reported, Success: false, ErrCode: dypnstest.FailCode, ErrMsg: "用户停机或关机", SmsSize: "1", BizID: b.Model.BizID},
	}
	for i, w := range want {
		if len(pushes[i]) != 1 || pushes[i][0] != w {
			t.Errorf("push %d = %+v\nwant [%+v]", i, pushes[i], w)
		}
	}
}

// TestReportsRefusedPush: a push answered with anything but 200 is
// reported to OnPush as an error.
func TestReportsRefusedPush(t *testing.T) {
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	t.Cleanup(sink.Close)
	var got error
	done := make(chan struct{})
	fx := newFixture(t, dypnstest.Options{Reports: &dypnstest.Reports{
		URL:       sink.URL,
		AfterFunc: func(_ time.Duration, f func()) { f() },
		OnPush:    func(_ dypnstest.Receipt, err error) { got = err; close(done) },
	}})
	if _, err := fx.client.Send(context.Background(), sendReq("13800000001")); err != nil {
		t.Fatal(err)
	}
	<-done
	if got == nil {
		t.Fatal("a 503 push was not reported")
	}
}
