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
// JSON names: all of them (fields: each name's field in the action's
// params struct) for trusted callers, public for public callers (nil:
// all). Every caller may send CaptchaVerifyParam (the captcha token, see
// captcha.go); events also send their envelope (Action, IdempotencyKey).
type paramSet struct {
	fields map[string][]int
	public []string
}

var (
	sendParamSet = paramSet{
		fields: jsonFields(reflect.TypeFor[sendParams]()),
		public: []string{"PhoneNumber", "CountryCode", "TemplateCode", "SchemeName", "OutId", captchaField},
	}
	checkParamSet = paramSet{fields: jsonFields(reflect.TypeFor[checkParams]())}
)

// jsonFields maps the JSON name of each field of the struct type t (and
// of the structs it embeds) to the field's index path.
func jsonFields(t reflect.Type) map[string][]int {
	out := make(map[string][]int)
	for _, f := range reflect.VisibleFields(t) {
		if !f.Anonymous {
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			out[name] = f.Index
		}
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
// *checkParams) for c: the body is split into its members once, and each
// member is decoded into the field its exact key names. Every key must be
// one of set.fields (else INVALID_PARAMETERS: unknown field) and, for a
// public caller, one of set.public (else FIELD_NOT_ALLOWED); keys are
// matched exactly, whereas json.Unmarshal into the struct would match them
// in any case. An event's envelope keys are its own. Of several values of
// the wrong type the first key in sorted order is named, as check names
// bad keys.
func decodeParams(body []byte, c caller, set paramSet, dst any) *apiError {
	var members map[string]json.RawMessage
	if err := json.Unmarshal(body, &members); err != nil || members == nil {
		return newError(CodeInvalidJSON, "body must be a JSON object")
	}
	if e := set.check(c, members); e != nil {
		return e
	}
	v := reflect.ValueOf(dst).Elem()
	var (
		first string
		e     *apiError
	)
	for k, raw := range members {
		index, ok := set.fields[k]
		if !ok || e != nil && k >= first {
			continue // an event's envelope, or a later key than a wrong one
		}
		if err := json.Unmarshal(raw, v.FieldByIndex(index).Addr().Interface()); err != nil {
			var te *json.UnmarshalTypeError
			if !errors.As(err, &te) { // raw is valid JSON: only its type can be wrong
				return newError(CodeInvalidJSON, "body must be a JSON object")
			}
			first, e = k, newError(CodeInvalidParameters, k+" must be a JSON "+jsonKind(te.Type.String()))
		}
	}
	return e
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
		case set.fields[k] == nil:
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
