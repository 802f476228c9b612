package dypnstest_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"smsverify/core"
	"smsverify/core/dypnstest"
)

var (
	upperUUID = regexp.MustCompile(`^[0-9A-F]{8}-[0-9A-F]{4}-4[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}$`)
	lowerUUID = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	bizID     = regexp.MustCompile(`^[0-9]{18,}\^0$`)
	digits4   = regexp.MustCompile(`^[0-9]{4}$`)
)

func TestRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name  string
		creds core.Credentials
	}{
		{"plain key", core.Credentials{AccessKeyID: "LTAI5tPlain", AccessKeySecret: "plain-secret"}},
		{"STS", core.Credentials{AccessKeyID: "STS.NTemp", AccessKeySecret: "sts-secret", SecurityToken: "CAIS-token"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fx := newFixture(t, dypnstest.Options{Credentials: []core.Credentials{tc.creds}})
			ctx := context.Background()
			r := sendReq("13800000001")
			r.OutID = "order-7"
			sent, err := fx.client.Send(ctx, r)
			if err != nil {
				t.Fatal(err)
			}
			if sent.Code != "OK" || sent.Message != "成功" || !sent.Success {
				t.Errorf("send answer = %+v", sent)
			}
			if !upperUUID.MatchString(sent.RequestID) || !lowerUUID.MatchString(sent.Model.RequestID) {
				t.Errorf("request ids %q, %q", sent.RequestID, sent.Model.RequestID)
			}
			if !bizID.MatchString(sent.Model.BizID) || sent.Model.OutID != "order-7" {
				t.Errorf("model = %+v", sent.Model)
			}
			if !digits4.MatchString(sent.Model.VerifyCode) {
				t.Errorf("default code %q, want 4 digits", sent.Model.VerifyCode)
			}

			cr := &core.CheckRequest{PhoneNumber: "13800000001", VerifyCode: sent.Model.VerifyCode, OutID: "chk-1"}
			got, err := fx.client.Check(ctx, cr)
			if err != nil {
				t.Fatal(err)
			}
			if !got.Passed() || got.Code != "OK" || got.Model.OutID != "chk-1" || !upperUUID.MatchString(got.RequestID) {
				t.Errorf("first check = %+v, want PASS", got)
			}
			if res := fx.check(t, cr); res != "UNKNOWN" {
				t.Errorf("second check = %s, want UNKNOWN (a PASS uses the code up)", res)
			}
		})
	}
}

