package function

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	josejwt "github.com/go-jose/go-jose/v4/jwt"

	"smsverify/function/verifytoken"
)

// pemLine returns key as PEM (PKCS#8 for a private key, PKIX for a public
// one) on one line, newlines written \n, as an environment variable holds it.
func pemLine(t *testing.T, key any) string {
	t.Helper()
	var (
		der []byte
		typ string
		err error
	)
	if s, ok := key.(crypto.Signer); ok {
		typ = "PRIVATE KEY"
		der, err = x509.MarshalPKCS8PrivateKey(s)
	} else {
		typ = "PUBLIC KEY"
		der, err = x509.MarshalPKIXPublicKey(key)
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.ReplaceAll(string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})), "\n", `\n`)
}

func newP256(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestJWKSVerifiesTokens runs the flow a backend runs: a PASS gives an ES256
// token; go-jose (not the library that signs) fetches
// /.well-known/jwks.json from the service over HTTP and verifies the token
// with it, audience and issuer included. The older key of
// VERIFY_TOKEN_PUBLIC_KEYS is published too.
func TestJWKSVerifiesTokens(t *testing.T) {
	current := newP256(t)
	oldPub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, func(c *Config, _ *Options) {
		c.VerifyTokenPrivateKey = pemLine(t, current)
		c.VerifyTokenPublicKeys = pemLine(t, oldPub)
		c.VerifyTokenAudience = "my-app"
		c.VerifyTokenIssuer = "https://sms.example.com"
	})
	srv := httptest.NewServer(e.svc)
	defer srv.Close()

	p := phone(1)
	w, m := e.do("POST", "/send", `{"PhoneNumber":"`+p+`"}`)
	ok(t, "send", w, m)
	w, m = e.do("POST", "/check", `{"PhoneNumber":"`+p+`","VerifyCode":"`+e.lastCode(p)+`"}`)
	ok(t, "check", w, m)
	token, _ := m["Model"].(map[string]any)["VerifyToken"].(string)
	if token == "" {
		t.Fatalf("no token on PASS: %v", m)
	}

	res, err := srv.Client().Get(srv.URL + "/.well-known/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") ||
		!strings.HasPrefix(res.Header.Get("Cache-Control"), "public") {
		t.Errorf("GET jwks: %d, Content-Type %q, Cache-Control %q", res.StatusCode, res.Header.Get("Content-Type"), res.Header.Get("Cache-Control"))
	}
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(res.Body).Decode(&set); err != nil {
		t.Fatal(err)
	}
	if len(set.Keys) != 2 || set.Keys[0].Algorithm != "ES256" || set.Keys[1].Algorithm != "EdDSA" {
		t.Fatalf("JWKS keys = %+v, want the ES256 key then the older EdDSA one", set.Keys)
	}
	tok, err := josejwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.ES256, jose.EdDSA})
	if err != nil {
		t.Fatal(err)
	}
	if kid := tok.Headers[0].KeyID; kid != set.Keys[0].KeyID {
		t.Errorf("token kid %q, JWKS's current key %q", kid, set.Keys[0].KeyID)
	}
	var claims josejwt.Claims
	if err := tok.Claims(&set, &claims); err != nil {
		t.Fatalf("go-jose rejects the token: %v", err)
	}
	if err := claims.ValidateWithLeeway(josejwt.Expected{Issuer: "https://sms.example.com", AnyAudience: josejwt.Audience{"my-app"},
		Subject: "+86" + p, Time: e.clock()}, 0); err != nil {
		t.Errorf("claims: %v", err)
	}
}

// TestJWKSWithoutKeys: HS256 (or no tokens) publishes nothing, and says so.
func TestJWKSWithoutKeys(t *testing.T) {
	for name, secret := range map[string]string{"HS256": tokenSecret, "no tokens": ""} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, func(c *Config, _ *Options) { c.VerifyTokenSecret = secret })
			w, m := e.do("GET", "/.well-known/jwks.json", "")
			if w.Code != http.StatusNotFound || m["Code"] != CodeNotFound || !strings.Contains(m["Message"].(string), "VERIFY_TOKEN_PRIVATE_KEY") {
				t.Errorf("GET jwks = %d %v, want 404 naming VERIFY_TOKEN_PRIVATE_KEY", w.Code, m)
			}
		})
	}
}

func TestTokenConfig(t *testing.T) {
	key := newP256(t)
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	good := pemLine(t, key)
	tests := []struct {
		name, want string
		set        func(*Config)
	}{
		{"secret and key", "VERIFY_TOKEN_SECRET/VERIFY_TOKEN_PRIVATE_KEY", func(c *Config) {
			c.VerifyTokenSecret, c.VerifyTokenPrivateKey = tokenSecret, good
		}},
		{"P-384 key", "VERIFY_TOKEN_PRIVATE_KEY", func(c *Config) { c.VerifyTokenPrivateKey = pemLine(t, p384) }},
		{"not PEM", "VERIFY_TOKEN_PRIVATE_KEY", func(c *Config) { c.VerifyTokenPrivateKey = "secret-looking-text" }},
		{"public keys alone", "VERIFY_TOKEN_PUBLIC_KEYS", func(c *Config) { c.VerifyTokenPublicKeys = pemLine(t, key.Public()) }},
		{"bad public key", "VERIFY_TOKEN_PUBLIC_KEYS", func(c *Config) {
			c.VerifyTokenPrivateKey, c.VerifyTokenPublicKeys = good, pemLine(t, p384.Public())
		}},
		{"issuer with a tab", "VERIFY_TOKEN_ISSUER", func(c *Config) { c.VerifyTokenIssuer = "a\tb" }},
		{"audience with a newline", "VERIFY_TOKEN_AUDIENCE", func(c *Config) { c.VerifyTokenAudience = "a\nb" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := defaultConfig()
			c.AccessKeyID, c.AccessKeySecret = "id", "secret"
			tt.set(&c)
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Validate = %v, want an error naming %s", err, tt.want)
			}
			for _, s := range []string{"secret-looking-text", strings.Split(good, `\n`)[1]} {
				if strings.Contains(err.Error(), s) {
					t.Errorf("the error quotes the key: %v", err)
				}
			}
		})
	}
	c := defaultConfig()
	c.AccessKeyID, c.AccessKeySecret = "id", "secret"
	c.VerifyTokenPrivateKey, c.VerifyTokenPublicKeys = good, pemLine(t, key.Public())
	if err := c.Validate(); err != nil {
		t.Errorf("a good key pair: %v", err)
	}
}

// TestTokenIssuerDefault: a Config built by hand, without
// VERIFY_TOKEN_ISSUER, issues tokens as smsverify.
func TestTokenIssuerDefault(t *testing.T) {
	c := defaultConfig()
	c.VerifyTokenIssuer, c.VerifyTokenSecret = "", tokenSecret
	iss, err := c.tokenIssuer(time.Now)
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err := iss.Issue(verifytoken.Claims{PhoneNumber: "13800000000", CountryCode: "86"})
	if err != nil {
		t.Fatal(err)
	}
	if claims, err := iss.Verify(tok); err != nil || claims.Issuer != verifytoken.IssuerName {
		t.Errorf("iss %v (%v), want %s", claims, err, verifytoken.IssuerName)
	}
}
