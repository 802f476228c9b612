package dypnstest_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"smsverify/core"
	"smsverify/core/acs3"
	"smsverify/core/dypnstest"
)

var (
	plainKey = core.Credentials{AccessKeyID: "LTAI5tPlain", AccessKeySecret: "plain-secret"}
	stsKey   = core.Credentials{AccessKeyID: "STS.NTemp", AccessKeySecret: "sts-secret", SecurityToken: "CAIS-secret-token"}
)

// resign replaces the Authorization header with a signature over only the
// named headers, as a client that forgot one would send.
func resign(r *http.Request, c core.Credentials, names ...string) {
	q, _ := url.ParseQuery(r.URL.RawQuery)
	var hs []acs3.Header
	for _, n := range names {
		v := r.Header.Get(n)
		if n == "host" {
			v = r.URL.Host
		}
		hs = append(hs, acs3.Header{Name: n, Value: v})
	}
	sig, signed := acs3.Signature(acs3.Request{
		Method: r.Method, Path: "/", Query: acs3.CanonicalQuery(q), Headers: hs,
		BodySHA256: r.Header.Get("x-acs-content-sha256"),
	}, c.AccessKeySecret)
	r.Header.Set("Authorization", "ACS3-HMAC-SHA256 Credential="+c.AccessKeyID+",SignedHeaders="+signed+",Signature="+sig)
}

var baseSigned = []string{"host", "x-acs-action", "x-acs-content-sha256", "x-acs-date", "x-acs-signature-nonce", "x-acs-version"}