func TestReturnVerifyCode(t *testing.T) {
	fx := newFixture(t, dypnstest.Options{})
	r := sendReq("13800000002")
	r.ReturnVerifyCode = nil
	resp, err := fx.client.Send(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Model.VerifyCode != "" {
		t.Errorf("VerifyCode returned without ReturnVerifyCode")
	}
	codes := fx.srv.Codes("13800000002")
	if len(codes) != 1 || !codes[0].Verifiable || codes[0].BizID != resp.Model.BizID {
		t.Fatalf("Codes = %+v", codes)
	}
	if res := fx.check(t, &core.CheckRequest{PhoneNumber: "13800000002", VerifyCode: codes[0].VerifyCode}); res != "PASS" {
		t.Errorf("check with the code from Codes = %s", res)
	}
}

// wrongCode returns a code of the same shape that differs from code.
func wrongCode(code string) string {
	if code[0] == '0' {
		return "1" + code[1:]
	}
	return "0" + code[1:]
}

func TestWrongCodeDoesNotUseUp(t *testing.T) {
	fx := newFixture(t, dypnstest.Options{})
	code := fx.send(t, sendReq("13800000003"))
	if res := fx.check(t, &core.CheckRequest{PhoneNumber: "13800000003", VerifyCode: wrongCode(code)}); res != "UNKNOWN" {
		t.Errorf("wrong code = %s", res)
	}
	if res := fx.check(t, &core.CheckRequest{PhoneNumber: "13800000004", VerifyCode: code}); res != "UNKNOWN" {
		t.Errorf("right code, other number = %s", res)
	}
	if res := fx.check(t, &core.CheckRequest{PhoneNumber: "13800000003", VerifyCode: code}); res != "PASS" {
		t.Errorf("right code after a wrong one = %s", res)
	}
}

func TestSchemeMismatch(t *testing.T) {
	fx := newFixture(t, dypnstest.Options{})
	r := sendReq("13800000005")
	r.SchemeName = "登录方案"
	code := fx.send(t, r)
	for _, scheme := range []string{"", "other"} {
		if res := fx.check(t, &core.CheckRequest{PhoneNumber: "13800000005", VerifyCode: code, SchemeName: scheme}); res != "UNKNOWN" {
			t.Errorf("scheme %q: %s, want UNKNOWN", scheme, res)
		}
	}
	if res := fx.check(t, &core.CheckRequest{PhoneNumber: "13800000005", VerifyCode: code, SchemeName: "登录方案"}); res != "PASS" {
		t.Errorf("same scheme: %s", res)
	}
}

func TestDuplicatePolicy(t *testing.T) {
	for _, tc := range []struct {
		policy  *int64
		wantOld string
	}{
		{nil, "UNKNOWN"},
		{core.Int64(1), "UNKNOWN"},
		{core.Int64(2), "PASS"},
	} {
		name := "default"
		if tc.policy != nil {
			name = fmt.Sprint(*tc.policy)
		}
		t.Run(name, func(t *testing.T) {
			fx := newFixture(t, dypnstest.Options{Random: &seqReader{}})
			const phone = "13800000006"
			other := sendReq(phone)
			other.SchemeName = "other"
			otherCode := fx.send(t, other)
			r := sendReq(phone)
			r.DuplicatePolicy, r.Interval = tc.policy, core.Int64(0)
			oldCode := fx.send(t, r)
			newCode := fx.send(t, r)
			if oldCode == newCode {
				t.Fatalf("codes repeat: %s", oldCode)
			}
			if res := fx.check(t, &core.CheckRequest{PhoneNumber: phone, VerifyCode: oldCode}); res != tc.wantOld {
				t.Errorf("old code = %s, want %s", res, tc.wantOld)
			}
			if res := fx.check(t, &core.CheckRequest{PhoneNumber: phone, VerifyCode: newCode}); res != "PASS" {
				t.Errorf("new code = %s", res)
			}
			if res := fx.check(t, &core.CheckRequest{PhoneNumber: phone, VerifyCode: otherCode, SchemeName: "other"}); res != "PASS" {
				t.Errorf("code of another scheme = %s, want PASS (policies are per scheme)", res)
			}
		})
	}
}

func TestValidTime(t *testing.T) {
	for _, tc := range []struct {
		name      string
		validTime *int64
		after     time.Duration
		want      string
	}{
		{"default, just before", nil, 299 * time.Second, "PASS"},
		{"default, at expiry", nil, 300 * time.Second, "UNKNOWN"},
		{"60s, just before", core.Int64(60), 59 * time.Second, "PASS"},
		{"60s, after", core.Int64(60), 61 * time.Second, "UNKNOWN"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fx := newFixture(t, dypnstest.Options{})
			r := sendReq("13800000007")
			r.ValidTime = tc.validTime
			code := fx.send(t, r)
			fx.clock.Add(tc.after)
			if res := fx.check(t, &core.CheckRequest{PhoneNumber: "13800000007", VerifyCode: code}); res != tc.want {
				t.Errorf("check after %v = %s, want %s", tc.after, res, tc.want)
			}
		})
	}
}

func TestInterval(t *testing.T) {
	for _, tc := range []struct {
		name     string
		live     bool
		interval *int64
		wantCode string
		wantWait time.Duration
	}{
		{"default", false, nil, "FREQUENCY_FAIL", 60 * time.Second},
		{"120s", false, core.Int64(120), "FREQUENCY_FAIL", 120 * time.Second},
		{"live code", true, nil, "biz.FREQUENCY", 60 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fx := newFixture(t, dypnstest.Options{LiveFrequencyCode: tc.live})
			r := sendReq("13800000008")
			r.Interval = tc.interval
			fx.send(t, r)
			fx.clock.Add(tc.wantWait - time.Second)
			_, err := fx.client.Send(context.Background(), r)
			var e *core.Error
			if !errors.As(err, &e) || e.Code != tc.wantCode || e.StatusCode != 200 || e.Message != "Check frequency fail." {
				t.Fatalf("resend too early: %v, want %s with HTTP 200", err, tc.wantCode)
			}
			if wait, ok := core.RateLimited(err); !ok || wait != tc.wantWait {
				t.Errorf("RateLimited = %v, %v; want %v, true", wait, ok, tc.wantWait)
			}
			other := sendReq("13800000008")
			other.SchemeName = "other"
			fx.send(t, other) // Interval is per scheme
			fx.clock.Add(time.Second)
			fx.send(t, r)
		})
	}
}

