package core

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// API identity.
const (
	DefaultEndpoint = "https://dypnsapi.aliyuncs.com"
	APIVersion      = "2017-05-25"
	ActionSend      = "SendSmsVerifyCode"
	ActionCheck     = "CheckSmsVerifyCode"
	DefaultTimeout  = 5 * time.Second
)

// maxBody caps how much of an answer is read; real answers are < 1 KiB.
const maxBody = 1 << 20

// Options configure a Client. Only Credentials is required.
type Options struct {
	// Endpoint is the API's base URL. Default DefaultEndpoint. Plain http is
	// accepted only for loopback hosts (tests and the local emulator).
	Endpoint string
	// Credentials signs each request; it is asked once per request.
	Credentials CredentialsProvider
	// HTTPClient sends the requests. Default NewHTTPClient().
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
	hc      *http.Client
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
	u, err := url.Parse(ep)
	if err != nil || u.Host == "" || u.RawQuery != "" || (u.Path != "" && u.Path != "/") || u.User != nil {
		return nil, fmt.Errorf("core: endpoint %q must be scheme://host[:port]", ep)
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && isLoopback(u.Hostname()):
	default:
		return nil, fmt.Errorf("core: endpoint %q must use https (http only for loopback)", ep)
	}
	c := &Client{
		host: u.Host, base: u.Scheme + "://" + u.Host + "/?", creds: o.Credentials,
		hc: o.HTTPClient, timeout: o.Timeout, now: o.Now, nonce: o.Nonce,
	}
	if c.hc == nil {
		c.hc = NewHTTPClient()
	}
	if c.timeout <= 0 {
		c.timeout = DefaultTimeout
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.nonce == nil {
		c.nonce = RandomNonce
	}
	return c, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
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

// RandomNonce returns 16 random bytes in hex, unique per request.
func RandomNonce() string {
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
	var arr [16]param
	interval := 60 * time.Second
	if r.Interval != nil {
		interval = time.Duration(min(*r.Interval, int64(1<<62/time.Second))) * time.Second
	}
	var env envelope
	status, err := c.call(ctx, ActionSend, r.appendParams(arr[:0]), &env, interval)
	if err != nil {
		return nil, err
	}
	return sendResult(ActionSend, status, &env)
}

// Check calls CheckSmsVerifyCode. A code that does not match is an answer
// with Passed() false, never an error; a failure of any kind (transport,
// timeout, garbage answer) is an error, never a wrong code.
func (c *Client) Check(ctx context.Context, r *CheckRequest) (*CheckResponse, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	var arr [8]param
	var env envelope
	status, err := c.call(ctx, ActionCheck, r.appendParams(arr[:0]), &env, 60*time.Second)
	if err != nil {
		return nil, err
	}
	return checkResult(ActionCheck, status, &env)
}

// call signs and sends one request and decodes the answer into env. It
// redials once if the first connection could not be made at all.
func (c *Client) call(ctx context.Context, action string, ps []param, env *envelope, interval time.Duration) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	creds, err := c.creds.Credentials(ctx)
	if err == nil && !creds.Valid() {
		err = ErrNoCredentials
	}
	if err != nil {
		return 0, &Error{Action: action, Code: CodeMissingCredentials, Message: "no usable credentials", Err: err}
	}
	query := string(appendQuery(make([]byte, 0, 512), ps))
	for attempt := 0; ; attempt++ {
		status, body, err := c.do(ctx, action, query, creds)
		if err != nil {
			if attempt == 0 && neverSent(err) && ctx.Err() == nil {
				continue
			}
			return 0, c.transportError(ctx, action, err)
		}
		return status, parseResponse(action, status, body, env, c.now(), interval)
	}
}

// neverSent reports whether err proves the request never left this host:
// the connection could not be established (refused, unreachable, DNS).
func neverSent(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

func (c *Client) transportError(ctx context.Context, action string, err error) *Error {
	// *url.Error prints the URL, whose query holds the phone number and the
	// code: keep only the operation and the cause.
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

// do sends one signed request and returns the status and body.
func (c *Client) do(ctx context.Context, action, query string, creds Credentials) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+query, nil)
	if err != nil {
		return 0, nil, err
	}
	date := c.now().UTC().Format(DateFormat)
	nonce := c.nonce()
	hs := [7]Header{
		{"host", c.host},
		{"x-acs-action", action},
		{"x-acs-content-sha256", EmptySHA256},
		{"x-acs-date", date},
		{"x-acs-signature-nonce", nonce},
		{"x-acs-version", APIVersion},
		{"x-acs-security-token", creds.SecurityToken},
	}
	n := len(hs)
	if creds.SecurityToken == "" {
		n--
	}
	in := SignInput{Method: http.MethodPost, Path: "/", Query: query, BodySHA256: EmptySHA256}
	auth := in.authorization(hs[:n], creds.AccessKeyID, creds.AccessKeySecret)
	h := req.Header
	for _, x := range hs[1:n] {
		h[canonicalName(x.Name)] = []string{x.Value}
	}
	h["Authorization"] = []string{auth}
	h["Accept"] = []string{"application/json"}
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return 0, nil, err
	}
	_, _ = io.CopyN(io.Discard, resp.Body, 4096) // let the connection be reused
	return resp.StatusCode, body, nil
}

// canonicalName returns the MIME-canonical form of our fixed header names
// without allocating.
func canonicalName(lower string) string {
	switch lower {
	case "x-acs-action":
		return "X-Acs-Action"
	case "x-acs-content-sha256":
		return "X-Acs-Content-Sha256"
	case "x-acs-date":
		return "X-Acs-Date"
	case "x-acs-signature-nonce":
		return "X-Acs-Signature-Nonce"
	case "x-acs-version":
		return "X-Acs-Version"
	case "x-acs-security-token":
		return "X-Acs-Security-Token"
	}
	return http.CanonicalHeaderKey(lower)
}
