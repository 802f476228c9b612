package verifytoken

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
	josejwt "github.com/go-jose/go-jose/v4/jwt"
	"github.com/golang-jwt/jwt/v5"
)

// privatePEM returns key as a PKCS#8 PEM block, as openssl genpkey writes it.
func privatePEM(t testing.TB, key crypto.Signer) string {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

// publicPEM returns pub as a PKIX PEM block, as openssl pkey -pubout writes it.
func publicPEM(t testing.TB, pub crypto.PublicKey) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

func newECKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func newEdKey(t testing.TB) ed25519.PrivateKey {
	t.Helper()
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// fetchJWKS serves jwks on loopback and reads it back with go-jose, the way
// a backend fetches the JWKS URL.
func fetchJWKS(t *testing.T, jwks []byte) *jose.JSONWebKeySet {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(jwks)
	}))
	defer srv.Close()
	res, err := srv.Client().Get(srv.URL + "/.well-known/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(res.Body).Decode(&set); err != nil {
		t.Fatalf("go-jose cannot decode the JWKS %s: %v", jwks, err)
	}
	return &set
}

// joseVerify verifies token with go-jose against set and returns its claims.
func joseVerify(t *testing.T, token string, set *jose.JSONWebKeySet, want josejwt.Expected) (josejwt.Claims, map[string]any, error) {
	t.Helper()
	tok, err := josejwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.ES256, jose.EdDSA})
	if err != nil {
		return josejwt.Claims{}, nil, err
	}
	var std josejwt.Claims
	var all map[string]any
	if err := tok.Claims(set, &std, &all); err != nil {
		return std, all, err
	}
	return std, all, std.ValidateWithLeeway(want, 0)
}

// TestKeyIssuerVerifiedByGoJose checks tokens and the JWKS with another JOSE
// implementation than the one that signs: go-jose fetches the JWK Set,
// computes each key's RFC 7638 thumbprint itself, and verifies the token.
func TestKeyIssuerVerifiedByGoJose(t *testing.T) {
	for _, tc := range []struct {
		name string
		key  crypto.Signer
		alg  string
	}{
		{"ES256", newECKey(t), "ES256"},
		{"EdDSA", newEdKey(t), "EdDSA"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// One environment line: newlines written as \n.
			env := strings.ReplaceAll(privatePEM(t, tc.key), "\n", `\n`)
			key, err := ParsePrivateKey(env)
			if err != nil {
				t.Fatal(err)
			}
			iss, err := NewKeyIssuer(key, testTTL, WithClock(fixedClock(testTime)),
				WithIssuerName("https://sms.example.com"), WithAudience("my-app"))
			if err != nil {
				t.Fatal(err)
			}
			if iss.Algorithm() != tc.alg {
				t.Errorf("Algorithm = %s, want %s", iss.Algorithm(), tc.alg)
			}
			token, exp, err := iss.Issue(testClaims())
			if err != nil {
				t.Fatal(err)
			}

			set := fetchJWKS(t, iss.JWKS())
			if len(set.Keys) != 1 {
				t.Fatalf("JWKS has %d keys, want 1", len(set.Keys))
			}
			k := set.Keys[0]
			tp, err := k.Thumbprint(crypto.SHA256)
			if err != nil {
				t.Fatal(err)
			}
			if kid := base64.RawURLEncoding.EncodeToString(tp); k.KeyID != kid || iss.KeyID() != kid {
				t.Errorf("kid = %q (Issuer %q), go-jose's RFC 7638 thumbprint is %q", k.KeyID, iss.KeyID(), kid)
			}
			if k.Algorithm != tc.alg || k.Use != "sig" || !k.IsPublic() || !k.Valid() {
				t.Errorf("JWK alg %q use %q public %v valid %v, want %s sig public valid", k.Algorithm, k.Use, k.IsPublic(), k.Valid(), tc.alg)
			}
			if !k.Key.(interface{ Equal(crypto.PublicKey) bool }).Equal(key.Public()) {
				t.Error("the JWK is not the signing key's public key")
			}

			std, all, err := joseVerify(t, token, set, josejwt.Expected{
				Issuer: "https://sms.example.com", AnyAudience: josejwt.Audience{"my-app"}, Time: testTime})
			if err != nil {
				t.Fatalf("go-jose rejects the token: %v", err)
			}
			if std.Subject != "+8613800000000" || !std.Expiry.Time().Equal(exp) || all["phone_number_verified"] != true {
				t.Errorf("claims sub %q exp %v verified %v", std.Subject, std.Expiry.Time(), all["phone_number_verified"])
			}
			if _, _, err := joseVerify(t, token, set, josejwt.Expected{AnyAudience: josejwt.Audience{"other-app"}, Time: testTime}); !errors.Is(err, josejwt.ErrInvalidAudience) {
				t.Errorf("go-jose with another audience: err = %v, want ErrInvalidAudience", err)
			}
			if _, err := iss.Verify(token); err != nil {
				t.Errorf("Verify: %v", err)
			}
		})
	}
}