func TestDailyLimit(t *testing.T) {
	for _, tc := range []struct {
		name  string
		limit int
		want  int
	}{
		{"default 10", 0, 10},
		{"3", 3, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fx := newFixture(t, dypnstest.Options{DailyLimit: tc.limit})
			fx.clock.Add(13*time.Hour + 30*time.Minute) // 15:30 UTC, 23:30 in China
			r := sendReq("13800000009")
			r.Interval = core.Int64(0)
			for i := range tc.want {
				if _, err := fx.client.Send(context.Background(), r); err != nil {
					t.Fatalf("send %d: %v", i+1, err)
				}
			}
			_, err := fx.client.Send(context.Background(), r)
			var e *core.Error
			if !errors.As(err, &e) || e.Code != "BUSINESS_LIMIT_CONTROL" || e.Message != "The number has exceeded the limit for the day." {
				t.Fatalf("send over the cap: %v", err)
			}
			if wait, ok := core.RateLimited(err); !ok || wait != 30*time.Minute+time.Second {
				t.Errorf("RateLimited = %v, %v; want until China midnight", wait, ok)
			}
			fx.send(t, sendReq("13800000010")) // per number
			fx.clock.Add(29*time.Minute + 59*time.Second)
			if _, err := fx.client.Send(context.Background(), r); err == nil {
				t.Fatal("cap lifted before China midnight")
			}
			fx.clock.Add(time.Second)
			fx.send(t, r)
		})
	}
}

func TestBusinessErrorStatus(t *testing.T) {
	for _, status := range []int{0, 200, 400} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			fx := newFixture(t, dypnstest.Options{BusinessErrorStatus: status})
			fx.send(t, sendReq("13800000011"))
			_, err := fx.client.Send(context.Background(), sendReq("13800000011"))
			want := status
			if want == 0 {
				want = 200
			}
			var e *core.Error
			if !errors.As(err, &e) || e.StatusCode != want || e.Code != "FREQUENCY_FAIL" || core.KindOf(err) != core.KindRateLimited {
				t.Errorf("err = %v, want FREQUENCY_FAIL with HTTP %d", err, want)
			}
		})
	}
}

func TestLiteralCodeNeverCheckable(t *testing.T) {
	fx := newFixture(t, dypnstest.Options{})
	r := sendReq("13800000012")
	r.TemplateParam = `{"code":"123456","min":"5"}`
	if code := fx.send(t, r); code != "123456" {
		t.Errorf("returned code %q", code)
	}
	codes := fx.srv.Codes("13800000012")
	if len(codes) != 1 || codes[0].Verifiable || codes[0].VerifyCode != "123456" {
		t.Fatalf("Codes = %+v", codes)
	}
	if res := fx.check(t, &core.CheckRequest{PhoneNumber: "13800000012", VerifyCode: "123456"}); res != "UNKNOWN" {
		t.Errorf("literal code checked %s", res)
	}
}

