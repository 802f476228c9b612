package dypnstest_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"smsverify/core"
	"smsverify/core/acs3"
	"smsverify/core/dypnstest"
	"smsverify/internal/testclock"
)

// start is 10:00 in China on 2026-03-01.
var start = time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)

// seqReader yields the bytes 0, 1, 2, …, 255, 0, … so generated codes are
// deterministic and cover every residue.
type seqReader struct {
	mu sync.Mutex
	n  byte
}

func (r *seqReader) Read(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range p {
		p[i] = r.n
		r.n++
	}
	return len(p), nil
}

// fixture is a fake server and a core client talking to it.
type fixture struct {
	srv    *dypnstest.Server
	client *core.Client
	clock  *testclock.Clock
	creds  core.Credentials
}

// newFixture starts a server with o (its clock set to a shared one unless o
// has one) and a client signing with the first accepted credentials.
func newFixture(t *testing.T, o dypnstest.Options) *fixture {
	t.Helper()
	clk := testclock.New(start)
	if o.Now == nil {
		o.Now = clk.Now
	}
	srv := dypnstest.NewServer(o)
	t.Cleanup(srv.Close)
	creds := dypnstest.TestCredentials()
	if len(o.Credentials) > 0 {
		creds = o.Credentials[0]
	}
	return &fixture{srv: srv, client: newClient(t, srv.URL, creds, clk.Now, 0), clock: clk, creds: creds}
}

// newClient returns a client of the fake at endpoint. A zero timeout is a
// generous one: only a fake that never answers may time out, and those calls
// carry their own short deadline (giveUp), so load on the machine cannot
// turn a fast answer into a timeout.
func newClient(t *testing.T, endpoint string, creds core.Credentials, now func() time.Time, timeout time.Duration) *core.Client {
	t.Helper()
	if timeout == 0 {
		timeout = time.Minute
	}
	c, err := core.NewClient(core.Options{
		Endpoint: endpoint, Credentials: core.StaticCredentials(creds), Now: now, Timeout: timeout,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

const generatedParam = `{"code":"##code##","min":"5"}`

// sendReq is a valid send with the code returned.
func sendReq(phone string) *core.SendRequest {
	return &core.SendRequest{
		PhoneNumber: phone, SignName: "速通互联验证码", TemplateCode: "100001",
		TemplateParam: generatedParam, ReturnVerifyCode: core.Bool(true),
	}
}

// send sends r and returns the code, failing the test on error.
func (fx *fixture) send(t *testing.T, r *core.SendRequest) string {
	t.Helper()
	resp, err := fx.client.Send(context.Background(), r)
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	return resp.Model.VerifyCode
}

// check checks code and returns the VerifyResult, failing the test on error.
func (fx *fixture) check(t *testing.T, r *core.CheckRequest) string {
	t.Helper()
	resp, err := fx.client.Check(context.Background(), r)
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	return resp.Model.VerifyResult
}

// signed builds a request signed with acs3.SignHTTP: params in the
// query, body (form-encoded when non-empty) covered by its hash.
func signed(t *testing.T, base, action string, params url.Values, body string, c core.Credentials, at time.Time, nonce string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, base+"/?"+params.Encode(), strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("x-acs-action", action)
	req.Header.Set("x-acs-version", core.APIVersion)
	if body != "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	sum := sha256.Sum256([]byte(body))
	if err := acs3.SignHTTP(req, hex.EncodeToString(sum[:]), c, at, nonce); err != nil {
		t.Fatal(err)
	}
	return req
}

// answer is every field of both answer shapes.
type answer struct {
	Status             int
	ContentType        string
	RequestID          string
	HostID             string
	Code               string
	Message            string
	Recommend          string
	Success            *bool
	AccessDeniedDetail *string
	Model              map[string]string
}

// do sends req with a plain http.Client and decodes the answer.
func do(t *testing.T, req *http.Request) answer {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	a := answer{Status: resp.StatusCode, ContentType: resp.Header.Get("Content-Type")}
	if err := json.Unmarshal(b, &a); err != nil {
		t.Fatalf("answer is not JSON: %v: %q", err, b)
	}
	return a
}

// sendParams are valid SendSmsVerifyCode parameters.
func sendParams(phone string) url.Values {
	return url.Values{
		"PhoneNumber": {phone}, "SignName": {"速通互联验证码"}, "TemplateCode": {"100001"},
		"TemplateParam": {generatedParam}, "ReturnVerifyCode": {"true"},
	}
}
