package function

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	"smsverify/core"
)

// decodeParamsByJSON is decodeParams as it was written with encoding/json
// alone (the keys decoded into a map, then the struct by json.Unmarshal):
// the reference the in-place reading must match.
func decodeParamsByJSON(body []byte, fields, allowed []string, skip string, dst any) *apiError {
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(body, &keys); err != nil || keys == nil {
		return newError(CodeInvalidJSON, "body must be a JSON object")
	}
	names := make([]string, 0, len(keys))
	for k := range keys {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		switch {
		case skip != "" && (k == skip || k == fieldIdempotencyKey):
		case !slices.Contains(fields, k):
			return newError(CodeInvalidParameters, "unknown field "+quoteField(k))
		case allowed != nil && !slices.Contains(allowed, k):
			return newError(CodeFieldNotAllowed, "field "+k+" is set by the server; only trusted callers may set it")
		}
	}
	return unmarshalParams(body, dst) // json.Unmarshal, as before
}

// FuzzDecodeParams: decodeParams gives the reference's error and fills the
// request exactly as the reference does, for every field set it is used
// with (public and trusted sends, checks, with and without an event's
// envelope), starting from the defaults a send starts from.
func FuzzDecodeParams(f *testing.F) {
	for _, body := range []string{
		`{"PhoneNumber":"13800138000"}`,
		`{"PhoneNumber":"13800138000","CaptchaVerifyParam":{"a":[1,"x"]},"SchemeName":null}`,
		`{"PhoneNumber":"138\u00300138000","Interval":60,"ReturnVerifyCode":true}`,
		`{"Phone\u004eumber":"13800138000"}`,
		`{"phonenumber":"1","Zeta":1,"Alpha":2}`,
		`{"SignName":"s","PhoneNumber":"1","PhoneNumber":"2"}`,
		`{"Action":"send","IdempotencyKey":"k","VerifyCode":"1234","CaseAuthPolicy":"2"}`,
		"{\"OutId\":\"\xff\"}",
		`{"CodeLength":"4"}`, `[]`, `null`, `{`, ` {} `,
	} {
		f.Add(body)
	}
	cfg := testConfig("http://127.0.0.1:1")
	f.Fuzz(func(t *testing.T, body string) {
		for _, skip := range []string{"", "Action"} {
			for _, allowed := range [][]string{nil, publicSendFields} {
				got, want := cfg.sendBase(), cfg.sendBase()
				sameDecode(t, body, sendFields, allowed, skip, &got, &want)
			}
			var got, want core.CheckRequest
			sameDecode(t, body, checkFields, nil, skip, &got, &want)
		}
	})
}

func sameDecode[T any](t *testing.T, body string, fields, allowed []string, skip string, got, want *T) {
	t.Helper()
	ge := decodeParams([]byte(body), fields, allowed, skip, got)
	we := decodeParamsByJSON([]byte(body), fields, allowed, skip, want)
	if (ge == nil) != (we == nil) || ge != nil && (ge.Code != we.Code || ge.Message != we.Message) {
		t.Fatalf("%q (skip %q, allowed %v): error %v, want %v", body, skip, allowed, ge, we)
	}
	if ge == nil && !reflect.DeepEqual(got, want) {
		t.Fatalf("%q: decoded %+v, want %+v", body, *got, *want)
	}
}

// TestParamFieldCoversRequests: paramField knows every field of both
// request types by its JSON name, and hands out exactly the string ones.
func TestParamFieldCoversRequests(t *testing.T) {
	for _, dst := range []any{&core.SendRequest{}, &core.CheckRequest{}} {
		v := reflect.ValueOf(dst).Elem()
		for i := range v.NumField() {
			name, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("json"), ",")
			p, isField := paramField(dst, `"`+name+`"`)
			switch {
			case !isField:
				t.Errorf("%T: paramField does not know %s", dst, name)
			case v.Field(i).Kind() == reflect.String && p != v.Field(i).Addr().Interface().(*string):
				t.Errorf("%T: paramField(%s) is not that field", dst, name)
			case v.Field(i).Kind() != reflect.String && p != nil:
				t.Errorf("%T: paramField(%s) hands out a string for a %s", dst, name, v.Field(i).Kind())
			}
		}
		if p, isField := paramField(dst, `"CaptchaVerifyParam"`); p != nil || isField {
			t.Errorf("%T: the captcha token is not a field", dst)
		}
	}
}

// TestPlainBodiesSkipReflection: a browser's body, all plain strings, is
// read in place.
func TestPlainBodiesSkipReflection(t *testing.T) {
	var r core.SendRequest
	if !setPlainParams(`{"PhoneNumber":"13800138000","SchemeName":"登录","CaptchaVerifyParam":{"t":1}}`, &r) ||
		r.PhoneNumber != "13800138000" || r.SchemeName != "登录" {
		t.Errorf("plain body: %+v", r)
	}
	if setPlainParams(`{"Interval":60}`, &r) {
		t.Error("a number was read in place")
	}
}
