package benchmarks

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"time"

	openapi "github.com/alibabacloud-go/darabonba-openapi/v2/client"
	"github.com/alibabacloud-go/tea/dara"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/dypnsapi"

	"smsverify/core"
	"smsverify/core/acs3"
	"smsverify/core/dypnstest"
	"smsverify/function"
)

// The same SendSmsVerifyCode parameters for every client.
const (
	signName      = "速通互联验证码"
	templateCode  = "100001"
	templateParam = `{"code":"##code##","min":"5"}`
	codeLength    = 6
	validTime     = 300
	apiVersion    = "2017-05-25"
)

var creds = dypnstest.TestCredentials()

func coreRequest(phone string) *core.SendRequest {
	return &core.SendRequest{PhoneNumber: phone, SignName: signName, TemplateCode: templateCode,
		TemplateParam: templateParam, CodeLength: core.Int64(codeLength), ValidTime: core.Int64(validTime)}
}

func newCore(endpoint string) (*core.Client, error) {
	return core.NewClient(core.Options{Endpoint: endpoint, Credentials: core.StaticCredentials(creds)})
}

// newV3 is the official V3 SDK client (darabonba-openapi, the layer every
// generated V3 product client calls), pointed at endpoint.
func newV3(endpoint string) (*openapi.Client, error) {
	u, err := url.Parse(endpoint)
	if err != nil {
		return nil, err
	}
	return openapi.NewClient(&openapi.Config{
		AccessKeyId: dara.String(creds.AccessKeyID), AccessKeySecret: dara.String(creds.AccessKeySecret),
		Endpoint: dara.String(u.Host), Protocol: dara.String(u.Scheme),
	})
}

var v3Send = &openapi.Params{
	Action: dara.String("SendSmsVerifyCode"), Version: dara.String(apiVersion),
	Protocol: dara.String("HTTPS"), Pathname: dara.String("/"), Method: dara.String("POST"),
	AuthType: dara.String("AK"), Style: dara.String("RPC"), ReqBodyType: dara.String("formData"),
	BodyType: dara.String("json"),
}

// v3SendQuery is what a generated Dypnsapi client builds from its request.
func v3SendQuery(phone string) map[string]*string {
	return map[string]*string{
		"PhoneNumber": dara.String(phone), "SignName": dara.String(signName),
		"TemplateCode": dara.String(templateCode), "TemplateParam": dara.String(templateParam),
		"CodeLength": dara.String(strconv.Itoa(codeLength)), "ValidTime": dara.String(strconv.Itoa(validTime)),
	}
}

// v3CallSend is one SendSmsVerifyCode through CallApi; it returns the
// decoded body.
func v3CallSend(c *openapi.Client, phone string) (map[string]any, error) {
	res, err := c.CallApi(v3Send, &openapi.OpenApiRequest{Query: v3SendQuery(phone)}, &dara.RuntimeOptions{})
	if err != nil {
		return nil, err
	}
	body, _ := res["body"].(map[string]any)
	if body["Code"] != "OK" {
		return nil, fmt.Errorf("V3 SDK: answer %v", body)
	}
	return body, nil
}

// newV1 is the official V1 SDK's Dypnsapi client. Requests name their
// endpoint (Domain), so the SDK never resolves one over the network.
func newV1() (*dypnsapi.Client, error) {
	return dypnsapi.NewClientWithAccessKey("cn-hangzhou", creds.AccessKeyID, creds.AccessKeySecret)
}

func v1Request(endpoint *url.URL, phone string) *dypnsapi.SendSmsVerifyCodeRequest {
	r := dypnsapi.CreateSendSmsVerifyCodeRequest()
	r.Domain = endpoint.Host
	r.Scheme = endpoint.Scheme
	r.PhoneNumber = phone
	r.SignName = signName
	r.TemplateCode = templateCode
	r.TemplateParam = templateParam
	r.CodeLength = requests.NewInteger(codeLength)
	r.ValidTime = requests.NewInteger(validTime)
	return r
}

