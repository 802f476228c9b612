package dypnstest_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"smsverify/core"
	"smsverify/core/dypnstest"
)

// FuzzServeHTTP feeds arbitrary Authorization headers, queries and bodies
// to the fake: it must always answer JSON with a Code, never panic.
func FuzzServeHTTP(f *testing.F) {
	f.Add("ACS3-HMAC-SHA256 Credential=LTAI5tDypnsTestKeyId,SignedHeaders=host;x-acs-action,Signature=00", "PhoneNumber=13800000000", "")
	f.Add("ACS3-HMAC-SHA256 Credential=,SignedHeaders=;,Signature=", "a=%zz", "b=1")
	f.Add("ACS3-HMAC-SHA256 ,,,", "", "\x00")
	fake := dypnstest.NewHandler(dypnstest.Options{})
	f.Fuzz(func(t *testing.T, auth, query, body string) {
		r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		r.URL.RawQuery = query
		r.Header.Set("Authorization", auth)
		r.Header.Set("x-acs-action", core.ActionSend)
		r.Header.Set("x-acs-version", core.APIVersion)
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		fake.ServeHTTP(w, r)
		var a struct{ Code string }
		if err := json.Unmarshal(w.Body.Bytes(), &a); err != nil || a.Code == "" || w.Code < 400 {
			t.Fatalf("answer %d %q", w.Code, w.Body)
		}
	})
}
