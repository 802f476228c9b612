// Package dypnstest is a fake Alibaba Cloud Dypnsapi (2017-05-25) endpoint,
// shipped like net/http/httptest: an http.Handler (NewHandler) or a server on
// loopback (NewServer) that answers SendSmsVerifyCode and
// CheckSmsVerifyCode without sending any SMS. It serves our tests, users'
// tests and the local emulator mode.
//
// It is not Alibaba and carries no Alibaba code. It models what the public
// documentation and real traffic show (see
// https://help.aliyun.com/zh/pnvs/developer-reference/api-dypnsapi-2017-05-25-sendsmsverifycode):
//
//   - the gateway: only POST / with the x-acs-action and x-acs-version
//     headers; V3 signatures (ACS3-HMAC-SHA256) verified like the gateway,
//     required signed headers, body hash, STS security tokens, a ±15 minute
//     date window and nonce replay; gateway errors as 4xx/5xx with
//     {"RequestId","HostId","Code","Message","Recommend"};
//   - SendSmsVerifyCode: core's parameter validation (MOBILE_NUMBER_ILLEGAL,
//     INVALID_PARAMETERS), codes generated for "##code##" by CodeType and
//     CodeLength, literal codes sent but never checkable, ReturnVerifyCode,
//     Interval (FREQUENCY_FAIL or biz.FREQUENCY), a daily cap per number and
//     China day (BUSINESS_LIMIT_CONTROL), ValidTime and DuplicatePolicy;
//     business errors as HTTP 200 with Success false;
//   - CheckSmsVerifyCode: PASS once for a live generated code of the same
//     scheme and number, UNKNOWN otherwise, CaseAuthPolicy;
//   - VerifyIntelligentCaptcha (Captcha 2.0, version 2023-03-05, signed and
//     checked like the rest): see serveVerifyCaptcha for how a token
//     decides the answer;
//   - faults for tests: latency, 503, 500, malformed and empty answers, and
//     requests that never answer.
//
// Not modelled: the account's signatures and templates (any SignName and
// TemplateCode is accepted), console-level caps other than the daily one,
// gateway throttling and attempt limits on checks. Delivery receipts are
// pushed when Options.Reports says where: DELIVERED, or FAILED for the
// numbers it lists.
//
// A Fake is safe for concurrent use, keeps no package-level state and never
// logs. Its memory is bounded in time: codes are forgotten an hour after they
// expire, nonces after 30 minutes, send intervals after a day.
package dypnstest

import (
	"context"
	"crypto/rand"
	"io"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"smsverify/core"
)

// Options configure a Fake. The zero value is usable: it accepts only
// TestCredentials.
type Options struct {
	// Credentials are the accepted key pairs. A pair with a SecurityToken is
	// an STS key: its requests must carry and sign that token. Empty means
	// TestCredentials only.
	Credentials []core.Credentials
	// Now is the fake's clock (date window, expiry, intervals, daily caps).
	// Default time.Now.
	Now func() time.Time
	// Random generates the verification codes. Default crypto/rand.Reader.
	Random io.Reader
	// DailyLimit is the number of successful sends per phone number per
	// China day (UTC+8) before BUSINESS_LIMIT_CONTROL. 0 means 10; a
	// negative value means no limit.
	DailyLimit int
	// BusinessErrorStatus is the HTTP status of business errors (Success
	// false). Default 200, as real integrations see; 400 is what the doc
	// table says.
	BusinessErrorStatus int
	// LiveFrequencyCode answers "biz.FREQUENCY" (seen in real traffic)
	// instead of the documented "FREQUENCY_FAIL".
	LiveFrequencyCode bool
	// OnSend is called after each successful send, on the request's
	// goroutine and before the answer is written, so calls may be
	// concurrent. The local emulator prints the codes with it.
	OnSend func(Sent)
	// Reports, when set, makes the fake push a delivery receipt for each
	// successful send (see Reports).
	Reports *Reports
}

// TestCredentials returns the key pair a Fake accepts when
// Options.Credentials is empty. It is not a secret.
func TestCredentials() core.Credentials {
	return core.Credentials{AccessKeyID: "LTAI5tDypnsTestKeyId", AccessKeySecret: "dypnstest-not-a-secret"}
}