// The three implementations of the function's HTTP contract (POST /send
// {"PhoneNumber":…} → Alibaba's answer as JSON), each a child process.

// smsverifyHandler is the real thing: function.Service configured from the
// environment as the adapters do, logging JSON (to nowhere), with limits
// high enough for a benchmark (every request uses a new number).
func smsverifyHandler(upstream string) (http.Handler, error) {
	env := map[string]string{
		"ALIBABA_CLOUD_ACCESS_KEY_ID": creds.AccessKeyID, "ALIBABA_CLOUD_ACCESS_KEY_SECRET": creds.AccessKeySecret,
		"DYPNS_ENDPOINT":   upstream,
		"SMS_LIMIT_PER_IP": "1000000/1h", "SMS_LIMIT_GLOBAL": "1000000/24h",
		"SMS_CODE_LENGTH": strconv.Itoa(codeLength), "SMS_VALID_TIME": strconv.Itoa(validTime),
	}
	for k, v := range env {
		os.Setenv(k, v)
	}
	cfg, err := function.LoadConfig()
	if err != nil {
		return nil, err
	}
	return function.New(cfg, function.Options{Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))})
}

type sendIn struct {
	PhoneNumber string
}

func decodeSend(w http.ResponseWriter, r *http.Request) (sendIn, bool) {
	var in sendIn
	if r.Method != http.MethodPost || r.URL.Path != "/send" {
		http.Error(w, `{"Code":"NOT_FOUND"}`, http.StatusNotFound)
		return in, false
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, function.MaxBodyBytes)).Decode(&in); err != nil || !validPhone(in.PhoneNumber) {
		http.Error(w, `{"Code":"INVALID_PARAMETERS"}`, http.StatusBadRequest)
		return in, false
	}
	return in, true
}

// sdkHandler is what a user would write instead on the official V3 SDK:
// decode, validate the number, call, answer, one log line.
func sdkHandler(upstream string) (http.Handler, error) {
	c, err := newV3(upstream)
	if err != nil {
		return nil, err
	}
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		in, ok := decodeSend(w, r)
		if !ok {
			return
		}
		body, err := v3CallSend(c, in.PhoneNumber)
		if err != nil {
			http.Error(w, `{"Code":"UPSTREAM"}`, http.StatusBadGateway)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(body)
		log.InfoContext(r.Context(), "access", "action", "SendSmsVerifyCode", "status", 200,
			"latency_ms", float64(time.Since(start).Microseconds())/1000)
	}), nil
}

// floorHandler is the net/http floor: decode, forward the parameters to
// the upstream with a stdlib client that keeps its connections, signed as
// any request to Alibaba must be (acs3.SignHTTP: stdlib crypto/hmac),
// and copy the answer. No validation beyond the number, no limits, no
// logging, no decoding of the answer.
func floorHandler(upstream string) http.Handler {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns, tr.MaxIdleConnsPerHost = 512, 512 // as many as core keeps: DefaultTransport keeps 100 in all
	client := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in, ok := decodeSend(w, r)
		if !ok {
			return
		}
		q := url.Values{"PhoneNumber": {in.PhoneNumber}, "SignName": {signName}, "TemplateCode": {templateCode},
			"TemplateParam": {templateParam}, "CodeLength": {strconv.Itoa(codeLength)}, "ValidTime": {strconv.Itoa(validTime)}}
		req, err := http.NewRequestWithContext(r.Context(), http.MethodPost, upstream+"/?"+q.Encode(), nil)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		req.Header.Set("x-acs-action", "SendSmsVerifyCode")
		req.Header.Set("x-acs-version", apiVersion)
		if err := acs3.SignHTTP(req, "", creds, time.Now(), nonce()); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		resp, err := client.Do(req)
		if err != nil {
			http.Error(w, `{"Code":"UPSTREAM"}`, http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(resp.StatusCode)
		io.Copy(w, resp.Body)
	})
}

// validPhone is the check a user would write: 11 digits starting with 1.
func validPhone(s string) bool {
	if len(s) != 11 || s[0] != '1' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
