package acs3

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

// Alibaba's published V3 known-answer vector (reference/dypnsapi.md).
var vector = struct {
	id, secret, method, rawQuery, host, action, version, date, nonce string
	hashedCanonical, signature                                       string
}{
	id: "YourAccessKeyId", secret: "YourAccessKeySecret", method: "POST",
	rawQuery: "ImageId=win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd&RegionId=cn-shanghai",
	host:     "ecs.cn-shanghai.aliyuncs.com", action: "RunInstances", version: "2014-05-26",
	date: "2023-10-26T10:22:32Z", nonce: "3156853299f313e23d1673dc12e1703d",
	hashedCanonical: "7ea06492da5221eba5297e897ce16e55f964061054b7695beedaac1145b1e259",
	signature:       "06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0",
}

// canonicalRequest returns the canonical request and the signed-header
// list Signature builds for in, so each step can be tested on its own.
func canonicalRequest(in Request) (canonical, signedHeaders string) {
	b, signed := in.appendCanonical(nil, sortedLower(nil, in.Headers))
	return string(b), string(signed)
}

// stringToSign is the string to sign of a canonical request, computed here
// from its definition.
func stringToSign(canonical string) string {
	sum := sha256.Sum256([]byte(canonical))
	return Algorithm + "\n" + hex.EncodeToString(sum[:])
}

func vectorInput(t *testing.T) Request {
	t.Helper()
	q, err := url.ParseQuery(vector.rawQuery)
	if err != nil {
		t.Fatal(err)
	}
	return Request{
		Method: vector.method, Path: "/", Query: CanonicalQuery(q), BodySHA256: EmptySHA256,
		Headers: []Header{
			{"X-Acs-Version", vector.version}, {"host", vector.host}, {"x-acs-action", vector.action},
			{"x-acs-date", vector.date}, {"x-acs-signature-nonce", vector.nonce},
			{"x-acs-content-sha256", EmptySHA256},
		},
	}
}

func TestKnownAnswerCanonicalRequest(t *testing.T) {
	canonical, signed := canonicalRequest(vectorInput(t))
	want := "POST\n/\n" + vector.rawQuery + "\n" +
		"host:" + vector.host + "\n" +
		"x-acs-action:" + vector.action + "\n" +
		"x-acs-content-sha256:" + EmptySHA256 + "\n" +
		"x-acs-date:" + vector.date + "\n" +
		"x-acs-signature-nonce:" + vector.nonce + "\n" +
		"x-acs-version:" + vector.version + "\n\n" +
		"host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version\n" +
		EmptySHA256
	if canonical != want {
		t.Errorf("canonical request:\n%s\nwant:\n%s", canonical, want)
	}
	if signed != "host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version" {
		t.Errorf("signed headers = %q", signed)
	}
	sum := sha256.Sum256([]byte(canonical))
	if got := hex.EncodeToString(sum[:]); got != vector.hashedCanonical {
		t.Errorf("HexSHA256(CanonicalRequest) = %s, want %s", got, vector.hashedCanonical)
	}
}

func TestKnownAnswerStringToSign(t *testing.T) {
	canonical, _ := canonicalRequest(vectorInput(t))
	if got, want := stringToSign(canonical), "ACS3-HMAC-SHA256\n"+vector.hashedCanonical; got != want {
		t.Errorf("StringToSign = %q, want %q", got, want)
	}
}

func TestKnownAnswerSignature(t *testing.T) {
	sig, _ := Signature(vectorInput(t), vector.secret)
	if sig != vector.signature {
		t.Errorf("Signature = %s, want %s", sig, vector.signature)
	}
}

// TestKnownAnswerSign: Sign, given the request's own headers, adds the
// date, nonce and body hash and answers the vector's headers.
func TestKnownAnswerSign(t *testing.T) {
	q, _ := url.ParseQuery(vector.rawQuery)
	date, _ := time.Parse(DateFormat, vector.date)
	got := Sign(Request{Method: vector.method, Path: "/", Query: CanonicalQuery(q), Headers: []Header{
		{"host", vector.host}, {"X-Acs-Action", vector.action}, {"X-Acs-Version", vector.version},
	}}, Credentials{AccessKeyID: vector.id, AccessKeySecret: vector.secret}, date, vector.nonce)
	want := []Header{
		{"X-Acs-Action", vector.action}, {"X-Acs-Version", vector.version},
		{"X-Acs-Date", vector.date}, {"X-Acs-Signature-Nonce", vector.nonce}, {"X-Acs-Content-Sha256", EmptySHA256},
		{"Authorization", "ACS3-HMAC-SHA256 Credential=YourAccessKeyId,SignedHeaders=host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version,Signature=" + vector.signature},
	}
	if !slices.Equal(got, want) {
		t.Errorf("Sign =\n%v\nwant\n%v", got, want)
	}
}

