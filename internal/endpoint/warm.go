package endpoint

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
)

// maxWarmBody bounds what Warm reads of an answer before it gives up on
// keeping the connection: a HEAD answer has no body.
const maxWarmBody = 4 << 10

// Warm opens a connection to u's host through rt, so that the requests
// that follow find it in rt's idle pool instead of paying the TCP and TLS
// handshakes themselves. It sends one unsigned HEAD / (no credentials, no
// parameters, nothing that acts) and reads the answer to its end, which
// hands the connection back to the pool; any HTTP answer, whatever its
// status, means the connection is up. ctx bounds it.
func Warm(ctx context.Context, rt http.RoundTripper, u *url.URL) error {
	if !Allowed(u) {
		return fmt.Errorf("warm %s: not an allowed endpoint", u.Redacted())
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
