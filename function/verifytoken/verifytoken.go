// Package verifytoken issues and verifies the verification token that
// CheckSmsVerifyCode returns on PASS: a JSON Web Token (RFC 7519) stating
// that a phone number was verified, which the caller's backend checks with
// any standard JWT library. It is signed either with a shared secret
// (HS256, NewIssuer) or with a private key (ES256 or EdDSA, NewKeyIssuer),
// whose public keys JWKS publishes as a JWK Set (RFC 7517) under their
// RFC 7638 thumbprints, so a backend verifies tokens without holding
// anything that can mint them.
//
// The claims follow RFC 7519 (iss, sub, aud, iat, exp, jti) and OpenID
// Connect Core 1.0 §5.1 (phone_number_verified). See
// https://help.aliyun.com/zh/pnvs/developer-reference/api-dypnsapi-2017-05-25-checksmsverifycode
// for the check this token attests.
package verifytoken

import (
	"crypto"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// IssuerName is the default "iss" claim (WithIssuerName changes it).
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
	// RegisteredClaims holds iss (IssuerName unless WithIssuerName), sub
	// ("+<country><phone>"), aud (only WithAudience), iat, exp and jti (16
	// random bytes, base64url). Issue sets them; no nbf is emitted.
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
	now      func() time.Time
	rand     io.Reader
	issuer   string
	audience string
	older    []crypto.PublicKey
}

// WithIssuerName sets the "iss" claim tokens carry and Verify requires;
// "" keeps IssuerName.
func WithIssuerName(iss string) Option {
	return func(o *options) { o.issuer = iss }
}

// WithAudience adds an "aud" claim to every token, which Verify then
// requires; "" (the default) emits none.
func WithAudience(aud string) Option {
	return func(o *options) { o.audience = aud }
}

