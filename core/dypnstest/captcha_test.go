package dypnstest_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"smsverify/core"
	"smsverify/core/acs3"
	"smsverify/core/dypnstest"
)

type captchaAnswer struct {
	RequestID string `json:"RequestId"`
	Code      string
	Message   string
	Success   bool
	Result    struct {
		VerifyResult bool
		VerifyCode   string
	}
}

func (fx *fixture) verifyCaptcha(t *testing.T, token, scene string) (captchaAnswer, error) {
	t.Helper()
	var a captchaAnswer
	params := map[string]string{"CaptchaVerifyParam": token}
	if scene != "" {
		params["SceneId"] = scene
	}
	err := fx.client.Call(context.Background(), dypnstest.CaptchaAPIVersion, dypnstest.ActionVerifyCaptcha, params, &a)
	return a, err
}

func TestVerifyIntelligentCaptcha(t *testing.T) {
	fx := newFixture(t, dypnstest.Options{})
	for _, tc := range []struct {
		token, code string
		pass        bool
	}{
		{"pass-1", "T001", true},
		{"pass-1", "F008", false}, // submitted twice
		{"F014-no-init-record", "F014", false},
		{"F015xyz", "F015", false},
		{"Fxyz", "F001", false},
		{`{"certifyId":"abc","sceneId":"s1"}`, "F001", false},
	} {
		a, err := fx.verifyCaptcha(t, tc.token, "scene-1")
		if err != nil {
			t.Fatalf("%s: %v", tc.token, err)
		}
		if !a.Success || a.Code != "Success" || a.RequestID == "" || a.Result.VerifyResult != tc.pass || a.Result.VerifyCode != tc.code {
			t.Errorf("%s: %+v, want %s", tc.token, a, tc.code)
		}
	}
	if fx.srv.CaptchaCount() != 6 || fx.srv.SendCount() != 0 {
		t.Errorf("CaptchaCount %d, SendCount %d", fx.srv.CaptchaCount(), fx.srv.SendCount())
	}
	if last := fx.srv.LastCaptcha(); last.SceneID != "scene-1" || last.VerifyCode != "F001" {
		t.Errorf("LastCaptcha = %+v", last)
	}

	// A token is remembered for the memory window only.
	fx.clock.Add(31 * time.Minute)
	if a, err := fx.verifyCaptcha(t, "pass-1", "scene-1"); err != nil || a.Result.VerifyCode != "T001" {
		t.Errorf("after the memory window: %+v %v", a, err)
	}
}

func TestVerifyIntelligentCaptchaRefusals(t *testing.T) {
	fx := newFixture(t, dypnstest.Options{})
	_, err := fx.verifyCaptcha(t, "pass-1", "")
	var ce *core.Error
	if !errors.As(err, &ce) || ce.StatusCode != 400 || ce.Code != "MissingParameter" {
		t.Errorf("no SceneId: %v", err)
	}
	_, err = fx.verifyCaptcha(t, "", "scene-1")
	if !errors.As(err, &ce) || ce.Code != "MissingParameter" {
		t.Errorf("no CaptchaVerifyParam: %v", err)
	}
	// Dypnsapi's version is not Captcha's, and the other way round.
	err = fx.client.Call(context.Background(), core.APIVersion, dypnstest.ActionVerifyCaptcha,
		map[string]string{"CaptchaVerifyParam": "pass", "SceneId": "s"}, nil)
	if !errors.As(err, &ce) || ce.Code != "InvalidVersion" {
		t.Errorf("captcha with Dypnsapi's version: %v", err)
	}
	err = fx.client.Call(context.Background(), dypnstest.CaptchaAPIVersion, core.ActionSend, map[string]string{"PhoneNumber": "13800000000"}, nil)
	if !errors.As(err, &ce) || ce.Code != "InvalidVersion" {
		t.Errorf("send with Captcha's version: %v", err)
	}
	// Signed with the wrong secret: the gateway refuses before the captcha.
	bad := newClient(t, fx.srv.URL, core.Credentials{AccessKeyID: fx.creds.AccessKeyID, AccessKeySecret: "wrong"}, fx.clock.Now, 0)
	err = bad.Call(context.Background(), dypnstest.CaptchaAPIVersion, dypnstest.ActionVerifyCaptcha,
		map[string]string{"CaptchaVerifyParam": "pass-2", "SceneId": "s"}, nil)
	if !errors.As(err, &ce) || ce.Code != "SignatureDoesNotMatch" || core.KindOf(err) != core.KindMisconfigured {
		t.Errorf("wrong secret: %v", err)
	}
	// Captcha's gateway names its own host and product.
	if ce.HostID != "captcha.cn-shanghai.aliyuncs.com" || !strings.Contains(ce.Recommend, "&product=captcha&") {
		t.Errorf("captcha gateway error names HostId %q, Recommend %q", ce.HostID, ce.Recommend)
	}
	// A tampered query fails the signature too.
	req := signed(t, fx.srv.URL, dypnstest.ActionVerifyCaptcha, url.Values{"CaptchaVerifyParam": {"pass-3"}, "SceneId": {"s"}}, "", fx.creds, start, "nonce-1")
	req.Header.Set("x-acs-version", dypnstest.CaptchaAPIVersion) // the helper signs Dypnsapi's version
	if a := do(t, req); a.Code != "SignatureDoesNotMatch" {
		t.Errorf("version changed after signing: %+v", a)
	}
	if fx.srv.CaptchaCount() != 0 {
		t.Errorf("refused requests got a verdict: %d", fx.srv.CaptchaCount())
	}
}

