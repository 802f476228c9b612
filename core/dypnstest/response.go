package dypnstest

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
)

// contentType is the Content-Type of every JSON answer.
const contentType = "application/json;charset=utf-8"

// gatewayHost returns the HostId and the product gateway errors name for
// r: Captcha 2.0's (its Shanghai endpoint) for its API version, else
// Dypnsapi's.
func gatewayHost(r *http.Request) (hostID, product string) {
	if r.Header.Get("x-acs-version") == CaptchaAPIVersion {
		return "captcha.cn-shanghai.aliyuncs.com", "captcha"
	}
	return "dypnsapi.aliyuncs.com", "Dypnsapi"
}

// gatewayError is an error answered by the API gateway, before the API.
type gatewayError struct {
	status        int
	code, message string
}

// gatewayBody is the gateway's error shape.
type gatewayBody struct {
	RequestID string `json:"RequestId"`
	HostID    string `json:"HostId"`
	Code      string `json:"Code"`
	Message   string `json:"Message"`
	Recommend string `json:"Recommend"`
}

// businessBody is the API's error shape (Success false).
type businessBody struct {
	Code               string `json:"Code"`
	Message            string `json:"Message"`
	RequestID          string `json:"RequestId"`
	Success            bool   `json:"Success"`
	AccessDeniedDetail string `json:"AccessDeniedDetail"`
}

// sendBody is a successful SendSmsVerifyCode answer, fields in the order of
// the reference example.
type sendBody struct {
	AccessDeniedDetail string    `json:"AccessDeniedDetail"`
	Message            string    `json:"Message"`
	RequestID          string    `json:"RequestId"`
	Model              sendModel `json:"Model"`
	Code               string    `json:"Code"`
	Success            bool      `json:"Success"`
}

type sendModel struct {
	VerifyCode string `json:"VerifyCode,omitempty"`
	RequestID  string `json:"RequestId"`
	OutID      string `json:"OutId,omitempty"`
	BizID      string `json:"BizId"`
}

// checkBody is a successful CheckSmsVerifyCode answer.
type checkBody struct {
	Code               string     `json:"Code"`
	Message            string     `json:"Message"`
	RequestID          string     `json:"RequestId"`
	Success            bool       `json:"Success"`
	AccessDeniedDetail string     `json:"AccessDeniedDetail"`
	Model              checkModel `json:"Model"`
}

type checkModel struct {
	VerifyResult string `json:"VerifyResult"`
	OutID        string `json:"OutId,omitempty"`
}

// messageOK is the Message of a successful answer.
const messageOK = "成功"

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:], b[10:])
	return string(s[:])
}

// newRequestID returns a RequestId like Alibaba's: an upper-case UUID.
func newRequestID() string { return strings.ToUpper(newUUID()) }

// writeJSON writes v with status and the headers every answer carries.
func writeJSON(w http.ResponseWriter, status int, requestID string, v any) {
	b, err := json.Marshal(v)
	if err != nil { // cannot happen: only plain structs of strings and bools
		status, b = http.StatusInternalServerError, []byte(`{"Code":"InternalError"}`)
	}
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("x-acs-request-id", requestID)
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// writeGateway answers r with a gateway error.
func writeGateway(w http.ResponseWriter, r *http.Request, e *gatewayError) {
	id := newRequestID()
	host, product := gatewayHost(r)
	writeJSON(w, e.status, id, gatewayBody{
		RequestID: id, HostID: host, Code: e.code, Message: e.message,
		Recommend: "https://api.aliyun.com/troubleshoot?q=" + url.QueryEscape(e.code) +
			"&product=" + product + "&requestId=" + id,
	})
}

// writeBusiness answers with a business error (Success false).
func (f *Fake) writeBusiness(w http.ResponseWriter, code, message string) {
	id := newRequestID()
	writeJSON(w, f.businessStatus, id, businessBody{Code: code, Message: message, RequestID: id})
}
