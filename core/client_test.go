package core

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var testCreds = StaticCredentials{AccessKeyID: "testid", AccessKeySecret: "testsecret-do-not-leak"}

func newTestClient(t *testing.T, url string, o Options) *Client {
	t.Helper()
	o.Endpoint = url
	if o.Credentials == nil {
		o.Credentials = testCreds
	}
	c, err := NewClient(o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func validSend() *SendRequest {
	return &SendRequest{PhoneNumber: "13800000000", SignName: "速通互联验证码", TemplateCode: "100001",
		TemplateParam: `{"code":"##code##","min":"5"}`}
}

func validCheck() *CheckRequest {
	return &CheckRequest{PhoneNumber: "13800000000", VerifyCode: "1234"}
}

// serve answers every request with status and body.
func serve(t *testing.T, status int, body string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestErrorShapes(t *testing.T) {
	now := time.Date(2026, 11, 27, 15, 0, 0, 0, time.UTC) // 23:00 in China
	for _, tc := range []struct {
		name      string
		status    int
		body      string
		code      string
		kind      Kind
		transient bool
		retry     time.Duration
		reqID     string
		detail    string
	}{
		{"business 200 illegal number", 200, `{"Code":"MOBILE_NUMBER_ILLEGAL","Message":"The mobile number is illegal.","RequestId":"R1","Success":false}`,
			"MOBILE_NUMBER_ILLEGAL", KindBadInput, false, 0, "R1", ""},
		{"business 400 invalid parameters", 400, `{"Code":"INVALID_PARAMETERS","Message":"parameter is not valid.","RequestId":"R2","Success":false}`,
			"INVALID_PARAMETERS", KindBadInput, false, 0, "R2", ""},
		{"frequency", 200, `{"Code":"FREQUENCY_FAIL","Message":"Check frequency fail.","RequestId":"R3","Success":false}`,
			"FREQUENCY_FAIL", KindRateLimited, false, 90 * time.Second, "R3", ""},
		{"live frequency", 200, `{"Code":"biz.FREQUENCY","Message":"check frequency failed","RequestId":"R4","Success":false}`,
			"biz.FREQUENCY", KindRateLimited, false, 90 * time.Second, "R4", ""},
		{"daily limit until China midnight", 200, `{"Code":"BUSINESS_LIMIT_CONTROL","Message":"The number has exceeded the limit for the day.","RequestId":"R5","Success":false}`,
			"BUSINESS_LIMIT_CONTROL", KindRateLimited, false, time.Hour + time.Second, "R5", ""},
		{"function not opened", 200, `{"Code":"FUNCTION_NOT_OPENED","Message":"You have not opened this function.","RequestId":"R6","Success":false}`,
			"FUNCTION_NOT_OPENED", KindMisconfigured, false, 0, "R6", ""},
		{"quota", 200, `{"Code":"RESOURCE_NOT_ENOUGH","Message":"x","RequestId":"R7","Success":false}`,
			"RESOURCE_NOT_ENOUGH", KindUnavailable, false, 0, "R7", ""},
		{"unknown business code", 200, `{"Code":"SOMETHING_NEW","Message":"x","RequestId":"R8","Success":false}`,
			"SOMETHING_NEW", KindUpstream, false, 0, "R8", ""},
		{"gateway signature", 400, `{"RequestId":"G1","HostId":"dypnsapi.aliyuncs.com","Code":"SignatureDoesNotMatch","Message":"Specified signature is not matched with our calculation.","Recommend":"https://api.aliyun.com/troubleshoot?q=SignatureDoesNotMatch"}`,
			"SignatureDoesNotMatch", KindMisconfigured, false, 0, "G1", ""},
		{"gateway key", 404, `{"RequestId":"G2","HostId":"h","Code":"InvalidAccessKeyId.NotFound","Message":"Specified access key is not found."}`,
			"InvalidAccessKeyId.NotFound", KindMisconfigured, false, 0, "G2", ""},
		{"gateway token", 400, `{"RequestId":"G3","Code":"InvalidSecurityToken.Expired","Message":"x"}`,
			"InvalidSecurityToken.Expired", KindMisconfigured, false, 0, "G3", ""},
		{"gateway unavailable", 503, `{"RequestId":"G4","Code":"ServiceUnavailable","Message":"The request has failed due to a temporary failure of the server."}`,
			"ServiceUnavailable", KindUnavailable, true, 0, "G4", ""},
		{"gateway throttling", 400, `{"RequestId":"G5","Code":"Throttling.User","Message":"Request was denied due to user flow control."}`,
			"Throttling.User", KindRateLimited, true, time.Second, "G5", ""},
		{"gateway internal", 500, `{"RequestId":"G6","Code":"InternalError","Message":"x"}`,
			"InternalError", KindUpstream, true, 0, "G6", ""},
		{"forbidden with object detail", 403, `{"RequestId":"G7","Code":"Forbidden.RAM","Message":"no","AccessDeniedDetail":{"PolicyType":"AccountLevelIdentityBasedPolicy","AuthAction":"dypns:SendSmsVerifyCode"}}`,
			"Forbidden.RAM", KindMisconfigured, false, 0, "G7", `{"PolicyType":"AccountLevelIdentityBasedPolicy","AuthAction":"dypns:SendSmsVerifyCode"}`},
		{"string detail", 200, `{"Code":"Forbidden","Message":"no","RequestId":"R9","Success":false,"AccessDeniedDetail":"无权限"}`,
			"Forbidden", KindMisconfigured, false, 0, "R9", "无权限"},
		{"html from a proxy", 502, `<html><body>Bad Gateway</body></html>`, CodeBadResponse, KindUpstream, true, 0, "", ""},
		{"html 503", 503, `<html>unavailable</html>`, CodeBadResponse, KindUnavailable, true, 0, "", ""},
		{"empty 200", 200, ``, CodeBadResponse, KindUpstream, false, 0, "", ""},
		{"JSON without Code", 200, `{"foo":1}`, CodeBadResponse, KindUpstream, false, 0, "", ""},
		{"JSON array", 200, `[1,2]`, CodeBadResponse, KindUpstream, false, 0, "", ""},
		{"OK but Success false", 200, `{"Code":"OK","Success":false,"RequestId":"R10"}`, CodeBadResponse, KindUpstream, false, 0, "R10", ""},
		{"OK with error status", 500, `{"Code":"OK","Success":true,"RequestId":"R11"}`, CodeBadResponse, KindUpstream, true, 0, "R11", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := serve(t, tc.status, tc.body)
			c := newTestClient(t, srv.URL, Options{Now: func() time.Time { return now }})
			req := validSend()
			req.Interval = Int64(90)
			_, err := c.Send(context.Background(), req)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v (%T), want *Error", err, err)
			}
			if e.Code != tc.code || e.Kind() != tc.kind || KindOf(err) != tc.kind {
				t.Errorf("Code %q Kind %v, want %q %v", e.Code, e.Kind(), tc.code, tc.kind)
			}
			if e.StatusCode != tc.status || e.RequestID != tc.reqID || e.AccessDeniedDetail != tc.detail {
				t.Errorf("StatusCode %d RequestID %q detail %q", e.StatusCode, e.RequestID, e.AccessDeniedDetail)
			}
			if got := IsTransient(err); got != tc.transient {
				t.Errorf("IsTransient = %v, want %v", got, tc.transient)
			}
			ra, limited := RateLimited(err)
			if limited != (tc.kind == KindRateLimited) || ra != tc.retry {
				t.Errorf("RateLimited = %v %v, want %v", ra, limited, tc.retry)
			}
			if e.Action != ActionSend || !strings.Contains(err.Error(), tc.code) {
				t.Errorf("Error() = %q", err)
			}
			if strings.Contains(err.Error(), "13800000000") || strings.Contains(err.Error(), string(testCreds.AccessKeySecret)) {
				t.Errorf("error leaks a secret or phone: %q", err)
			}
		})
	}
}

func TestCheckGarbageIsNeverAWrongCode(t *testing.T) {
	for _, body := range []string{
		`{"Code":"OK","Success":true,"RequestId":"R"}`,
		`{"Code":"OK","Success":true,"RequestId":"R","Model":{}}`,
		`{"Code":"OK","Success":true,"RequestId":"R","Model":"PASS"}`,
		`{"Code":"OK","Success":true,"RequestId":"R","Model":null}`,
	} {
		srv := serve(t, 200, body)
		c := newTestClient(t, srv.URL, Options{})
		res, err := c.Check(context.Background(), validCheck())
		if err == nil || res != nil {
			t.Errorf("%s: got %+v, %v; want an error", body, res, err)
		}
		if KindOf(err) != KindUpstream {
			t.Errorf("%s: kind %v", body, KindOf(err))
		}
	}
}

func TestCheckResults(t *testing.T) {
	for _, tc := range []struct {
		result string
		passed bool
	}{{"PASS", true}, {"UNKNOWN", false}, {"FAIL", false}} {
		srv := serve(t, 200, `{"Code":"OK","Message":"成功","Success":true,"RequestId":"R","Model":{"VerifyResult":"`+tc.result+`","OutId":"o"}}`)
		c := newTestClient(t, srv.URL, Options{})
		res, err := c.Check(context.Background(), validCheck())
		if err != nil {
			t.Fatal(err)
		}
		if res.Passed() != tc.passed || res.Model.OutID != "o" || res.RequestID != "R" {
			t.Errorf("%s: %+v", tc.result, res)
		}
	}
}

func TestValidationBeforeNetwork(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits.Add(1) }))
	defer srv.Close()
	c := newTestClient(t, srv.URL, Options{})
	if _, err := c.Send(context.Background(), &SendRequest{PhoneNumber: "12"}); KindOf(err) != KindBadInput {
		t.Errorf("Send: %v", err)
	}
	if _, err := c.Check(context.Background(), &CheckRequest{PhoneNumber: "13800000000", VerifyCode: "1"}); KindOf(err) != KindBadInput {
		t.Errorf("Check: %v", err)
	}
	if hits.Load() != 0 {
		t.Errorf("%d requests reached the server", hits.Load())
	}
}

