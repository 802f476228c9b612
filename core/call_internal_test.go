package core

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"smsverify/core/acs3"
)

func TestNeverReached(t *testing.T) {
	dial := fmt.Errorf("Post http://127.0.0.1:1: %w", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED})
	dns := &net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "no such host", Name: "nowhere.invalid", IsNotFound: true}}
	read := &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}
	gw := func(status int, code string) *Error {
		return &Error{Action: ActionSend, StatusCode: status, Code: code}
	}
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"plain error", errors.New("boom"), false},
		{"context deadline", context.DeadlineExceeded, false},
		{"param error", &ParamError{"PhoneNumber", "is required"}, true},
		{"missing credentials", &Error{Code: CodeMissingCredentials, Err: ErrNoCredentials}, true},
		{"connection refused", &Error{Code: CodeNetworkError, Err: dial}, true},
		{"DNS failure", &Error{Code: CodeNetworkError, Err: dns}, true},
		{"connection reset after sending", &Error{Code: CodeNetworkError, Err: read}, false},
		{"network error without cause", &Error{Code: CodeNetworkError}, false},
		{"timeout", &Error{Code: CodeTimeout, Err: context.DeadlineExceeded}, false},
		{"canceled", &Error{Code: CodeCanceled, Err: context.Canceled}, false},
		{"garbage 200", gw(200, CodeBadResponse), false},
		{"garbage 502", gw(502, CodeBadResponse), false},
		{"redirect", gw(302, CodeBadResponse), false},
		{"SignatureDoesNotMatch", gw(400, "SignatureDoesNotMatch"), true},
		{"IncompleteSignature", gw(400, "IncompleteSignature"), true},
		{"SignatureNonceUsed", gw(400, "SignatureNonceUsed"), true},
		{"InvalidAccessKeyId.NotFound", gw(404, "InvalidAccessKeyId.NotFound"), true},
		{"InvalidAccessKeyId.Inactive", gw(400, "InvalidAccessKeyId.Inactive"), true},
		{"InvalidSecurityToken.Expired", gw(400, "InvalidSecurityToken.Expired"), true},
		{"InvalidSecurityToken.Mismatch", gw(400, "InvalidSecurityToken.Mismatch"), true},
		{"MissingSecurityToken", gw(400, "MissingSecurityToken"), true},
		{"InvalidTimeStamp.Expired", gw(400, "InvalidTimeStamp.Expired"), true},
		{"InvalidTimeStamp.Format", gw(400, "InvalidTimeStamp.Format"), true},
		{"Throttling.User", gw(400, "Throttling.User"), true},
		{"Throttling.Api", gw(503, "Throttling.Api"), true},
		{"Throttling", gw(429, "Throttling"), true},
		{"InvalidVersion", gw(400, "InvalidVersion"), true},
		{"InvalidAction.NotFound", gw(404, "InvalidAction.NotFound"), true},
		{"wrapped gateway rejection", fmt.Errorf("send: %w", gw(400, "SignatureDoesNotMatch")), true},
		{"gateway code in a 200 business answer", gw(200, "SignatureDoesNotMatch"), false},
		{"FREQUENCY_FAIL", gw(200, "FREQUENCY_FAIL"), false},
		{"BUSINESS_LIMIT_CONTROL", gw(200, "BUSINESS_LIMIT_CONTROL"), false},
		{"MOBILE_NUMBER_ILLEGAL", gw(200, "MOBILE_NUMBER_ILLEGAL"), false},
		{"FUNCTION_NOT_OPENED", gw(200, "FUNCTION_NOT_OPENED"), false},
		{"SENTINEL_BLOCK_EXCEPTION", gw(200, "SENTINEL_BLOCK_EXCEPTION"), false},
		{"Forbidden.RAM", gw(403, "Forbidden.RAM"), false},
		{"ServiceUnavailable", gw(503, "ServiceUnavailable"), false},
		{"InternalError", gw(500, "InternalError"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := NeverReached(tc.err); got != tc.want {
				t.Errorf("NeverReached(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
}

// TestCallClassifiesLikeSend: every non-2xx answer Send turns into an
// *Error, Call turns into the same one.
func TestCallClassifiesLikeSend(t *testing.T) {
	for _, tc := range []struct {
		status int
		body   string
	}{
		{400, `{"Code":"INVALID_PARAMETERS","Message":"parameter is not valid.","RequestId":"R2","Success":false}`},
		{400, `{"RequestId":"G1","HostId":"h","Code":"SignatureDoesNotMatch","Message":"m","Recommend":"https://x"}`},
		{404, `{"RequestId":"G2","HostId":"h","Code":"InvalidAccessKeyId.NotFound","Message":"m"}`},
		{503, `{"RequestId":"G4","Code":"ServiceUnavailable","Message":"m"}`},
		{400, `{"RequestId":"G5","Code":"Throttling.User","Message":"m"}`},
		{500, `{"RequestId":"G6","Code":"InternalError","Message":"m"}`},
		{403, `{"RequestId":"G7","Code":"Forbidden.RAM","Message":"no","AccessDeniedDetail":{"PolicyType":"P"}}`},
		{502, `<html><body>Bad Gateway</body></html>`},
		{503, `<html>unavailable</html>`},
		{500, `{"Code":"OK","Success":true,"RequestId":"R11"}`},
		{429, `{"foo":1}`},
	} {
		srv := serve(t, tc.status, tc.body)
		c := newTestClient(t, srv.URL, Options{})
		_, sendErr := c.Send(context.Background(), validSend())
		callErr := c.Call(context.Background(), APIVersion, ActionSend, nil, nil)
		var se, ce *Error
		if !errors.As(sendErr, &se) || !errors.As(callErr, &ce) {
			t.Fatalf("%d %s: Send %v, Call %v", tc.status, tc.body, sendErr, callErr)
		}
		se.Err, ce.Err = nil, nil // the decoder's own errors
		if *se != *ce || KindOf(sendErr) != KindOf(callErr) || IsTransient(sendErr) != IsTransient(callErr) ||
			NeverReached(sendErr) != NeverReached(callErr) {
			t.Errorf("%d %s:\nSend %+v\nCall %+v", tc.status, tc.body, *se, *ce)
		}
	}
}

// TestCallBusinessAnswerIsDecoded: a 2xx answer is the caller's to
// interpret (products differ in their Code and Success fields), so a
// business failure in a 200 is decoded, not turned into an error.
func TestCallBusinessAnswerIsDecoded(t *testing.T) {
	srv := serve(t, 200, `{"Code":"FREQUENCY_FAIL","Success":false,"RequestId":"R"}`)
	c := newTestClient(t, srv.URL, Options{})
	var out struct {
		Code    string
		Success bool
	}
	if err := c.Call(context.Background(), APIVersion, ActionSend, map[string]string{"PhoneNumber": "13800000000"}, &out); err != nil {
		t.Fatal(err)
	}
	if out.Code != "FREQUENCY_FAIL" || out.Success {
		t.Errorf("out = %+v", out)
	}
}

// TestCallSignsActionAndVersion: a Call of another product's action and
// version sends them in x-acs-action and x-acs-version, signed, and its
// parameters in a signed form body (content-type signed, body hashed) with
// an empty query; the server recomputes the signature with the
// known-answer-tested signer.
func TestCallSignsActionAndVersion(t *testing.T) {
	var got struct{ action, version, query, contentType, body string }
	var verified atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.action, got.version, got.query = r.Header.Get("x-acs-action"), r.Header.Get("x-acs-version"), r.URL.RawQuery
		got.contentType = r.Header.Get("Content-Type")
		body, _ := io.ReadAll(r.Body)
		got.body = string(body)
		sum := sha256.Sum256(body)
		if r.Header.Get("x-acs-content-sha256") != hex.EncodeToString(sum[:]) {
			w.WriteHeader(400)
			io.WriteString(w, `{"Code":"SignatureDoesNotMatch","RequestId":"H"}`)
			return
		}
		auth := r.Header.Get("Authorization")
		rest, ok := strings.CutPrefix(auth, acs3.Algorithm+" Credential="+testCreds.AccessKeyID+",SignedHeaders=")
		signed, sig, ok2 := strings.Cut(rest, ",Signature=")
		if !ok || !ok2 {
			w.WriteHeader(400)
			return
		}
		var hs []acs3.Header
		for _, name := range strings.Split(signed, ";") {
			v := r.Header.Get(name)
			if name == "host" {
				v = r.Host
			}
			hs = append(hs, acs3.Header{Name: name, Value: v})
		}
		q, _ := url.ParseQuery(r.URL.RawQuery)
		want, wantSigned := acs3.Signature(acs3.Request{Method: r.Method, Path: "/", Query: acs3.CanonicalQuery(q), Headers: hs,
			BodySHA256: r.Header.Get("x-acs-content-sha256")}, testCreds.AccessKeySecret)
		if want != sig || wantSigned != "content-type;host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version" {
			w.WriteHeader(400)
			io.WriteString(w, `{"Code":"SignatureDoesNotMatch","RequestId":"X"}`)
			return
		}
		verified.Store(true)
		io.WriteString(w, `{"RequestId":"R","Result":{"VerifyResult":true}}`)
	}))
	defer srv.Close()
	c := newTestClient(t, srv.URL, Options{})
	var out struct{ Result struct{ VerifyResult bool } }
	err := c.Call(context.Background(), "2023-03-05", "VerifyIntelligentCaptcha",
		map[string]string{"CaptchaVerifyParam": `{"a":"b c"}`, "SceneId": "s1"}, &out)
	if err != nil || !verified.Load() || !out.Result.VerifyResult {
		t.Fatalf("err %v, verified %v, out %+v", err, verified.Load(), out)
	}
	if got.action != "VerifyIntelligentCaptcha" || got.version != "2023-03-05" || got.query != "" ||
		got.contentType != "application/x-www-form-urlencoded" ||
		got.body != "CaptchaVerifyParam=%7B%22a%22%3A%22b%20c%22%7D&SceneId=s1" {
		t.Errorf("sent %+v", got)
	}
}