// WithPublicKeys adds older public keys (ECDSA P-256 or Ed25519) to those a
// key Issuer publishes and accepts, so that tokens signed before a key
// rotation stay verifiable until they expire. NewIssuer refuses it: an HMAC
// secret has nothing to publish.
func WithPublicKeys(keys ...crypto.PublicKey) Option {
	return func(o *options) { o.older = append(o.older, keys...) }
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

// Issuer issues and verifies tokens, with an HMAC secret or a private key.
// It is immutable and safe for concurrent use.
type Issuer struct {
	method   jwt.SigningMethod
	signKey  any    // []byte (HS256) or crypto.Signer
	kid      string // the signing key's thumbprint; "" for HS256
	verify   map[string]publicKey
	jwks     []byte // nil for HS256
	issuer   string
	audience string
	ttl      time.Duration
	now      func() time.Time
	rand     io.Reader
	parser   *jwt.Parser
}

// NewIssuer returns an Issuer signing HS256 with secret (at least
// MinSecretLen bytes; it is copied) whose tokens live for ttl (at least one
// second; it is truncated to whole seconds, the precision of JWT times).
func NewIssuer(secret []byte, ttl time.Duration, opts ...Option) (*Issuer, error) {
	if len(secret) < MinSecretLen {
		return nil, fmt.Errorf("verifytoken: secret is %d bytes, need at least %d", len(secret), MinSecretLen)
	}
	i, o, err := newIssuer(ttl, opts)
	if err != nil {
		return nil, err
	}
	if len(o.older) > 0 {
		return nil, errors.New("verifytoken: public keys need a private key: an HS256 secret publishes none")
	}
	i.method, i.signKey = jwt.SigningMethodHS256, append([]byte(nil), secret...)
	i.parser = i.newParser(jwt.SigningMethodHS256.Alg())
	return i, nil
}

// NewKeyIssuer returns an Issuer signing with key, an ECDSA P-256 key
// (ES256) or an Ed25519 key (EdDSA), such as ParsePrivateKey returns, whose
// tokens live for ttl (as for NewIssuer). Tokens carry the key's RFC 7638
// thumbprint as "kid"; JWKS publishes its public key and those of
// WithPublicKeys, and Verify accepts tokens signed by any of them.
func NewKeyIssuer(key crypto.Signer, ttl time.Duration, opts ...Option) (*Issuer, error) {
	if key == nil {
		return nil, errors.New("verifytoken: no private key")
	}
	cur, err := newPublicKey(key.Public())
	if err != nil {
		return nil, fmt.Errorf("verifytoken: private key: %w", err)
	}
	i, o, err := newIssuer(ttl, opts)
	if err != nil {
		return nil, err
	}
	i.method, i.signKey, i.kid = cur.method, key, cur.jwk.Kid
	i.verify = map[string]publicKey{cur.jwk.Kid: cur}
	published := []publicKey{cur}
	for n, pub := range o.older {
		k, err := newPublicKey(pub)
		if err != nil {
			return nil, fmt.Errorf("verifytoken: public key %d: %w", n+1, err)
		}
		if _, dup := i.verify[k.jwk.Kid]; !dup {
			i.verify[k.jwk.Kid] = k
			published = append(published, k)
		}
	}
	i.jwks = marshalJWKS(published)
	i.parser = i.newParser(jwt.SigningMethodES256.Alg(), jwt.SigningMethodEdDSA.Alg())
	return i, nil
}

// newIssuer applies what both kinds of Issuer share: ttl and options.
func newIssuer(ttl time.Duration, opts []Option) (*Issuer, options, error) {
	ttl = ttl.Truncate(time.Second)
	if ttl < time.Second {
		return nil, options{}, errors.New("verifytoken: ttl must be at least 1s")
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
	if o.issuer == "" {
		o.issuer = IssuerName
	}
	return &Issuer{ttl: ttl, now: o.now, rand: o.rand, issuer: o.issuer, audience: o.audience}, o, nil
}

// newParser is the parser Verify uses: only the given algorithms, the
// Issuer's iss (and aud, if any), exp required, no iat in the future.
func (i *Issuer) newParser(algs ...string) *jwt.Parser {
	popts := []jwt.ParserOption{
		jwt.WithValidMethods(algs),
		jwt.WithIssuer(i.issuer),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithTimeFunc(i.now),
		jwt.WithStrictDecoding(),
	}
	if i.audience != "" {
		popts = append(popts, jwt.WithAudience(i.audience))
	}
	return jwt.NewParser(popts...)
}

// Algorithm is the JWS algorithm of the tokens Issue signs: HS256, ES256 or
// EdDSA.
func (i *Issuer) Algorithm() string { return i.method.Alg() }

// KeyID is the "kid" of the tokens Issue signs, the RFC 7638 thumbprint of
// the signing key; "" for HS256.
func (i *Issuer) KeyID() string { return i.kid }

// JWKS returns the JWK Set (RFC 7517 §5) of the public keys Verify accepts,
// the signing key's first, each with kid, alg and use "sig": the body of
// GET /.well-known/jwks.json. It is nil for HS256, which has no public key.
// The caller must not modify it.
func (i *Issuer) JWKS() []byte { return i.jwks }

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
		Issuer:    i.issuer,
		Subject:   subject(c.CountryCode, c.PhoneNumber),
		IssuedAt:  iat,
		ExpiresAt: exp,
		ID:        base64.RawURLEncoding.EncodeToString(id[:]),
	}
	if i.audience != "" {
		c.Audience = jwt.ClaimStrings{i.audience}
	}
	t := jwt.NewWithClaims(i.method, &wireClaims{Claims: c, PhoneNumberVerified: true})
	if i.kid != "" {
		t.Header["kid"] = i.kid
	}
	token, err = t.SignedString(i.signKey)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("verifytoken: sign: %w", err)
	}
	return token, exp.Time, nil
}

// Verify checks token and returns its claims. It accepts only the Issuer's
// algorithm and key (for a key Issuer: any published key, chosen by kid,
// with its own algorithm), requires the Issuer's iss (and aud, when set),
// an exp after the Issuer's clock,
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

// key is the jwt.Keyfunc. WithValidMethods already limits alg; these checks
// keep each key to its own algorithm, so a secret never reaches another
// method and a public key is never used as an HMAC secret.
func (i *Issuer) key(t *jwt.Token) (any, error) {
	if i.verify == nil {
		if t.Method != jwt.SigningMethodHS256 {
			return nil, fmt.Errorf("unexpected signing method %v", t.Method.Alg())
		}
		return i.signKey, nil
	}
	kid, _ := t.Header["kid"].(string)
	k, ok := i.verify[kid]
	if !ok {
		return nil, errors.New("unknown kid")
	}
	if t.Method != k.method {
		return nil, fmt.Errorf("signing method %v does not match key %s", t.Method.Alg(), k.method.Alg())
	}
	return k.key, nil
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
