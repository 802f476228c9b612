package core

import (
	"context"
	"errors"
	"os"

	"smsverify/core/acs3"
)

// Credentials are an AccessKey pair, with a SecurityToken when they are
// temporary STS credentials; their String hides the secret and the token.
type Credentials = acs3.Credentials

// A CredentialsProvider returns the credentials to sign one request with. It
// is called once per request, so it can hand out per-invocation STS
// credentials (Function Compute passes them in each invocation's context).
type CredentialsProvider interface {
	Credentials(ctx context.Context) (Credentials, error)
}

// CredentialsFunc adapts a function to a CredentialsProvider.
type CredentialsFunc func(ctx context.Context) (Credentials, error)

// Credentials calls f(ctx).
func (f CredentialsFunc) Credentials(ctx context.Context) (Credentials, error) { return f(ctx) }

// StaticCredentials is a CredentialsProvider that always returns itself.
type StaticCredentials Credentials

// Credentials returns c.
func (c StaticCredentials) Credentials(context.Context) (Credentials, error) {
	return Credentials(c), nil
}

// ErrNoCredentials is returned by a provider that has no credentials to give.
var ErrNoCredentials = errors.New("core: no Alibaba Cloud credentials")

// Names of the standard environment variables read by EnvCredentials.
const (
	envAccessKeyID     = "ALIBABA_CLOUD_ACCESS_KEY_ID"
	envAccessKeySecret = "ALIBABA_CLOUD_ACCESS_KEY_SECRET"
	envSecurityToken   = "ALIBABA_CLOUD_SECURITY_TOKEN"
)

// EnvCredentials returns a provider that reads ALIBABA_CLOUD_ACCESS_KEY_ID,
// ALIBABA_CLOUD_ACCESS_KEY_SECRET and the optional
// ALIBABA_CLOUD_SECURITY_TOKEN on every call, so rotated values are picked
// up. It returns ErrNoCredentials when the key id or secret is unset.
func EnvCredentials() CredentialsProvider {
	return CredentialsFunc(func(context.Context) (Credentials, error) {
		c := Credentials{
			AccessKeyID:     os.Getenv(envAccessKeyID),
			AccessKeySecret: os.Getenv(envAccessKeySecret),
			SecurityToken:   os.Getenv(envSecurityToken),
		}
		if !c.Valid() {
			return Credentials{}, ErrNoCredentials
		}
		return c, nil
	})
}
