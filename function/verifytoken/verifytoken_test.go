package verifytoken

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

var (
	testSecret  = []byte("0123456789abcdef0123456789abcdef") // 32 bytes
	otherSecret = []byte("fedcba9876543210fedcba9876543210")
	testTime    = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
)

const testTTL = 5 * time.Minute

func fixedClock(t time.Time) func() time.Time { return func() time.Time { return t } }

func newTestIssuer(t testing.TB, secret []byte, opts ...Option) *Issuer {
	t.Helper()
	iss, err := NewIssuer(secret, testTTL, opts...)
	if err != nil {
		t.Fatalf("NewIssuer: %v", err)
	}
	return iss
}

func testClaims() Claims {
	return Claims{PhoneNumber: "13800000000", CountryCode: "86", Scheme: "login"}
}

// validMap is the payload Issue would produce at testTime, as a map, so
// forged tokens can differ from a good one in exactly one way.
func validMap() jwt.MapClaims {
	return jwt.MapClaims{
		"iss":                   IssuerName,
		"sub":                   "+8613800000000",
		"iat":                   testTime.Unix(),
		"exp":                   testTime.Add(testTTL).Unix(),
		"jti":                   "AAAAAAAAAAAAAAAAAAAAAA",
		"phone_number":          "13800000000",
		"country_code":          "86",
		"phone_number_verified": true,
	}
}

// sign signs claims with any method and key, as an attacker or a buggy
// component might.
func sign(t *testing.T, m jwt.SigningMethod, key any, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(m, claims).SignedString(key)
	if err != nil {
		t.Fatalf("sign %s: %v", m.Alg(), err)
	}
	return s
}

func TestIssueVerifyRoundTrip(t *testing.T) {
	tests := []struct {
		name   string
		claims Claims
	}{
		{"with scheme", Claims{PhoneNumber: "13800000000", CountryCode: "86", Scheme: "login"}},
		{"default scheme", Claims{PhoneNumber: "13800000000", CountryCode: "86"}},
		{"other country", Claims{PhoneNumber: "2025550123", CountryCode: "1"}},
		{"caller registered claims overwritten", Claims{
			PhoneNumber: "13800000000", CountryCode: "86",
			RegisteredClaims: jwt.RegisteredClaims{
				Issuer: "evil", Subject: "+1", ID: "x", Audience: jwt.ClaimStrings{"a"},
				NotBefore: jwt.NewNumericDate(testTime.Add(time.Hour)),
				ExpiresAt: jwt.NewNumericDate(testTime.Add(100 * time.Hour)),
			},
		}},
	}
	now := testTime.Add(123456789 * time.Nanosecond) // sub-second part is truncated
	iss := newTestIssuer(t, testSecret, WithClock(fixedClock(now)))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, exp, err := iss.Issue(tt.claims)
			if err != nil {
				t.Fatalf("Issue: %v", err)
			}
			if want := testTime.Add(testTTL); !exp.Equal(want) || exp.Location() != time.UTC {
				t.Errorf("expiresAt = %v, want %v UTC", exp, want)
			}
			got, err := iss.Verify(tok)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if got.PhoneNumber != tt.claims.PhoneNumber || got.CountryCode != tt.claims.CountryCode || got.Scheme != tt.claims.Scheme {
				t.Errorf("claims = %+v, want number/country/scheme of %+v", got, tt.claims)
			}
			if want := "+" + tt.claims.CountryCode + tt.claims.PhoneNumber; got.Subject != want {
				t.Errorf("sub = %q, want %q", got.Subject, want)
			}
			if got.Issuer != "smsverify" {
				t.Errorf("iss = %q", got.Issuer)
			}
			if got.IssuedAt == nil || !got.IssuedAt.Equal(testTime) {
				t.Errorf("iat = %v, want %v", got.IssuedAt, testTime)
			}
			if got.ExpiresAt == nil || !got.ExpiresAt.Equal(exp) || got.ExpiresAt.Sub(got.IssuedAt.Time) != testTTL {
				t.Errorf("exp = %v, want iat+%v = %v", got.ExpiresAt, testTTL, exp)
			}
			if got.NotBefore != nil || len(got.Audience) != 0 {
				t.Errorf("nbf/aud = %v/%v, want none", got.NotBefore, got.Audience)
			}
			if id, err := base64.RawURLEncoding.Strict().DecodeString(got.ID); err != nil || len(id) != 16 {
				t.Errorf("jti = %q: %d bytes, %v; want 16 base64url bytes", got.ID, len(id), err)
			}
		})
	}
}

