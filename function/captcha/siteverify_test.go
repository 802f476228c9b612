package captcha_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"smsverify/function/captcha"
	"smsverify/function/captcha/captchatest"
)

func newSiteverify(t *testing.T, fo captchatest.Options, o captcha.SiteverifyOptions) (*captchatest.Server, *captcha.Siteverify) {
	t.Helper()
	fake := captchatest.NewServer(fo)
	t.Cleanup(fake.Close)
	o.Endpoint = fake.URL
	if o.Timeout == 0 {
		o.Timeout = time.Minute // generous: only a hang may time out, with its own short Timeout
	}
	if o.Secret == "" {
		o.Secret = captchatest.TestSecret
	}
	var v *captcha.Siteverify
	var err error
	if fo.Flavor == captchatest.HCaptcha {
		v, err = captcha.NewHCaptcha(o)
	} else {
		v, err = captcha.NewTurnstile(o)
	}
	if err != nil {
		t.Fatal(err)
	}
	return fake, v
}

func wantFail(t *testing.T, err error, kind captcha.Kind, reason string) {
	t.Helper()
	var ce *captcha.Error
	if !errors.As(err, &ce) {
		t.Fatalf("err = %v, want a *captcha.Error", err)
	}
	if ce.Kind != kind || ce.Reason != reason {
		t.Fatalf("err = %v, want %v (%s)", err, kind, reason)
	}
}

func TestSiteverify(t *testing.T) {
	for _, flavor := range []captchatest.Flavor{captchatest.Turnstile, captchatest.HCaptcha} {
		name, provider, dup := "turnstile", captcha.ProviderTurnstile, "timeout-or-duplicate"
		if flavor == captchatest.HCaptcha {
			name, provider, dup = "hcaptcha", captcha.ProviderHCaptcha, "already-seen-response"
		}
		t.Run(name, func(t *testing.T) {
			fake, v := newSiteverify(t, captchatest.Options{Flavor: flavor, SiteKey: "site-key-1"},
				captcha.SiteverifyOptions{SiteKey: "site-key-1"})
			ctx := context.Background()

			res, err := v.Verify(ctx, "pass-1", "203.0.113.7")
			if err != nil || res.Code != "success" {
				t.Fatalf("pass: %+v, %v", res, err)
			}
			last := fake.Last()
			if last.Secret != captchatest.TestSecret || last.Response != "pass-1" || last.RemoteIP != "203.0.113.7" {
				t.Errorf("form = %+v", last)
			}
			if wantKey := flavor == captchatest.HCaptcha; last.HasSiteKey != wantKey || (wantKey && last.SiteKey != "site-key-1") {
				t.Errorf("sitekey sent = %v %q, want sent only to hCaptcha", last.HasSiteKey, last.SiteKey)
			}

			_, err = v.Verify(ctx, "pass-1", "203.0.113.7")
			wantFail(t, err, captcha.KindRefused, dup)
			_, err = v.Verify(ctx, "bot", "203.0.113.7")
			wantFail(t, err, captcha.KindRefused, "invalid-input-response")
			if ce := new(captcha.Error); errors.As(err, &ce) && ce.Provider != provider {
				t.Errorf("provider = %q", ce.Provider)
			}
			if strings.Contains(err.Error(), "bot") {
				t.Errorf("error %q quotes the token", err)
			}

			fake.FailNext(1, captchatest.FaultUnavailable)
			_, err = v.Verify(ctx, "pass-2", "")
			wantFail(t, err, captcha.KindUnavailable, "http-503")
			fake.FailNext(1, captchatest.FaultGarbage)
			_, err = v.Verify(ctx, "pass-3", "")
			wantFail(t, err, captcha.KindUnavailable, "bad-response")
			fake.FailNext(1, captchatest.FaultNoSuccess)
			_, err = v.Verify(ctx, "pass-4", "")
			wantFail(t, err, captcha.KindUnavailable, "bad-response")
			if _, err = v.Verify(ctx, "pass-5", ""); err != nil {
				t.Fatalf("after the faults: %v", err)
			}
			if fake.Last().RemoteIP != "" {
				t.Errorf("remoteip sent for an unknown client IP")
			}
		})
	}
}

func TestSiteverifyMisconfigured(t *testing.T) {
	_, v := newSiteverify(t, captchatest.Options{}, captcha.SiteverifyOptions{Secret: "wrong-secret"})
	_, err := v.Verify(context.Background(), "pass-1", "203.0.113.7")
	wantFail(t, err, captcha.KindMisconfigured, "invalid-input-secret")
	if strings.Contains(err.Error(), "wrong-secret") {
		t.Errorf("error %q quotes the secret", err)
	}

	_, v = newSiteverify(t, captchatest.Options{Flavor: captchatest.HCaptcha, SiteKey: "site-a"}, captcha.SiteverifyOptions{SiteKey: "site-b"})
	_, err = v.Verify(context.Background(), "pass-1", "203.0.113.7")
	wantFail(t, err, captcha.KindMisconfigured, "sitekey-secret-mismatch")
}

