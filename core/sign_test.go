package core

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"smsverify/core/acs3"
)

// TestClientSignsLikeSignHTTP: one request signed both ways it can be
// built, by the Client (acs3.Sign from its parts) and by acs3.SignHTTP
// from an *http.Request with the same URL, body and headers, carries the
// same bytes in every header: a Send (parameters in the query), a Call
// (parameters in a form body) and each with STS credentials.
func TestClientSignsLikeSignHTTP(t *testing.T) {
	at := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	for _, creds := range []Credentials{
		{AccessKeyID: "LTAI5tExample", AccessKeySecret: "secret"},
		{AccessKeyID: "STS.Example", AccessKeySecret: "sts-secret", SecurityToken: "CAIS token"},
	} {
		for _, call := range []struct {
			name, action string
			run          func(c *Client) error
		}{
			{"send", ActionSend, func(c *Client) error {
				_, err := c.Send(context.Background(), validSend())
				return err
			}},
			{"call", "VerifyIntelligentCaptcha", func(c *Client) error {
				return c.Call(context.Background(), "2023-03-05", "VerifyIntelligentCaptcha",
					map[string]string{"CaptchaVerifyParam": `{"a":"b c"}`, "SceneId": "s1"}, nil)
			}},
		} {
			var sent *http.Request
			var body []byte
			hc := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
				sent = r
				if r.Body != nil {
					body, _ = io.ReadAll(r.Body)
				}
				return &http.Response{StatusCode: 400, Header: http.Header{},
					Body: io.NopCloser(strings.NewReader(`{"Code":"SignatureDoesNotMatch","RequestId":"R"}`))}, nil
			})}
			c := newTestClient(t, "https://dypnsapi.aliyuncs.com", Options{Credentials: StaticCredentials(creds), HTTPClient: hc,
				Now: func() time.Time { return at }, Nonce: func() string { return "3156853299f313e23d1673dc12e1703d" }})
			if err := call.run(c); sent == nil {
				t.Fatalf("%s: nothing sent: %v", call.name, err)
			}
			again, err := http.NewRequest(http.MethodPost, sent.URL.String(), strings.NewReader(string(body)))
			if err != nil {
				t.Fatal(err)
			}
			again.Header.Set("x-acs-action", call.action)
			again.Header.Set("x-acs-version", sent.Header.Get("X-Acs-Version"))
			again.Header.Set("Accept", "application/json")
			if len(body) > 0 {
				again.Header.Set("Content-Type", formType)
			}
			sum := sha256.Sum256(body)
			if err := acs3.SignHTTP(again, hex.EncodeToString(sum[:]), creds, at, "3156853299f313e23d1673dc12e1703d"); err != nil {
				t.Fatal(err)
			}
			if len(sent.Header) != len(again.Header) {
				t.Errorf("%s: the Client sends %v, SignHTTP sets %v", call.name, sent.Header, again.Header)
			}
			for name, vs := range sent.Header {
				if len(vs) != 1 || again.Header.Get(name) != vs[0] {
					t.Errorf("%s %v: %s is %q from the Client, %q from SignHTTP", call.name, creds, name, vs, again.Header.Get(name))
				}
			}
		}
	}
}
