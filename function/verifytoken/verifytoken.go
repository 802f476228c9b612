// Package verifytoken issues and verifies the verification token that
// CheckSmsVerifyCode returns on PASS: an HS256 JSON Web Token (RFC 7519)
// stating that a phone number was verified, which the caller's backend
// checks with any standard JWT library and the shared secret.
//
// The claims follow RFC 7519 (iss, sub, iat, exp, jti) and OpenID Connect
// Core 1.0 §5.1 (phone_number_verified). See
// https://help.aliyun.com/zh/pnvs/developer-reference/api-dypnsapi-2017-05-25-checksmsverifycode
// for the check this token attests.
package verifytoken

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// IssuerName is the "iss" claim of every token.
const IssuerName = "smsverify"

// MinSecretLen is the shortest accepted HMAC secret, in bytes (RFC 7518 §3.2:
// the key must be at least as long as the SHA-256 output).
const MinSecretLen = 32

// maxTokenLen bounds the input Verify decodes; real tokens are < 1 KiB.
const maxTokenLen = 4096

// jtiLen is the number of random bytes in a token ID.
const jtiLen = 16

// Claims are what a token asserts.
//
// Times in RegisteredClaims have one-second precision; compare them with
// time.Time.Equal.
type Claims struct {
	// PhoneNumber is the national number as checked, e.g. "13800000000".
	PhoneNumber string `json:"phone_number"`
	// CountryCode is the country calling code without "+", e.g. "86".
	CountryCode string `json:"country_code"`
	// Scheme is the SchemeName the code was sent and checked under;
	// "" means the default scheme.
	Scheme string `json:"scheme,omitempty"`
	// RegisteredClaims holds iss ("smsverify"), sub ("+<country><phone>"),
	// iat, exp and jti (16 random bytes, base64url). Issue sets them; no
	// nbf or aud is emitted.
	jwt.RegisteredClaims
}

// wireClaims is the JSON payload: Claims plus the OIDC standard claim
// phone_number_verified, which is always true in a token we issue.
type wireClaims struct {
	Claims
	PhoneNumberVerified bool `json:"phone_number_verified"`
}

// Validate implements jwt.ClaimsValidator; the parser calls it after the
// signature, exp, iat and iss checks.
func (w *wireClaims) Validate() error {
	var missing []string
	if w.ID == "" {
		missing = append(missing, "jti")
	}
	if w.Subject == "" {
		missing = append(missing, "sub")
	}
	if w.PhoneNumber == "" {
		missing = append(missing, "phone_number")
	}
	if w.CountryCode == "" {
		missing = append(missing, "country_code")
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: %v", jwt.ErrTokenRequiredClaimMissing, missing)
	}
	if !w.PhoneNumberVerified {
		return errors.New("phone_number_verified is not true")
	}
	if w.Subject != subject(w.CountryCode, w.PhoneNumber) {
		return errors.New("sub does not match country_code and phone_number")
	}
	return nil
}

// Option configures an Issuer.
type Option func(*options)

type options struct {
	now  func() time.Time
	rand io.Reader
}

// WithClock sets the clock used for iat/exp when issuing and for the expiry
// check when verifying. The default is time.Now; nil keeps the default.
func WithClock(now func() time.Time) Option {
	return func(o *options) { o.now = now }
}

// WithRandom sets the source of token IDs (jti). The default is
// crypto/rand.Reader; nil keeps the default. Reads from r are serialized, so
// r need not be safe for concurrent use.
func WithRandom(r io.Reader) Option {
	return func(o *options) { o.rand = r }
}

// Issuer issues and verifies tokens with one HMAC secret. It is immutable
// and safe for concurrent use.
type Issuer struct {
	secret []byte
	ttl    time.Duration
	now    func() time.Time
	rand   io.Reader
	parser *jwt.Parser
}

