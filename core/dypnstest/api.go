package dypnstest

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"smsverify/core"
)

// API defaults, as documented.
const (
	defaultCodeLength = 4
	defaultCodeType   = 1
	defaultValidTime  = 300 // seconds
	defaultDuplicate  = 1
)

// Memory bounds.
const (
	codeMemory      = time.Hour      // a code is forgotten this long after it expires
	intervalMemory  = 24 * time.Hour // a send stops counting for Interval after this long
	maxCodesByPhone = 100            // newest codes kept per number
	sweepEvery      = time.Minute    // how often old state is dropped
)

// generated is the TemplateParam code that asks Alibaba to generate one.
const generated = "##code##"

// alphabets are the characters of each CodeType (index 1 to 7).
var alphabets = [...]string{
	1: "0123456789",
	2: "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
	3: "abcdefghijklmnopqrstuvwxyz",
	4: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
	5: "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ",
	6: "0123456789abcdefghijklmnopqrstuvwxyz",
	7: "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
}

// entry is one sent code.
type entry struct {
	Sent
	used       bool // a check PASSed it
	superseded bool // a later send with DuplicatePolicy 1 replaced it
}

// phoneState is what the fake remembers about one number.
type phoneState struct {
	day     int                  // China date (yyyymmdd) that count is for
	count   int                  // successful sends on day
	last    map[string]time.Time // scheme -> last successful send
	entries []entry              // oldest first
}

// sweep drops what the fake no longer needs. Called with f.mu held.
func (f *Fake) sweep(now time.Time) {
	if d := now.Sub(f.lastSweep); d >= 0 && d < sweepEvery {
		return
	}
	f.lastSweep = now
	for k, seen := range f.nonces {
		if now.Sub(seen) >= nonceMemory {
			delete(f.nonces, k)
		}
	}
	for k, at := range f.captcha.used {
		if now.Sub(at) >= captchaMemory {
			delete(f.captcha.used, k)
		}
	}
	today := chinaDay(now)
	for phone, ps := range f.phones {
		ps.entries = forgetCodes(ps.entries, now)
		for scheme, t := range ps.last {
			if now.Sub(t) >= intervalMemory {
				delete(ps.last, scheme)
			}
		}
		if len(ps.entries) == 0 && len(ps.last) == 0 && ps.day != today {
			delete(f.phones, phone)
		}
	}
}

// forgetCodes drops the codes that expired more than codeMemory ago.
func forgetCodes(es []entry, now time.Time) []entry {
	out := es[:0]
	for _, e := range es {
		if now.Sub(e.Expires) < codeMemory {
			out = append(out, e)
		}
	}
	clear(es[len(out):])
	return out
}

func chinaDay(t time.Time) int {
	y, m, d := t.In(core.ChinaTime).Date()
	return y*10000 + int(m)*100 + d
}

// seconds converts an API number of seconds to a Duration without overflow.
func seconds(n int64) time.Duration {
	return time.Duration(min(n, int64(math.MaxInt64/time.Second))) * time.Second
}

// intParam parses the integer parameter k into *dst; absent or empty leaves
// it nil.
func intParam(v url.Values, k string, dst **int64) error {
	s := v.Get(k)
	if s == "" {
		return nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return &core.ParamError{Field: k, Reason: "must be an integer"}
	}
	*dst = &n
	return nil
}

// boolParam parses the boolean parameter k ("true" or "false") into *dst.
func boolParam(v url.Values, k string, dst **bool) error {
	switch s := strings.ToLower(v.Get(k)); s {
	case "":
	case "true", "false":
		b := s == "true"
		*dst = &b
	default:
		return &core.ParamError{Field: k, Reason: "must be true or false"}
	}
	return nil
}

// writeParamError answers a parameter error like the API.
func (f *Fake) writeParamError(w http.ResponseWriter, err error) {
	var pe *core.ParamError
	if errors.As(err, &pe) && pe.Field == "PhoneNumber" {
		f.writeBusiness(w, "MOBILE_NUMBER_ILLEGAL", "The mobile number is illegal.")
		return
	}
	msg := "parameter is not valid."
	if pe != nil {
		msg += " " + pe.Field + " " + pe.Reason + "."
	}
	f.writeBusiness(w, "INVALID_PARAMETERS", msg)
}

