package core

import (
	"context"
	"net/url"

	"smsverify/internal/endpoint"
)

// Warm opens a connection to the endpoint in the Client's own transport
// pool, so that the first call after a cold start finds the TCP and TLS
// handshakes done. It sends one unsigned HEAD / that carries no
// credentials and calls no action, and is bounded by ctx and the Client's
// Timeout. Run it off the request path, as soon as the process starts:
// concurrently with a first call it does no harm, as the call takes
// whichever connection is ready first. An error (host unreachable) only
// means the first call dials as it would have anyway.
func (c *Client) Warm(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	u, err := url.Parse(c.base)
	if err != nil {
		return err // NewClient built c.base from a parsed URL
	}
	return endpoint.Warm(ctx, c.rt, u)
}
