package function

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kelseyhightower/envconfig"

	"smsverify/core"
	"smsverify/function/limit"
	"smsverify/function/verifytoken"
)

// Config is the whole configuration, read from the environment by
// LoadConfig. The variable names are the public contract
// (docs/configuration.md).
type Config struct {
	AccessKeyID     string `envconfig:"ALIBABA_CLOUD_ACCESS_KEY_ID"`
	AccessKeySecret string `envconfig:"ALIBABA_CLOUD_ACCESS_KEY_SECRET"`
	SecurityToken   string `envconfig:"ALIBABA_CLOUD_SECURITY_TOKEN"`

	Endpoint string        `envconfig:"DYPNS_ENDPOINT" default:"https://dypnsapi.aliyuncs.com"`
	Timeout  time.Duration `envconfig:"DYPNS_TIMEOUT" default:"5s"`

	SignName        string   `envconfig:"SMS_SIGN_NAME" default:"速通互联验证码"`
	TemplateCode    string   `envconfig:"SMS_TEMPLATE_CODE" default:"100001"`
	TemplateCodes   []string `envconfig:"SMS_TEMPLATE_CODES" default:"100001,100002,100003,100004,100005"`
	SchemeName      string   `envconfig:"SMS_SCHEME_NAME"`
	SchemeNames     []string `envconfig:"SMS_SCHEME_NAMES"`
	CodeLength      int64    `envconfig:"SMS_CODE_LENGTH" default:"4"`
	CodeType        int64    `envconfig:"SMS_CODE_TYPE" default:"1"`
	ValidTime       int64    `envconfig:"SMS_VALID_TIME" default:"300"`
	Interval        int64    `envconfig:"SMS_INTERVAL" default:"60"`
	DuplicatePolicy int64    `envconfig:"SMS_DUPLICATE_POLICY" default:"1"`
	AutoRetry       int64    `envconfig:"SMS_AUTO_RETRY" default:"1"`

	APIKeys            []string `envconfig:"API_KEYS"`
	CORSAllowedOrigins []string `envconfig:"CORS_ALLOWED_ORIGINS"`

	Port string `envconfig:"PORT" default:"8080"`
	Host string `envconfig:"HOST" default:"127.0.0.1"`
	// ServeDemo makes the local adapter serve the demo page at /demo/ with
	// credentials too (it always does in emulator mode).
	ServeDemo bool `envconfig:"SERVE_DEMO" default:"false"`

	SendLimitPerPhone  limit.Rate `envconfig:"SMS_LIMIT_PER_PHONE" default:"5/1h"`
	SendLimitPerIP     limit.Rate `envconfig:"SMS_LIMIT_PER_IP" default:"20/1h"`
	SendLimitGlobal    limit.Rate `envconfig:"SMS_LIMIT_GLOBAL" default:"1000/24h"`
	CheckLimitPerPhone limit.Rate `envconfig:"CHECK_LIMIT_PER_PHONE" default:"5/15m"`
	CheckLimitPerIP    limit.Rate `envconfig:"CHECK_LIMIT_PER_IP" default:"30/5m"`
	LimitStore         string     `envconfig:"LIMIT_STORE" default:"memory"`
	RedisURL           string     `envconfig:"REDIS_URL"`
	RedisMode          string     `envconfig:"REDIS_MODE" default:"standalone"`
	// RedisSentinelMaster names the primary the sentinels watch
	// (REDIS_MODE=sentinel); RedisSentinelAddrs are more sentinels beside
	// REDIS_URL's.
	RedisSentinelMaster string   `envconfig:"REDIS_SENTINEL_MASTER"`
	RedisSentinelAddrs  []string `envconfig:"REDIS_SENTINEL_ADDRS"`
	// RedisCAFile is a PEM bundle trusted for rediss:// only.
	RedisCAFile        string   `envconfig:"REDIS_CA_FILE"`
	LimitMemoryMaxKeys int64    `envconfig:"LIMIT_MEMORY_MAX_KEYS" default:"200000"`
	LimitKeyPrefix     string   `envconfig:"LIMIT_KEY_PREFIX" default:"{smsverify}:"`
	LimitKeySecret     string   `envconfig:"LIMIT_KEY_SECRET"`
	TrustedProxies     []string `envconfig:"TRUSTED_PROXIES"`

	VerifyTokenSecret string        `envconfig:"VERIFY_TOKEN_SECRET"`
	VerifyTokenTTL    time.Duration `envconfig:"VERIFY_TOKEN_TTL" default:"5m"`
	// VerifyTokenPrivateKey (PEM PKCS#8, EC P-256 or Ed25519) signs tokens
	// ES256 or EdDSA instead of HS256; VerifyTokenPublicKeys are older
	// public keys still published at /.well-known/jwks.json.
	VerifyTokenPrivateKey string `envconfig:"VERIFY_TOKEN_PRIVATE_KEY"`
	VerifyTokenPublicKeys string `envconfig:"VERIFY_TOKEN_PUBLIC_KEYS"`
	VerifyTokenAudience   string `envconfig:"VERIFY_TOKEN_AUDIENCE"`
	VerifyTokenIssuer     string `envconfig:"VERIFY_TOKEN_ISSUER" default:"smsverify"` // "" also means smsverify

	// Captcha before public sends (and checks, per CAPTCHA_ACTIONS).
	// Provider, Actions, SiteKey, SceneID and Prefix are public: clients
	// need them to show the widget (clientCaptcha, GET /client-config).
	// Secret is not.
	CaptchaProvider  string        `envconfig:"CAPTCHA_PROVIDER"`
	CaptchaActions   []string      `envconfig:"CAPTCHA_ACTIONS" default:"send"`
	CaptchaEndpoint  string        `envconfig:"CAPTCHA_ENDPOINT"`
	CaptchaSceneID   string        `envconfig:"CAPTCHA_SCENE_ID"`
	CaptchaPrefix    string        `envconfig:"CAPTCHA_PREFIX"`
	CaptchaSecret    string        `envconfig:"CAPTCHA_SECRET"`
	CaptchaSiteKey   string        `envconfig:"CAPTCHA_SITE_KEY"`
	CaptchaHostnames []string      `envconfig:"CAPTCHA_HOSTNAMES"`
	CaptchaTimeout   time.Duration `envconfig:"CAPTCHA_TIMEOUT" default:"3s"`

	IdempotencyTTL time.Duration `envconfig:"IDEMPOTENCY_TTL" default:"24h"`
	TestNumbers    []string      `envconfig:"SMS_TEST_NUMBERS"`

	// Delivery receipts (POST /reports), the attempts log and metrics.
	ReportToken         string        `envconfig:"REPORT_TOKEN"`
	ReceiptTTL          time.Duration `envconfig:"RECEIPT_TTL" default:"72h"`
	AttemptsTTL         time.Duration `envconfig:"ATTEMPTS_TTL" default:"24h"`
	EmulatorReportDelay time.Duration `envconfig:"EMULATOR_REPORT_DELAY" default:"2s"`
	EmulatorFailNumbers []string      `envconfig:"EMULATOR_FAIL_NUMBERS"`
	Metrics             string        `envconfig:"METRICS"`
	MetricsNamespace    string        `envconfig:"METRICS_NAMESPACE" default:"smsverify"`
}

