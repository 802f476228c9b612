package function

import (
	"bytes"
	"encoding/json"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"smsverify/api"
)

func TestOpenAPIServed(t *testing.T) {
	e := newEnv(t, nil)
	w, _ := e.do("GET", "/openapi.json", "")
	if w.Code != 200 || !bytes.Equal(w.Body.Bytes(), api.OpenAPI()) {
		t.Fatalf("%d, %d bytes", w.Code, w.Body.Len())
	}
	if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q", ct)
	}
	if w.Header().Get("X-Request-Id") == "" || w.Header().Get("Cache-Control") != documentCache {
		t.Errorf("headers: %v", w.Header())
	}
}

// secretField names Config fields that hold secrets (today's and any that
// are added later under a similar name).
var secretField = regexp.MustCompile(`Secret|Token$|APIKeys|RedisURL|Password|TestNumbers`)

func TestClientConfig(t *testing.T) {
	const origin = "https://app.example"
	var cfg Config
	e := newEnv(t, func(c *Config, _ *Options) {
		c.CodeLength, c.CodeType, c.ValidTime, c.Interval = 6, 2, 600, 90
		c.TemplateCodes = []string{"100001", "100003"}
		c.SchemeName, c.SchemeNames = "login", []string{"login", "pay"}
		c.VerifyTokenSecret = "token-secret-" + strings.Repeat("t", 32)
		c.SecurityToken = "sts-token-value-0123456789"
		c.APIKeys = []string{testKey, "second-api-key-0123456789"}
		c.RedisURL = "redis://:redis-password-0123@127.0.0.1:1/0"
		c.CORSAllowedOrigins = []string{origin}
		c.TestNumbers = []string{"13700000000:246810"} // a fixed code is a secret
		cfg = *c
	})
	w, m := e.do("GET", "/client-config", "", "Origin", origin)
	if w.Code != 200 || w.Header().Get("Access-Control-Allow-Origin") != origin {
		t.Fatalf("%d %v", w.Code, w.Header())
	}
	var got ClientConfig
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	want := ClientConfig{
		Captcha:    ClientCaptcha{Provider: "", Actions: []string{}},
		CodeLength: 6, CodeType: 2, ValidTime: 600, ResendInterval: 90,
		TemplateCode: "100001", TemplateCodes: []string{"100001", "100003"},
		SchemeName: "login", SchemeNames: []string{"login", "pay"}, CountryCodes: []string{"86"},
		VerifyToken: true,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v (%v)", got, want, m)
	}

	// No value of a secret field appears, however the config grows.
	v := reflect.ValueOf(cfg)
	checked := 0
	for i := range v.NumField() {
		f := v.Type().Field(i)
		if !secretField.MatchString(f.Name) {
			continue
		}
		var values []string
		switch x := v.Field(i).Interface().(type) {
		case string:
			values = []string{x}
		case []string:
			values = x
		}
		for _, s := range values {
			if s == "" {
				continue
			}
			checked++
			if strings.Contains(w.Body.String(), s) {
				t.Errorf("/client-config shows %s", f.Name)
			}
		}
	}
	if checked < 6 || !slices.Contains(cfg.APIKeys, testKey) || cfg.AccessKeySecret == "" {
		t.Errorf("checked only %d secret values", checked)
	}
}

// TestCORSForWebClients: a page may send Idempotency-Key and read the
// headers the JS client uses.
func TestCORSForWebClients(t *testing.T) {
	const origin = "https://app.example"
	e := newEnv(t, func(c *Config, _ *Options) { c.CORSAllowedOrigins = []string{origin} })
	w, _ := e.do("OPTIONS", "/send", "", "Origin", origin, "Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "content-type,idempotency-key")
	if !strings.Contains(w.Header().Get("Access-Control-Allow-Headers"), "Idempotency-Key") {
		t.Errorf("preflight: %v", w.Header())
	}
	w, _ = e.do("POST", "/send", `{"PhoneNumber":"13800000000"}`, "Origin", origin)
	for _, h := range []string{"Retry-After", "X-Request-Id", "Idempotent-Replayed"} {
		if !strings.Contains(w.Header().Get("Access-Control-Expose-Headers"), h) {
			t.Errorf("%s not exposed: %v", h, w.Header())
		}
	}
}