// TestCallRedialResendsBody: when the first connection is refused, Call
// redials and the second attempt carries the whole body again, freshly
// signed (a new nonce), and its hash still matches.
func TestCallRedialResendsBody(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := ln.Addr().String()
	ln.Close()
	var bodies []string
	var nonces []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		sum := sha256.Sum256(body)
		if r.Header.Get("x-acs-content-sha256") != hex.EncodeToString(sum[:]) {
			w.WriteHeader(400)
			io.WriteString(w, `{"Code":"SignatureDoesNotMatch","RequestId":"H"}`)
			return
		}
		bodies = append(bodies, string(body))
		nonces = append(nonces, r.Header.Get("x-acs-signature-nonce"))
		io.WriteString(w, `{"RequestId":"R"}`)
	}))
	defer srv.Close()
	var dials atomic.Int32
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, a string) (net.Conn, error) {
		if dials.Add(1) == 1 {
			a = refused // the first dial is refused: the request never left
		}
		return (&net.Dialer{}).DialContext(ctx, network, a)
	}}}
	c := newTestClient(t, srv.URL, Options{HTTPClient: hc})
	token := strings.Repeat("t", 4096)
	if err := c.Call(context.Background(), "2023-03-05", "VerifyIntelligentCaptcha",
		map[string]string{"CaptchaVerifyParam": token, "SceneId": "s1"}, nil); err != nil {
		t.Fatal(err)
	}
	if dials.Load() != 2 || len(bodies) != 1 || bodies[0] != "CaptchaVerifyParam="+token+"&SceneId=s1" || nonces[0] == "" {
		t.Errorf("%d dials, bodies %d, first body %.40q…", dials.Load(), len(bodies), bodies)
	}
}