func TestHungServerTimesOut(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	c := newTestClient(t, srv.URL, Options{Timeout: 50 * time.Millisecond})
	_, err := c.Check(context.Background(), validCheck())
	if KindOf(err) != KindTimeout || !IsTransient(err) {
		t.Fatalf("err = %v, kind %v", err, KindOf(err))
	}
	// The caller's earlier deadline wins over Options.Timeout.
	c = newTestClient(t, srv.URL, Options{Timeout: time.Hour})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := c.Send(ctx, validSend()); KindOf(err) != KindTimeout {
		t.Fatalf("err = %v", err)
	}
	ctx, cancel = context.WithCancel(context.Background())
	cancel()
	if _, err := c.Send(ctx, validSend()); KindOf(err) != KindCanceled {
		t.Fatalf("canceled: err = %v", err)
	}
}

// TestHTTPClientTransportOnly: the Client sends through the HTTPClient's
// Transport alone; the HTTPClient's Timeout still bounds a call when it is
// shorter than Options.Timeout, and an error that quotes the URL (a
// RoundTripper wrapping an http.Client) loses the URL, which holds the
// phone number and the code.
func TestHTTPClientTransportOnly(t *testing.T) {
	var left time.Duration
	hc := &http.Client{Timeout: 3 * time.Second, Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		dl, ok := r.Context().Deadline()
		if !ok {
			return nil, errors.New("no deadline")
		}
		left = time.Until(dl)
		return nil, &url.Error{Op: "Post", URL: r.URL.String(), Err: errors.New("boom")}
	})}
	c := newTestClient(t, "https://dypnsapi.example.com", Options{HTTPClient: hc, Timeout: time.Hour})
	_, err := c.Check(context.Background(), validCheck())
	if KindOf(err) != KindUpstream || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("err = %v", err)
	}
	if s := err.Error(); strings.Contains(s, validCheck().PhoneNumber) || strings.Contains(s, validCheck().VerifyCode) {
		t.Errorf("error quotes the request: %v", err)
	}
	if left <= 0 || left > 3*time.Second {
		t.Errorf("the call had %v left, want at most the HTTPClient's 3s", left)
	}
	// Options.Timeout wins when it is the shorter.
	c = newTestClient(t, "https://dypnsapi.example.com", Options{HTTPClient: hc, Timeout: time.Second})
	c.Check(context.Background(), validCheck())
	if left > time.Second {
		t.Errorf("the call had %v left, want at most Options.Timeout 1s", left)
	}
}

