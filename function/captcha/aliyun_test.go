package captcha_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"smsverify/core"
	"smsverify/core/dypnstest"
	"smsverify/function/captcha"
)

func newAliyun(t *testing.T, endpoint string, creds core.Credentials, timeout time.Duration) *captcha.Aliyun {
	t.Helper()
	c, err := core.NewClient(core.Options{Endpoint: endpoint, Credentials: core.StaticCredentials(creds), Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	v, err := captcha.NewAliyun(c, "scene-1")
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestAliyun runs the provider against dypnstest, which checks the V3
// signature, the action and version, and the parameters.
func TestAliyun(t *testing.T) {
	fake := dypnstest.NewServer(dypnstest.Options{})
	defer fake.Close()
	// A generous timeout: only the hang below may time out, and it has its
	// own verifier with a short one (the fake never answers it, so the
	// timeout is certain however loaded the machine is).
	v := newAliyun(t, fake.URL, dypnstest.TestCredentials(), time.Minute)
	ctx := context.Background()

	res, err := v.Verify(ctx, "pass-1", "203.0.113.7")
	if err != nil || res.Code != "T001" {
		t.Fatalf("pass: %+v %v", res, err)
	}
	if last := fake.LastCaptcha(); last.SceneID != "scene-1" || last.VerifyParam != "pass-1" {
		t.Errorf("the fake saw %+v", last)
	}
	// A token of the documented maximum, 4 KiB, travels in the signed body:
	// the request's URL stays short.
	long := "pass-" + strings.Repeat("%+/=", 1024)[:4096-len("pass-")]
	if res, err := v.Verify(ctx, long, ""); err != nil || res.Code != "T001" {
		t.Fatalf("4 KiB token: %+v %v", res, err)
	}
	if last := fake.LastCaptcha(); last.VerifyParam != long || last.URLLength > len("/?") || last.BodyLength < 4096 {
		t.Errorf("4 KiB token: the fake saw a %d-byte token, a %d-byte URL and a %d-byte body",
			len(last.VerifyParam), last.URLLength, last.BodyLength)
	}
	_, err = v.Verify(ctx, "pass-1", "")
	wantFail(t, err, captcha.KindRefused, "F008")
	_, err = v.Verify(ctx, "bot-token", "")
	wantFail(t, err, captcha.KindRefused, "F001")
	if strings.Contains(err.Error(), "bot-token") {
		t.Errorf("error %q quotes the token", err)
	}
	_, err = v.Verify(ctx, "F014-expired", "")
	wantFail(t, err, captcha.KindRefused, "F014")

	fake.FailNext(1, dypnstest.FaultUnavailable)
	_, err = v.Verify(ctx, "pass-2", "")
	wantFail(t, err, captcha.KindUnavailable, "ServiceUnavailable")
	fake.FailNext(1, dypnstest.FaultInternal)
	_, err = v.Verify(ctx, "pass-3", "")
	wantFail(t, err, captcha.KindUnavailable, "InternalError")
	fake.FailNext(1, dypnstest.FaultMalformed)
	_, err = v.Verify(ctx, "pass-4", "")
	wantFail(t, err, captcha.KindUnavailable, core.CodeBadResponse)
	hung := newAliyun(t, fake.URL, dypnstest.TestCredentials(), 200*time.Millisecond)
	fake.FailNext(1, dypnstest.FaultHang)
	_, err = hung.Verify(ctx, "pass-5", "")
	wantFail(t, err, captcha.KindUnavailable, "timeout")

	// The same credentials sign it: a wrong secret or an unknown key is a
	// misconfiguration, not a refused token.
	bad := newAliyun(t, fake.URL, core.Credentials{AccessKeyID: dypnstest.TestCredentials().AccessKeyID, AccessKeySecret: "wrong"}, time.Minute)
	_, err = bad.Verify(ctx, "pass-6", "")
	wantFail(t, err, captcha.KindMisconfigured, "SignatureDoesNotMatch")
	bad = newAliyun(t, fake.URL, core.Credentials{AccessKeyID: "LTAI5tNobody", AccessKeySecret: "x"}, time.Minute)
	_, err = bad.Verify(ctx, "pass-7", "")
	wantFail(t, err, captcha.KindMisconfigured, "InvalidAccessKeyId.NotFound")
	if fake.SendCount() != 0 {
		t.Error("a captcha sent an SMS")
	}
}

// TestAliyunAnswers covers answers the fake does not give: a business
// failure in a 200, and 200s without the fields a verdict needs.
func TestAliyunAnswers(t *testing.T) {
	var body string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, body)
	}))
	defer srv.Close()
	v := newAliyun(t, srv.URL, dypnstest.TestCredentials(), time.Minute)
	for _, tc := range []struct {
		body   string
		kind   captcha.Kind
		reason string
	}{
		{`{"RequestId":"r","Code":"Forbidden.RAM","Message":"no permission","Success":false}`, captcha.KindMisconfigured, "Forbidden.RAM"},
		{`{"RequestId":"r","Code":"ServiceUnavailable","Success":false}`, captcha.KindUnavailable, "ServiceUnavailable"},
		{`{"RequestId":"r","Code":"Success","Success":true}`, captcha.KindUnavailable, core.CodeBadResponse},
		{`{"RequestId":"r","Code":"Success","Success":true,"Result":{"VerifyCode":"T001"}}`, captcha.KindUnavailable, core.CodeBadResponse},
		{`{"RequestId":"r","Code":"Success"}`, captcha.KindUnavailable, core.CodeBadResponse},
		{`{"RequestId":"r","Code":"Success","Success":true,"Result":{"VerifyResult":false}}`, captcha.KindRefused, "not-verified"},
		// VerifyResult decides, not the code's letter.
		{`{"RequestId":"r","Code":"Success","Success":true,"Result":{"VerifyResult":false,"VerifyCode":"T001"}}`, captcha.KindRefused, "T001"},
	} {
		body = tc.body
		_, err := v.Verify(context.Background(), "pass", "")
		wantFail(t, err, tc.kind, tc.reason)
	}
	body = `{"RequestId":"r","Code":"Success","Success":true,"Result":{"VerifyResult":true,"VerifyCode":"T005"}}`
	if res, err := v.Verify(context.Background(), "pass", ""); err != nil || res.Code != "T005" {
		t.Errorf("T005 (test mode pass): %+v %v", res, err)
	}
}

func TestNewAliyunChecks(t *testing.T) {
	if _, err := captcha.NewAliyun(nil, "s"); err == nil {
		t.Error("nil client accepted")
	}
	c, _ := core.NewClient(core.Options{Credentials: core.StaticCredentials{}})
	if _, err := captcha.NewAliyun(c, ""); err == nil {
		t.Error("empty scene accepted")
	}
}
