package core

import (
	"testing"
	"time"

	"smsverify/core/acs3"
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
	var arr [16]acs3.Param
	query := string(acs3.AppendQuery(make([]byte, 0, 512), r.appendParams(arr[:0])))
	hs := [3]acs3.Header{{Name: "host", Value: "dypnsapi.aliyuncs.com"}, {Name: "X-Acs-Action", Value: ActionSend}, {Name: "X-Acs-Version", Value: APIVersion}}
	signed := acs3.Sign(acs3.Request{Method: "POST", Path: "/", Query: query, Headers: hs[:]},
		creds, benchTime, "3156853299f313e23d1673dc12e1703d")
	return signed[len(signed)-1].Value
}

var benchTime = time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)

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