// roundTripFunc is an http.RoundTripper made of a function.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestRedialOnlyWhenNeverSent: a refused connection is retried once (the
// request never left); a connection that dies after the request was written
// is not retried, so a Send can never be delivered twice.
func TestRedialOnlyWhenNeverSent(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens: dial fails with ECONNREFUSED
	var dials atomic.Int32
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, a string) (net.Conn, error) {
		dials.Add(1)
		return (&net.Dialer{}).DialContext(ctx, network, a)
	}}}
	c := newTestClient(t, "http://"+addr, Options{HTTPClient: hc})
	if _, err := c.Send(context.Background(), validSend()); KindOf(err) != KindUpstream || !IsTransient(err) {
		t.Errorf("refused: %v", err)
	}
	if _, err := c.Check(context.Background(), validCheck()); strings.Contains(err.Error(), "13800000000") || strings.Contains(err.Error(), "1234") {
		t.Errorf("transport error leaks the phone or code: %v", err)
	}
	if dials.Load() != 4 {
		t.Errorf("refused connection dialed %d times over two calls, want 4", dials.Load())
	}

	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		conn, _, _ := w.(http.Hijacker).Hijack()
		conn.Close() // request received, connection dropped without an answer
	}))
	defer srv.Close()
	c = newTestClient(t, srv.URL, Options{})
	if _, err := c.Send(context.Background(), validSend()); err == nil || !IsTransient(err) {
		t.Errorf("dropped: %v", err)
	}
	if hits.Load() != 1 {
		t.Errorf("request that reached the server was sent %d times", hits.Load())
	}
}