func TestIssueUniqueIDs(t *testing.T) {
	iss := newTestIssuer(t, testSecret) // crypto/rand, real clock
	seen := make(map[string]bool)
	for range 1000 {
		tok, _, err := iss.Issue(testClaims())
		if err != nil {
			t.Fatal(err)
		}
		c, err := iss.Verify(tok)
		if err != nil {
			t.Fatal(err)
		}
		if seen[c.ID] {
			t.Fatalf("duplicate jti %q", c.ID)
		}
		seen[c.ID] = true
	}
}

// TestWireFormat pins the payload a caller's backend sees.
func TestWireFormat(t *testing.T) {
	iss := newTestIssuer(t, testSecret, WithClock(fixedClock(testTime)), WithRandom(bytes.NewReader(make([]byte, 16))))
	tok, _, err := iss.Issue(testClaims())
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts", len(parts))
	}
	decode := func(seg string) map[string]any {
		b, err := base64.RawURLEncoding.DecodeString(seg)
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]any{}
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	if h, want := decode(parts[0]), map[string]any{"alg": "HS256", "typ": "JWT"}; !maps.Equal(h, want) {
		t.Errorf("header = %v, want %v", h, want)
	}
	want := map[string]any{
		"iss":                   "smsverify",
		"sub":                   "+8613800000000",
		"iat":                   float64(testTime.Unix()),
		"exp":                   float64(testTime.Add(testTTL).Unix()),
		"jti":                   "AAAAAAAAAAAAAAAAAAAAAA",
		"phone_number":          "13800000000",
		"country_code":          "86",
		"scheme":                "login",
		"phone_number_verified": true,
	}
	if p := decode(parts[1]); !maps.Equal(p, want) {
		t.Errorf("payload = %v\nwant %v", p, want)
	}
}

// TestVerifyWithPlainJWT verifies an issued token the way a caller's backend
// does: golang-jwt and the secret only, no code from this package.
func TestVerifyWithPlainJWT(t *testing.T) {
	iss := newTestIssuer(t, testSecret) // real clock, as the backend's
	tok, _, err := iss.Issue(testClaims())
	if err != nil {
		t.Fatal(err)
	}

	parsed, err := jwt.Parse(tok, func(*jwt.Token) (any, error) { return testSecret, nil },
		jwt.WithValidMethods([]string{"HS256"}), jwt.WithIssuer("smsverify"), jwt.WithExpirationRequired())
	if err != nil {
		t.Fatalf("jwt.Parse: %v", err)
	}
	mc := parsed.Claims.(jwt.MapClaims)
	if sub, _ := mc.GetSubject(); sub != "+8613800000000" {
		t.Errorf("sub = %q", sub)
	}
	if mc["phone_number"] != "13800000000" || mc["country_code"] != "86" || mc["scheme"] != "login" || mc["phone_number_verified"] != true {
		t.Errorf("claims = %v", mc)
	}

	// And the backend rejects it with the wrong secret.
	if _, err := jwt.Parse(tok, func(*jwt.Token) (any, error) { return otherSecret, nil },
		jwt.WithValidMethods([]string{"HS256"})); !errors.Is(err, jwt.ErrTokenSignatureInvalid) {
		t.Errorf("wrong secret: err = %v, want ErrTokenSignatureInvalid", err)
	}
}