// TestKeyRotation: after a rotation the old key stays published (and
// accepted) through WithPublicKeys; a key that is not published is not.
func TestKeyRotation(t *testing.T) {
	oldKey, newKey := newECKey(t), newEdKey(t)
	before, err := NewKeyIssuer(oldKey, testTTL, WithClock(fixedClock(testTime)))
	if err != nil {
		t.Fatal(err)
	}
	oldToken, _, err := before.Issue(testClaims())
	if err != nil {
		t.Fatal(err)
	}
	older, err := ParsePublicKeys(publicPEM(t, oldKey.Public()) + publicPEM(t, newKey.Public())) // the current one may be listed too
	if err != nil {
		t.Fatal(err)
	}
	after, err := NewKeyIssuer(newKey, testTTL, WithClock(fixedClock(testTime)), WithPublicKeys(older...))
	if err != nil {
		t.Fatal(err)
	}
	newToken, _, err := after.Issue(testClaims())
	if err != nil {
		t.Fatal(err)
	}
	set := fetchJWKS(t, after.JWKS())
	if len(set.Keys) != 2 || set.Keys[0].KeyID != after.KeyID() || set.Keys[1].KeyID != before.KeyID() {
		t.Fatalf("JWKS after rotation = %s, want the new key then the old one", after.JWKS())
	}
	for name, tok := range map[string]string{"old": oldToken, "new": newToken} {
		if _, _, err := joseVerify(t, tok, set, josejwt.Expected{Issuer: IssuerName, Time: testTime}); err != nil {
			t.Errorf("go-jose rejects the %s token: %v", name, err)
		}
		if _, err := after.Verify(tok); err != nil {
			t.Errorf("Verify of the %s token: %v", name, err)
		}
	}
	unpublished, _ := NewKeyIssuer(newKey, testTTL, WithClock(fixedClock(testTime)))
	if _, err := unpublished.Verify(oldToken); err == nil {
		t.Error("a token of a key no longer published was accepted")
	}
}