// NewIssuer returns an Issuer signing with secret (at least MinSecretLen
// bytes; it is copied) whose tokens live for ttl (at least one second; it is
// truncated to whole seconds, the precision of JWT times).
func NewIssuer(secret []byte, ttl time.Duration, opts ...Option) (*Issuer, error) {
	if len(secret) < MinSecretLen {
		return nil, fmt.Errorf("verifytoken: secret is %d bytes, need at least %d", len(secret), MinSecretLen)
	}
	ttl = ttl.Truncate(time.Second)
	if ttl < time.Second {
		return nil, errors.New("verifytoken: ttl must be at least 1s")
	}
	o := options{now: time.Now, rand: rand.Reader}
	for _, opt := range opts {
		opt(&o)
	}
	if o.now == nil {
		o.now = time.Now
	}
	if o.rand == nil {
		o.rand = rand.Reader
	} else if o.rand != rand.Reader {
		o.rand = &lockedReader{r: o.rand}
	}
	return &Issuer{
		secret: append([]byte(nil), secret...),
		ttl:    ttl,
		now:    o.now,
		rand:   o.rand,
		parser: jwt.NewParser(
			jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
			jwt.WithIssuer(IssuerName),
			jwt.WithExpirationRequired(),
			jwt.WithIssuedAt(),
			jwt.WithTimeFunc(o.now),
			jwt.WithStrictDecoding(),
		),
	}, nil
}

// Issue signs a token for c.PhoneNumber, c.CountryCode and c.Scheme. It sets
// iss, sub, iat (now), exp (iat + ttl) and a fresh jti, overwriting whatever
// c.RegisteredClaims held, and returns the token and its expiry in UTC.
func (i *Issuer) Issue(c Claims) (token string, expiresAt time.Time, err error) {
	if !isDigits(c.PhoneNumber, 20) {
		return "", time.Time{}, errors.New("verifytoken: phone number must be 1-20 digits")
	}
	if !isDigits(c.CountryCode, 4) {
		return "", time.Time{}, errors.New("verifytoken: country code must be 1-4 digits")
	}
	var id [jtiLen]byte
	if _, err := io.ReadFull(i.rand, id[:]); err != nil {
		return "", time.Time{}, fmt.Errorf("verifytoken: read token id: %w", err)
	}
	iat := jwt.NewNumericDate(i.now().UTC())
	exp := jwt.NewNumericDate(iat.Add(i.ttl))
	c.RegisteredClaims = jwt.RegisteredClaims{
		Issuer:    IssuerName,
		Subject:   subject(c.CountryCode, c.PhoneNumber),
		IssuedAt:  iat,
		ExpiresAt: exp,
		ID:        base64.RawURLEncoding.EncodeToString(id[:]),
	}
	w := &wireClaims{Claims: c, PhoneNumberVerified: true}
	token, err = jwt.NewWithClaims(jwt.SigningMethodHS256, w).SignedString(i.secret)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("verifytoken: sign: %w", err)
	}
	return token, exp.Time, nil
}

// Verify checks token and returns its claims. It accepts only HS256 with the
// Issuer's secret, requires iss "smsverify", an exp after the Issuer's clock,
// no iat in the future, jti, sub, phone_number, country_code and
// phone_number_verified true, and sub consistent with the number. Errors wrap
// the golang-jwt sentinels (jwt.ErrTokenExpired, jwt.ErrTokenSignatureInvalid,
// …) and never contain the token.
func (i *Issuer) Verify(token string) (*Claims, error) {
	if len(token) > maxTokenLen {
		return nil, fmt.Errorf("verifytoken: %w: longer than %d bytes", jwt.ErrTokenMalformed, maxTokenLen)
	}
	var w wireClaims
	if _, err := i.parser.ParseWithClaims(token, &w, i.key); err != nil {
		return nil, fmt.Errorf("verifytoken: %w", err)
	}
	return &w.Claims, nil
}

// key is the jwt.Keyfunc; WithValidMethods already limits alg to HS256,
// this check keeps the secret from ever reaching another method.
func (i *Issuer) key(t *jwt.Token) (any, error) {
	if t.Method != jwt.SigningMethodHS256 {
		return nil, fmt.Errorf("unexpected signing method %v", t.Method.Alg())
	}
	return i.secret, nil
}

func subject(countryCode, phone string) string {
	return "+" + countryCode + phone
}

func isDigits(s string, maxLen int) bool {
	if s == "" || len(s) > maxLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// lockedReader serializes reads from a caller-supplied reader.
type lockedReader struct {
	mu sync.Mutex
	r  io.Reader
}

func (l *lockedReader) Read(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.Read(p)
}
