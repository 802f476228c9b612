package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/chromedp"

	"smsverify/function/captcha/captchatest"
	"smsverify/web"
)

// chromium finds a Chromium or Chrome binary: CHROMIUM_PATH, else PATH.
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("CHROMIUM_PATH"); p != "" {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("CHROMIUM_PATH=%s: %v", p, err)
		}
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("SMSVERIFY_REQUIRE_BROWSER") != "" {
		t.Fatal("SMSVERIFY_REQUIRE_BROWSER is set but no Chromium was found (PATH or CHROMIUM_PATH)")
	}
	t.Skip("browser test skipped: no Chromium on PATH (chromium, chromium-browser, google-chrome) and CHROMIUM_PATH is not set; `apt-get install -y chromium` (.ci/run does)")
	return ""
}

// browser starts a headless Chromium with a fresh profile and no
// background networking (the tests stay on loopback), for the whole test.
func browser(t *testing.T) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		t.Fatalf("start Chromium: %v", err)
	}
	return ctx
}

// tab opens a new tab for one subtest, bounded in time, with a phone's
// viewport (360×740, mobile).
func tab(t *testing.T, b context.Context) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(b)
	t.Cleanup(cancel)
	ctx, cancelT := context.WithTimeout(ctx, 45*time.Second)
	t.Cleanup(cancelT)
	// A phone: headless windows are at least 500 px wide, so emulate one.
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(360, 740, chromedp.EmulateMobile)); err != nil {
		t.Fatalf("emulate a phone: %v", err)
	}
	return ctx
}

// pageServer serves the demo page on its own loopback origin.
func pageServer(t *testing.T) *httptest.Server {
	s := httptest.NewServer(web.Handler())
	t.Cleanup(s.Close)
	return s
}

// demoURL is the page on origin calling the API at api.
func demoURL(page, api string) string {
	return page + "/?lang=en&api=" + url.QueryEscape(api)
}

// codes lists the codes the emulator sent to phone.
func codes(t *testing.T, base, phone string) []string {
	t.Helper()
	resp, err := http.Get(base + "/emulator/codes?PhoneNumber=" + phone)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var list struct{ Codes []struct{ VerifyCode string } }
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, c := range list.Codes {
		out = append(out, c.VerifyCode)
	}
	return out
}

// screenshot saves the page as a PNG under $BROWSER_SCREENSHOTS, if set.
func screenshot(t *testing.T, ctx context.Context, name string) {
	dir := os.Getenv("BROWSER_SCREENSHOTS")
	if dir == "" {
		return
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Errorf("screenshot: %v", err)
		return
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Error(err)
	}
}

// fakeWidgetScript stands in for Turnstile's or hCaptcha's api.js, which
// define the same render and reset on window[global]: a button whose
// click hands the page a token the siteverify fake passes.
func fakeWidgetScript(global, name string) string {
	return `window.fakeResets = 0;
window.` + global + ` = {
  render(el, o) {
    const b = document.createElement("button");
    b.type = "button"; b.id = "fake-widget";
    b.textContent = "fake ` + name + ` " + o.sitekey;
    b.onclick = () => o.callback("pass-` + global + `-" + Date.now());
    el.append(b);
    return "w1";
  },
  reset(id) { window.fakeResets++; },
};`
}

// fakeAliyun stands in for Captcha 2.0's AliyunCaptcha.js: it shows the
// window.AliyunCaptchaConfig and SceneId the page gave it.
const fakeAliyun = `window.initAliyunCaptcha = (o) => {
  const c = window.AliyunCaptchaConfig || {};
  const b = document.createElement("button");
  b.type = "button"; b.id = "fake-aliyun";
  b.textContent = "fake Captcha 2.0 " + c.region + " " + c.prefix + " " + o.SceneId;
  document.querySelector(o.element).append(b);
};`

