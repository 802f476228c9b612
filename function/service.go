// Package function is the smsverify service that every platform shares: the
// HTTP API (POST /send, POST /check, GET /healthz, CORS), the event API, the
// client policy (public and trusted callers), validation, abuse limits,
// verification tokens, the access log and the error table. It knows no
// platform; the adapters under adapters/ translate platform events to and
// from ServeHTTP and Invoke.
//
// The contract it implements (routes, JSON, statuses, configuration names) is
// documented for users in docs/api.md, docs/configuration.md and
// docs/security.md; the upstream API is Alibaba Cloud Dypnsapi, see package
// core.
package function

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"smsverify/core"
	"smsverify/function/captcha"
	"smsverify/function/limit"
	"smsverify/function/verifytoken"
)

// MaxBodyBytes caps a request body or event payload.
const MaxBodyBytes = 16 << 10

// deadlineMargin is kept from the platform deadline so that an upstream
// timeout is still answered (504) before the platform kills the invocation.
const deadlineMargin = 250 * time.Millisecond

// Options are the dependencies a platform or a test hands to New.
type Options struct {
	// Logger receives one access-log line per request (with no source
	// location: it would always be the same); default discards.
	Logger *slog.Logger
	// Credentials sign upstream calls when the Config has no AccessKey,
	// e.g. Function Compute's per-invocation STS credentials.
	Credentials core.CredentialsProvider
	// HTTPClient is the upstream client; default core.NewHTTPClient().
	HTTPClient *http.Client
	// Store overrides LIMIT_STORE (tests, or a shared store).
	Store limit.Store
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Emulator says the service runs against an emulated Dypnsapi (the
	// local adapter without credentials). Only then is CAPTCHA_PROVIDER=test
	// accepted, so the test provider can never guard a real deployment.
	Emulator bool
}

// Service is the smsverify function. It is safe for concurrent use.
type Service struct {
	cfg    Config
	client *core.Client
	log    *slog.Logger
	store  limit.Store
	tokens *verifytoken.Issuer // nil unless VERIFY_TOKEN_SECRET or VERIFY_TOKEN_PRIVATE_KEY is set
	// hashers holds HMAC-SHA256 hashes keyed with LIMIT_KEY_SECRET, which
	// name phones and client addresses in the limit store, so that
	// secureHash does not key a new one per request.
	hashers sync.Pool
	captcha captcha.Verifier // nil unless CAPTCHA_PROVIDER is set
	apiKeys [][sha256.Size]byte
	// reportToken is REPORT_TOKEN's SHA-256, compared with each push's.
	reportToken [sha256.Size]byte
	proxies     []netip.Prefix
	origins     origins
	refused     refusedLog // refused CORS origins, logged once a minute each
	now         func() time.Time

	testNumbers  map[string]string // SMS_TEST_NUMBERS: number → fixed code
	clientConfig []byte            // the GET /client-config answer, fixed by the Config
	metrics      *metrics
}

// New validates cfg and builds the Service. Close releases its store.
func New(cfg Config, o Options) (*Service, error) {
	cfg.normalize()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Service{cfg: cfg, log: o.Logger, store: o.Store, now: o.Now}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if err := s.connect(o); err != nil {
		return nil, err
	}
	for _, k := range cfg.APIKeys {
		s.apiKeys = append(s.apiKeys, sha256.Sum256([]byte(k)))
	}
	s.reportToken = sha256.Sum256([]byte(cfg.ReportToken))
	s.proxies, _ = cfg.trustedProxies() // validated above
	var notes []string
	s.origins, notes, _ = parseOrigins(cfg.CORSAllowedOrigins) // validated above
	for _, n := range notes {
		s.log.Info("CORS_ALLOWED_ORIGINS: " + n)
	}
	s.clientConfig = marshal(cfg.clientConfig())
	s.metrics = newMetrics()
	s.testNumbers, _ = parseTestNumbers(cfg.TestNumbers) // validated above
	s.logTestNumbers(o.Emulator)
	var err error
	if s.tokens, err = cfg.tokenIssuer(s.now); err != nil {
		return nil, err
	}
	if err := s.openStore(); err != nil {
		return nil, err
	}
	return s, nil
}

// connect builds the Dypnsapi client and the captcha verifier, signed with
// the configured AccessKey or, without one, o.Credentials.
func (s *Service) connect(o Options) error {
	cfg := &s.cfg
	creds := o.Credentials
	if cfg.hasKeys() {
		creds = core.StaticCredentials{AccessKeyID: cfg.AccessKeyID, AccessKeySecret: cfg.AccessKeySecret, SecurityToken: cfg.SecurityToken}
	}
	if creds == nil {
		return errors.New("config: no credentials: set ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET (or run on Function Compute with a role)")
	}
	var err error
	s.client, err = core.NewClient(core.Options{Endpoint: cfg.Endpoint, Credentials: creds, HTTPClient: o.HTTPClient, Timeout: cfg.Timeout, Now: s.now})
	if err != nil {
		return fmt.Errorf("config: DYPNS_ENDPOINT: %w", err)
	}
	s.captcha, err = newVerifier(*cfg, creds, o, s.now)
	return err
}

// openStore keys the limit-key hashes and opens the limit store, unless
// Options gave one.
func (s *Service) openStore() error {
	cfg := &s.cfg
	limitKey := []byte(cfg.LimitKeySecret)
	if len(limitKey) == 0 {
		// Only the memory store runs without a secret (Validate): its keys
		// live and die with this process, and so may the key.
		limitKey = make([]byte, 32)
		_, _ = rand.Read(limitKey)
	}
	s.hashers.New = func() any { return hmac.New(sha256.New, limitKey) }
	if s.store == nil {
		switch cfg.LimitStore {
		case "redis":
			rs, err := limit.OpenRedis(limit.RedisOptions{
				Mode: cfg.RedisMode, URL: cfg.RedisURL, Prefix: cfg.LimitKeyPrefix,
				SentinelMaster: cfg.RedisSentinelMaster, SentinelAddrs: cfg.RedisSentinelAddrs, CAFile: cfg.RedisCAFile,
			})
			if err != nil {
				return fmt.Errorf("config: REDIS_URL: %w", err)
			}
			s.store = rs
		default:
			s.store = limit.NewMemoryWith(limit.MemoryOptions{MaxKeys: int(cfg.LimitMemoryMaxKeys), Now: s.now})
		}
	}
	return nil
}

// Close releases the limit store.
func (s *Service) Close() error { return s.store.Close() }

// committed is the context of a request from the moment it may reach
// Alibaba (its captcha passed and its limits taken): ctx's values and
// deadline without its cancellation. A caller that hangs up then no longer
// cancels the upstream call, which runs to its own deadline (DYPNS_TIMEOUT,
// and the platform's), so the real answer is what is stored under an
// idempotency key and what the limits count, never a synthetic timeout
// for a send that may have gone out.
func committed(ctx context.Context) (context.Context, context.CancelFunc) {
	c := context.WithoutCancel(ctx)
	if dl, ok := ctx.Deadline(); ok {
		return context.WithDeadline(c, dl)
	}
	return c, func() {}
}

// upstreamContext bounds an upstream call by the platform deadline less a
// margin, so a slow upstream is answered with 504 rather than killed.
// Without a deadline it is ctx itself: the calls are synchronous, so a
// cancel of their own would stop nothing that ctx does not.
func upstreamContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if dl, ok := ctx.Deadline(); ok {
		return context.WithDeadline(ctx, dl.Add(-deadlineMargin))
	}
	return ctx, func() {}
}

// randomID returns 16 random hex digits: the id of a request the platform
// gave none, the BizId of a send to a test number.
func randomID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