// tamperBody is a RoundTripper that replaces a request's body before it
// leaves the client, after it was signed; with rehash it also sets
// x-acs-content-sha256 to the new body's hash (the signature still covers
// the old one).
type tamperBody struct {
	from, to string
	rehash   bool
}

func (tb tamperBody) RoundTrip(r *http.Request) (*http.Response, error) {
	var b []byte
	if r.Body != nil {
		var err error
		if b, err = io.ReadAll(r.Body); err != nil {
			return nil, err
		}
	}
	b = []byte(strings.Replace(string(b), tb.from, tb.to, 1))
	r = r.Clone(r.Context())
	r.Body, r.ContentLength = io.NopCloser(strings.NewReader(string(b))), int64(len(b))
	if tb.rehash {
		sum := sha256.Sum256(b)
		r.Header.Set("x-acs-content-sha256", hex.EncodeToString(sum[:]))
	}
	return http.DefaultTransport.RoundTrip(r)
}

// TestVerifyCaptchaLongTokenInBody: a 4 KiB CaptchaVerifyParam (the
// documented maximum) travels in the signed form body, the request target
// stays "/", the fake verifies the signature and body hash and reads the
// token from the body.
func TestVerifyCaptchaLongTokenInBody(t *testing.T) {
	fx := newFixture(t, dypnstest.Options{})
	// Characters that percent-encode to three bytes each, as JSON tokens do.
	token := "pass-" + strings.Repeat(`{"a":"b c+d/e="}`, 4096/16)[:4096-len("pass-")]
	a, err := fx.verifyCaptcha(t, token, "scene-1")
	if err != nil || !a.Result.VerifyResult || a.Result.VerifyCode != "T001" {
		t.Fatalf("%+v %v", a, err)
	}
	last := fx.srv.LastCaptcha()
	if last.VerifyParam != token || last.SceneID != "scene-1" {
		t.Errorf("the fake read %d bytes of token, scene %q", len(last.VerifyParam), last.SceneID)
	}
	if last.URLLength > len("/?") || last.BodyLength < 4096 {
		t.Errorf("URL %d bytes, body %d bytes: the parameters did not travel in the body", last.URLLength, last.BodyLength)
	}
}

// TestVerifyCaptchaParamsInQuery: like the gateway, the fake also takes
// the parameters from a signed query.
func TestVerifyCaptchaParamsInQuery(t *testing.T) {
	fx := newFixture(t, dypnstest.Options{})
	req := signed(t, fx.srv.URL, dypnstest.ActionVerifyCaptcha, url.Values{"CaptchaVerifyParam": {"pass-q"}, "SceneId": {"s"}}, "", fx.creds, start, "nonce-q")
	req.Header.Set("x-acs-version", dypnstest.CaptchaAPIVersion)
	if err := acs3.SignHTTP(req, acs3.EmptySHA256, fx.creds, start, "nonce-q"); err != nil {
		t.Fatal(err)
	}
	if a := do(t, req); a.Status != 200 {
		t.Fatalf("%+v", a)
	}
	if last := fx.srv.LastCaptcha(); last.VerifyParam != "pass-q" || last.VerifyCode != "T001" || last.BodyLength != 0 {
		t.Errorf("LastCaptcha = %+v", last)
	}
}

// TestVerifyCaptchaTamperedBody: a body changed after signing is refused
// with SignatureDoesNotMatch, whether or not the body hash header was
// changed to match it, and gets no verdict.
func TestVerifyCaptchaTamperedBody(t *testing.T) {
	fx := newFixture(t, dypnstest.Options{})
	for _, rehash := range []bool{false, true} {
		c, err := core.NewClient(core.Options{Endpoint: fx.srv.URL, Credentials: core.StaticCredentials(fx.creds),
			Now: fx.clock.Now, HTTPClient: &http.Client{Transport: tamperBody{"F001-x", "pass-x", rehash}}})
		if err != nil {
			t.Fatal(err)
		}
		err = c.Call(context.Background(), dypnstest.CaptchaAPIVersion, dypnstest.ActionVerifyCaptcha,
			map[string]string{"CaptchaVerifyParam": "F001-x", "SceneId": "s"}, nil)
		var ce *core.Error
		if !errors.As(err, &ce) || ce.StatusCode != 400 || ce.Code != "SignatureDoesNotMatch" {
			t.Errorf("rehash %v: %v", rehash, err)
		}
	}
	if n := fx.srv.CaptchaCount(); n != 0 {
		t.Errorf("a tampered request got a verdict: %d", n)
	}
}
