package apitest

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// answer is one doctored answer to validate.
type answer struct {
	name, method, path string
	status             int
	header             map[string]string
	body               string
	ok                 bool
}

func hdr(kv ...string) map[string]string {
	m := map[string]string{"Content-Type": "application/json; charset=utf-8", "X-Request-Id": "r-1"}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			delete(m, kv[i])
		} else {
			m[kv[i]] = kv[i+1]
		}
	}
	return m
}

// TestValidatorRejectsDoctoredAnswers proves the contract test can fail:
// answers the document does not allow (an undocumented status, an
// undocumented code, a missing required header, an extra field, a route
// the document lacks) are rejected, while their honest twins pass.
func TestValidatorRejectsDoctoredAnswers(t *testing.T) {
	d, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	const sendOK = `{"Code":"OK","Message":"OK","RequestId":"a","Success":true,"Model":{"BizId":"b"},"ResendAfter":60,"ExpiresIn":300}`
	for _, a := range []answer{
		{"send 200", "POST", "/send", 200, hdr(), sendOK, true},
		{"send 200 replayed", "POST", "/send", 200, hdr("Idempotent-Replayed", "true"), sendOK, true},
		{"send 200 replay header not true", "POST", "/send", 200, hdr("Idempotent-Replayed", "yes"), sendOK, false},
		{"send 200 without X-Request-Id", "POST", "/send", 200, hdr("X-Request-Id", ""), sendOK, false},
		{"send 200 with an undocumented field", "POST", "/send", 200, hdr(), strings.Replace(sendOK, `"ExpiresIn"`, `"Secret":"x","ExpiresIn"`, 1), false},
		{"send 200 that is not a success", "POST", "/send", 200, hdr(), strings.Replace(sendOK, `"Success":true`, `"Success":false`, 1), false},
		{"send 418", "POST", "/send", 418, hdr(), `{"Code":"TEAPOT","Message":"","RequestId":"a","Success":false}`, false},
		{"send 400 documented code", "POST", "/send", 400, hdr(), `{"Code":"MOBILE_NUMBER_ILLEGAL","Message":"m","RequestId":"a","Success":false}`, true},
		{"send 400 Alibaba family", "POST", "/send", 400, hdr(), `{"Code":"MissingParameter.PhoneNumber","Message":"m","RequestId":"a","Success":false}`, true},
		{"send 400 undocumented code", "POST", "/send", 400, hdr(), `{"Code":"BOGUS","Message":"m","RequestId":"a","Success":false}`, false},
		{"send 400 code of another status", "POST", "/send", 400, hdr(), `{"Code":"SEND_LIMIT_PHONE","Message":"m","RequestId":"a","Success":false}`, false},
		{"check 429", "POST", "/check", 429, hdr("Retry-After", "60"), `{"Code":"CHECK_LIMIT_PHONE","Message":"m","RequestId":"a","Success":false,"RetryAfter":60}`, true},
		{"check 429 without Retry-After", "POST", "/check", 429, hdr(), `{"Code":"CHECK_LIMIT_PHONE","Message":"m","RequestId":"a","Success":false,"RetryAfter":60}`, false},
		{"check 429 without RetryAfter", "POST", "/check", 429, hdr("Retry-After", "60"), `{"Code":"CHECK_LIMIT_PHONE","Message":"m","RequestId":"a","Success":false}`, false},
		{"check 200 bad verdict", "POST", "/check", 200, hdr(), `{"Code":"OK","Message":"OK","RequestId":"a","Success":true,"Model":{"VerifyResult":"MAYBE"}}`, false},
		{"401 without WWW-Authenticate", "POST", "/send", 401, hdr(), `{"Code":"UNAUTHORIZED","Message":"m","RequestId":"a","Success":false}`, false},
		{"unknown path 404", "GET", "/nope", 404, hdr(), `{"Code":"NOT_FOUND","Message":"m","RequestId":"a","Success":false}`, true},
		{"unknown path 200", "GET", "/nope", 200, hdr(), `{"status":"ok"}`, false},
		{"wrong method 405", "GET", "/send", 405, hdr("Allow", "POST, OPTIONS"), `{"Code":"METHOD_NOT_ALLOWED","Message":"m","RequestId":"a","Success":false}`, true},
		{"wrong method 405 without Allow", "GET", "/send", 405, hdr(), `{"Code":"METHOD_NOT_ALLOWED","Message":"m","RequestId":"a","Success":false}`, false},
		{"client-config with a secret", "GET", "/client-config", 200, hdr(), `{"Captcha":{"Provider":"","Actions":[],"Secret":"s"},"CodeLength":4,"CodeType":1,"ValidTime":300,"ResendInterval":60,"TemplateCode":"1","TemplateCodes":["1"],"SchemeName":"","SchemeNames":[""],"CountryCodes":["86"],"VerifyToken":false}`, false},
	} {
		t.Run(a.name, func(t *testing.T) {
			r := httptest.NewRequest(a.method, a.path, nil)
			h := http.Header{}
			for k, v := range a.header {
				h.Set(k, v)
			}
			err := d.ValidateResponse(r, a.status, h, []byte(a.body))
			if a.ok && err != nil {
				t.Errorf("rejected an honest answer: %v", err)
			}
			if !a.ok && err == nil {
				t.Error("accepted a doctored answer")
			}
		})
	}
	r := httptest.NewRequest("GET", "/nope", nil)
	if err := d.ValidateResponse(r, 200, hdr2(), nil); !errors.Is(err, ErrUndocumentedRoute) {
		t.Errorf("undocumented route: %v", err)
	}
}

func hdr2() http.Header { return http.Header{"X-Request-Id": {"r"}} }

func TestCodes(t *testing.T) {
	d, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	codes := d.Codes()
	if len(codes[429]) < 5 || len(codes[404]) != 1 || codes[404][0] != "NOT_FOUND" {
		t.Errorf("codes: %v", codes)
	}
	if !d.CodeAllowed(429, "Throttling.User") || d.CodeAllowed(400, "Throttling.User") || d.CodeAllowed(418, "X") {
		t.Error("CodeAllowed")
	}
}