func TestSiteverifyHostnames(t *testing.T) {
	_, v := newSiteverify(t, captchatest.Options{Hostname: "evil.example"},
		captcha.SiteverifyOptions{Hostnames: []string{"shop.example", "www.shop.example"}})
	_, err := v.Verify(context.Background(), "pass-1", "203.0.113.7")
	wantFail(t, err, captcha.KindRefused, "hostname-not-allowed")

	_, v = newSiteverify(t, captchatest.Options{Hostname: "www.shop.example"},
		captcha.SiteverifyOptions{Hostnames: []string{"shop.example", "www.shop.example"}})
	if _, err := v.Verify(context.Background(), "pass-1", "203.0.113.7"); err != nil {
		t.Fatal(err)
	}
}

func TestSiteverifyHang(t *testing.T) {
	fake, v := newSiteverify(t, captchatest.Options{}, captcha.SiteverifyOptions{Timeout: 50 * time.Millisecond})
	fake.FailNext(1, captchatest.FaultHang)
	_, err := v.Verify(context.Background(), "pass-1", "203.0.113.7")
	wantFail(t, err, captcha.KindUnavailable, "timeout")

	// The caller's deadline applies when it is earlier than the timeout.
	fake, v = newSiteverify(t, captchatest.Options{}, captcha.SiteverifyOptions{Timeout: time.Hour})
	fake.FailNext(1, captchatest.FaultHang)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err = v.Verify(ctx, "pass-1", "203.0.113.7")
	wantFail(t, err, captcha.KindUnavailable, "timeout")
}

func TestSiteverifyUnreachable(t *testing.T) {
	fake := captchatest.NewServer(captchatest.Options{})
	url := fake.URL
	fake.Close()
	v, err := captcha.NewTurnstile(captcha.SiteverifyOptions{Endpoint: url, Secret: captchatest.TestSecret})
	if err != nil {
		t.Fatal(err)
	}
	_, err = v.Verify(context.Background(), "pass-1", "203.0.113.7")
	wantFail(t, err, captcha.KindUnavailable, "unreachable")
}

func TestNewSiteverifyChecks(t *testing.T) {
	for _, o := range []captcha.SiteverifyOptions{
		{Secret: ""},
		{Secret: "s", Endpoint: "http://captcha.example/siteverify"},
		{Secret: "s", Endpoint: "https://user:pw@captcha.example/siteverify"},
		{Secret: "s", Endpoint: "https://captcha.example/siteverify?secret=x"},
		{Secret: "s", Endpoint: "/siteverify"},
	} {
		if _, err := captcha.NewTurnstile(o); err == nil {
			t.Errorf("NewTurnstile(%+v) accepted", o)
		}
	}
	for _, ep := range []string{"", "https://captcha.example/siteverify", "http://127.0.0.1:9/siteverify", "http://[::1]:9/x", "http://localhost:9/x"} {
		if _, err := captcha.NewHCaptcha(captcha.SiteverifyOptions{Secret: "s", Endpoint: ep}); err != nil {
			t.Errorf("NewHCaptcha(%q): %v", ep, err)
		}
	}
}

func TestTestProvider(t *testing.T) {
	var v captcha.Verifier = captcha.Test{}
	if res, err := v.Verify(context.Background(), "pass-anything", ""); err != nil || res.Code != "pass" {
		t.Fatalf("pass: %+v %v", res, err)
	}
	_, err := v.Verify(context.Background(), "fail", "")
	wantFail(t, err, captcha.KindRefused, "test-token-not-pass")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = v.Verify(ctx, "pass", "")
	wantFail(t, err, captcha.KindUnavailable, "canceled")
}

func TestKindOf(t *testing.T) {
	if captcha.KindOf(errors.New("x")) != captcha.KindUnavailable {
		t.Error("a foreign error must fail closed as unavailable")
	}
	err := fmtWrap(&captcha.Error{Kind: captcha.KindRefused, Provider: "test", Reason: "F001"})
	if captcha.KindOf(err) != captcha.KindRefused || captcha.ReasonOf(err) != "F001" {
		t.Errorf("KindOf/ReasonOf through a wrap: %v %q", captcha.KindOf(err), captcha.ReasonOf(err))
	}
}

func fmtWrap(err error) error { return errors.Join(errors.New("context"), err) }