// fakeWidget answers the tab's requests for pattern with script, in the
// browser: nothing leaves the machine.
func fakeWidget(t *testing.T, ctx context.Context, pattern, script string) {
	t.Helper()
	paused := chromedp.Events(ctx, fetch.RequestPaused)
	if _, err := chromedp.Call(ctx, fetch.Enable, fetch.EnableParams{Patterns: []*fetch.RequestPattern{{URLPattern: pattern}}}); err != nil {
		t.Fatalf("Fetch.enable: %v", err)
	}
	go func() {
		for ev, err := range paused {
			if err != nil {
				return
			}
			_, _ = chromedp.Call(ctx, fetch.FulfillRequest, fetch.FulfillRequestParams{
				RequestID: ev.RequestID, ResponseCode: 200, Body: []byte(script),
				ResponseHeaders: []*fetch.HeaderEntry{{Name: "Content-Type", Value: "text/javascript"}},
			})
		}
	}()
}

// attr reads an attribute of the element sel selects ("" if absent).
func attr(t *testing.T, ctx context.Context, sel, name string) string {
	t.Helper()
	r, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS(sel), name))
	if err != nil {
		t.Fatalf("%s[%s]: %v", sel, name, err)
	}
	return r.Value
}

// text reads the text of the element sel selects.
func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("%s: %v", sel, err)
	}
	return s
}

// waitFor waits until the element sel selects is visible.
func waitFor(sel string) chromedp.Action[chromedp.Void] {
	return chromedp.WaitVisible(chromedp.CSS(sel))
}

func typeIn(sel, v string) chromedp.Action[chromedp.Void] {
	return chromedp.SendKeys(chromedp.CSS(sel), v)
}

func click(sel string) chromedp.Action[chromedp.Void] { return chromedp.Click(chromedp.CSS(sel)) }

// axeSource returns axe-core's axe.min.js, from the file SMSVERIFY_AXE
// names (.ci/run installs axe-core from npm and sets it). Without it the
// accessibility check is skipped, or fails when SMSVERIFY_REQUIRE_AXE is set.
func axeSource(t *testing.T) string {
	t.Helper()
	p := os.Getenv("SMSVERIFY_AXE")
	if p == "" {
		if os.Getenv("SMSVERIFY_REQUIRE_AXE") != "" {
			t.Fatal("SMSVERIFY_REQUIRE_AXE is set but SMSVERIFY_AXE names no axe.min.js")
		}
		t.Skip("accessibility check skipped: set SMSVERIFY_AXE to axe-core's axe.min.js (npm install axe-core; .ci/run does)")
	}
	src, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("SMSVERIFY_AXE: %v", err)
	}
	return string(src)
}

// colorScheme makes the tab prefer the light or dark color scheme.
func colorScheme(t *testing.T, ctx context.Context, scheme string) {
	t.Helper()
	if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}},
	}); err != nil {
		t.Fatalf("prefers-color-scheme %s: %v", scheme, err)
	}
	dark, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`matchMedia("(prefers-color-scheme: dark)").matches`))
	if err != nil || dark != (scheme == "dark") {
		t.Fatalf("prefers-color-scheme %s not in effect (dark=%v, %v)", scheme, dark, err)
	}
}

// axeCheck runs axe-core (WCAG 2 A and AA rules and best practices) on the
// page in both color schemes and reports every violation, in a subtest of
// its own, skipped without axe-core.
func axeCheck(t *testing.T, ctx context.Context, state string) {
	t.Helper()
	t.Run("axe-"+state, func(t *testing.T) { axeRun(t, ctx, axeSource(t), state) })
}

