package core

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"time"

	"smsverify/core/acs3"
)

// API identity.
const (
	DefaultEndpoint = "https://dypnsapi.aliyuncs.com"
	APIVersion      = "2017-05-25"
	ActionSend      = "SendSmsVerifyCode"
	ActionCheck     = "CheckSmsVerifyCode"
	DefaultTimeout  = 5 * time.Second
	// DefaultInterval is Alibaba's default Interval between two sends to
	// one number (SendRequest.Interval).
	DefaultInterval = 60 * time.Second
)

// maxBody caps how much of an answer is read; real answers are < 1 KiB.
const maxBody = 1 << 20

// Options configure a Client. Only Credentials is required.
type Options struct {
	// Endpoint is the API's base URL, scheme://host[:port]. Default
	// DefaultEndpoint. It must pass CheckEndpoint: plain http is accepted
	// only for loopback hosts (tests and the local emulator).
	Endpoint string
	// Credentials signs each request; it is asked once per request.
	Credentials CredentialsProvider
	// HTTPClient sends the requests. Default NewHTTPClient(). Only its
	// Transport (nil: http.DefaultTransport) and its Timeout, when shorter
	// than Timeout, are used: the Client never follows a redirect and keeps
	// no cookies.
	HTTPClient *http.Client
	// Timeout bounds each call, including a redial; the context's deadline
	// applies when it is earlier. Default DefaultTimeout.
	Timeout time.Duration
	// Now and Nonce are the clock and the nonce source; defaults time.Now and
	// 16 random bytes in hex.
	Now   func() time.Time
	Nonce func() string
}

// Client calls Dypnsapi. It is immutable after NewClient and safe for
// concurrent use; share one per process so connections are reused.
type Client struct {
	host    string
	base    string // scheme://host/?
	creds   CredentialsProvider
	rt      http.RoundTripper
	timeout time.Duration
	now     func() time.Time
	nonce   func() string
}

// NewClient checks o and returns a Client.
func NewClient(o Options) (*Client, error) {
	if o.Credentials == nil {
		return nil, errors.New("core: Options.Credentials is required")
	}
	ep := o.Endpoint
	if ep == "" {
		ep = DefaultEndpoint
	}
	u, err := parseEndpoint(ep, true)
	if err != nil {
		return nil, fmt.Errorf("core: %w", err)
	}
	c := &Client{
		host: u.Host, base: u.Scheme + "://" + u.Host + "/?", creds: o.Credentials,
		timeout: o.Timeout, now: o.Now, nonce: o.Nonce,
	}
	hc := o.HTTPClient
	if hc == nil {
		hc = NewHTTPClient()
	}
	// The transport alone sends each request: a redirect is never followed
	// (following one would send the signed request a second time, a second
	// SMS), and none of http.Client's per-request bookkeeping is needed.
	c.rt = hc.Transport
	if c.rt == nil {
		c.rt = http.DefaultTransport
	}
	if c.timeout <= 0 {
		c.timeout = DefaultTimeout
	}
	if hc.Timeout > 0 && hc.Timeout < c.timeout {
		c.timeout = hc.Timeout
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.nonce == nil {
		c.nonce = randomNonce
	}
	return c, nil
}

// NewHTTPClient returns an *http.Client tuned for many concurrent calls to
// one host: a large keep-alive pool, HTTP/2 when offered, bounded dial and
// TLS handshake times, and an overall 30 s backstop (calls are bounded by
// Options.Timeout well before that).
func NewHTTPClient() *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           (&net.Dialer{Timeout: 3 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			ForceAttemptHTTP2:     true,
			MaxIdleConns:          512,
			MaxIdleConnsPerHost:   512,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   5 * time.Second,
			ExpectContinueTimeout: time.Second,
		},
		Timeout: 30 * time.Second,
	}
}

// randomNonce returns 16 random bytes in hex, unique per request.
func randomNonce() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b[:])
}

