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
	rest, ok := strings.CutPrefix(s, core.Algorithm+" ")
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
// like the gateway. It returns the action and the API parameters (query,
// then form body).
func (f *Fake) authenticate(r *http.Request, now time.Time) (string, url.Values, *gatewayError) {
	if r.Method != http.MethodPost || r.URL.Path != "/" {
		return "", nil, errNotFound()
	}
	action := r.Header.Get("x-acs-action")
	if action != core.ActionSend && action != core.ActionCheck {
		return "", nil, errNotFound()
	}
	if r.Header.Get("x-acs-version") != core.APIVersion {
		return "", nil, errVersion()
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return "", nil, &gatewayError{http.StatusBadRequest, "InvalidParameter", "The request body could not be read."}
	}
	if len(body) > maxBody {
		return "", nil, &gatewayError{http.StatusRequestEntityTooLarge, "RequestEntityTooLarge",
			"The request body is too large."}
	}
	query, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return "", nil, &gatewayError{http.StatusBadRequest, "SignatureDoesNotMatch",
			"The query string is not well formed."}
	}

	auth, ok := parseAuthorization(r.Header.Get("Authorization"))
	if !ok {
		return "", nil, errIncomplete()
	}
	creds, ok := f.keys[auth.keyID]
	if !ok {
		return "", nil, &gatewayError{http.StatusNotFound, "InvalidAccessKeyId.NotFound", "Specified access key is not found."}
	}
	token := r.Header.Get("x-acs-security-token")
	if subtle.ConstantTimeCompare([]byte(token), []byte(creds.SecurityToken)) != 1 {
		return "", nil, &gatewayError{http.StatusBadRequest, "InvalidSecurityToken.Mismatch",
			"Specified SecurityToken mismatch with the AccessKey."}
	}
	// The headers every signature must cover, and which must be present.
	required := []string{"host", "x-acs-action", "x-acs-version", "x-acs-date", "x-acs-signature-nonce", "x-acs-content-sha256"}
	if creds.SecurityToken != "" {
		required = append(required, "x-acs-security-token")
	}
	if len(body) > 0 {
		required = append(required, "content-type")
	}
	for _, h := range required {
		if !slices.Contains(auth.signed, h) || headerValue(r, h) == "" {
			return "", nil, errIncomplete()
		}
	}
	bodySum := sha256.Sum256(body)
	bodySHA := r.Header.Get("x-acs-content-sha256")
	if !strings.EqualFold(bodySHA, hex.EncodeToString(bodySum[:])) {
		return "", nil, errMismatch()
	}
	date, err := time.Parse(core.DateFormat, r.Header.Get("x-acs-date"))
	if err != nil {
		return "", nil, &gatewayError{http.StatusBadRequest, "InvalidTimeStamp.Format",
			"Specified time stamp or date value is not well formatted."}
	}
	if d := now.Sub(date); d > dateWindow || d < -dateWindow {
		return "", nil, &gatewayError{http.StatusBadRequest, "InvalidTimeStamp.Expired",
			"Specified time stamp or date value is expired."}
	}
	hs := make([]core.Header, len(auth.signed))
	for i, h := range auth.signed {
		hs[i] = core.Header{Name: h, Value: headerValue(r, h)}
	}
	want, _ := core.Sign(core.SignInput{
		Method: r.Method, Path: r.URL.EscapedPath(), Query: core.CanonicalQuery(query),
		Headers: hs, BodySHA256: bodySHA,
	}, creds.AccessKeySecret)
	if !hmac.Equal([]byte(want), []byte(auth.signature)) {
		return "", nil, errMismatch()
	}
	if !f.useNonce(auth.keyID, r.Header.Get("x-acs-signature-nonce"), now) {
		return "", nil, &gatewayError{http.StatusBadRequest, "SignatureNonceUsed", "Specified signature nonce was used already."}
	}

	params := query
	if len(body) > 0 {
		mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if mt == "application/x-www-form-urlencoded" {
			form, err := url.ParseQuery(string(body))
			if err != nil {
				return "", nil, &gatewayError{http.StatusBadRequest, "InvalidParameter",
					"The request body is not well formed."}
			}
			for k, vs := range form {
				params[k] = append(params[k], vs...)
			}
		}
	}
	return action, params, nil
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
