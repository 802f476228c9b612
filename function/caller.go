package function

// Caller kinds.
const (
	callerPublic  = "public"  // an HTTP caller without an API key
	callerTrusted = "trusted" // an HTTP caller with a key from API_KEYS
	callerEvent   = "event"   // a non-HTTP invocation: the platform checked its permission
)

// caller is who is asking.
type caller struct {
	kind    string
	ip      string // client IP for HTTP callers; "" for events
	keyID   string // which API key, for trusted callers: a hash of it
	idemKey string // the request's idempotency key, or ""
}

// identity names the caller an idempotency key belongs to: every public
// caller is one (a retry may come from a new address), each API key is
// one, and events are one.
func (c caller) identity() string { return c.kind + ":" + c.keyID }

func (c caller) trusted() bool { return c.kind != callerPublic }
