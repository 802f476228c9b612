package dypnstest

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"smsverify/core"
	"smsverify/core/acs3"
)

// Gateway limits.
const (
	maxBody     = 1 << 20          // largest request body accepted
	dateWindow  = 15 * time.Minute // how far x-acs-date may be from the clock
	nonceMemory = 30 * time.Minute // how long a nonce is remembered
)

func errNotFound() *gatewayError {
	return &gatewayError{http.StatusNotFound, "InvalidAction.NotFound",
		"Specified api is not found, please check your url and method."}
}

func errVersion() *gatewayError {
	return &gatewayError{http.StatusBadRequest, "InvalidVersion", "Specified parameter Version is not valid."}
}

func errIncomplete() *gatewayError {
	return &gatewayError{http.StatusBadRequest, "IncompleteSignature",
		"The request signature does not conform to Aliyun standards."}
}

func errMismatch() *gatewayError {
	return &gatewayError{http.StatusBadRequest, "SignatureDoesNotMatch",
		"Specified signature does not match our calculation."}
}

// authorization is a parsed Authorization header.
type authorization struct {
	keyID     string
	signed    []string // lower-case names, as listed
	signature string
}

// parseAuthorization parses
// "ACS3-HMAC-SHA256 Credential=ID,SignedHeaders=a;b,Signature=hex".
func parseAuthorization(s string) (authorization, bool) {
	var a authorization
	rest, ok := strings.CutPrefix(s, acs3.Algorithm+" ")
	if !ok {
		return a, false
	}
	var haveSigned bool
	for part := range strings.SplitSeq(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return a, false
		}
		switch k {
		case "Credential":
			a.keyID = v
		case "SignedHeaders":
			haveSigned = true
			for h := range strings.SplitSeq(v, ";") {
				if h == "" {
					return a, false
				}
				a.signed = append(a.signed, strings.ToLower(h))
			}
		case "Signature":
			a.signature = v
		default:
			return a, false
		}
	}
	return a, a.keyID != "" && haveSigned && a.signature != ""
}

// authenticate checks the route, reads the body and verifies the request
// like the gateway, in the gateway's order. It returns the action and the
// API parameters (query, then form body).
func (f *Fake) authenticate(r *http.Request, now time.Time) (string, url.Values, *gatewayError) {
	action, gerr := route(r)
	if gerr != nil {
		return "", nil, gerr
	}
	body, query, gerr := readRequest(r)
	if gerr != nil {
		return "", nil, gerr
	}
	auth, creds, gerr := f.identify(r)
	if gerr != nil {
		return "", nil, gerr
	}
	if gerr := requireSigned(r, auth, creds, len(body) > 0); gerr != nil {
		return "", nil, gerr
	}
	if gerr := checkBodyHash(r, body); gerr != nil {
		return "", nil, gerr
	}
	if gerr := checkDate(r, now); gerr != nil {
		return "", nil, gerr
	}
	if gerr := verifySignature(r, query, auth, creds.AccessKeySecret); gerr != nil {
		return "", nil, gerr
	}
	if gerr := f.checkNonce(auth.keyID, r.Header.Get("x-acs-signature-nonce"), now); gerr != nil {
		return "", nil, gerr
	}
	params, gerr := withForm(r, query, body)
	if gerr != nil {
		return "", nil, gerr
	}
	return action, params, nil
}

// actionVersions are the actions the fake serves and each one's API
// version: Dypnsapi's two, and Captcha 2.0's VerifyIntelligentCaptcha.
var actionVersions = map[string]string{
	core.ActionSend:     core.APIVersion,
	core.ActionCheck:    core.APIVersion,
	ActionVerifyCaptcha: CaptchaAPIVersion,
}

// route accepts only POST / for an action and version the fake serves.
func route(r *http.Request) (string, *gatewayError) {
	if r.Method != http.MethodPost || r.URL.Path != "/" {
		return "", errNotFound()
	}
	action := r.Header.Get("x-acs-action")
	version, ok := actionVersions[action]
	if !ok {
		return "", errNotFound()
	}
	if r.Header.Get("x-acs-version") != version {
		return "", errVersion()
	}
	return action, nil
}

// readRequest reads the body (up to maxBody) and parses the query.
func readRequest(r *http.Request) ([]byte, url.Values, *gatewayError) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return nil, nil, &gatewayError{http.StatusBadRequest, "InvalidParameter", "The request body could not be read."}
	}
	if len(body) > maxBody {
		return nil, nil, &gatewayError{http.StatusRequestEntityTooLarge, "RequestEntityTooLarge",
			"The request body is too large."}
	}
	query, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, nil, &gatewayError{http.StatusBadRequest, "SignatureDoesNotMatch",
			"The query string is not well formed."}
	}
	return body, query, nil
}