func axeRun(t *testing.T, ctx context.Context, src, state string) {
	loaded, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.axe !== undefined`))
	if err != nil {
		t.Fatal(err)
	}
	if !loaded {
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](src+"\n;true")); err != nil {
			t.Fatalf("load axe-core: %v", err)
		}
	}
	for _, scheme := range []string{"light", "dark"} {
		colorScheme(t, ctx, scheme)
		got, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`axe.run(document, {resultTypes: ["violations"]}).then((r) =>
  r.violations.map((v) => v.id + " (" + v.impact + "): " + v.nodes.map((n) => n.target.join(" ") + " " + (n.failureSummary || "")).join("; ")))`,
			chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatalf("axe.run: %v", err)
		}
		screenshot(t, ctx, state+"-"+scheme)
		for _, v := range got {
			t.Errorf("axe-core, %s, %s scheme: %s", state, scheme, v)
		}
	}
	colorScheme(t, ctx, "light")
}

// TestBrowser drives the demo page in headless Chromium, the page on one
// loopback origin and the API (the local adapter in emulator mode) on
// another, so the browser enforces CORS.
func TestBrowser(t *testing.T) {
	b := browser(t)

	t.Run("SendCheckPass", func(t *testing.T) {
		clearCredentials(t)
		page := pageServer(t)
		t.Setenv("CORS_ALLOWED_ORIGINS", page.URL)
		t.Setenv("VERIFY_TOKEN_SECRET", strings.Repeat("k", 32))
		t.Setenv("CAPTCHA_PROVIDER", "test")
		t.Setenv("EMULATOR_REPORT_DELAY", "0s")
		api, _, _ := start(t)
		ctx := tab(t, b)
		const phone = "13800000000"
		if st, m := post(t, api+"/send", `{"PhoneNumber":"13900000000"}`); st != 400 || m["Code"] != "CAPTCHA_REQUIRED" {
			t.Fatalf("the API sends without a captcha: %d %v", st, m)
		}
		// Without the captcha ticked, the page refuses to send.
		err := chromedp.Do(ctx,
			chromedp.Navigate(demoURL(page.URL, api)),
			waitFor(`body[data-ready="true"]`),
			typeIn("#phone", phone),
			click("#send"),
			waitFor(`#status[data-code="CAPTCHA_REQUIRED"]`),
		)
		if err != nil {
			t.Fatalf("send without captcha: %v", err)
		}
		err = chromedp.Do(ctx,
			click("#captcha-test"),
			click("#send"),
			waitFor(`#status[data-state="ok"]`),
			waitFor(`#send[data-countdown]`),
			// The emulator's receipt arrives; the page follows it.
			waitFor(`#delivery[data-delivery="DELIVERED"]`),
		)
		if err != nil {
			t.Fatalf("send: %v", err)
		}
		// The token was used: the box is clear again for the next request.
		if ticked, err := chromedp.Run(ctx, chromedp.JavascriptAttribute[bool](chromedp.CSS("#captcha-test"), "checked")); err != nil || ticked {
			t.Errorf("captcha still ticked after the send (%v)", err)
		}
		disabled, err := chromedp.Run(ctx, chromedp.JavascriptAttribute[bool](chromedp.CSS("#send"), "disabled"))
		if err != nil {
			t.Fatal(err)
		}
		countdown := attr(t, ctx, "#send", "data-countdown")
		if n, _ := strconv.Atoi(countdown); !disabled || n < 55 || n > 60 {
			t.Errorf("resend countdown: disabled=%v, %q seconds (ResendAfter is 60)", disabled, countdown)
		}
		sent := codes(t, api, phone)
		if len(sent) != 1 {
			t.Fatalf("emulator sent %v", sent)
		}
		// A wrong code first: the page says how many attempts are left.
		err = chromedp.Do(ctx,
			typeIn("#code", "0000"),
			click("#check"),
			waitFor(`#verdict[data-result="UNKNOWN"]`),
			waitFor(`#attempts-left`),
		)
		if err != nil {
			t.Fatalf("wrong check: %v", err)
		}
		if left := text(t, ctx, "#attempts-left"); left != "4 attempts left" {
			t.Errorf("after one wrong check the page shows %q, want 4 attempts left (CHECK_LIMIT_PER_PHONE 5/15m)", left)
		}
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => { document.getElementById("code").value = ""; return true })()`)); err != nil {
			t.Fatal(err)
		}
		err = chromedp.Do(ctx,
			typeIn("#code", sent[0]),
			click("#check"),
			waitFor(`#verdict[data-result="PASS"]`),
			waitFor(`#claims`),
		)
		screenshot(t, ctx, "pass")
		if err != nil {
			t.Fatalf("check: %v", err)
		}
		verdict, claimsJSON := text(t, ctx, "#verdict"), text(t, ctx, "#claims")
		// Phone-sized viewport: nothing overflows sideways, and every
		// input (the captcha box included) has a label.
		fits, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth <= window.innerWidth && window.innerWidth <= 400`))
		if err != nil || !fits {
			dims, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.documentElement.scrollWidth + " " + window.innerWidth + " " + [...document.querySelectorAll("body *")].filter((e) => e.getBoundingClientRect().right > window.innerWidth).map((e) => e.tagName + "#" + e.id + ":" + e.getBoundingClientRect().right).join(",")`))
			t.Errorf("the page overflows a phone-sized viewport (%v): %s", err, dims)
		}
		labelled, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`[...document.querySelectorAll("input")].every((i) => i.labels.length > 0)`))
		if err != nil || !labelled {
			t.Errorf("an input has no label (%v)", err)
		}
		var claims map[string]any
		if err := json.Unmarshal([]byte(claimsJSON), &claims); err != nil {
			t.Fatalf("claims shown are not JSON: %q", claimsJSON)
		}
		if !strings.HasPrefix(verdict, "PASS") || claims["phone_number"] != phone || claims["iss"] != "smsverify" ||
			claims["sub"] != "+86"+phone || claims["phone_number_verified"] != true {
			t.Errorf("page shows %q and claims %v", verdict, claims)
		}
	})

	// Turnstile and hCaptcha share the page's widget code: each renders with
	// the site key from /client-config, hands its token to the send, and is
	// reset after it.
	for _, w := range []struct {
		provider, siteKey, pattern, script string
		flavor                             captchatest.Flavor
		phone                              string
	}{
		{"turnstile", "0x4AAAAAAAtestsitekey", "https://challenges.cloudflare.com/*", fakeWidgetScript("turnstile", "Turnstile"), captchatest.Turnstile, "13800000003"},
		{"hcaptcha", "10000000-ffff-ffff-ffff-000000000001", "https://js.hcaptcha.com/*", fakeWidgetScript("hcaptcha", "hCaptcha"), captchatest.HCaptcha, "13800000004"},
	} {
		t.Run(w.provider+"Widget", func(t *testing.T) {
			clearCredentials(t)
			o := captchatest.Options{Flavor: w.flavor}
			if w.flavor == captchatest.HCaptcha {
				o.SiteKey = w.siteKey // hCaptcha's siteverify checks the site key it is sent
			}
			site := captchatest.NewServer(o)
			t.Cleanup(site.Close)
			page := pageServer(t)
			t.Setenv("CORS_ALLOWED_ORIGINS", page.URL)
			t.Setenv("CAPTCHA_PROVIDER", w.provider)
			t.Setenv("CAPTCHA_ENDPOINT", site.URL)
			t.Setenv("CAPTCHA_SECRET", captchatest.TestSecret)
			t.Setenv("CAPTCHA_SITE_KEY", w.siteKey)
			api, _, _ := start(t)
			ctx := tab(t, b)
			fakeWidget(t, ctx, w.pattern, w.script)
			err := chromedp.Do(ctx,
				chromedp.Navigate(demoURL(page.URL, api)),
				waitFor(`body[data-ready="true"]`),
				waitFor(`#fake-widget`),
				typeIn("#phone", w.phone),
				click("#fake-widget"),
				click("#send"),
				waitFor(`#status[data-state="ok"]`),
			)
			screenshot(t, ctx, w.provider)
			if err != nil {
				t.Fatal(err)
			}
			if sent := codes(t, api, w.phone); len(sent) != 1 {
				t.Errorf("emulator sent %v", sent)
			}
			if got := text(t, ctx, "#fake-widget"); !strings.Contains(got, w.siteKey) {
				t.Errorf("widget rendered with %q, want the site key from /client-config", got)
			}
			resets, err := chromedp.Run(ctx, chromedp.Evaluate[int]("window.fakeResets"))
			if err != nil || resets != 1 {
				t.Errorf("widget resets after the send: %d (%v), want 1", resets, err)
			}
		})
	}

	// Captcha 2.0's identity prefix and region come from /client-config
	// (CAPTCHA_PREFIX, CAPTCHA_ENDPOINT), not from the page's URL.
	t.Run("AliyunWidget", func(t *testing.T) {
		clearCredentials(t)
		page := pageServer(t)
		t.Setenv("CORS_ALLOWED_ORIGINS", page.URL)
		t.Setenv("CAPTCHA_PROVIDER", "aliyun")
		t.Setenv("CAPTCHA_SCENE_ID", "scene-7")
		t.Setenv("CAPTCHA_PREFIX", "1gw1pf")
		t.Setenv("CAPTCHA_ENDPOINT", "https://captcha.ap-southeast-1.aliyuncs.com")
		api, _, _ := start(t)
		ctx := tab(t, b)
		fakeWidget(t, ctx, "https://o.alicdn.com/*", fakeAliyun)
		err := chromedp.Do(ctx,
			chromedp.Navigate(demoURL(page.URL, api)),
			waitFor(`body[data-ready="true"]`),
			waitFor(`#fake-aliyun`),
		)
		if err != nil {
			t.Fatal(err)
		}
		if got := text(t, ctx, "#fake-aliyun"); got != "fake Captcha 2.0 sgp 1gw1pf scene-7" {
			t.Errorf("widget got %q, want region sgp, prefix 1gw1pf and scene-7 from /client-config", got)
		}
	})

	// The emulator as a new user meets it: GET / opens the demo (served by
	// the emulator itself), a second result replaces the first card and an
	// error replaces the card, the favicon loads, axe-core finds nothing in
	// either color scheme, and a page on another origin reads the codes and
	// resets the emulator.
	t.Run("EmulatorDemo", func(t *testing.T) {
		clearCredentials(t)
		t.Setenv("VERIFY_TOKEN_SECRET", strings.Repeat("k", 32))
		api, _, _ := start(t)
		page := pageServer(t)
		ctx := tab(t, b)
		const phone = "13800000005"
		err := chromedp.Do(ctx,
			chromedp.Navigate(api+"/?lang=en"),
			waitFor(`body[data-ready="true"]`),
		)
		if err != nil {
			t.Fatal(err)
		}
		if at, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`location.pathname`)); at != "/demo/" {
			t.Errorf("GET / led to %q, want /demo/", at)
		}
		icon, err := chromedp.Run(ctx, chromedp.Evaluate[string](`fetch(document.querySelector("link[rel=icon]").href).then((r) => r.status + " " + r.headers.get("Content-Type"))`, chromedp.EvalAwaitPromise))
		if err != nil || icon != "200 image/svg+xml" {
			t.Errorf("favicon: %q (%v)", icon, err)
		}
		err = chromedp.Do(ctx,
			typeIn("#phone", phone),
			click("#send"),
			waitFor(`#send[data-countdown]`),
		)
		if err != nil {
			t.Fatalf("send: %v", err)
		}
		sent := codes(t, api, phone)
		if len(sent) != 1 {
			t.Fatalf("emulator sent %v", sent)
		}
		err = chromedp.Do(ctx,
			typeIn("#code", sent[0]),
			click("#check"),
			waitFor(`#verdict[data-result="PASS"]`),
			waitFor(`#claims`),
		)
		if err != nil {
			t.Fatalf("check: %v", err)
		}
		axeCheck(t, ctx, "pass") // a PASS card with claims, the send button disabled
		// The same code again: used up. The UNKNOWN card replaces the PASS one.
		err = chromedp.Do(ctx,
			click("#check"),
			waitFor(`#verdict[data-result="UNKNOWN"]`),
		)
		if err != nil {
			t.Fatalf("second check: %v", err)
		}
		cards, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelectorAll("#verdict").length + " " + document.getElementById("claims").hidden + " " + document.getElementById("claims").textContent.length`))
		if err != nil || cards != "1 true 0" {
			t.Errorf("after the second check: verdicts, claims hidden, claims text = %q (%v); want one card without the old claims", cards, err)
		}
		// A failure replaces the card too: only the error is left.
		err = chromedp.Do(ctx,
			chromedp.SetValue(chromedp.CSS("#code"), "!!!!"),
			click("#check"),
			waitFor(`#status[data-state="error"]`),
		)
		if err != nil {
			t.Fatalf("bad code: %v", err)
		}
		if hidden, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById("result").hidden`)); err != nil || !hidden {
			t.Errorf("the old result card stays beside the error (hidden=%v, %v)", hidden, err)
		}
		axeCheck(t, ctx, "error")

		// Another origin (no CORS_ALLOWED_ORIGINS: any may) reads the codes
		// and resets the emulator.
		other := tab(t, b)
		if err := chromedp.Do(other, chromedp.Navigate(demoURL(page.URL, api))); err != nil {
			t.Fatal(err)
		}
		read := `fetch(` + strconv.Quote(api+"/emulator/codes?PhoneNumber="+phone) + `).then((r) => r.json()).then((j) => j.Codes.map((c) => c.VerifyCode))`
		got, err := chromedp.Run(other, chromedp.Evaluate[[]string](read, chromedp.EvalAwaitPromise))
		if err != nil || len(got) != 1 || got[0] != sent[0] {
			t.Errorf("codes read from %s: %v (%v), want [%s]", page.URL, got, err, sent[0])
		}
		forgotten, err := chromedp.Run(other, chromedp.Evaluate[[]string](`fetch(`+strconv.Quote(api+"/emulator/reset")+`, {method: "POST"}).then((r) => r.json()).then((j) => j.Forgotten)`, chromedp.EvalAwaitPromise))
		if err != nil || strings.Join(forgotten, ",") != "codes,limits,idempotency,receipts,attempts" {
			t.Errorf("reset from another origin: %v (%v)", forgotten, err)
		}
		if got, err := chromedp.Run(other, chromedp.Evaluate[[]string](read, chromedp.EvalAwaitPromise)); err != nil || len(got) != 0 {
			t.Errorf("codes after the reset: %v (%v), want none", got, err)
		}
	})

	t.Run("OriginNotAllowed", func(t *testing.T) {
		clearCredentials(t)
		page := pageServer(t)
		t.Setenv("CORS_ALLOWED_ORIGINS", "https://app.example")
		api, _, _ := start(t)
		ctx := tab(t, b)
		const phone = "13800000001"
		err := chromedp.Do(ctx,
			chromedp.Navigate(demoURL(page.URL, api)),
			// GET /client-config is refused already: no grant for this origin.
			waitFor(`body[data-ready="error"]`),
			typeIn("#phone", phone),
			click("#send"),
			waitFor(`#status[data-state="error"]`),
		)
		screenshot(t, ctx, "cors")
		if err != nil {
			t.Fatal(err)
		}
		code, status := attr(t, ctx, "#status", "data-code"), text(t, ctx, "#status")
		if code != "NETWORK_ERROR" || !strings.Contains(status, "CORS") {
			t.Errorf("page shows %q (%s), want the CORS failure", status, code)
		}
		// The preflight got no grant, so the POST was never made.
		if sent := codes(t, api, phone); len(sent) != 0 {
			t.Errorf("a send from a refused origin went through: %v", sent)
		}
	})

	t.Run("RateLimitedCountdown", func(t *testing.T) {
		clearCredentials(t)
		page := pageServer(t)
		t.Setenv("CORS_ALLOWED_ORIGINS", page.URL)
		t.Setenv("SMS_LIMIT_PER_PHONE", "1/1h")
		api, _, _ := start(t)
		const phone = "13800000002"
		if st, m := post(t, api+"/send", `{"PhoneNumber":"`+phone+`"}`); st != 200 {
			t.Fatalf("first send: %d %v", st, m)
		}
		ctx := tab(t, b)
		err := chromedp.Do(ctx,
			chromedp.Navigate(demoURL(page.URL, api)),
			waitFor(`body[data-ready="true"]`),
			typeIn("#phone", phone),
			click("#send"),
			waitFor(`#status[data-state="error"]`),
			waitFor(`#send[data-countdown]`),
		)
		screenshot(t, ctx, "429")
		if err != nil {
			t.Fatal(err)
		}
		code, countdown, label := attr(t, ctx, "#status", "data-code"), attr(t, ctx, "#send", "data-countdown"), text(t, ctx, "#send")
		// Retry-After is the rest of the hour the first send opened.
		if n, _ := strconv.Atoi(countdown); code != "SEND_LIMIT_PHONE" || n < 3500 || n > 3600 || !strings.HasPrefix(label, "Resend (") || !strings.Contains(label, ":") {
			t.Errorf("429: code %s, countdown %q, button %q", code, countdown, label)
		}
	})
}
