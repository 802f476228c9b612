package function

import "testing"

// TestDecodeParams pins decodeParams's rules: a JSON object, keys matched
// exactly, public callers limited to their fields, an event's envelope
// allowed for events only, the first bad key in sorted order named, a
// value of the wrong type named by its field (the first in sorted order),
// and the captcha token left as JSON text whatever its type.
func TestDecodeParams(t *testing.T) {
	public, trusted, event := caller{kind: callerPublic}, caller{kind: callerTrusted}, caller{kind: callerEvent}
	for _, tc := range []struct {
		name string
		c    caller
		body string
		code string // "" for accepted
		msg  string
	}{
		{"plain", public, `{"PhoneNumber":"13800138000","SchemeName":"登录"}`, "", ""},
		{"escaped key", public, `{"Phone\u004eumber":"13800138000"}`, "", ""},
		{"captcha of any type", trusted, `{"PhoneNumber":"1","CaptchaVerifyParam":{"a":[1]}}`, "", ""},
		{"null values", public, `{"PhoneNumber":null,"SchemeName":null}`, "", ""},
		{"not an object", public, `[]`, CodeInvalidJSON, "body must be a JSON object"},
		{"null", public, `null`, CodeInvalidJSON, "body must be a JSON object"},
		{"cut short", public, `{"PhoneNumber":"1"`, CodeInvalidJSON, "body must be a JSON object"},
		{"trailing data", public, `{} {}`, CodeInvalidJSON, "body must be a JSON object"},
		{"other case", trusted, `{"phonenumber":"13800138000"}`, CodeInvalidParameters, `unknown field "phonenumber"`},
		{"first in sorted order", trusted, `{"Zeta":1,"Alpha":2,"phonenumber":3}`, CodeInvalidParameters, `unknown field "Alpha"`},
		{"server field from a public caller", public, `{"SignName":"s"}`, CodeFieldNotAllowed, "field SignName is set by the server; only trusted callers may set it"},
		{"server field from a trusted caller", trusted, `{"SignName":"s"}`, "", ""},
		{"envelope from an event", event, `{"Action":"SendSmsVerifyCode","IdempotencyKey":"k","PhoneNumber":"1"}`, "", ""},
		{"envelope over HTTP", trusted, `{"Action":"SendSmsVerifyCode"}`, CodeInvalidParameters, `unknown field "Action"`},
		{"integer as a string", trusted, `{"CodeLength":"4"}`, CodeInvalidParameters, "CodeLength must be a JSON integer"},
		{"boolean as a number", trusted, `{"ReturnVerifyCode":1}`, CodeInvalidParameters, "ReturnVerifyCode must be a JSON boolean"},
		{"string as a number", public, `{"PhoneNumber":13800138000}`, CodeInvalidParameters, "PhoneNumber must be a JSON string"},
		{"first wrong value in sorted order", trusted, `{"ValidTime":true,"ReturnVerifyCode":1,"CodeLength":"4","AutoRetry":1}`, CodeInvalidParameters, "CodeLength must be a JSON integer"},
		{"captcha token's own type", trusted, `{"CaptchaVerifyParam":[1],"PhoneNumber":false}`, CodeInvalidParameters, "PhoneNumber must be a JSON string"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var p sendParams
			e := decodeParams([]byte(tc.body), tc.c, sendParamSet, &p)
			switch {
			case tc.code == "" && e != nil:
				t.Fatalf("refused: %v", e)
			case tc.code != "" && (e == nil || e.Code != tc.code || e.Message != tc.msg):
				t.Fatalf("error %v, want %s: %s", e, tc.code, tc.msg)
			}
		})
	}
	var p sendParams
	if e := decodeParams([]byte(`{"Phone\u004eumber":"13800138000","Interval":60,"CaptchaVerifyParam":"tok"}`), trusted, sendParamSet, &p); e != nil ||
		p.PhoneNumber != "13800138000" || p.Interval == nil || *p.Interval != 60 || string(p.CaptchaVerifyParam) != `"tok"` {
		t.Errorf("decoded %+v, %v", p, e)
	}
	var c checkParams
	if e := decodeParams([]byte(`{"PhoneNumber":"1","VerifyCode":"1234","CaseAuthPolicy":2}`), public, checkParamSet, &c); e != nil ||
		c.VerifyCode != "1234" || c.CaseAuthPolicy == nil || *c.CaseAuthPolicy != 2 {
		t.Errorf("decoded %+v, %v", c, e)
	}
	if e := decodeParams([]byte(`{"TemplateCode":"1"}`), public, checkParamSet, &c); e == nil || e.Code != CodeInvalidParameters {
		t.Errorf("a send field in a check: %v", e)
	}
}