// minLimitKeySecretLen keeps LIMIT_KEY_SECRET out of reach of a search.
const minLimitKeySecretLen = 32

// maxLimitKeyPrefixLen bounds LIMIT_KEY_PREFIX.
const maxLimitKeyPrefixLen = 64

// minAPIKeyLen keeps guessable keys out of API_KEYS.
const minAPIKeyLen = 16

// LoadConfig reads the environment into a Config and validates it.
func LoadConfig() (Config, error) {
	var c Config
	if err := envconfig.Process("", &c); err != nil {
		return c, fmt.Errorf("config: %w", redactEnvError(err))
	}
	c.normalize()
	return c, c.Validate()
}

// redactEnvError names the variable envconfig could not parse. Only typed
// variables (durations, numbers, rates) can fail to parse, and none of them
// is a secret, so the cause may quote the value.
func redactEnvError(err error) error {
	var pe *envconfig.ParseError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: cannot parse as %s: %w", pe.KeyName, pe.TypeName, pe.Err)
	}
	return err
}

// normalize trims list entries and drops empty ones.
func (c *Config) normalize() {
	for _, l := range []*[]string{&c.TemplateCodes, &c.SchemeNames, &c.APIKeys, &c.CORSAllowedOrigins, &c.TrustedProxies,
		&c.CaptchaActions, &c.CaptchaHostnames, &c.TestNumbers, &c.RedisSentinelAddrs, &c.EmulatorFailNumbers} {
		out := (*l)[:0]
		for _, s := range *l {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
		*l = out
	}
	// The default scheme is always a choice: a client that names none gets
	// it, and Alibaba's 默认方案 (the empty name) cannot be written in a
	// comma-separated list.
	if !slices.Contains(c.SchemeNames, c.SchemeName) {
		c.SchemeNames = append(c.SchemeNames, c.SchemeName)
	}
}

// sendParamEnv names the variable behind each server-side send parameter.
var sendParamEnv = map[string]string{
	"SignName": "SMS_SIGN_NAME", "TemplateCode": "SMS_TEMPLATE_CODE", "SchemeName": "SMS_SCHEME_NAME",
	"CodeLength": "SMS_CODE_LENGTH", "CodeType": "SMS_CODE_TYPE", "ValidTime": "SMS_VALID_TIME",
	"Interval": "SMS_INTERVAL", "DuplicatePolicy": "SMS_DUPLICATE_POLICY", "AutoRetry": "SMS_AUTO_RETRY",
}

// problems collects what is wrong with a Config, by variable name.
type problems []error

// add records that variable name is bad.
func (p *problems) add(name, format string, a ...any) {
	*p = append(*p, fmt.Errorf("%s %s", name, fmt.Sprintf(format, a...)))
}

// Validate reports every bad variable at once, by name, never quoting a
// secret. Each group of variables has its own step.
func (c *Config) Validate() error {
	var p problems
	c.validateUpstream(&p)
	c.validateSendParams(&p)
	c.validateCallers(&p)
	c.validateLimits(&p)
	c.validateTokens(&p)
	c.validateCaptcha(&p)
	c.validateIdempotency(&p)
	c.validateTestNumbers(&p)
	c.validateRecords(&p)
	if len(p) > 0 {
		return fmt.Errorf("config: %w", errors.Join(p...))
	}
	return nil
}

// validateUpstream checks the credentials, endpoint and timeout.
func (c *Config) validateUpstream(p *problems) {
	if (c.AccessKeyID == "") != (c.AccessKeySecret == "") {
		p.add("ALIBABA_CLOUD_ACCESS_KEY_ID/ALIBABA_CLOUD_ACCESS_KEY_SECRET", "must be set together")
	}
	if c.SecurityToken != "" && c.AccessKeyID == "" {
		p.add("ALIBABA_CLOUD_SECURITY_TOKEN", "needs ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET")
	}
	if err := core.CheckEndpoint(c.Endpoint, true); err != nil {
		p.add("DYPNS_ENDPOINT", "must be an https URL (http only for loopback), like %s", core.DefaultEndpoint)
	}
	if c.Timeout <= 0 {
		p.add("DYPNS_TIMEOUT", "must be positive, like 5s")
	}
}

// validateSendParams checks the server-side send parameters against the
// API's own rules, and the template and scheme lists.
func (c *Config) validateSendParams(p *problems) {
	probe := c.sendDefaults()
	probe.PhoneNumber = "13800000000"
	if err := probe.Validate(); err != nil {
		var pe *core.ParamError
		if errors.As(err, &pe) {
			name := sendParamEnv[pe.Field]
			if name == "" {
				name = pe.Field
			}
			p.add(name, "%s", pe.Reason)
		}
	}
	if c.Interval < minInterval || c.Interval > maxInterval {
		p.add("SMS_INTERVAL", "must be %d to %d seconds", minInterval, maxInterval)
	}
	if c.ValidTime < 60 {
		p.add("SMS_VALID_TIME", "must be at least 60 seconds (the template says minutes)")
	}
	if len(c.TemplateCodes) == 0 || !slices.Contains(c.TemplateCodes, c.TemplateCode) {
		p.add("SMS_TEMPLATE_CODES", "must include SMS_TEMPLATE_CODE")
	}
	for _, s := range c.SchemeNames {
		if err := (&core.CheckRequest{PhoneNumber: "13800000000", VerifyCode: "0000", SchemeName: s}).Validate(); err != nil {
			p.add("SMS_SCHEME_NAMES", "has a name longer than 20 characters")
			break
		}
	}
}

// validateCallers checks what admits callers: API keys, CORS origins, the
// port.
func (c *Config) validateCallers(p *problems) {
	for i, k := range c.APIKeys {
		if len(k) < minAPIKeyLen {
			p.add("API_KEYS", "entry %d is shorter than %d characters", i+1, minAPIKeyLen)
		}
	}
	if _, _, err := parseOrigins(c.CORSAllowedOrigins); err != nil {
		p.add("CORS_ALLOWED_ORIGINS", "%v", err)
	}
	if c.Port == "" {
		p.add("PORT", "must not be empty")
	}
}

// validateLimits checks the rates, the limit store and the trusted proxies
// that decide the client address the limits see.
func (c *Config) validateLimits(p *problems) {
	for _, r := range []struct {
		name string
		rate limit.Rate
	}{
		{"SMS_LIMIT_PER_PHONE", c.SendLimitPerPhone}, {"SMS_LIMIT_PER_IP", c.SendLimitPerIP},
		{"SMS_LIMIT_GLOBAL", c.SendLimitGlobal}, {"CHECK_LIMIT_PER_PHONE", c.CheckLimitPerPhone},
		{"CHECK_LIMIT_PER_IP", c.CheckLimitPerIP},
	} {
		if _, err := limit.ParseRate(r.rate.String()); r.rate.IsZero() || err != nil {
			p.add(r.name, "must be a rate like 5/1h (N from 1 to %d, a period of whole milliseconds)", limit.MaxN)
		}
	}
	if c.LimitKeySecret != "" && len(c.LimitKeySecret) < minLimitKeySecretLen {
		p.add("LIMIT_KEY_SECRET", "must be at least %d bytes", minLimitKeySecretLen)
	}
	if len(c.LimitKeyPrefix) > maxLimitKeyPrefixLen || strings.ContainsFunc(c.LimitKeyPrefix, func(r rune) bool { return r <= ' ' || r > '~' }) {
		p.add("LIMIT_KEY_PREFIX", "must be at most %d printable ASCII characters without spaces, like {smsverify}:", maxLimitKeyPrefixLen)
	}
	if c.LimitMemoryMaxKeys < 1 {
		p.add("LIMIT_MEMORY_MAX_KEYS", "must be at least 1")
	}
	switch c.LimitStore {
	case "memory":
	case "redis":
		if c.RedisURL == "" {
			p.add("REDIS_URL", "is required when LIMIT_STORE=redis")
		}
		if c.LimitKeySecret == "" {
			p.add("LIMIT_KEY_SECRET", "is required when LIMIT_STORE=redis (phone numbers and client addresses in limit keys are hashed with it)")
		}
		c.validateRedis(p)
	default:
		p.add("LIMIT_STORE", "must be memory or redis")
	}
	if _, err := c.trustedProxies(); err != nil {
		p.add("TRUSTED_PROXIES", "%v", err)
	}
}

// validateRedis checks the Redis variables beyond REDIS_URL, which
// limit.OpenRedis parses (New reports its errors).
func (c *Config) validateRedis(p *problems) {
	switch c.RedisMode {
	case limit.ModeStandalone:
	case limit.ModeCluster:
		// Every script touches the keys of one request: one slot.
		if !hasHashTag(c.LimitKeyPrefix) {
			p.add("LIMIT_KEY_PREFIX", "must hold a hash tag such as {smsverify} when REDIS_MODE=cluster")
		}
	case limit.ModeSentinel:
		if c.RedisSentinelMaster == "" {
			p.add("REDIS_SENTINEL_MASTER", "is required when REDIS_MODE=sentinel")
		}
	default:
		p.add("REDIS_MODE", "must be standalone, cluster or sentinel")
	}
	if c.RedisMode != limit.ModeSentinel && (c.RedisSentinelMaster != "" || len(c.RedisSentinelAddrs) > 0) {
		p.add("REDIS_SENTINEL_MASTER", "and REDIS_SENTINEL_ADDRS are for REDIS_MODE=sentinel only")
	}
	for _, a := range c.RedisSentinelAddrs {
		if _, _, err := net.SplitHostPort(a); err != nil {
			p.add("REDIS_SENTINEL_ADDRS", "entry %q must be host:port", a)
		}
	}
	if c.RedisCAFile != "" && !strings.HasPrefix(c.RedisURL, "rediss://") {
		p.add("REDIS_CA_FILE", "is for a rediss:// REDIS_URL only")
	}
}

// hasHashTag reports whether every key under prefix hashes to one Redis
// Cluster slot: the first "{" is followed by a "}" with something between.
func hasHashTag(prefix string) bool {
	_, after, ok := strings.Cut(prefix, "{")
	i := strings.IndexByte(after, '}')
	return ok && i > 0
}

// validateTokens checks the verification-token settings.
func (c *Config) validateTokens(p *problems) {
	if c.VerifyTokenSecret != "" && len(c.VerifyTokenSecret) < verifytoken.MinSecretLen {
		p.add("VERIFY_TOKEN_SECRET", "must be at least %d bytes", verifytoken.MinSecretLen)
	}
	if c.VerifyTokenSecret != "" && c.VerifyTokenPrivateKey != "" {
		p.add("VERIFY_TOKEN_SECRET/VERIFY_TOKEN_PRIVATE_KEY", "set one of them: a token is signed either HS256 with the secret or with the private key")
	}
	if c.VerifyTokenPrivateKey != "" {
		if _, err := verifytoken.ParsePrivateKey(c.VerifyTokenPrivateKey); err != nil {
			p.add("VERIFY_TOKEN_PRIVATE_KEY", "must be a PEM PKCS#8 EC P-256 or Ed25519 private key (%v)", err)
		}
	}
	if c.VerifyTokenPublicKeys != "" {
		if c.VerifyTokenPrivateKey == "" {
			p.add("VERIFY_TOKEN_PUBLIC_KEYS", "needs VERIFY_TOKEN_PRIVATE_KEY: older keys are published beside the current one")
		} else if _, err := verifytoken.ParsePublicKeys(c.VerifyTokenPublicKeys); err != nil {
			p.add("VERIFY_TOKEN_PUBLIC_KEYS", "must be PEM public keys, EC P-256 or Ed25519 (%v)", err)
		}
	}
	for _, v := range []struct{ name, val string }{{"VERIFY_TOKEN_ISSUER", c.VerifyTokenIssuer}, {"VERIFY_TOKEN_AUDIENCE", c.VerifyTokenAudience}} {
		if len(v.val) > maxClaimLen || strings.ContainsFunc(v.val, func(r rune) bool { return r < ' ' || r == 0x7f }) {
			p.add(v.name, "must be at most %d characters without control characters", maxClaimLen)
		}
	}
	if c.VerifyTokenTTL < time.Second {
		p.add("VERIFY_TOKEN_TTL", "must be at least 1s")
	}
}

// maxClaimLen bounds VERIFY_TOKEN_ISSUER and VERIFY_TOKEN_AUDIENCE.
const maxClaimLen = 256

// tokenIssuer builds the verification-token Issuer the Config asks for,
// nil when tokens are off. The Config has been validated.
func (c *Config) tokenIssuer(now func() time.Time) (*verifytoken.Issuer, error) {
	opts := []verifytoken.Option{verifytoken.WithClock(now),
		verifytoken.WithIssuerName(c.VerifyTokenIssuer), verifytoken.WithAudience(c.VerifyTokenAudience)}
	switch {
	case c.VerifyTokenPrivateKey != "":
		key, err := verifytoken.ParsePrivateKey(c.VerifyTokenPrivateKey)
		if err != nil {
			return nil, fmt.Errorf("config: VERIFY_TOKEN_PRIVATE_KEY: %w", err)
		}
		older, err := verifytoken.ParsePublicKeys(c.VerifyTokenPublicKeys)
		if err != nil {
			return nil, fmt.Errorf("config: VERIFY_TOKEN_PUBLIC_KEYS: %w", err)
		}
		iss, err := verifytoken.NewKeyIssuer(key, c.VerifyTokenTTL, append(opts, verifytoken.WithPublicKeys(older...))...)
		if err != nil {
			return nil, fmt.Errorf("config: VERIFY_TOKEN_PRIVATE_KEY: %w", err)
		}
		return iss, nil
	case c.VerifyTokenSecret != "":
		iss, err := verifytoken.NewIssuer([]byte(c.VerifyTokenSecret), c.VerifyTokenTTL, opts...)
		if err != nil {
			return nil, fmt.Errorf("config: VERIFY_TOKEN_SECRET: %w", err)
		}
		return iss, nil
	}
	return nil, nil
}

// trustedProxies parses TRUSTED_PROXIES: CIDRs or single addresses.
func (c *Config) trustedProxies() ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range c.TrustedProxies {
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("entry %q is not a CIDR or an IP address", s)
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}

// hasKeys reports whether static credentials are configured.
func (c *Config) hasKeys() bool { return c.AccessKeyID != "" && c.AccessKeySecret != "" }

// sendDefaults returns a SendRequest holding the server-side parameters.
func (c *Config) sendDefaults() core.SendRequest {
	req := c.sendBase()
	req.TemplateParam = templateParam(c.ValidTime)
	return req
}

// sendBase is sendDefaults without the TemplateParam, which decodeSend
// builds from the request's own ValidTime.
func (c *Config) sendBase() core.SendRequest {
	return core.SendRequest{
		SignName:        c.SignName,
		TemplateCode:    c.TemplateCode,
		SchemeName:      c.SchemeName,
		CodeLength:      core.Int64(c.CodeLength),
		CodeType:        core.Int64(c.CodeType),
		ValidTime:       core.Int64(c.ValidTime),
		Interval:        core.Int64(c.Interval),
		DuplicatePolicy: core.Int64(c.DuplicatePolicy),
		AutoRetry:       core.Int64(c.AutoRetry),
	}
}

// templateParam lets Alibaba generate (and later verify) the code, and
// keeps the template's ${min} equal to the validity in minutes.
func templateParam(validSeconds int64) string {
	return `{"code":"##code##","min":"` + strconv.FormatInt(max(validSeconds/60, 1), 10) + `"}`
}
