package dypnstest

import (
	"crypto/sha256"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Captcha 2.0 (https://help.aliyun.com/zh/captcha/captcha2-0/user-guide/server-integration).
const (
	CaptchaAPIVersion   = "2023-03-05"
	ActionVerifyCaptcha = "VerifyIntelligentCaptcha"
)

// captchaMemory is how long a submitted captcha token is remembered (an
// initialisation record lives 20 minutes at Alibaba).
const captchaMemory = 30 * time.Minute

// CaptchaVerification is one VerifyIntelligentCaptcha the fake answered.
type CaptchaVerification struct {
	SceneID      string
	VerifyParam  string // the CaptchaVerifyParam
	VerifyResult bool
	VerifyCode   string // T001, F001, F008, …
	// URLLength is the length of the request's target as received (path and
	// query), BodyLength its body's; the parameters count wherever they are
	// sent, query or form body, as at the gateway.
	URLLength  int
	BodyLength int64
}

// captchaState is the fake's captcha memory, guarded by Fake.mu.
type captchaState struct {
	used map[[32]byte]time.Time // token hash → first submission
	last CaptchaVerification
}

// CaptchaCount returns how many VerifyIntelligentCaptcha calls were answered
// with a verdict (passed or not).
func (f *Fake) CaptchaCount() int64 { return f.captchas.Load() }

// LastCaptcha returns the last VerifyIntelligentCaptcha answered.
func (f *Fake) LastCaptcha() CaptchaVerification {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.captcha.last
}

// captchaBody is VerifyIntelligentCaptcha's answer.
type captchaBody struct {
	RequestID string        `json:"RequestId"`
	Code      string        `json:"Code"`
	Message   string        `json:"Message"`
	Success   bool          `json:"Success"`
	Result    captchaResult `json:"Result"`
}

type captchaResult struct {
	VerifyResult bool   `json:"VerifyResult"`
	VerifyCode   string `json:"VerifyCode"`
}

// serveVerifyCaptcha answers VerifyIntelligentCaptcha. Its parameters come
// from the query or a form body (authenticate has checked the body's hash
// and the signature), as at the gateway. CaptchaVerifyParam
// and SceneId are required (else a 400 MissingParameter). The token decides
// the verdict, once: a token starting with "pass" passes (T001); a token
// starting with "F" and three digits fails with that code (F014-… → F014);
// any other token fails with F001 (suspected attack). A token submitted a
// second time fails with F008, like the real service.
func (f *Fake) serveVerifyCaptcha(w http.ResponseWriter, r *http.Request, v url.Values, now time.Time) {
	token, scene := v.Get("CaptchaVerifyParam"), v.Get("SceneId")
	for _, p := range []struct{ name, value string }{{"CaptchaVerifyParam", token}, {"SceneId", scene}} {
		if p.value == "" {
			writeGateway(w, r, &gatewayError{http.StatusBadRequest, "MissingParameter",
				"The input parameter \"" + p.name + "\" that is mandatory for processing this request is not supplied."})
			return
		}
	}
	code := "F001"
	switch {
	case strings.HasPrefix(token, "pass"):
		code = "T001"
	case len(token) >= 4 && token[0] == 'F' && isDigits(token[1:4]):
		code = token[:4]
	}
	key := sha256.Sum256([]byte(token))
	f.mu.Lock()
	f.sweep(now)
	if _, seen := f.captcha.used[key]; seen {
		code = "F008" // submitted twice
	} else {
		f.captcha.used[key] = now
	}
	ver := CaptchaVerification{SceneID: scene, VerifyParam: token, VerifyResult: code[0] == 'T', VerifyCode: code,
		URLLength: len(r.RequestURI), BodyLength: r.ContentLength}
	f.captcha.last = ver
	f.mu.Unlock()

	f.captchas.Add(1)
	id := newRequestID()
	writeJSON(w, http.StatusOK, id, captchaBody{RequestID: id, Code: "Success", Message: "success", Success: true,
		Result: captchaResult{VerifyResult: ver.VerifyResult, VerifyCode: code}})
}

func isDigits(s string) bool {
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