// Sent is one SMS the fake "sent".
type Sent struct {
	PhoneNumber  string
	CountryCode  string // "86" when the request named none
	SchemeName   string
	TemplateCode string
	SignName     string
	VerifyCode   string // the generated code, or the literal one from TemplateParam
	BizID        string
	OutID        string
	At           time.Time // when it was sent (the fake's clock)
	Expires      time.Time // At + ValidTime
	Verifiable   bool      // generated from "##code##", so CheckSmsVerifyCode can PASS it
}

// Fault is a failure the fake can answer with instead of the API.
type Fault int

// The faults.
const (
	FaultUnavailable Fault = iota + 1 // HTTP 503 ServiceUnavailable gateway error
	FaultMalformed                    // HTTP 200 with a body that is not JSON
	FaultHang                         // no answer until the client goes away or the fake closes
	FaultEmpty                        // HTTP 200 with an empty body
	FaultInternal                     // HTTP 500 InternalError gateway error
)

var faultNames = [...]string{"", "Unavailable", "Malformed", "Hang", "Empty", "Internal"}

func (k Fault) String() string {
	if k > 0 && int(k) < len(faultNames) {
		return "Fault" + faultNames[k]
	}
	return "Fault(" + strconv.Itoa(int(k)) + ")"
}

// faultRun is n consecutive requests failing with kind.
type faultRun struct {
	kind Fault
	n    int
}

// Fake is a fake Dypnsapi endpoint. It implements http.Handler.
type Fake struct {
	keys           map[string]core.Credentials
	now            func() time.Time
	random         io.Reader
	dailyLimit     int
	businessStatus int
	frequencyCode  string
	onSend         func(Sent)
	reports        *Reports

	requests, sends, checks atomic.Int64
	captchas                atomic.Int64
	latency                 atomic.Int64 // time.Duration
	done                    chan struct{}
	closeOnce               sync.Once

	mu        sync.Mutex // guards everything below, and reads from random
	faults    []faultRun
	nonces    map[string]time.Time // key id + "\x00" + nonce -> first seen
	phones    map[string]*phoneState
	captcha   captchaState
	lastSweep time.Time
	seq       uint64 // for BizId
}

// NewHandler returns a Fake configured by o.
func NewHandler(o Options) *Fake {
	f := &Fake{
		keys:           make(map[string]core.Credentials),
		now:            o.Now,
		random:         o.Random,
		dailyLimit:     o.DailyLimit,
		businessStatus: o.BusinessErrorStatus,
		frequencyCode:  "FREQUENCY_FAIL",
		onSend:         o.OnSend,
		reports:        o.Reports,
		done:           make(chan struct{}),
		nonces:         make(map[string]time.Time),
		phones:         make(map[string]*phoneState),
		captcha:        captchaState{used: make(map[[32]byte]time.Time)},
	}
	creds := o.Credentials
	if len(creds) == 0 {
		creds = []core.Credentials{TestCredentials()}
	}
	for _, c := range creds {
		f.keys[c.AccessKeyID] = c
	}
	if f.now == nil {
		f.now = time.Now
	}
	if f.random == nil {
		f.random = rand.Reader
	}
	if f.dailyLimit == 0 {
		f.dailyLimit = 10
	}
	if f.businessStatus == 0 {
		f.businessStatus = http.StatusOK
	}
	if o.LiveFrequencyCode {
		f.frequencyCode = "biz.FREQUENCY"
	}
	return f
}

// Requests returns how many requests reached the fake, rejected and faulted
// ones included.
func (f *Fake) Requests() int64 { return f.requests.Load() }

// SendCount returns how many sends succeeded.
func (f *Fake) SendCount() int64 { return f.sends.Load() }

// CheckCount returns how many checks were answered with a VerifyResult
// (PASS or UNKNOWN).
func (f *Fake) CheckCount() int64 { return f.checks.Load() }

// SetLatency delays every following answer by d (0 for none). A request
// stops waiting when its client goes away or the fake is closed.
func (f *Fake) SetLatency(d time.Duration) { f.latency.Store(int64(d)) }

