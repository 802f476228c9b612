package captcha

import (
	"context"
	"errors"
	"fmt"

	"smsverify/core"
)

// Alibaba Cloud Captcha 2.0 API identity.
const (
	AliyunAPIVersion = "2023-03-05"
	AliyunAction     = "VerifyIntelligentCaptcha"
)

// Aliyun verifies Alibaba Cloud Captcha 2.0 tokens with
// VerifyIntelligentCaptcha (RPC, V3-signed by core).
type Aliyun struct {
	client  *core.Client
	sceneID string
}

// NewAliyun returns a Captcha 2.0 verifier that calls client, a core.Client
// whose Endpoint is the captcha endpoint (DefaultAliyunEndpoint, or
// https://captcha.ap-southeast-1.aliyuncs.com outside the mainland) and
// whose credentials may call VerifyIntelligentCaptcha. sceneID is the
// console's scene id.
func NewAliyun(client *core.Client, sceneID string) (*Aliyun, error) {
	if client == nil {
		return nil, errors.New("captcha aliyun: a core.Client is required")
	}
	if sceneID == "" {
		return nil, errors.New("captcha aliyun: a scene id is required")
	}
	return &Aliyun{client: client, sceneID: sceneID}, nil
}

// aliyunAnswer is VerifyIntelligentCaptcha's answer.
type aliyunAnswer struct {
	RequestID string `json:"RequestId"`
	Code      string `json:"Code"`
	Message   string `json:"Message"`
	Success   *bool  `json:"Success"`
	Result    *struct {
		VerifyResult *bool  `json:"VerifyResult"`
		VerifyCode   string `json:"VerifyCode"`
	} `json:"Result"`
}

// Verify calls VerifyIntelligentCaptcha with token as CaptchaVerifyParam.
// It passes only when Success and Result.VerifyResult are both true.
func (a *Aliyun) Verify(ctx context.Context, token, _ string) (Result, error) {
	var ans aliyunAnswer
	err := a.client.Call(ctx, AliyunAPIVersion, AliyunAction,
		map[string]string{"CaptchaVerifyParam": token, "SceneId": a.sceneID}, &ans)
	if err != nil {
		return Result{}, a.classify(err)
	}
	if ans.Success == nil {
		return Result{}, a.fail(KindUnavailable, core.CodeBadResponse, fmt.Errorf("answer has no Success [RequestId %s]", ans.RequestID))
	}
	if !*ans.Success {
		// A business failure in a 2xx answer: classify its Code as core
		// classifies a gateway error.
		return Result{}, a.classify(&core.Error{Action: AliyunAction, StatusCode: 200, Code: ans.Code,
			Message: ans.Message, RequestID: ans.RequestID})
	}
	if ans.Result == nil || ans.Result.VerifyResult == nil {
		return Result{}, a.fail(KindUnavailable, core.CodeBadResponse, fmt.Errorf("answer has no Result.VerifyResult [RequestId %s]", ans.RequestID))
	}
	if !*ans.Result.VerifyResult {
		reason := safeReason(ans.Result.VerifyCode)
		if ans.Result.VerifyCode == "" {
			reason = "not-verified"
		}
		return Result{}, a.fail(KindRefused, reason, fmt.Errorf("RequestId %s", ans.RequestID))
	}
	code := safeReason(ans.Result.VerifyCode)
	if ans.Result.VerifyCode == "" {
		code = "passed"
	}
	return Result{Code: code}, nil
}

// classify maps core's classification: credentials, signature or permission
// rejected → misconfigured; a parameter refused → refused; anything else
// (timeout, unreachable, 5xx, throttling, garbage) → unavailable.
func (a *Aliyun) classify(err error) *Error {
	reason := "unavailable"
	var ce *core.Error
	if errors.As(err, &ce) && ce.Code != "" {
		reason = safeReason(ce.Code)
	}
	switch core.KindOf(err) {
	case core.KindMisconfigured:
		return a.fail(KindMisconfigured, reason, err)
	case core.KindBadInput:
		return a.fail(KindRefused, reason, err)
	case core.KindTimeout, core.KindCanceled:
		return a.fail(KindUnavailable, "timeout", err)
	}
	return a.fail(KindUnavailable, reason, err)
}

func (a *Aliyun) fail(k Kind, reason string, err error) *Error {
	return &Error{Kind: k, Provider: ProviderAliyun, Reason: reason, Err: err}
}