// TestRedirectIsNeverFollowed: a 3xx from the endpoint is an upstream error
// (not transient), and the signed POST is never sent a second time, with
// the default HTTP client or the caller's own (which is left as it was).
func TestRedirectIsNeverFollowed(t *testing.T) {
	var posts atomic.Int32
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		posts.Add(1)
		io.WriteString(w, `{"Code":"OK","Success":true,"RequestId":"R","Model":{"BizId":"b","VerifyResult":"PASS"}}`)
	}))
	defer target.Close()
	for _, status := range []int{301, 302, 303, 307, 308} {
		redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			posts.Add(1)
			http.Redirect(w, r, target.URL+"/?"+r.URL.RawQuery, status)
		}))
		own := &http.Client{}
		for name, hc := range map[string]*http.Client{"default": nil, "own": own} {
			posts.Store(0)
			c := newTestClient(t, redirector.URL, Options{HTTPClient: hc})
			_, err := c.Send(context.Background(), validSend())
			var e *Error
			if !errors.As(err, &e) || e.StatusCode != status || e.Code != CodeBadResponse {
				t.Fatalf("%d %s: err = %v", status, name, err)
			}
			if KindOf(err) != KindUpstream || IsTransient(err) || NeverReached(err) {
				t.Errorf("%d %s: kind %v, transient %v, never reached %v", status, name, KindOf(err), IsTransient(err), NeverReached(err))
			}
			if n := posts.Load(); n != 1 {
				t.Errorf("%d %s: %d POSTs reached a server, want 1", status, name, n)
			}
			if err := c.Call(context.Background(), APIVersion, ActionCheck, nil, nil); KindOf(err) != KindUpstream || posts.Load() != 2 {
				t.Errorf("%d %s: Call: %v after %d POSTs", status, name, err, posts.Load())
			}
		}
		if own.CheckRedirect != nil {
			t.Error("NewClient changed the caller's http.Client")
		}
		redirector.Close()
	}
}

