package captcha

import (
	"context"
	"net/http"

	"smsverify/core"
)

// A Warmer opens the connection its verifications will use ahead of the
// first one (core.Client.Warm). Aliyun and Siteverify are Warmers.
type Warmer interface {
	Warm(ctx context.Context) error
}

// Warm opens a connection to Captcha 2.0's endpoint in the client's pool.
func (a *Aliyun) Warm(ctx context.Context) error { return a.client.Warm(ctx) }

// Warm opens a connection to the siteverify endpoint's host in the pool
// of the verifier's HTTP client, bounded by ctx and the verifier's timeout.
func (s *Siteverify) Warm(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	rt := s.hc.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	return core.WarmEndpoint(ctx, rt, s.endpoint)
}