func TestCodeTypes(t *testing.T) {
	const (
		digits = "0123456789"
		upper  = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		lower  = "abcdefghijklmnopqrstuvwxyz"
	)
	for _, tc := range []struct {
		codeType int64
		alphabet string
	}{
		{1, digits}, {2, upper}, {3, lower}, {4, upper + lower},
		{5, digits + upper}, {6, digits + lower}, {7, digits + upper + lower},
	} {
		t.Run(fmt.Sprint(tc.codeType), func(t *testing.T) {
			fx := newFixture(t, dypnstest.Options{Random: &seqReader{}})
			seen := map[rune]bool{}
			for i := range 16 { // 128 characters from sequential bytes cover every residue
				r := sendReq(fmt.Sprintf("139%08d", i))
				r.CodeType, r.CodeLength = core.Int64(tc.codeType), core.Int64(8)
				code := fx.send(t, r)
				if len(code) != 8 {
					t.Fatalf("code %q, want 8 characters", code)
				}
				for _, c := range code {
					if !strings.ContainsRune(tc.alphabet, c) {
						t.Fatalf("code %q has %q, not in %s", code, c, tc.alphabet)
					}
					seen[c] = true
				}
			}
			if len(seen) != len(tc.alphabet) {
				t.Errorf("codes used %d of %d characters", len(seen), len(tc.alphabet))
			}
		})
	}
	for _, n := range []int64{0, 4, 5, 6, 7, 8} {
		t.Run(fmt.Sprint("length ", n), func(t *testing.T) {
			fx := newFixture(t, dypnstest.Options{})
			r := sendReq("13800000013")
			want := 4
			if n != 0 {
				r.CodeLength, want = core.Int64(n), int(n)
			}
			code := fx.send(t, r)
			if !regexp.MustCompile(fmt.Sprintf("^[0-9]{%d}$", want)).MatchString(code) {
				t.Errorf("code %q, want %d digits", code, want)
			}
			if res := fx.check(t, &core.CheckRequest{PhoneNumber: "13800000013", VerifyCode: code}); res != "PASS" {
				t.Errorf("check = %s", res)
			}
		})
	}
}

func TestCaseAuthPolicy(t *testing.T) {
	for _, tc := range []struct {
		name   string
		policy *int64
		upper  string // answer for the code in upper case
	}{
		{"default", nil, "PASS"},
		{"1 insensitive", core.Int64(1), "PASS"},
		{"2 sensitive", core.Int64(2), "UNKNOWN"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fx := newFixture(t, dypnstest.Options{})
			r := sendReq("13800000014")
			r.CodeType = core.Int64(3) // lower case
			code := fx.send(t, r)
			cr := &core.CheckRequest{PhoneNumber: "13800000014", VerifyCode: strings.ToUpper(code), CaseAuthPolicy: tc.policy}
			if res := fx.check(t, cr); res != tc.upper {
				t.Errorf("upper-case code = %s, want %s", res, tc.upper)
			}
			if tc.upper == "UNKNOWN" {
				cr.VerifyCode = code
				if res := fx.check(t, cr); res != "PASS" {
					t.Errorf("exact code = %s", res)
				}
			}
		})
	}
}

