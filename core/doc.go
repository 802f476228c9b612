// Package core is a small, dependency-free client for Alibaba Cloud's Phone
// Number Verification Service (号码认证服务), API Dypnsapi 2017-05-25:
// SendSmsVerifyCode and CheckSmsVerifyCode, and (Client.Call) any other
// RPC-style action signed the same way.
//
// It signs every request with Alibaba's V3 signature (ACS3-HMAC-SHA256,
// package core/acs3), validates every documented parameter before any network call, and turns
// both of Alibaba's error shapes into one typed *Error.
//
// A *Client is safe for concurrent use and keeps connections alive. It never
// retries a request that may have reached Alibaba, so a Send never delivers a
// second SMS on its own: the only retry is a single redial when the TCP
// connection could not be established at all, and redirects are never
// followed. NeverReached tells a failure that certainly sent nothing.
//
// core never reads the environment (except through EnvCredentials, when the
// caller asks for it) and never logs. It imports the standard library and
// its own subpackages only.
//
// API references:
//   - https://help.aliyun.com/zh/pnvs/developer-reference/api-dypnsapi-2017-05-25-sendsmsverifycode
//   - https://help.aliyun.com/zh/pnvs/developer-reference/api-dypnsapi-2017-05-25-checksmsverifycode
//   - https://help.aliyun.com/zh/sdk/product-overview/v3-request-structure-and-signature
package core