// sendRequest builds a SendRequest from the parameters.
func sendRequest(v url.Values) (*core.SendRequest, error) {
	r := &core.SendRequest{
		PhoneNumber: v.Get("PhoneNumber"), CountryCode: v.Get("CountryCode"),
		SignName: v.Get("SignName"), TemplateCode: v.Get("TemplateCode"),
		TemplateParam: v.Get("TemplateParam"), SchemeName: v.Get("SchemeName"),
		SmsUpExtendCode: v.Get("SmsUpExtendCode"), OutID: v.Get("OutId"),
	}
	for _, err := range []error{
		intParam(v, "CodeLength", &r.CodeLength),
		intParam(v, "ValidTime", &r.ValidTime),
		intParam(v, "DuplicatePolicy", &r.DuplicatePolicy),
		intParam(v, "Interval", &r.Interval),
		intParam(v, "CodeType", &r.CodeType),
		boolParam(v, "ReturnVerifyCode", &r.ReturnVerifyCode),
		intParam(v, "AutoRetry", &r.AutoRetry),
	} {
		if err != nil {
			return nil, err
		}
	}
	return r, r.Validate()
}

func orDefault(p *int64, def int64) int64 {
	if p == nil {
		return def
	}
	return *p
}

// generate returns a code of length characters from alphabet, drawn
// uniformly from f.random. Called with f.mu held.
func (f *Fake) generate(alphabet string, length int) (string, error) {
	n := len(alphabet)
	limit := 256 - 256%n // reject bytes >= limit so every character is equally likely
	code := make([]byte, 0, length)
	buf := make([]byte, length)
	for len(code) < length {
		need := buf[:length-len(code)] // read no more than needed
		if _, err := io.ReadFull(f.random, need); err != nil {
			return "", err
		}
		for _, b := range need {
			if int(b) < limit {
				code = append(code, alphabet[int(b)%n])
			}
		}
	}
	return string(code), nil
}

// serveSend answers SendSmsVerifyCode.
func (f *Fake) serveSend(w http.ResponseWriter, r *http.Request, v url.Values, now time.Time) {
	req, err := sendRequest(v)
	if err != nil {
		f.writeParamError(w, err)
		return
	}
	s := newSent(req, now)
	code, message, err := f.record(&s, req, now)
	switch {
	case err != nil:
		f.serveFault(w, r, FaultInternal)
		return
	case code != "":
		f.writeBusiness(w, code, message)
		return
	}
	f.sends.Add(1)
	if f.onSend != nil {
		f.onSend(s)
	}
	if f.reports != nil {
		f.schedule(s)
	}
	id := newRequestID()
	body := sendBody{
		Message: messageOK, RequestID: id, Code: "OK", Success: true,
		Model: sendModel{RequestID: newUUID(), OutID: s.OutID, BizID: s.BizID},
	}
	if req.ReturnVerifyCode != nil && *req.ReturnVerifyCode {
		body.Model.VerifyCode = s.VerifyCode
	}
	writeJSON(w, http.StatusOK, id, body)
}

// newSent is the record of a send of req at now, before the fake generates
// its code (Verifiable: the TemplateParam asked Alibaba to) and numbers it.
func newSent(req *core.SendRequest, now time.Time) Sent {
	var tp struct {
		Code string `json:"code"`
	}
	_ = json.Unmarshal([]byte(req.TemplateParam), &tp) // Validate checked it
	s := Sent{
		PhoneNumber: req.PhoneNumber, CountryCode: req.CountryCode, SchemeName: req.SchemeName,
		TemplateCode: req.TemplateCode, SignName: req.SignName, OutID: req.OutID,
		At: now, Expires: now.Add(seconds(orDefault(req.ValidTime, defaultValidTime))),
		VerifyCode: tp.Code, Verifiable: tp.Code == generated,
	}
	if s.CountryCode == "" {
		s.CountryCode = "86"
	}
	return s
}