func TestParamErrors(t *testing.T) {
	with := func(v url.Values, k, s string) url.Values {
		v = url.Values(maps(v))
		if s == "" {
			v.Del(k)
		} else {
			v.Set(k, s)
		}
		return v
	}
	send := sendParams("13800000015")
	check := url.Values{"PhoneNumber": {"13800000015"}, "VerifyCode": {"1234"}}
	for _, tc := range []struct {
		name, action string
		params       url.Values
		want         string
	}{
		{"valid send", core.ActionSend, send, "OK"},
		{"valid check", core.ActionCheck, check, "OK"},
		{"no phone", core.ActionSend, with(send, "PhoneNumber", ""), "MOBILE_NUMBER_ILLEGAL"},
		{"short phone", core.ActionSend, with(send, "PhoneNumber", "1380000"), "MOBILE_NUMBER_ILLEGAL"},
		{"landline", core.ActionSend, with(send, "PhoneNumber", "01012345678"), "MOBILE_NUMBER_ILLEGAL"},
		{"country", core.ActionSend, with(send, "CountryCode", "1"), "INVALID_PARAMETERS"},
		{"no sign name", core.ActionSend, with(send, "SignName", ""), "INVALID_PARAMETERS"},
		{"no template", core.ActionSend, with(send, "TemplateCode", ""), "INVALID_PARAMETERS"},
		{"template param not JSON", core.ActionSend, with(send, "TemplateParam", "code=1234"), "INVALID_PARAMETERS"},
		{"template param without code", core.ActionSend, with(send, "TemplateParam", `{"min":"5"}`), "INVALID_PARAMETERS"},
		{"code length not a number", core.ActionSend, with(send, "CodeLength", "four"), "INVALID_PARAMETERS"},
		{"code length 9", core.ActionSend, with(send, "CodeLength", "9"), "INVALID_PARAMETERS"},
		{"code type 8", core.ActionSend, with(send, "CodeType", "8"), "INVALID_PARAMETERS"},
		{"duplicate policy 3", core.ActionSend, with(send, "DuplicatePolicy", "3"), "INVALID_PARAMETERS"},
		{"valid time 0", core.ActionSend, with(send, "ValidTime", "0"), "INVALID_PARAMETERS"},
		{"interval overflow", core.ActionSend, with(send, "Interval", "99999999999999999999"), "INVALID_PARAMETERS"},
		{"return code not a bool", core.ActionSend, with(send, "ReturnVerifyCode", "yes"), "INVALID_PARAMETERS"},
		{"scheme too long", core.ActionSend, with(send, "SchemeName", strings.Repeat("方", 21)), "INVALID_PARAMETERS"},
		{"check bad phone", core.ActionCheck, with(check, "PhoneNumber", "2380000001"), "MOBILE_NUMBER_ILLEGAL"},
		{"check no code", core.ActionCheck, with(check, "VerifyCode", ""), "INVALID_PARAMETERS"},
		{"check short code", core.ActionCheck, with(check, "VerifyCode", "123"), "INVALID_PARAMETERS"},
		{"check policy 3", core.ActionCheck, with(check, "CaseAuthPolicy", "3"), "INVALID_PARAMETERS"},
		{"check policy text", core.ActionCheck, with(check, "CaseAuthPolicy", "strict"), "INVALID_PARAMETERS"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fx := newFixture(t, dypnstest.Options{})
			a := do(t, signed(t, fx.srv.URL, tc.action, tc.params, "", fx.creds, start, "n-"+tc.name))
			if a.Status != 200 || a.Code != tc.want || a.ContentType != "application/json;charset=utf-8" {
				t.Fatalf("answer %+v, want HTTP 200 %s", a, tc.want)
			}
			if tc.want == "OK" {
				return
			}
			if a.Success == nil || *a.Success || a.AccessDeniedDetail == nil || !upperUUID.MatchString(a.RequestID) || a.HostID != "" {
				t.Errorf("business error shape: %+v", a)
			}
			if strings.Contains(a.Message, "1380000") {
				t.Errorf("message echoes the number: %q", a.Message)
			}
			if fx.srv.SendCount() != 0 || fx.srv.CheckCount() != 0 {
				t.Errorf("a rejected request counted as a send or check")
			}
		})
	}
}

// maps copies v.
func maps(v url.Values) map[string][]string {
	out := make(map[string][]string, len(v))
	for k, vs := range v {
		out[k] = slices.Clone(vs)
	}
	return out
}

func TestFormBody(t *testing.T) {
	fx := newFixture(t, dypnstest.Options{})
	a := do(t, signed(t, fx.srv.URL, core.ActionSend, url.Values{}, sendParams("13800000016").Encode(), fx.creds, start, "form-1"))
	if a.Status != 200 || a.Code != "OK" || !digits4.MatchString(a.Model["VerifyCode"]) {
		t.Fatalf("send with a form body: %+v", a)
	}
	check := url.Values{"PhoneNumber": {"13800000016"}, "VerifyCode": {a.Model["VerifyCode"]}}
	a = do(t, signed(t, fx.srv.URL, core.ActionCheck, url.Values{}, check.Encode(), fx.creds, start, "form-2"))
	if a.Status != 200 || a.Model["VerifyResult"] != "PASS" {
		t.Fatalf("check with a form body: %+v", a)
	}
}