// TestSendModelShape: one decode of the answer still tells a Model of the
// wrong shape in a success (garbage) from one in a failure (the failure's
// Code decides).
func TestSendModelShape(t *testing.T) {
	for _, tc := range []struct {
		body string
		code string
		kind Kind
	}{
		{`{"Code":"OK","Success":true,"RequestId":"R","Model":"x"}`, CodeBadResponse, KindUpstream},
		{`{"Code":"OK","Success":true,"RequestId":"R","Model":{"BizId":5}}`, CodeBadResponse, KindUpstream},
		{`{"Code":"FREQUENCY_FAIL","Success":false,"RequestId":"R","Model":"x"}`, "FREQUENCY_FAIL", KindRateLimited},
		{`{"Code":"OK","Success":true,"RequestId":"R","Model":{"BizId":"b"},"AccessDeniedDetail":{"a": [1, 2]}}`, "", 0},
	} {
		srv := serve(t, 200, tc.body)
		c := newTestClient(t, srv.URL, Options{})
		res, err := c.Send(context.Background(), validSend())
		if tc.code == "" {
			if err != nil || res.Model.BizID != "b" || res.AccessDeniedDetail != `{"a":[1,2]}` || res.RequestID != "R" {
				t.Errorf("%s: %+v, %v", tc.body, res, err)
			}
			continue
		}
		var e *Error
		if !errors.As(err, &e) || e.Code != tc.code || e.Kind() != tc.kind || e.RequestID != "R" {
			t.Errorf("%s: err = %v", tc.body, err)
		}
	}
}

// TestAccessDeniedDetailString: a string detail reads as json.Unmarshal
// reads a string: the usual empty one, and others with and without escapes.
func TestAccessDeniedDetailString(t *testing.T) {
	for _, in := range []string{`""`, `"无权限"`, `"a\"b"`, `"\u65e0\n"`, "\"\xff\"", `"plain text"`} {
		var want string
		if err := json.Unmarshal([]byte(in), &want); err != nil {
			t.Fatal(err)
		}
		var d accessDeniedDetail
		if err := d.UnmarshalJSON([]byte(in)); err != nil || string(d) != want {
			t.Errorf("UnmarshalJSON(%s) = %q, %v; want %q", in, d, err, want)
		}
	}
}