// TestKeyIssuerRejects: forged tokens against a key Issuer.
func TestKeyIssuerRejects(t *testing.T) {
	ecKey := newECKey(t)
	iss, err := NewKeyIssuer(ecKey, testTTL, WithClock(fixedClock(testTime)), WithAudience("my-app"))
	if err != nil {
		t.Fatal(err)
	}
	claims := validMap()
	claims["aud"] = "my-app"
	withKid := func(m jwt.SigningMethod, key any, kid string, c jwt.MapClaims) string {
		tok := jwt.NewWithClaims(m, c)
		if kid != "" {
			tok.Header["kid"] = kid
		}
		s, err := tok.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	if _, err := iss.Verify(withKid(jwt.SigningMethodES256, ecKey, iss.KeyID(), claims)); err != nil {
		t.Fatalf("a well-formed token is rejected: %v", err)
	}
	noAud := validMap()
	// The JWK's public x, as an attacker would use it for an HS256 "secret".
	var jwks struct{ Keys []struct{ X string } }
	if err := json.Unmarshal(iss.JWKS(), &jwks); err != nil {
		t.Fatal(err)
	}
	for name, tok := range map[string]string{
		"no kid":                withKid(jwt.SigningMethodES256, ecKey, "", claims),
		"unknown kid":           withKid(jwt.SigningMethodES256, ecKey, "nope", claims),
		"other key, same kid":   withKid(jwt.SigningMethodES256, newECKey(t), iss.KeyID(), claims),
		"EdDSA under an EC kid": withKid(jwt.SigningMethodEdDSA, newEdKey(t), iss.KeyID(), claims),
		"HS256 with public x":   withKid(jwt.SigningMethodHS256, []byte(jwks.Keys[0].X), iss.KeyID(), claims),
		"no aud":                withKid(jwt.SigningMethodES256, ecKey, iss.KeyID(), noAud),
		"wrong aud":             withKid(jwt.SigningMethodES256, ecKey, iss.KeyID(), func() jwt.MapClaims { c := validMap(); c["aud"] = "x"; return c }()),
		"wrong iss":             withKid(jwt.SigningMethodES256, ecKey, iss.KeyID(), func() jwt.MapClaims { c := validMap(); c["aud"] = "my-app"; c["iss"] = "x"; return c }()),
	} {
		if _, err := iss.Verify(tok); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestThumbprintVector is RFC 8037 Appendix A.3: the thumbprint of the
// Ed25519 key of Appendix A.2.
func TestThumbprintVector(t *testing.T) {
	x, err := base64.RawURLEncoding.DecodeString("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo")
	if err != nil {
		t.Fatal(err)
	}
	got, err := Thumbprint(ed25519.PublicKey(x))
	if err != nil {
		t.Fatal(err)
	}
	if want := "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"; got != want {
		t.Errorf("Thumbprint = %s, want %s", got, want)
	}
}

func TestParseKeysErrors(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ec := newECKey(t)
	sec1, err := x509.MarshalECPrivateKey(ec)
	if err != nil {
		t.Fatal(err)
	}
	good := privatePEM(t, ec)
	privates := map[string]string{
		"empty":        "",
		"not PEM":      "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg",
		"RSA":          privatePEM(t, rsaKey),
		"P-384":        privatePEM(t, p384),
		"SEC1 block":   string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1})),
		"public key":   publicPEM(t, ec.Public()),
		"corrupt body": strings.Replace(good, "M", "A", 3),
		"two blocks":   good + good,
	}
	for name, s := range privates {
		_, err := ParsePrivateKey(s)
		if err == nil {
			t.Errorf("ParsePrivateKey(%s): no error", name)
			continue
		}
		if body := strings.Split(good, "\n")[1]; strings.Contains(err.Error(), body) {
			t.Errorf("ParsePrivateKey(%s): the error quotes the key: %v", name, err)
		}
	}
	publics := map[string]string{
		"private key": good,
		"RSA":         publicPEM(t, rsaKey.Public()),
		"garbage":     publicPEM(t, ec.Public()) + "garbage",
	}
	for name, s := range publics {
		if _, err := ParsePublicKeys(s); err == nil {
			t.Errorf("ParsePublicKeys(%s): no error", name)
		}
	}
	if keys, err := ParsePublicKeys(" "); err != nil || len(keys) != 0 {
		t.Errorf("ParsePublicKeys(blank) = %d keys, %v; want none", len(keys), err)
	}
	if _, err := NewIssuer(testSecret, testTTL, WithPublicKeys(ec.Public())); err == nil {
		t.Error("NewIssuer accepted public keys it cannot publish")
	}
	if _, err := NewKeyIssuer(ec, testTTL, WithPublicKeys(rsaKey.Public())); err == nil {
		t.Error("NewKeyIssuer accepted an RSA public key")
	}
}

// TestHS256Audience: the HS256 Issuer honours WithIssuerName and
// WithAudience too, and publishes nothing.
func TestHS256Audience(t *testing.T) {
	iss := newTestIssuer(t, testSecret, WithClock(fixedClock(testTime)), WithIssuerName("me"), WithAudience("app"))
	tok, _, err := iss.Issue(testClaims())
	if err != nil {
		t.Fatal(err)
	}
	c, err := iss.Verify(tok)
	if err != nil {
		t.Fatal(err)
	}
	if c.Issuer != "me" || len(c.Audience) != 1 || c.Audience[0] != "app" {
		t.Errorf("iss %q aud %v, want me [app]", c.Issuer, c.Audience)
	}
	if iss.JWKS() != nil || iss.KeyID() != "" || iss.Algorithm() != "HS256" {
		t.Errorf("HS256 Issuer: JWKS %s kid %q alg %s", iss.JWKS(), iss.KeyID(), iss.Algorithm())
	}
	other := newTestIssuer(t, testSecret, WithClock(fixedClock(testTime)), WithIssuerName("me"), WithAudience("other"))
	if _, err := other.Verify(tok); !errors.Is(err, jwt.ErrTokenInvalidAudience) {
		t.Errorf("another audience: err = %v, want ErrTokenInvalidAudience", err)
	}
}
