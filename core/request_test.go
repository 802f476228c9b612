package core

import "testing"

// TestCheckTemplateParam pins which TemplateParam texts Validate accepts: a
// JSON object (nothing after it) whose exact key "code" (escapes decoded,
// the last of duplicates) is a non-empty JSON string.
func TestCheckTemplateParam(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{`{"code":"##code##","min":"5"}`, true},
		{` {"min":5,"x":[1,{"a":null}],"code":"1234"} `, true},
		{`{"\u0063ode":"##code##"}`, true},
		{`{"code":1,"code":"##code##"}`, true},
		{`{"code":"##code##","code":1}`, false},
		{`{"code":"\u0041"}`, true},
		{`{"code":"\u0000"}`, true},
		{`{"code":" "}`, true},
		{`{"code":""}`, false},
		{`{"code":null}`, false},
		{`{"code":5}`, false},
		{`{"code":true}`, false},
		{`{"code":["x"]}`, false},
		{`{"code":{"a":"b"}}`, false},
		{`{"Code":"##code##"}`, false},
		{`{"CODE":"##code##"}`, false},
		{`{"min":"5"}`, false},
		{`{}`, false},
		{`null`, false},
		{`[{"code":"x"}]`, false},
		{`"code"`, false},
		{`{"code":"x"} {}`, false},
		{`{"code":"x",}`, false},
		{`{"code":"x"`, false},
		{`{"code":"x","min":tru}`, false},
		{`{"code":"x","min":"\x"}`, false},
		{``, false},
	} {
		// Each text is checked right after a valid one and then again, so
		// that the memo of the last valid text (validTemplateParam) is set
		// to another text, then possibly to this one: neither may change
		// the outcome.
		for _, in := range []string{`{"code":"##code##"}`, tc.in, tc.in} {
			ok := in != tc.in || tc.ok
			if err := checkTemplateParam(in); (err == nil) != ok {
				t.Errorf("checkTemplateParam(%q) = %v, want ok %v", in, err, ok)
			}
		}
	}
}