func TestCredentialsPerRequest(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Get("x-acs-security-token")+"|"+strings.Split(r.Header.Get("Authorization"), ",")[0])
		mu.Unlock()
		io.WriteString(w, `{"Code":"OK","Success":true,"RequestId":"R","Model":{"BizId":"b"}}`)
	}))
	defer srv.Close()
	type key struct{}
	prov := CredentialsFunc(func(ctx context.Context) (Credentials, error) {
		tok, _ := ctx.Value(key{}).(string)
		if tok == "" {
			return Credentials{}, ErrNoCredentials
		}
		return Credentials{AccessKeyID: "sts-" + tok, AccessKeySecret: "s", SecurityToken: tok}, nil
	})
	c := newTestClient(t, srv.URL, Options{Credentials: prov})
	for _, tok := range []string{"t1", "t2"} {
		if _, err := c.Send(context.WithValue(context.Background(), key{}, tok), validSend()); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"t1|ACS3-HMAC-SHA256 Credential=sts-t1", "t2|ACS3-HMAC-SHA256 Credential=sts-t2"}
	if strings.Join(seen, " ") != strings.Join(want, " ") {
		t.Errorf("seen %q, want %q", seen, want)
	}
	_, err := c.Send(context.Background(), validSend())
	if KindOf(err) != KindMisconfigured || !errors.Is(err, ErrNoCredentials) {
		t.Errorf("no credentials: %v", err)
	}
}

func TestEnvCredentials(t *testing.T) {
	t.Setenv(envAccessKeyID, "")
	t.Setenv(envAccessKeySecret, "")
	if _, err := EnvCredentials().Credentials(context.Background()); !errors.Is(err, ErrNoCredentials) {
		t.Errorf("unset: %v", err)
	}
	t.Setenv(envAccessKeyID, "id")
	t.Setenv(envAccessKeySecret, "sec")
	t.Setenv(envSecurityToken, "tok")
	c, err := EnvCredentials().Credentials(context.Background())
	if err != nil || c != (Credentials{AccessKeyID: "id", AccessKeySecret: "sec", SecurityToken: "tok"}) {
		t.Errorf("got %v, %v", c, err)
	}
	if s := c.String() + (&c).GoString(); strings.Contains(s, "sec") || strings.Contains(s, "tok") {
		t.Errorf("Credentials print secrets: %s", s)
	}
}

func TestNewClientEndpoint(t *testing.T) {
	for ep, ok := range map[string]bool{
		"":                               true,
		"https://dypnsapi.aliyuncs.com":  true,
		"https://dypnsapi.aliyuncs.com/": true,
		"http://127.0.0.1:8080":          true,
		"http://localhost:1":             true,
		"http://[::1]:1":                 true,
		"http://dypnsapi.aliyuncs.com":   false,
		"ftp://x":                        false,
		"https://x/path":                 false,
		"https://x/?a=b":                 false,
		"https://user:pw@x":              false,
		"::":                             false,
	} {
		_, err := NewClient(Options{Endpoint: ep, Credentials: testCreds})
		if (err == nil) != ok {
			t.Errorf("%q: err = %v", ep, err)
		}
	}
	if _, err := NewClient(Options{}); err == nil {
		t.Error("no credentials accepted")
	}
}