func TestVerifyRejects(t *testing.T) {
	iss := newTestIssuer(t, testSecret, WithClock(fixedClock(testTime)))
	good, _, err := iss.Issue(testClaims())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := iss.Verify(good); err != nil {
		t.Fatalf("good token rejected: %v", err)
	}
	parts := strings.Split(good, ".")

	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	with := func(k string, v any) jwt.MapClaims {
		m := validMap()
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}

	tests := []struct {
		name  string
		token string
		want  error
	}{
		{"tampered payload", func() string {
			p, _ := base64.RawURLEncoding.DecodeString(parts[1])
			p = bytes.Replace(p, []byte("13800000000"), []byte("13900000000"), 2)
			return parts[0] + "." + base64.RawURLEncoding.EncodeToString(p) + "." + parts[2]
		}(), jwt.ErrTokenSignatureInvalid},
		{"tampered signature", func() string {
			sig := []byte(parts[2])
			if sig[0] == 'A' {
				sig[0] = 'B'
			} else {
				sig[0] = 'A'
			}
			return parts[0] + "." + parts[1] + "." + string(sig)
		}(), jwt.ErrTokenSignatureInvalid},
		{"signature padding bits changed", func() string {
			// The last of 43 chars carries 2 unused bits; flipping them leaves
			// the decoded signature equal, so only strict decoding catches it.
			sig := []byte(parts[2])
			last := strings.IndexByte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", sig[len(sig)-1])
			sig[len(sig)-1] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[last^1]
			return parts[0] + "." + parts[1] + "." + string(sig)
		}(), jwt.ErrTokenMalformed},
		{"signature removed", parts[0] + "." + parts[1] + ".", jwt.ErrTokenSignatureInvalid},
		{"alg none", sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, validMap()), jwt.ErrTokenSignatureInvalid},
		{"alg HS512 same secret", sign(t, jwt.SigningMethodHS512, testSecret, validMap()), jwt.ErrTokenSignatureInvalid},
		{"alg ES256", sign(t, jwt.SigningMethodES256, ecKey, validMap()), jwt.ErrTokenSignatureInvalid},
		{"alg unknown", func() string {
			h := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"XX256","typ":"JWT"}`))
			return h + "." + parts[1] + "." + parts[2]
		}(), jwt.ErrTokenUnverifiable},
		{"different secret", sign(t, jwt.SigningMethodHS256, otherSecret, validMap()), jwt.ErrTokenSignatureInvalid},
		{"wrong issuer", sign(t, jwt.SigningMethodHS256, testSecret, with("iss", "someone-else")), jwt.ErrTokenInvalidIssuer},
		{"no issuer", sign(t, jwt.SigningMethodHS256, testSecret, with("iss", nil)), jwt.ErrTokenRequiredClaimMissing},
		{"no exp", sign(t, jwt.SigningMethodHS256, testSecret, with("exp", nil)), jwt.ErrTokenRequiredClaimMissing},
		{"iat in future", sign(t, jwt.SigningMethodHS256, testSecret, with("iat", testTime.Add(time.Minute).Unix())), jwt.ErrTokenUsedBeforeIssued},
		{"nbf in future", sign(t, jwt.SigningMethodHS256, testSecret, with("nbf", testTime.Add(time.Minute).Unix())), jwt.ErrTokenNotValidYet},
		{"no jti", sign(t, jwt.SigningMethodHS256, testSecret, with("jti", nil)), jwt.ErrTokenRequiredClaimMissing},
		{"no sub", sign(t, jwt.SigningMethodHS256, testSecret, with("sub", nil)), jwt.ErrTokenRequiredClaimMissing},
		{"no phone_number", sign(t, jwt.SigningMethodHS256, testSecret, with("phone_number", nil)), jwt.ErrTokenRequiredClaimMissing},
		{"no country_code", sign(t, jwt.SigningMethodHS256, testSecret, with("country_code", nil)), jwt.ErrTokenRequiredClaimMissing},
		{"phone_number_verified false", sign(t, jwt.SigningMethodHS256, testSecret, with("phone_number_verified", false)), jwt.ErrTokenInvalidClaims},
		{"no phone_number_verified", sign(t, jwt.SigningMethodHS256, testSecret, with("phone_number_verified", nil)), jwt.ErrTokenInvalidClaims},
		{"sub mismatch", sign(t, jwt.SigningMethodHS256, testSecret, with("sub", "+8613900000000")), jwt.ErrTokenInvalidClaims},
		{"empty", "", jwt.ErrTokenMalformed},
		{"garbage", "not.a.jwt", jwt.ErrTokenMalformed},
		{"two segments", parts[0] + "." + parts[1], jwt.ErrTokenMalformed},
		{"too long", good + strings.Repeat("A", maxTokenLen), jwt.ErrTokenMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := iss.Verify(tt.token)
			if err == nil {
				t.Fatalf("Verify accepted the token: %+v", c)
			}
			if !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want errors.Is %v", err, tt.want)
			}
			if c != nil {
				t.Errorf("claims = %+v, want nil", c)
			}
			if strings.Contains(err.Error(), "13800000000") || strings.Contains(err.Error(), string(testSecret)) {
				t.Errorf("error leaks phone or secret: %v", err)
			}
		})
	}

	// The forging helper itself must be able to produce an accepted token,
	// otherwise the cases above prove nothing.
	if _, err := iss.Verify(sign(t, jwt.SigningMethodHS256, testSecret, validMap())); err != nil {
		t.Errorf("control forged token rejected: %v", err)
	}
}

func TestVerifyExpiry(t *testing.T) {
	now := testTime
	clock := func() time.Time { return now }
	iss := newTestIssuer(t, testSecret, WithClock(clock))
	tok, exp, err := iss.Issue(testClaims())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		at      time.Time
		wantErr error
	}{
		{"at issue", testTime, nil},
		{"one second before exp", exp.Add(-time.Second), nil},
		{"at exp", exp, jwt.ErrTokenExpired},
		{"a day later", exp.Add(24 * time.Hour), jwt.ErrTokenExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now = tt.at
			_, err := iss.Verify(tok)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Errorf("Verify at %v: err = %v, want %v", tt.at, err, tt.wantErr)
			}
		})
	}
}

func TestNewIssuer(t *testing.T) {
	tests := []struct {
		name    string
		secret  []byte
		ttl     time.Duration
		wantErr bool
	}{
		{"ok", testSecret, time.Minute, false},
		{"long secret", bytes.Repeat([]byte("s"), 64), time.Minute, false},
		{"ttl 1s", testSecret, time.Second, false},
		{"short secret", []byte("0123456789abcdef0123456789abcde"), time.Minute, true},
		{"empty secret", nil, time.Minute, true},
		{"zero ttl", testSecret, 0, true},
		{"negative ttl", testSecret, -time.Minute, true},
		{"sub-second ttl", testSecret, 999 * time.Millisecond, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			iss, err := NewIssuer(tt.secret, tt.ttl)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if err != nil {
				if iss != nil {
					t.Error("non-nil Issuer with error")
				}
				if len(tt.secret) > 0 && strings.Contains(err.Error(), string(tt.secret)) {
					t.Errorf("error contains the secret: %v", err)
				}
			}
		})
	}
}

func TestNewIssuerCopiesSecret(t *testing.T) {
	secret := bytes.Clone(testSecret)
	iss := newTestIssuer(t, secret)
	tok, _, err := iss.Issue(testClaims())
	if err != nil {
		t.Fatal(err)
	}
	for i := range secret {
		secret[i] = 'x'
	}
	if _, err := iss.Verify(tok); err != nil {
		t.Errorf("Verify after caller changed its secret slice: %v", err)
	}
}

func TestIssueErrors(t *testing.T) {
	tests := []struct {
		name   string
		claims Claims
		rand   *bytes.Reader
		errIs  error
	}{
		{"empty phone", Claims{CountryCode: "86"}, nil, nil},
		{"non-digit phone", Claims{PhoneNumber: "1380000000x", CountryCode: "86"}, nil, nil},
		{"phone with plus", Claims{PhoneNumber: "+8613800000000", CountryCode: "86"}, nil, nil},
		{"phone too long", Claims{PhoneNumber: strings.Repeat("1", 21), CountryCode: "86"}, nil, nil},
		{"empty country", Claims{PhoneNumber: "13800000000"}, nil, nil},
		{"country with plus", Claims{PhoneNumber: "13800000000", CountryCode: "+86"}, nil, nil},
		{"short random", testClaims(), bytes.NewReader(make([]byte, 15)), io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var opts []Option
			if tt.rand != nil {
				opts = append(opts, WithRandom(tt.rand))
			}
			iss := newTestIssuer(t, testSecret, opts...)
			tok, exp, err := iss.Issue(tt.claims)
			if err == nil {
				t.Fatalf("Issue succeeded: %q", tok)
			}
			if tok != "" || !exp.IsZero() {
				t.Errorf("got token %q, exp %v with error", tok, exp)
			}
			if tt.errIs != nil && !errors.Is(err, tt.errIs) {
				t.Errorf("err = %v, want errors.Is %v", err, tt.errIs)
			}
			if tt.claims.PhoneNumber != "" && strings.Contains(err.Error(), tt.claims.PhoneNumber) {
				t.Errorf("error contains the phone number: %v", err)
			}
		})
	}
}

func TestIssueRandomError(t *testing.T) {
	boom := errors.New("entropy exhausted")
	iss := newTestIssuer(t, testSecret, WithRandom(iotest.ErrReader(boom)))
	if _, _, err := iss.Issue(testClaims()); !errors.Is(err, boom) {
		t.Errorf("err = %v, want wrapping %v", err, boom)
	}
}

// counterReader is deliberately not safe for concurrent use: without the
// Issuer's serialization the race detector reports it.
type counterReader struct{ n uint64 }

func (c *counterReader) Read(p []byte) (int, error) {
	c.n++
	var b [16]byte
	binary.BigEndian.PutUint64(b[8:], c.n)
	return copy(p, b[:]), nil
}

func TestConcurrentUse(t *testing.T) {
	iss := newTestIssuer(t, testSecret, WithClock(fixedClock(testTime)), WithRandom(&counterReader{}))
	const workers, each = 8, 50
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		seen = map[string]bool{}
		errs = make(chan error, workers)
	)
	for w := range workers {
		wg.Go(func() {
			for range each {
				tok, _, err := iss.Issue(Claims{PhoneNumber: fmt.Sprintf("1380000%04d", w), CountryCode: "86"})
				if err != nil {
					errs <- err
					return
				}
				c, err := iss.Verify(tok)
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				seen[c.ID] = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if len(seen) != workers*each {
		t.Errorf("%d distinct jti, want %d", len(seen), workers*each)
	}
}

func BenchmarkIssue(b *testing.B) {
	iss := newTestIssuer(b, testSecret)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := iss.Issue(testClaims()); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	iss := newTestIssuer(b, testSecret)
	tok, _, err := iss.Issue(testClaims())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := iss.Verify(tok); err != nil {
			b.Fatal(err)
		}
	}
}
