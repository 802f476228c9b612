package core

import (
	"testing"
)

// benchSend is a typical SendSmsVerifyCode with every server-side field set.
var benchSend = &SendRequest{
	PhoneNumber: "13800000000", SignName: "速通互联验证码", TemplateCode: "100001",
	TemplateParam: `{"code":"##code##","min":"5"}`, CodeLength: Int64(6), ValidTime: Int64(300),
	Interval: Int64(60), CodeType: Int64(1), DuplicatePolicy: Int64(1), AutoRetry: Int64(1),
}

var benchCreds = Credentials{AccessKeyID: "LTAI5tExampleKeyId", AccessKeySecret: "ExampleSecretExampleSecret12"}

// signSend is what signing costs one SendSmsVerifyCode: the canonical query
// from typed parameters, the canonical request, the hash, the HMAC and the
// Authorization header.
func signSend(r *SendRequest, creds Credentials) string {
	var arr [16]param
	query := string(appendQuery(make([]byte, 0, 512), r.appendParams(arr[:0])))
	hs := [6]Header{
		{"host", "dypnsapi.aliyuncs.com"}, {"x-acs-action", ActionSend},
		{"x-acs-content-sha256", EmptySHA256}, {"x-acs-date", "2026-11-27T10:00:00Z"},
		{"x-acs-signature-nonce", "3156853299f313e23d1673dc12e1703d"}, {"x-acs-version", APIVersion},
	}
	sig, signed := Sign(SignInput{Method: "POST", Path: "/", Query: query, Headers: hs[:], BodySHA256: EmptySHA256},
		creds.AccessKeySecret)
	return authorizationHeader(creds.AccessKeyID, signed, sig)
}

// BenchmarkSign measures signSend; it reports allocations, which move
// between Go releases, so no test pins their count.
func BenchmarkSign(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if auth := signSend(benchSend, benchCreds); len(auth) < 100 {
			b.Fatal(auth)
		}
	}
}
