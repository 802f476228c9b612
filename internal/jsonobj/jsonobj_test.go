package jsonobj

import (
	"encoding/json"
	"maps"
	"testing"
)

// FuzzMembers: for any valid JSON object, Members and Key give the members
// json.Unmarshal finds (the last of duplicates winning, as there), with
// each value's exact text; PlainString agrees with json.Unmarshal whenever
// it reads a value.
func FuzzMembers(f *testing.F) {
	for _, s := range []string{
		`{}`, ` { "a" : 1 , "b":[1,{"c":"}"}], "a":"x\"y" } `, `{"k\u0065y":null,"":true}`,
		"{\"\xff\":\"\xfe\"}", `{"n":-1.5e3,"o":{"p":{}},"q":"\\"}`, `[1]`, `"s"`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !json.Valid([]byte(s)) {
			return
		}
		var want map[string]json.RawMessage
		isObject := json.Unmarshal([]byte(s), &want) == nil && want != nil
		if IsObject(s) != isObject {
			t.Fatalf("IsObject(%q) = %v", s, !isObject)
		}
		if !isObject {
			return
		}
		got := map[string]json.RawMessage{}
		for k, v := range Members(s) {
			got[Key(k)] = json.RawMessage(v)
			var ref string
			if p, ok := PlainString(v); ok && (json.Unmarshal([]byte(v), &ref) != nil || ref != p) {
				t.Fatalf("PlainString(%q) = %q, json.Unmarshal gives %q", v, p, ref)
			}
		}
		if !maps.EqualFunc(got, want, func(a, b json.RawMessage) bool { return string(a) == string(b) }) {
			t.Fatalf("%q: Members gives %q, json.Unmarshal %q", s, got, want)
		}
	})
}