// record applies the number's interval and daily limit to the send s of
// req and, when they allow it, generates its code, numbers it and stores
// it. A refusal is Alibaba's business code and message.
func (f *Fake) record(s *Sent, req *core.SendRequest, now time.Time) (code, message string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sweep(now)
	ps := f.phones[s.PhoneNumber]
	if ps == nil {
		ps = &phoneState{last: make(map[string]time.Time)}
		f.phones[s.PhoneNumber] = ps
	}
	if today := chinaDay(now); ps.day != today {
		ps.day, ps.count = today, 0
	}
	interval := seconds(orDefault(req.Interval, int64(core.DefaultInterval/time.Second)))
	if last, ok := ps.last[s.SchemeName]; ok && now.Sub(last) < interval {
		return f.frequencyCode, "Check frequency fail.", nil
	}
	if f.dailyLimit > 0 && ps.count >= f.dailyLimit {
		return "BUSINESS_LIMIT_CONTROL", "The number has exceeded the limit for the day.", nil
	}
	if s.Verifiable {
		s.VerifyCode, err = f.generate(alphabets[orDefault(req.CodeType, defaultCodeType)],
			int(orDefault(req.CodeLength, defaultCodeLength)))
		if err != nil {
			return "", "", err
		}
	}
	if orDefault(req.DuplicatePolicy, defaultDuplicate) == 1 {
		for i := range ps.entries {
			if ps.entries[i].SchemeName == s.SchemeName {
				ps.entries[i].superseded = true
			}
		}
	}
	f.seq++
	s.BizID = bizID(f.seq, now)
	ps.entries = append(ps.entries, entry{Sent: *s})
	if extra := len(ps.entries) - maxCodesByPhone; extra > 0 {
		ps.entries = append(ps.entries[:0], ps.entries[extra:]...)
	}
	ps.last[s.SchemeName] = now
	ps.count++
	return "", "", nil
}

// bizID returns a BizId like Alibaba's ("900619746936498440^0"), unique
// per fake: the sequence number, then 12 digits of the time.
func bizID(seq uint64, now time.Time) string {
	ms := now.UnixMilli() % 1e12
	if ms < 0 {
		ms = -ms
	}
	return fmt.Sprintf("%06d%012d^0", seq, ms)
}

// serveCheck answers CheckSmsVerifyCode.
func (f *Fake) serveCheck(w http.ResponseWriter, v url.Values, now time.Time) {
	req := &core.CheckRequest{
		PhoneNumber: v.Get("PhoneNumber"), VerifyCode: v.Get("VerifyCode"),
		SchemeName: v.Get("SchemeName"), CountryCode: v.Get("CountryCode"), OutID: v.Get("OutId"),
	}
	err := intParam(v, "CaseAuthPolicy", &req.CaseAuthPolicy)
	if err == nil {
		err = req.Validate()
	}
	if err != nil {
		f.writeParamError(w, err)
		return
	}
	exact := orDefault(req.CaseAuthPolicy, 1) == 2
	result := core.VerifyUnknown

	f.mu.Lock()
	f.sweep(now)
	if ps := f.phones[req.PhoneNumber]; ps != nil {
		for i := len(ps.entries) - 1; i >= 0; i-- {
			e := &ps.entries[i]
			if e.Verifiable && !e.used && !e.superseded && e.SchemeName == req.SchemeName &&
				now.Before(e.Expires) && sameCode(e.VerifyCode, req.VerifyCode, exact) {
				e.used = true
				result = core.VerifyPass
				break
			}
		}
	}
	f.mu.Unlock()

	f.checks.Add(1)
	id := newRequestID()
	writeJSON(w, http.StatusOK, id, checkBody{
		Code: "OK", Message: messageOK, RequestID: id, Success: true,
		Model: checkModel{VerifyResult: result, OutID: req.OutID},
	})
}

// sameCode compares codes in constant time; both are ASCII letters and
// digits.
func sameCode(want, got string, exact bool) bool {
	if !exact {
		want, got = strings.ToLower(want), strings.ToLower(got)
	}
	return subtle.ConstantTimeCompare([]byte(want), []byte(got)) == 1
}
