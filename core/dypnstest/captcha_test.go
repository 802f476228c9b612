package dypnstest_test

import (
	"context"
	"errors"
	"net/url"
	"testing"
	"time"

	"smsverify/core"
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
	if !errors.As(err, &ce) || ce.Code != "SignatureDoesNotMatch" || !core.IsMisconfigured(err) {
		t.Errorf("wrong secret: %v", err)
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