// identify parses the Authorization header and finds its AccessKey; an STS
// key's security token must come with it.
func (f *Fake) identify(r *http.Request) (authorization, core.Credentials, *gatewayError) {
	auth, ok := parseAuthorization(r.Header.Get("Authorization"))
	if !ok {
		return auth, core.Credentials{}, errIncomplete()
	}
	creds, ok := f.keys[auth.keyID]
	if !ok {
		return auth, creds, &gatewayError{http.StatusNotFound, "InvalidAccessKeyId.NotFound", "Specified access key is not found."}
	}
	token := r.Header.Get("x-acs-security-token")
	if subtle.ConstantTimeCompare([]byte(token), []byte(creds.SecurityToken)) != 1 {
		return auth, creds, &gatewayError{http.StatusBadRequest, "InvalidSecurityToken.Mismatch",
			"Specified SecurityToken mismatch with the AccessKey."}
	}
	return auth, creds, nil
}

// requireSigned checks that the headers every signature must cover are
// present and signed: the security token for STS keys, content-type with a
// body.
func requireSigned(r *http.Request, auth authorization, creds core.Credentials, hasBody bool) *gatewayError {
	required := []string{"host", "x-acs-action", "x-acs-version", "x-acs-date", "x-acs-signature-nonce", "x-acs-content-sha256"}
	if creds.SecurityToken != "" {
		required = append(required, "x-acs-security-token")
	}
	if hasBody {
		required = append(required, "content-type")
	}
	for _, h := range required {
		if !slices.Contains(auth.signed, h) || headerValue(r, h) == "" {
			return errIncomplete()
		}
	}
	return nil
}

// checkBodyHash checks x-acs-content-sha256 against the body.
func checkBodyHash(r *http.Request, body []byte) *gatewayError {
	sum := sha256.Sum256(body)
	if !strings.EqualFold(r.Header.Get("x-acs-content-sha256"), hex.EncodeToString(sum[:])) {
		return errMismatch()
	}
	return nil
}

// checkDate checks x-acs-date's format and that it is within dateWindow of now.
func checkDate(r *http.Request, now time.Time) *gatewayError {
	date, err := time.Parse(acs3.DateFormat, r.Header.Get("x-acs-date"))
	if err != nil {
		return &gatewayError{http.StatusBadRequest, "InvalidTimeStamp.Format",
			"Specified time stamp or date value is not well formatted."}
	}
	if d := now.Sub(date); d > dateWindow || d < -dateWindow {
		return &gatewayError{http.StatusBadRequest, "InvalidTimeStamp.Expired",
			"Specified time stamp or date value is expired."}
	}
	return nil
}

// verifySignature recomputes the signature over the headers the request
// says it signed, with acs3.Signature, and compares it in constant time.
func verifySignature(r *http.Request, query url.Values, auth authorization, secret string) *gatewayError {
	hs := make([]acs3.Header, len(auth.signed))
	for i, h := range auth.signed {
		hs[i] = acs3.Header{Name: h, Value: headerValue(r, h)}
	}
	want, _ := acs3.Signature(acs3.Request{
		Method: r.Method, Path: r.URL.EscapedPath(), Query: acs3.CanonicalQuery(query),
		Headers: hs, BodySHA256: r.Header.Get("x-acs-content-sha256"),
	}, secret)
	if !hmac.Equal([]byte(want), []byte(auth.signature)) {
		return errMismatch()
	}
	return nil
}

// checkNonce rejects a nonce this key already used (see useNonce).
func (f *Fake) checkNonce(keyID, nonce string, now time.Time) *gatewayError {
	if !f.useNonce(keyID, nonce, now) {
		return &gatewayError{http.StatusBadRequest, "SignatureNonceUsed", "Specified signature nonce was used already."}
	}
	return nil
}

// withForm adds the parameters of an application/x-www-form-urlencoded
// body to query's; other bodies carry no parameters.
func withForm(r *http.Request, query url.Values, body []byte) (url.Values, *gatewayError) {
	if len(body) == 0 {
		return query, nil
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/x-www-form-urlencoded" {
		return query, nil
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, &gatewayError{http.StatusBadRequest, "InvalidParameter", "The request body is not well formed."}
	}
	for k, vs := range form {
		query[k] = append(query[k], vs...)
	}
	return query, nil
}

// headerValue returns the value a signature covers for header h.
func headerValue(r *http.Request, h string) string {
	if h == "host" {
		return r.Host
	}
	return r.Header.Get(h)
}

// useNonce records a verified request's nonce and reports whether it was
// new within the last nonceMemory.
func (f *Fake) useNonce(keyID, nonce string, now time.Time) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sweep(now)
	k := keyID + "\x00" + nonce
	if seen, ok := f.nonces[k]; ok && now.Sub(seen) < nonceMemory {
		return false
	}
	f.nonces[k] = now
	return true
}
