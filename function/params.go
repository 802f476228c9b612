package function

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"smsverify/core"
)

// paramSet names the keys an action's body may hold, by the API's own
// JSON names: all of them for trusted callers, public for public callers
// (nil: all). Every caller may send CaptchaVerifyParam (the captcha token,
// see captcha.go); events also send their envelope (Action,
// IdempotencyKey).
type paramSet struct{ all, public []string }

var (
	sendParamSet = paramSet{
		all:    append(jsonFields(core.SendRequest{}), captchaField),
		public: []string{"PhoneNumber", "CountryCode", "TemplateCode", "SchemeName", "OutId", captchaField},
	}
	checkParamSet = paramSet{all: append(jsonFields(core.CheckRequest{}), captchaField)}
)

func jsonFields(v any) []string {
	t := reflect.TypeOf(v)
	out := make([]string, 0, t.NumField())
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		out = append(out, name)
	}
	return out
}

// sendParams and checkParams are the bodies of the two actions: the API's
// parameters and the captcha token.
type (
	sendParams struct {
		core.SendRequest
		captchaToken
	}
	checkParams struct {
		core.CheckRequest
		captchaToken
	}
)

// captchaToken is the CaptchaVerifyParam a body may carry, kept as JSON
// text: only a call that needs a captcha reads it (checkCaptcha), so
// another caller's token of any type is ignored.
type captchaToken struct {
	CaptchaVerifyParam json.RawMessage `json:"CaptchaVerifyParam"`
}

// decodeParams decodes the JSON object body into dst (a *sendParams or
// *checkParams) for c. Every key must be one of set.all (else
// INVALID_PARAMETERS: unknown field) and, for a public caller, one of
// set.public (else FIELD_NOT_ALLOWED); keys are matched exactly, whereas
// json.Unmarshal would match them in any case. An event's envelope keys
// are its own.
func decodeParams(body []byte, c caller, set paramSet, dst any) *apiError {
	var members map[string]json.RawMessage
	if err := json.Unmarshal(body, &members); err != nil || members == nil {
		return newError(CodeInvalidJSON, "body must be a JSON object")
	}
	if e := set.check(c, members); e != nil {
		return e
	}
	if err := json.Unmarshal(body, dst); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			field := te.Field[strings.LastIndexByte(te.Field, '.')+1:] // the embedded struct's name goes
			return newError(CodeInvalidParameters, field+" must be a JSON "+jsonKind(te.Type.String()))
		}
		return newError(CodeInvalidJSON, "body must be a JSON object")
	}
	return nil
}

// check applies decodeParams's key rules. Of several keys that break them
// it names the first in sorted order, so that a body always gets the same
// error.
func (set paramSet) check(c caller, members map[string]json.RawMessage) *apiError {
	var (
		first string
		e     *apiError
	)
	for k := range members {
		if e != nil && k >= first {
			continue
		}
		switch {
		case c.kind == callerEvent && (k == fieldAction || k == fieldIdempotencyKey):
		case !slices.Contains(set.all, k):
			first, e = k, newError(CodeInvalidParameters, "unknown field "+quoteField(k))
		case !c.trusted() && set.public != nil && !slices.Contains(set.public, k):
			first, e = k, newError(CodeFieldNotAllowed, "field "+k+" is set by the server; only trusted callers may set it")
		}
	}
	return e
}

// quoteField shows a caller's unknown key, cut short and quoted.
func quoteField(k string) string {
	if len(k) > 40 {
		k = k[:40] + "…"
	}
	b, _ := json.Marshal(k)
	return string(b)
}

func jsonKind(goType string) string {
	switch strings.TrimPrefix(goType, "*") {
	case "int64":
		return "integer"
	case "bool":
		return "boolean"
	}
	return "string"
}

// decodeSend decodes the caller's send parameters over the server's
// defaults and validates them: a public caller may only choose among the
// configured templates and schemes.
func (s *Service) decodeSend(c caller, body []byte, al *accessLog) (*sendParams, *apiError) {
	p := &sendParams{SendRequest: s.cfg.sendBase()}
	if e := decodeParams(body, c, sendParamSet, p); e != nil {
		return nil, e
	}
	req := &p.SendRequest
	al.Phone = MaskedPhone(req.PhoneNumber)
	if !c.trusted() {
		if !slices.Contains(s.cfg.TemplateCodes, req.TemplateCode) {
			return nil, newError(CodeInvalidParameters, "TemplateCode must be one of "+strings.Join(s.cfg.TemplateCodes, ", "))
		}
		if !slices.Contains(s.cfg.SchemeNames, req.SchemeName) {
			return nil, newError(CodeInvalidParameters, "SchemeName is not one this service sends for")
		}
	}
	if req.TemplateParam == "" {
		req.TemplateParam = templateParam(validTimeOf(req))
	}
	if err := req.Validate(); err != nil {
		return nil, fromCore(err)
	}
	if e := checkInterval(req.Interval); e != nil {
		return nil, e
	}
	return p, nil
}

// The Interval range this service sends. Alibaba documents no bounds, only
// the default (60 s); 0 or less would ask for no frequency control at all,
// and beyond a day the number's daily cap decides anyway, so a value
// outside is a caller's mistake, refused before any upstream call.
const (
	minInterval = 1     // seconds
	maxInterval = 86400 // seconds: one day
)

// checkInterval refuses an Interval outside [minInterval, maxInterval].
func checkInterval(v *int64) *apiError {
	if v != nil && (*v < minInterval || *v > maxInterval) {
		return newError(CodeInvalidParameters, fmt.Sprintf("Interval must be %d to %d seconds", minInterval, maxInterval))
	}
	return nil
}

// decodeCheck decodes and validates the caller's check parameters.
func (s *Service) decodeCheck(c caller, body []byte, al *accessLog) (*checkParams, *apiError) {
	p := &checkParams{CheckRequest: core.CheckRequest{SchemeName: s.cfg.SchemeName}}
	if e := decodeParams(body, c, checkParamSet, p); e != nil {
		return nil, e
	}
	req := &p.CheckRequest
	al.Phone = MaskedPhone(req.PhoneNumber)
	if !c.trusted() && !slices.Contains(s.cfg.SchemeNames, req.SchemeName) {
		return nil, newError(CodeInvalidParameters, "SchemeName is not one this service sends for")
	}
	if err := req.Validate(); err != nil {
		return nil, fromCore(err)
	}
	return p, nil
}
