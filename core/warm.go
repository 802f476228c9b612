package core

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
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
	return WarmEndpoint(ctx, c.rt, strings.TrimSuffix(c.base, "/?"))
}

// maxWarmBody bounds what WarmEndpoint reads of an answer before it gives
// up on keeping the connection: a HEAD answer has no body.
const maxWarmBody = 4 << 10

// WarmEndpoint opens a connection to endpoint's host through rt, so that
// the requests that follow find it in rt's idle pool instead of paying the
// TCP and TLS handshakes themselves. endpoint must pass CheckEndpoint. It
// sends one unsigned HEAD / (no credentials, no parameters, nothing that
// acts) and reads the answer to its end, which hands the connection back
// to the pool; any HTTP answer, whatever its status, means the connection
// is up. ctx bounds it.
func WarmEndpoint(ctx context.Context, rt http.RoundTripper, endpoint string) error {
	u, err := parseEndpoint(endpoint, false)
	if err != nil {
		return fmt.Errorf("warm: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, u.Scheme+"://"+u.Host+"/", nil)
	if err != nil {
		return fmt.Errorf("warm %s: %w", u.Host, err)
	}
	resp, err := rt.RoundTrip(req)
	if err != nil {
		return fmt.Errorf("warm %s: %w", u.Host, err)
	}
	_, _ = io.CopyN(io.Discard, resp.Body, maxWarmBody)
	return resp.Body.Close()
}