// TestDuplicateKeysAreMalformed (issue 15): an answer naming a member twice
// is ambiguous (json.Unmarshal keeps the last, another reader the first),
// so it is refused like any malformed answer, never read as a success or a
// PASS; the same names in different objects are fine.
func TestDuplicateKeysAreMalformed(t *testing.T) {
	for _, tc := range []struct {
		body string
		dup  bool
	}{
		{`{"Code":"OK","Success":true,"RequestId":"R","Model":{"VerifyResult":"PASS","RequestId":"M"}}`, false},
		{`{"Code":"isv.MOBILE_NUMBER_ILLEGAL","Code":"OK","Success":true,"RequestId":"R","Model":{"VerifyResult":"PASS"}}`, true},
		{`{"Code":"OK","code":"OK","Success":true,"RequestId":"R","Model":{"VerifyResult":"PASS"}}`, true},
		{`{"Code":"OK","Success":true,"RequestId":"R","Model":{"VerifyResult":"UNKNOWN","VerifyResult":"PASS"}}`, true},
		{`{"Code":"OK","Success":true,"RequestId":"R","Model":{"VerifyResult":"PASS"},"Model":{"VerifyResult":"PASS"}}`, true},
		{`{"Code":"OK","Success":true,"RequestId":"R","AccessDeniedDetail":{"a":[{"b":1,"b":2}]},"Model":{"VerifyResult":"PASS"}}`, true},
		{`{"Code":"OK","Success":true,"RequestId":"R","AccessDeniedDetail":{"a":[{"b":1},{"b":2}],"c":{}},"Model":{"VerifyResult":"PASS"}}`, false},
		{`{"Code":"OK","Success":true,"\u0043ode":"OK","RequestId":"R","Model":{"VerifyResult":"PASS"}}`, true},
		{`{"Code":"OK","Success":true,"RequestId":"R","Model":{"VerifyResult":"PASS","verifyresult":"PASS"}}`, true},
		{`{"Code":"OK","Success":true,"RequestId":"R","Message":"{\"Code\":1,\"Code\":2}","Model":{"VerifyResult":"PASS","Code":"x"}}`, false},
		{`{"Code":"OK","Success":true,"RequestId":"R","AccessDeniedDetail":[{"Code":1},{"Code":2},[{"a":{"a":[]}}]],"Model":{"VerifyResult":"PASS"}}`, false},
		{`{"Code":"OK","Success":true,"RequestId":"R","AccessDeniedDetail":{"a":["x","x",{"x":1}],"x":["a"]},"Model":{"VerifyResult":"PASS"}}`, false},
		{` { "Code" : "OK" , "Success" : true , "RequestId" : "R\\" , "Model" : { "VerifyResult" : "PASS" } , "RequestId" : "S" } `, true},
		{"{\"Code\":\"OK\",\"Success\":true,\"RequestId\":\"R\",\"Model\":{\"VerifyResult\":\"PASS\"},\"\xff\":1,\"\xfe\":2}", true},
		// Deeper and wider than the room duplicateKey keeps on the stack.
		{`{"Code":"OK","Success":true,"RequestId":"R","AccessDeniedDetail":` + deepWide(false) + `,"Model":{"VerifyResult":"PASS"}}`, false},
		{`{"Code":"OK","Success":true,"RequestId":"R","AccessDeniedDetail":` + deepWide(true) + `,"Model":{"VerifyResult":"PASS"}}`, true},
	} {
		srv := serve(t, 200, tc.body)
		c := newTestClient(t, srv.URL, Options{})
		res, err := c.Check(context.Background(), validCheck())
		if !tc.dup {
			if err != nil || !res.Passed() {
				t.Errorf("%s: %+v, %v; want a PASS", tc.body, res, err)
			}
			continue
		}
		var ce *Error
		if res != nil || !errors.As(err, &ce) || ce.Code != CodeBadResponse || KindOf(err) != KindUpstream {
			t.Errorf("%s: %+v, %v; want a BadResponse", tc.body, res, err)
		}
	}
}

// deepWide is 12 nested objects around one with 40 members, the first named
// again at the end when dup.
func deepWide(dup bool) string {
	var b strings.Builder
	b.WriteString(strings.Repeat(`{"a":`, 12) + `{`)
	for i := range 40 {
		fmt.Fprintf(&b, `"k%d":%d,`, i, i)
	}
	if dup {
		b.WriteString(`"k0":0,`)
	}
	b.WriteString(`"z":0}` + strings.Repeat(`}`, 12))
	return b.String()
}
