package core

import (
	"encoding/json"
	"strconv"
	"sync/atomic"
	"unicode/utf8"

	"smsverify/core/acs3"
)

// maxInt is the largest integer the API accepts (2^53-1): its JSON numbers
// are IEEE doubles.
const maxInt = 1<<53 - 1

// SendRequest holds the parameters of SendSmsVerifyCode. The field names and
// JSON names are the API's own. Pointer fields are optional and nil means
// "not sent" (Alibaba's default applies); zero is a real value for some of
// them (AutoRetry 0 turns retries off, ReturnVerifyCode false).
type SendRequest struct {
	PhoneNumber      string `json:"PhoneNumber"`                // required; mainland China mobile number
	CountryCode      string `json:"CountryCode,omitempty"`      // only "86"; default 86
	SignName         string `json:"SignName,omitempty"`         // required; a system-given signature
	TemplateCode     string `json:"TemplateCode,omitempty"`     // required; e.g. "100001"
	TemplateParam    string `json:"TemplateParam,omitempty"`    // required; JSON object with "code", e.g. {"code":"##code##","min":"5"}
	SchemeName       string `json:"SchemeName,omitempty"`       // at most 20 characters; empty = 默认方案
	SmsUpExtendCode  string `json:"SmsUpExtendCode,omitempty"`  // upstream extension code
	OutID            string `json:"OutId,omitempty"`            // caller's serial number; echoed back
	CodeLength       *int64 `json:"CodeLength,omitempty"`       // 4 to 8; default 4
	ValidTime        *int64 `json:"ValidTime,omitempty"`        // seconds; default 300
	DuplicatePolicy  *int64 `json:"DuplicatePolicy,omitempty"`  // 1 overwrite, 2 keep; default 1
	Interval         *int64 `json:"Interval,omitempty"`         // seconds between sends; default 60
	CodeType         *int64 `json:"CodeType,omitempty"`         // 1 to 7; default 1 (digits)
	ReturnVerifyCode *bool  `json:"ReturnVerifyCode,omitempty"` // return the code in Model.VerifyCode
	AutoRetry        *int64 `json:"AutoRetry,omitempty"`        // 1 on (default), 0 off
}

// CheckRequest holds the parameters of CheckSmsVerifyCode.
type CheckRequest struct {
	PhoneNumber    string `json:"PhoneNumber"`              // required
	VerifyCode     string `json:"VerifyCode"`               // required; 4 to 8 letters or digits
	SchemeName     string `json:"SchemeName,omitempty"`     // must equal the one used to send
	CountryCode    string `json:"CountryCode,omitempty"`    // only "86"
	OutID          string `json:"OutId,omitempty"`          // caller's serial number; echoed back
	CaseAuthPolicy *int64 `json:"CaseAuthPolicy,omitempty"` // 1 case-insensitive (default), 2 case-sensitive
}

// Int64 returns a pointer to v, for the optional integer fields.
func Int64(v int64) *int64 { return &v }

// Bool returns a pointer to v, for the optional boolean fields.
func Bool(v bool) *bool { return &v }