// FailNext makes the next n POST requests (the calls of actions) answer
// with kind, after any faults already queued; another method, such as a
// client's connection warm-up (core.Client.Warm), takes no fault. n <= 0 clears the queue. It panics on an unknown kind.
func (f *Fake) FailNext(n int, kind Fault) {
	if kind < FaultUnavailable || kind > FaultInternal {
		panic("dypnstest: FailNext with unknown " + kind.String())
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if n <= 0 {
		f.faults = nil
		return
	}
	f.faults = append(f.faults, faultRun{kind, n})
}

// Close releases every request waiting on latency or FaultHang: from then on
// latency no longer delays and a hanging request is aborted
// (http.ErrAbortHandler). Call it before closing an http.Server or
// httptest.Server that serves the Fake; Server.Close does it itself.
func (f *Fake) Close() { f.closeOnce.Do(func() { close(f.done) }) }

// Reset forgets every code sent, every number's send interval and daily
// count, and the captcha tokens seen, as a fresh Fake would (the local
// emulator's POST /emulator/reset). Signature nonces are kept: a replayed
// request stays refused. Counters (Requests, SendCount, ...) and queued
// faults are kept too.
func (f *Fake) Reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	clear(f.phones)
	clear(f.captcha.used)
	f.captcha.last = CaptchaVerification{}
}

// Codes returns the SMS sent to phone, oldest first, newest last. Used,
// replaced and expired codes are included until the fake forgets them (an
// hour after they expire).
func (f *Fake) Codes(phone string) []Sent {
	f.mu.Lock()
	defer f.mu.Unlock()
	ps := f.phones[phone]
	if ps == nil {
		return nil
	}
	out := make([]Sent, len(ps.entries))
	for i, e := range ps.entries {
		out[i] = e.Sent
	}
	return out
}

// ServeHTTP answers one Dypnsapi request.
func (f *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.requests.Add(1)
	if !f.wait(r.Context()) {
		return // the client went away: nobody to answer
	}
	if r.Method == http.MethodPost {
		if kind, ok := f.nextFault(); ok {
			f.serveFault(w, r, kind)
			return
		}
	}
	now := f.now()
	action, params, gerr := f.authenticate(r, now)
	if gerr != nil {
		writeGateway(w, r, gerr)
		return
	}
	switch action {
	case core.ActionSend:
		f.serveSend(w, r, params, now)
	case core.ActionCheck:
		f.serveCheck(w, params, now)
	case ActionVerifyCaptcha:
		f.serveVerifyCaptcha(w, r, params, now)
	}
}

// wait applies the latency; it reports false when the client went away.
func (f *Fake) wait(ctx context.Context) bool {
	d := time.Duration(f.latency.Load())
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-f.done:
		return true
	case <-ctx.Done():
		return false
	}
}

func (f *Fake) nextFault() (Fault, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.faults) == 0 {
		return 0, false
	}
	run := &f.faults[0]
	kind := run.kind
	if run.n--; run.n == 0 {
		f.faults = f.faults[1:]
	}
	return kind, true
}

func (f *Fake) serveFault(w http.ResponseWriter, r *http.Request, kind Fault) {
	switch kind {
	case FaultUnavailable:
		writeGateway(w, r, &gatewayError{http.StatusServiceUnavailable, "ServiceUnavailable",
			"The request has failed due to a temporary failure of the server."})
	case FaultInternal:
		writeGateway(w, r, &gatewayError{http.StatusInternalServerError, "InternalError",
			"The request processing has failed due to some unknown error, exception or failure."})
	case FaultMalformed:
		w.Header().Set("Content-Type", "text/html;charset=utf-8")
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, "<html><body><h1>502 Bad Gateway</h1>Tengine</body></html>\n")
	case FaultEmpty:
		w.Header().Set("Content-Type", contentType)
		w.WriteHeader(http.StatusOK)
	case FaultHang:
		select {
		case <-r.Context().Done():
		case <-f.done:
			panic(http.ErrAbortHandler)
		}
	}
}