// Send calls SendSmsVerifyCode. It validates r first and returns a
// *ParamError without any network call when r breaks a documented rule.
// Failures are *Error values; see Kind, RateLimited and IsTransient.
//
// Send is not retried once the request may have reached Alibaba, so it
// never causes a second SMS by itself. A KindTimeout error means the SMS may
// or may not have been sent.
func (c *Client) Send(ctx context.Context, r *SendRequest) (*SendResponse, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	var arr [16]acs3.Param
	interval := DefaultInterval
	if r.Interval != nil {
		interval = time.Duration(min(*r.Interval, int64(1<<62/time.Second))) * time.Second
	}
	status, body, err := c.call(ctx, APIVersion, ActionSend, r.appendParams(arr[:0]), false)
	if err != nil {
		return nil, err
	}
	return sendResult(status, body, c.now(), interval)
}

// Check calls CheckSmsVerifyCode. A code that does not match is an answer
// with Passed() false, never an error; a failure of any kind (transport,
// timeout, garbage answer) is an error, never a wrong code.
func (c *Client) Check(ctx context.Context, r *CheckRequest) (*CheckResponse, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	var arr [8]acs3.Param
	status, body, err := c.call(ctx, APIVersion, ActionCheck, r.appendParams(arr[:0]), false)
	if err != nil {
		return nil, err
	}
	return checkResult(status, body, c.now())
}

// Call signs one RPC-style request with V3 (ACS3-HMAC-SHA256) and POSTs it to
// the Client's endpoint: action of API version, with the Client's
// credentials, timeout and redial rule. It is the path Send and Check take,
// for other actions (and, with another Client, other products). Unlike Send
// and Check, Call sends params in an application/x-www-form-urlencoded body
// (percent-encoded like a canonical query; content-type signed, the body
// covered by x-acs-content-sha256) and an empty query, as Alibaba's SDKs do,
// so a long parameter such as a 4 KiB captcha token never makes a long URL.
//
// A 2xx answer's JSON body is decoded into out (a non-nil pointer; nil
// discards the body after checking it is JSON); whether a 2xx answer is a
// success is the product's business (its Code and Success fields vary), so
// Call leaves it to the caller. Anything else is a *Error classified exactly
// like Send's (KindOf, IsTransient, RateLimited, NeverReached), and a 2xx
// body that is not JSON is a KindUpstream *Error.
// An empty or malformed version, action or parameter name is a *ParamError,
// returned without any network call.
func (c *Client) Call(ctx context.Context, version, action string, params map[string]string, out any) error {
	if !validToken(version) {
		return &ParamError{Field: "Version", Reason: "must be non-empty printable ASCII without spaces"}
	}
	if !validToken(action) {
		return &ParamError{Field: "Action", Reason: "must be non-empty printable ASCII without spaces"}
	}
	if out != nil {
		if v := reflect.ValueOf(out); v.Kind() != reflect.Pointer || v.IsNil() {
			return fmt.Errorf("core: Call needs a non-nil pointer to decode into, not %T", out)
		}
	}
	ps := make([]acs3.Param, 0, len(params))
	for k, v := range params {
		if k == "" {
			return &ParamError{Field: "params", Reason: "must not contain an empty name"}
		}
		ps = append(ps, acs3.Param{Name: k, Value: v})
	}
	status, body, err := c.call(ctx, version, action, ps, true)
	if err != nil {
		return err
	}
	if status < 200 || status > 299 {
		var a answer[struct{}]
		_, err := parseResponse(&a, action, status, body, c.now(), DefaultInterval)
		return err
	}
	if out == nil {
		if !json.Valid(body) {
			return badJSON(action, status, body, nil)
		}
		return nil
	}
	if err := json.Unmarshal(body, out); err != nil {
		return badJSON(action, status, body, err)
	}
	return nil
}

// validToken reports whether s can be an action or version header value.
func validToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