// validPhoneNumber reports whether s is a mainland China mobile number:
// 11 digits starting with 13 to 19.
func validPhoneNumber(s string) bool {
	if len(s) != 11 || s[0] != '1' || s[1] < '3' || s[1] > '9' {
		return false
	}
	for i := 2; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func checkPhone(phone, country string) error {
	if phone == "" {
		return &ParamError{"PhoneNumber", "is required"}
	}
	if !validPhoneNumber(phone) {
		return &ParamError{"PhoneNumber", "must be an 11-digit mainland China mobile number"}
	}
	if country != "" && country != "86" {
		return &ParamError{"CountryCode", "must be 86 (only mainland China numbers are supported)"}
	}
	return nil
}

func checkScheme(s string) error {
	if utf8.RuneCountInString(s) > 20 || !utf8.ValidString(s) {
		return &ParamError{"SchemeName", "must be at most 20 characters"}
	}
	return nil
}

func checkText(field, s string, max int) error {
	if !utf8.ValidString(s) {
		return &ParamError{field, "must be valid UTF-8"}
	}
	if utf8.RuneCountInString(s) > max {
		return &ParamError{field, "must be at most " + strconv.Itoa(max) + " characters"}
	}
	return nil
}

func checkRange(field string, v *int64, lo, hi int64) error {
	if v != nil && (*v < lo || *v > hi) {
		return &ParamError{field, "must be between " + strconv.FormatInt(lo, 10) + " and " + strconv.FormatInt(hi, 10)}
	}
	return nil
}

func checkOneOf(field string, v *int64, a, b int64) error {
	if v != nil && *v != a && *v != b {
		return &ParamError{field, "must be " + strconv.FormatInt(a, 10) + " or " + strconv.FormatInt(b, 10)}
	}
	return nil
}

// validTemplateParam is the TemplateParam most recently found valid. A
// service sends one TemplateParam on nearly every call and validates each
// send twice (before it spends any limit, then in Client.Send), so the
// check is a string comparison instead of a JSON decode each time. Its
// validity depends on the text alone, so the memo cannot go stale.
var validTemplateParam atomic.Pointer[string]

// checkTemplateParam requires a JSON object whose "code" is a non-empty
// string. Keys are matched exactly and the last of duplicates counts.
func checkTemplateParam(s string) error {
	if s == "" {
		return &ParamError{"TemplateParam", "is required"}
	}
	if last := validTemplateParam.Load(); last != nil && *last == s {
		return nil
	}
	var members map[string]json.RawMessage
	if json.Unmarshal([]byte(s), &members) != nil || members == nil {
		return &ParamError{"TemplateParam", "must be a JSON object"}
	}
	if code := members["code"]; len(code) <= 2 || code[0] != '"' {
		return &ParamError{"TemplateParam", `must contain a "code" string ("##code##" lets Alibaba generate and verify it)`}
	}
	valid := s // stored apart from s, so that s need not live on the heap
	validTemplateParam.Store(&valid)
	return nil
}

// Validate checks every documented constraint and returns a *ParamError
// naming the first field that breaks one.
func (r *SendRequest) Validate() error {
	if err := checkPhone(r.PhoneNumber, r.CountryCode); err != nil {
		return err
	}
	if r.SignName == "" {
		return &ParamError{"SignName", "is required"}
	}
	if r.TemplateCode == "" {
		return &ParamError{"TemplateCode", "is required"}
	}
	for _, err := range []error{
		checkText("SignName", r.SignName, 64),
		checkText("TemplateCode", r.TemplateCode, 64),
		checkTemplateParam(r.TemplateParam),
		checkScheme(r.SchemeName),
		checkText("SmsUpExtendCode", r.SmsUpExtendCode, 64),
		checkText("OutId", r.OutID, 128),
		checkRange("CodeLength", r.CodeLength, 4, 8),
		checkRange("ValidTime", r.ValidTime, 1, maxInt),
		checkOneOf("DuplicatePolicy", r.DuplicatePolicy, 1, 2),
		checkRange("Interval", r.Interval, 0, maxInt),
		checkRange("CodeType", r.CodeType, 1, 7),
		checkOneOf("AutoRetry", r.AutoRetry, 0, 1),
	} {
		if err != nil {
			return err
		}
	}
	return nil
}

// validVerifyCode reports whether s can be a code Alibaba generated: 4 to 8
// ASCII letters or digits.
func validVerifyCode(s string) bool {
	if len(s) < 4 || len(s) > 8 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}

// Validate checks every documented constraint and returns a *ParamError
// naming the first field that breaks one.
func (r *CheckRequest) Validate() error {
	if err := checkPhone(r.PhoneNumber, r.CountryCode); err != nil {
		return err
	}
	if r.VerifyCode == "" {
		return &ParamError{"VerifyCode", "is required"}
	}
	if !validVerifyCode(r.VerifyCode) {
		return &ParamError{"VerifyCode", "must be 4 to 8 letters or digits"}
	}
	for _, err := range []error{
		checkScheme(r.SchemeName),
		checkText("OutId", r.OutID, 128),
		checkOneOf("CaseAuthPolicy", r.CaseAuthPolicy, 1, 2),
	} {
		if err != nil {
			return err
		}
	}
	return nil
}

// appendParams appends r's parameters that are set, in canonical order
// (the sort in acs3.AppendQuery then has nothing to do).
func (r *SendRequest) appendParams(ps []acs3.Param) []acs3.Param {
	ps = appendInt(ps, "AutoRetry", r.AutoRetry)
	ps = appendInt(ps, "CodeLength", r.CodeLength)
	ps = appendInt(ps, "CodeType", r.CodeType)
	ps = appendStr(ps, "CountryCode", r.CountryCode)
	ps = appendInt(ps, "DuplicatePolicy", r.DuplicatePolicy)
	ps = appendInt(ps, "Interval", r.Interval)
	ps = appendStr(ps, "OutId", r.OutID)
	ps = appendStr(ps, "PhoneNumber", r.PhoneNumber)
	if r.ReturnVerifyCode != nil {
		ps = append(ps, acs3.Param{Name: "ReturnVerifyCode", Value: strconv.FormatBool(*r.ReturnVerifyCode)})
	}
	ps = appendStr(ps, "SchemeName", r.SchemeName)
	ps = appendStr(ps, "SignName", r.SignName)
	ps = appendStr(ps, "SmsUpExtendCode", r.SmsUpExtendCode)
	ps = appendStr(ps, "TemplateCode", r.TemplateCode)
	ps = appendStr(ps, "TemplateParam", r.TemplateParam)
	ps = appendInt(ps, "ValidTime", r.ValidTime)
	return ps
}

func (r *CheckRequest) appendParams(ps []acs3.Param) []acs3.Param {
	ps = appendInt(ps, "CaseAuthPolicy", r.CaseAuthPolicy)
	ps = appendStr(ps, "CountryCode", r.CountryCode)
	ps = appendStr(ps, "OutId", r.OutID)
	ps = appendStr(ps, "PhoneNumber", r.PhoneNumber)
	ps = appendStr(ps, "SchemeName", r.SchemeName)
	ps = appendStr(ps, "VerifyCode", r.VerifyCode)
	return ps
}

func appendStr(ps []acs3.Param, k, v string) []acs3.Param {
	if v == "" {
		return ps
	}
	return append(ps, acs3.Param{Name: k, Value: v})
}

func appendInt(ps []acs3.Param, k string, v *int64) []acs3.Param {
	if v == nil {
		return ps
	}
	return append(ps, acs3.Param{Name: k, Value: strconv.FormatInt(*v, 10)})
}