func TestGatewayRejects(t *testing.T) {
	type build struct {
		creds core.Credentials // signing key; default plainKey
		at    time.Duration    // signing time relative to the fake's clock
		body  string
	}
	for _, tc := range []struct {
		name   string
		build  build
		mutate func(*http.Request)
		status int
		code   string
	}{
		{"valid", build{}, nil, 200, "OK"},
		{"valid STS", build{creds: stsKey}, nil, 200, "OK"},
		{"valid form body", build{body: "OutId=x"}, nil, 200, "OK"},
		{"date 14 min behind", build{at: -14 * time.Minute}, nil, 200, "OK"},
		{"date 14 min ahead", build{at: 14 * time.Minute}, nil, 200, "OK"},
		{"date 16 min behind", build{at: -16 * time.Minute}, nil, 400, "InvalidTimeStamp.Expired"},
		{"date 16 min ahead", build{at: 16 * time.Minute}, nil, 400, "InvalidTimeStamp.Expired"},
		{"date garbled", build{}, func(r *http.Request) {
			r.Header.Set("x-acs-date", "2026-03-01 02:00:00")
			resign(r, plainKey, baseSigned...)
		}, 400, "InvalidTimeStamp.Format"},
		{"tampered query", build{}, func(r *http.Request) {
			r.URL.RawQuery = strings.Replace(r.URL.RawQuery, "13800000021", "13800000022", 1)
		}, 400, "SignatureDoesNotMatch"},
		{"added query parameter", build{}, func(r *http.Request) { r.URL.RawQuery += "&OutId=x" }, 400, "SignatureDoesNotMatch"},
		{"tampered signed header", build{}, func(r *http.Request) {
			r.Header.Set("x-acs-signature-nonce", "another-nonce")
		}, 400, "SignatureDoesNotMatch"},
		{"tampered date", build{}, func(r *http.Request) {
			r.Header.Set("x-acs-date", start.Add(time.Second).Format(acs3.DateFormat))
		}, 400, "SignatureDoesNotMatch"},
		{"wrong secret", build{creds: core.Credentials{AccessKeyID: plainKey.AccessKeyID, AccessKeySecret: "guess"}}, nil, 400, "SignatureDoesNotMatch"},
		{"upper-case signature", build{}, func(r *http.Request) {
			a := r.Header.Get("Authorization")
			i := strings.Index(a, "Signature=") + len("Signature=")
			r.Header.Set("Authorization", a[:i]+strings.ToUpper(a[i:]))
		}, 400, "SignatureDoesNotMatch"},
		{"wrong body hash", build{body: "OutId=x"}, func(r *http.Request) {
			r.Header.Set("x-acs-content-sha256", acs3.EmptySHA256)
			resign(r, plainKey, append(baseSigned, "content-type")...)
		}, 400, "SignatureDoesNotMatch"},
		{"body swapped after signing", build{body: "OutId=x"}, func(r *http.Request) {
			r.Body = http.NoBody
			r.ContentLength = 0
		}, 400, "SignatureDoesNotMatch"},
		{"missing signed header", build{}, func(r *http.Request) { r.Header.Del("x-acs-signature-nonce") }, 400, "IncompleteSignature"},
		{"nonce not signed", build{}, func(r *http.Request) {
			resign(r, plainKey, "host", "x-acs-action", "x-acs-content-sha256", "x-acs-date", "x-acs-version")
		}, 400, "IncompleteSignature"},
		{"host not signed", build{}, func(r *http.Request) { resign(r, plainKey, baseSigned[1:]...) }, 400, "IncompleteSignature"},
		{"content-type not signed", build{body: "OutId=x"}, func(r *http.Request) { resign(r, plainKey, baseSigned...) }, 400, "IncompleteSignature"},
		{"STS token not signed", build{creds: stsKey}, func(r *http.Request) { resign(r, stsKey, baseSigned...) }, 400, "IncompleteSignature"},
		{"no Authorization", build{}, func(r *http.Request) { r.Header.Del("Authorization") }, 400, "IncompleteSignature"},
		{"other algorithm", build{}, func(r *http.Request) {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "ACS3-HMAC-SHA256", "ACS3-HMAC-SM3", 1))
		}, 400, "IncompleteSignature"},
		{"no Signature", build{}, func(r *http.Request) {
			a := r.Header.Get("Authorization")
			r.Header.Set("Authorization", a[:strings.Index(a, ",Signature=")])
		}, 400, "IncompleteSignature"},
		{"unknown key", build{creds: core.Credentials{AccessKeyID: "LTAI5tUnknown", AccessKeySecret: "plain-secret"}}, nil, 404, "InvalidAccessKeyId.NotFound"},
		{"STS token missing", build{creds: core.Credentials{AccessKeyID: stsKey.AccessKeyID, AccessKeySecret: stsKey.AccessKeySecret}}, nil, 400, "InvalidSecurityToken.Mismatch"},
		{"STS token wrong", build{creds: core.Credentials{AccessKeyID: stsKey.AccessKeyID, AccessKeySecret: stsKey.AccessKeySecret, SecurityToken: "CAIS-other"}}, nil, 400, "InvalidSecurityToken.Mismatch"},
		{"token with a plain key", build{creds: core.Credentials{AccessKeyID: plainKey.AccessKeyID, AccessKeySecret: plainKey.AccessKeySecret, SecurityToken: "CAIS-x"}}, nil, 400, "InvalidSecurityToken.Mismatch"},
		{"wrong version", build{}, func(r *http.Request) { r.Header.Set("x-acs-version", "2017-06-25") }, 400, "InvalidVersion"},
		{"unknown action", build{}, func(r *http.Request) { r.Header.Set("x-acs-action", "SendSms") }, 404, "InvalidAction.NotFound"},
		{"no action", build{}, func(r *http.Request) { r.Header.Del("x-acs-action") }, 404, "InvalidAction.NotFound"},
		{"GET", build{}, func(r *http.Request) { r.Method = http.MethodGet }, 404, "InvalidAction.NotFound"},
		{"other path", build{}, func(r *http.Request) { r.URL.Path = "/v1" }, 404, "InvalidAction.NotFound"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fx := newFixture(t, dypnstest.Options{Credentials: []core.Credentials{plainKey, stsKey}})
			creds := tc.build.creds
			if creds.AccessKeyID == "" {
				creds = plainKey
			}
			req := signed(t, fx.srv.URL, core.ActionSend, sendParams("13800000021"), tc.build.body, creds, start.Add(tc.build.at), "nonce-1")
			if tc.mutate != nil {
				tc.mutate(req)
			}
			a := do(t, req)
			if a.Status != tc.status || a.Code != tc.code {
				t.Fatalf("got HTTP %d %s (%s), want HTTP %d %s", a.Status, a.Code, a.Message, tc.status, tc.code)
			}
			if a.ContentType != "application/json;charset=utf-8" || !upperUUID.MatchString(a.RequestID) {
				t.Errorf("answer headers or id: %+v", a)
			}
			if tc.code == "OK" {
				return
			}
			wantRecommend := "https://api.aliyun.com/troubleshoot?q=" + tc.code + "&product=Dypnsapi&requestId=" + a.RequestID
			if a.HostID != "dypnsapi.aliyuncs.com" || a.Recommend != wantRecommend || a.Message == "" || a.Success != nil {
				t.Errorf("gateway error shape: %+v", a)
			}
			if strings.Contains(a.Message, "CAIS") || strings.Contains(a.Recommend, "CAIS") {
				t.Errorf("answer echoes the security token: %+v", a)
			}
			if fx.srv.SendCount() != 0 {
				t.Errorf("a rejected request was sent")
			}
		})
	}
}