func TestKnownAnswerSignHTTP(t *testing.T) {
	r, err := http.NewRequest(vector.method, "https://"+vector.host+"/?RegionId=cn-shanghai&ImageId=win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd", nil)
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("x-acs-action", vector.action)
	r.Header.Set("x-acs-version", vector.version)
	r.Header.Set("User-Agent", "not-signed")
	date, _ := time.Parse(DateFormat, vector.date)
	r.Header.Set("x-acs-date", "stale, replaced")
	if err := SignHTTP(r, "", Credentials{AccessKeyID: vector.id, AccessKeySecret: vector.secret}, date, vector.nonce); err != nil {
		t.Fatal(err)
	}
	want := "ACS3-HMAC-SHA256 Credential=YourAccessKeyId,SignedHeaders=host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version,Signature=" + vector.signature
	if got := r.Header.Get("Authorization"); got != want {
		t.Errorf("Authorization =\n%s\nwant\n%s", got, want)
	}
}

func TestSignHTTPSTS(t *testing.T) {
	r, _ := http.NewRequest("POST", "https://dypnsapi.aliyuncs.com/?PhoneNumber=13800000000", nil)
	r.Header.Set("x-acs-action", "SendSmsVerifyCode")
	c := Credentials{AccessKeyID: "id", AccessKeySecret: "secret", SecurityToken: "tok en"}
	if err := SignHTTP(r, "", c, time.Unix(0, 0), "n1"); err != nil {
		t.Fatal(err)
	}
	if got := r.Header.Get("x-acs-security-token"); got != "tok en" {
		t.Fatalf("x-acs-security-token = %q", got)
	}
	if a := r.Header.Get("Authorization"); !strings.Contains(a, "x-acs-security-token") {
		t.Errorf("token header not signed: %s", a)
	}
	// Changing the token must change the signature.
	a1 := r.Header.Get("Authorization")
	c.SecurityToken = "other"
	_ = SignHTTP(r, "", c, time.Unix(0, 0), "n1")
	if r.Header.Get("Authorization") == a1 {
		t.Error("signature does not cover the security token")
	}
}

func TestPercentEncode(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"abcXYZ019-_.~", "abcXYZ019-_.~"},
		{" ", "%20"},
		{"*", "%2A"},
		{"+", "%2B"},
		{"/", "%2F"},
		{"=", "%3D"},
		{"&", "%26"},
		{"%", "%25"},
		{"~", "~"},
		{"速通", "%E9%80%9F%E9%80%9A"},
		{`{"code":"##code##","min":"5"}`, "%7B%22code%22%3A%22%23%23code%23%23%22%2C%22min%22%3A%225%22%7D"},
	} {
		if got := percentEncode(tc.in); got != tc.want {
			t.Errorf("percentEncode(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestCanonicalQuery(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   url.Values
		want string
	}{
		{"empty", url.Values{}, ""},
		{"sorted by name", url.Values{"b": {"2"}, "a": {"1"}, "B": {"0"}}, "B=0&a=1&b=2"},
		{"empty value", url.Values{"SchemeName": {""}, "A": {"x"}}, "A=x&SchemeName="},
		{"repeated sorted by value", url.Values{"k": {"b", "a"}}, "k=a&k=b"},
		{"specials", url.Values{"q": {"a b*c~d+e/f=g&h%i"}}, "q=a%20b%2Ac~d%2Be%2Ff%3Dg%26h%25i"},
		{"chinese", url.Values{"SignName": {"速通互联验证码"}}, "SignName=%E9%80%9F%E9%80%9A%E4%BA%92%E8%81%94%E9%AA%8C%E8%AF%81%E7%A0%81"},
		{"encoded name sorts", url.Values{"a b": {"1"}, "a": {"2"}}, "a=2&a%20b=1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := CanonicalQuery(tc.in); got != tc.want {
				t.Errorf("CanonicalQuery = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestSignatureMatchesHMAC checks Signature against a direct computation with
// crypto/hmac for a secret longer than the hash block.
func TestSignatureMatchesHMAC(t *testing.T) {
	in := vectorInput(t)
	secret := strings.Repeat("s", 100)
	canonical, _ := canonicalRequest(in)
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(stringToSign(canonical)))
	if sig, _ := Signature(in, secret); sig != hex.EncodeToString(m.Sum(nil)) {
		t.Error("Signature disagrees with crypto/hmac")
	}
}

// TestSignatureIsPure: Signature neither reorders nor lower-cases the caller's
// headers, and gives the same answer for any order of them.
func TestSignatureIsPure(t *testing.T) {
	in := vectorInput(t)
	before := slices.Clone(in.Headers)
	sig, signed := Signature(in, vector.secret)
	if !slices.Equal(in.Headers, before) {
		t.Errorf("Signature changed its input headers: %v", in.Headers)
	}
	slices.Reverse(in.Headers)
	if sig2, signed2 := Signature(in, vector.secret); sig2 != sig || signed2 != signed || sig != vector.signature {
		t.Errorf("header order changed the signature: %s %s vs %s %s", sig, signed, sig2, signed2)
	}
}