// call signs and sends one request for action of API version and returns
// the answer's status and body: ps in the query, or, with form, in a
// form-encoded body (empty query). It redials once if the first connection
// could not be made at all; each attempt is signed afresh and sends the
// whole body again. Send, Check and Call all go through it.
func (c *Client) call(ctx context.Context, version, action string, ps []acs3.Param, form bool) (int, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	creds, err := c.creds.Credentials(ctx)
	if err == nil && !creds.Valid() {
		err = ErrNoCredentials
	}
	if err != nil {
		return 0, nil, &Error{Action: action, Code: CodeMissingCredentials, Message: "no usable credentials", Err: err}
	}
	p := payload{query: string(acs3.AppendQuery(make([]byte, 0, 512), ps)), bodySHA256: acs3.EmptySHA256}
	if form && p.query != "" {
		sum := sha256.Sum256([]byte(p.query))
		p.query, p.body, p.bodySHA256 = "", p.query, hex.EncodeToString(sum[:])
	}
	for attempt := 0; ; attempt++ {
		status, body, err := c.do(ctx, version, action, p, creds)
		if err != nil {
			if attempt == 0 && neverSent(err) && ctx.Err() == nil {
				continue
			}
			return 0, nil, c.transportError(ctx, action, err)
		}
		if status >= 300 && status < 400 {
			return 0, nil, &Error{Action: action, StatusCode: status, Code: CodeBadResponse,
				Message: "the endpoint answered with a redirect, which is never followed"}
		}
		return status, body, nil
	}
}

// neverSent reports whether err proves the request never left this host:
// the connection could not be established (refused, unreachable, DNS).
func neverSent(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

func (c *Client) transportError(ctx context.Context, action string, err error) *Error {
	// A *url.Error (from a RoundTripper that wraps an http.Client, say)
	// prints the URL, whose query holds the phone number and the code: keep
	// only the operation and the cause.
	var ue *url.Error
	if errors.As(err, &ue) {
		err = fmt.Errorf("%s %s: %w", ue.Op, strings.TrimSuffix(c.base, "/?"), ue.Err)
	}
	e := &Error{Action: action, Code: CodeNetworkError, Message: "request failed", Err: err}
	var ne net.Error
	switch {
	case errors.Is(ctx.Err(), context.Canceled):
		e.Code, e.Message = CodeCanceled, "canceled before Alibaba answered"
	case errors.Is(ctx.Err(), context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		e.Code, e.Message = CodeTimeout, "no answer in time"
	}
	return e
}

// formType is the content type of a body of parameters.
const formType = "application/x-www-form-urlencoded"

// payload is what one request carries: the canonical query, and the
// form-encoded body (empty for none) with its hex SHA-256.
type payload struct{ query, body, bodySHA256 string }

// do sends one signed request and returns the status and body. It builds a
// new request (and body reader) each time, so a redial resends everything.
func (c *Client) do(ctx context.Context, version, action string, p payload, creds Credentials) (int, []byte, error) {
	var rd io.Reader
	if p.body != "" {
		rd = strings.NewReader(p.body) // sets ContentLength and GetBody
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+p.query, rd)
	if err != nil {
		return 0, nil, err
	}
	hs := make([]acs3.Header, 0, 4)
	hs = append(hs, acs3.Header{Name: "host", Value: c.host},
		acs3.Header{Name: "X-Acs-Action", Value: action}, acs3.Header{Name: "X-Acs-Version", Value: version})
	if p.body != "" {
		hs = append(hs, acs3.Header{Name: "Content-Type", Value: formType})
	}
	signed := acs3.Sign(acs3.Request{Method: http.MethodPost, Path: "/", Query: p.query, Headers: hs, BodySHA256: p.bodySHA256},
		creds, c.now(), c.nonce())
	for _, h := range signed {
		req.Header[h.Name] = []string{h.Value} // Sign's names are canonical
	}
	req.Header["Accept"] = []string{"application/json"}
	resp, err := c.rt.RoundTrip(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := readBody(resp)
	if err != nil {
		return 0, nil, err
	}
	_, _ = io.CopyN(io.Discard, resp.Body, 4096) // let the connection be reused
	return resp.StatusCode, body, nil
}

// readBody reads an answer of up to maxBody bytes, in one allocation when
// its length is announced.
func readBody(resp *http.Response) ([]byte, error) {
	if n := resp.ContentLength; n > 0 && n <= maxBody {
		body := make([]byte, n)
		_, err := io.ReadFull(resp.Body, body)
		return body, err
	}
	return io.ReadAll(io.LimitReader(resp.Body, maxBody))
}