func TestNonceReplay(t *testing.T) {
	fx := newFixture(t, dypnstest.Options{})
	params := url.Values{"PhoneNumber": {"13800000023"}, "VerifyCode": {"1234"}}
	first := signed(t, fx.srv.URL, core.ActionCheck, params, "", fx.creds, start, "replayed")
	if a := do(t, first); a.Code != "OK" {
		t.Fatalf("first request: %+v", a)
	}
	replay := signed(t, fx.srv.URL, core.ActionCheck, params, "", fx.creds, start, "replayed")
	if a := do(t, replay); a.Status != 400 || a.Code != "SignatureNonceUsed" {
		t.Fatalf("replay: HTTP %d %s", a.Status, a.Code)
	}
	// A bad signature does not use a nonce up.
	bad := signed(t, fx.srv.URL, core.ActionCheck, params, "", core.Credentials{AccessKeyID: fx.creds.AccessKeyID, AccessKeySecret: "x"}, start, "fresh")
	if a := do(t, bad); a.Code != "SignatureDoesNotMatch" {
		t.Fatalf("bad signature: %s", a.Code)
	}
	if a := do(t, signed(t, fx.srv.URL, core.ActionCheck, params, "", fx.creds, start, "fresh")); a.Code != "OK" {
		t.Fatalf("nonce of a rejected request refused: %s", a.Code)
	}

	fx.clock.Add(20 * time.Minute) // signed now, so the date is fresh: only the nonce is old
	if a := do(t, signed(t, fx.srv.URL, core.ActionCheck, params, "", fx.creds, fx.clock.Now(), "replayed")); a.Code != "SignatureNonceUsed" {
		t.Fatalf("nonce reused after 20 minutes: %s", a.Code)
	}
	fx.clock.Add(11 * time.Minute) // forgotten after 30 minutes
	if a := do(t, signed(t, fx.srv.URL, core.ActionCheck, params, "", fx.creds, fx.clock.Now(), "replayed")); a.Code != "OK" {
		t.Fatalf("nonce after 31 minutes: %s", a.Code)
	}
}

// TestClientMisconfigured runs the rejections through core.Client.
func TestClientMisconfigured(t *testing.T) {
	for _, tc := range []struct {
		name  string
		creds core.Credentials
		skew  time.Duration
		code  string
	}{
		{"unknown key", core.Credentials{AccessKeyID: "LTAI5tNobody", AccessKeySecret: "x"}, 0, "InvalidAccessKeyId.NotFound"},
		{"wrong secret", core.Credentials{AccessKeyID: plainKey.AccessKeyID, AccessKeySecret: "x"}, 0, "SignatureDoesNotMatch"},
		{"STS without token", core.Credentials{AccessKeyID: stsKey.AccessKeyID, AccessKeySecret: stsKey.AccessKeySecret}, 0, "InvalidSecurityToken.Mismatch"},
		{"clock 16 min slow", plainKey, -16 * time.Minute, "InvalidTimeStamp.Expired"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fx := newFixture(t, dypnstest.Options{Credentials: []core.Credentials{plainKey, stsKey}})
			c := newClient(t, fx.srv.URL, tc.creds, func() time.Time { return fx.clock.Now().Add(tc.skew) }, 0)
			_, err := c.Check(context.Background(), &core.CheckRequest{PhoneNumber: "13800000024", VerifyCode: "1234"})
			var e *core.Error
			if !errors.As(err, &e) || e.Code != tc.code || core.KindOf(err) != core.KindMisconfigured || core.IsTransient(err) {
				t.Fatalf("err = %v, want misconfigured %s", err, tc.code)
			}
			if e.HostID != "dypnsapi.aliyuncs.com" || e.Recommend == "" {
				t.Errorf("gateway fields not carried: %+v", e)
			}
		})
	}
}