func TestCountersAndOnSend(t *testing.T) {
	var mu sync.Mutex
	var got []dypnstest.Sent
	fx := newFixture(t, dypnstest.Options{OnSend: func(s dypnstest.Sent) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, s)
	}})
	ctx := context.Background()
	r := sendReq("13800000017")
	r.OutID, r.SchemeName, r.ValidTime = "o-1", "s", core.Int64(600)
	resp, err := fx.client.Send(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	fx.check(t, &core.CheckRequest{PhoneNumber: "13800000017", VerifyCode: "0000"})
	stranger := newClient(t, fx.srv.URL, core.Credentials{AccessKeyID: "nobody", AccessKeySecret: "x"}, fx.clock.Now, 0)
	if _, err := stranger.Send(ctx, r); err == nil {
		t.Fatal("unknown key accepted")
	}
	fx.srv.FailNext(1, dypnstest.FaultUnavailable)
	if _, err := fx.client.Check(ctx, &core.CheckRequest{PhoneNumber: "13800000017", VerifyCode: "0000"}); err == nil {
		t.Fatal("fault not returned")
	}
	if n := fx.srv.Requests(); n != 4 {
		t.Errorf("Requests = %d, want 4", n)
	}
	if n, m := fx.srv.SendCount(), fx.srv.CheckCount(); n != 1 || m != 1 {
		t.Errorf("SendCount, CheckCount = %d, %d; want 1, 1", n, m)
	}
	want := dypnstest.Sent{
		PhoneNumber: "13800000017", CountryCode: "86", SchemeName: "s", TemplateCode: "100001",
		SignName: "速通互联验证码", VerifyCode: resp.Model.VerifyCode, BizID: resp.Model.BizID, OutID: "o-1",
		At: start, Expires: start.Add(600 * time.Second), Verifiable: true,
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 || got[0] != want {
		t.Errorf("OnSend got %+v\nwant %+v", got, want)
	}
	if codes := fx.srv.Codes("13800000017"); len(codes) != 1 || codes[0] != want {
		t.Errorf("Codes = %+v", codes)
	}
	if codes := fx.srv.Codes("13800000018"); codes != nil {
		t.Errorf("Codes of an unknown number = %+v", codes)
	}
}

func TestCodesNewestLastAndForgotten(t *testing.T) {
	fx := newFixture(t, dypnstest.Options{})
	r := sendReq("13800000019")
	r.Interval = core.Int64(0)
	first, second := fx.send(t, r), fx.send(t, r)
	codes := fx.srv.Codes("13800000019")
	if len(codes) != 2 || codes[0].VerifyCode != first || codes[1].VerifyCode != second {
		t.Fatalf("Codes = %+v", codes)
	}
	fx.clock.Add(300*time.Second + time.Hour) // an hour after expiry
	fx.send(t, sendReq("13800000020"))        // any request sweeps
	if codes := fx.srv.Codes("13800000019"); len(codes) != 0 {
		t.Errorf("expired codes kept: %+v", codes)
	}
}

// TestConcurrent shares one core.Client among 100 goroutines; run with -race.
func TestConcurrent(t *testing.T) {
	fx := newFixture(t, dypnstest.Options{})
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for i := range 100 {
		wg.Go(func() {
			phone := fmt.Sprintf("137%08d", i)
			r := sendReq(phone)
			r.CodeLength, r.CodeType = core.Int64(8), core.Int64(7)
			resp, err := fx.client.Send(ctx, r)
			if err != nil {
				errs <- err
				return
			}
			code := resp.Model.VerifyCode
			for _, step := range []struct{ code, want string }{
				{wrongCode(code), "UNKNOWN"}, {code, "PASS"}, {code, "UNKNOWN"},
			} {
				got, err := fx.client.Check(ctx, &core.CheckRequest{PhoneNumber: phone, VerifyCode: step.code, CaseAuthPolicy: core.Int64(2)})
				if err != nil {
					errs <- err
					return
				}
				if got.Model.VerifyResult != step.want {
					errs <- fmt.Errorf("%s: check = %s, want %s", phone, got.Model.VerifyResult, step.want)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n, m := fx.srv.SendCount(), fx.srv.CheckCount(); n != 100 || m != 300 {
		t.Errorf("SendCount, CheckCount = %d, %d", n, m)
	}
}

// TestReset: after Reset a number has no codes, no interval and a fresh
// daily count; a code sent before it no longer passes.
func TestReset(t *testing.T) {
	fx := newFixture(t, dypnstest.Options{DailyLimit: 1})
	code := fx.send(t, sendReq("13800000001"))
	if _, err := fx.client.Send(context.Background(), sendReq("13800000001")); err == nil {
		t.Fatal("a second send inside the interval and over the daily cap succeeded")
	}
	fx.srv.Reset()
	if got := fx.srv.Codes("13800000001"); len(got) != 0 {
		t.Errorf("Codes after Reset = %d entries, want none", len(got))
	}
	if res := fx.check(t, &core.CheckRequest{PhoneNumber: "13800000001", VerifyCode: code}); res != "UNKNOWN" {
		t.Errorf("a code sent before Reset checks %s, want UNKNOWN", res)
	}
	fx.send(t, sendReq("13800000001")) // no interval, a fresh daily count
}
