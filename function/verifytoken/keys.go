package verifytoken

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"

	"github.com/golang-jwt/jwt/v5"
)

// publicKey is a verification key as published: the key, its algorithm and
// its kid.
type publicKey struct {
	key    crypto.PublicKey // *ecdsa.PublicKey (P-256) or ed25519.PublicKey
	method jwt.SigningMethod
	jwk    jwk
}

// jwk is a public JSON Web Key (RFC 7517) for ES256 (RFC 7518 §6.2) or
// EdDSA over Ed25519 (RFC 8037 §2).
type jwk struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y,omitempty"`
	Kid string `json:"kid"`
	Alg string `json:"alg"`
	Use string `json:"use"`
}

// newPublicKey describes pub, an ECDSA P-256 or Ed25519 public key.
func newPublicKey(pub crypto.PublicKey) (publicKey, error) {
	var (
		k publicKey
		b = base64.RawURLEncoding
	)
	switch pub := pub.(type) {
	case *ecdsa.PublicKey:
		if pub.Curve != elliptic.P256() {
			return k, fmt.Errorf("ECDSA key on %s: only P-256 (ES256) is supported", pub.Curve.Params().Name)
		}
		point, err := pub.Bytes() // 0x04 || X || Y, each 32 bytes
		if err != nil {
			return k, fmt.Errorf("ECDSA key: %w", err)
		}
		k = publicKey{key: pub, method: jwt.SigningMethodES256,
			jwk: jwk{Kty: "EC", Crv: "P-256", X: b.EncodeToString(point[1:33]), Y: b.EncodeToString(point[33:])}}
	case ed25519.PublicKey:
		k = publicKey{key: pub, method: jwt.SigningMethodEdDSA, jwk: jwk{Kty: "OKP", Crv: "Ed25519", X: b.EncodeToString(pub)}}
	default:
		return k, fmt.Errorf("%T key: only EC P-256 (ES256) and Ed25519 (EdDSA) are supported", pub)
	}
	k.jwk.Alg, k.jwk.Use = k.method.Alg(), "sig"
	k.jwk.Kid = thumbprint(k.jwk)
	return k, nil
}

// thumbprint is the RFC 7638 JWK thumbprint: SHA-256 over the required
// members in lexicographic order, no white space, base64url.
func thumbprint(j jwk) string {
	var s string
	if j.Kty == "EC" {
		s = `{"crv":"` + j.Crv + `","kty":"EC","x":"` + j.X + `","y":"` + j.Y + `"}`
	} else {
		s = `{"crv":"` + j.Crv + `","kty":"` + j.Kty + `","x":"` + j.X + `"}`
	}
	sum := sha256.Sum256([]byte(s))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// Thumbprint returns the RFC 7638 thumbprint of pub, an ECDSA P-256 or
// Ed25519 public key: the kid under which tokens signed with its private key
// are published.
func Thumbprint(pub crypto.PublicKey) (string, error) {
	k, err := newPublicKey(pub)
	if err != nil {
		return "", fmt.Errorf("verifytoken: %w", err)
	}
	return k.jwk.Kid, nil
}

// pemText reads a PEM variable: a literal \n stands for a newline, so a key
// fits one environment line.
func pemText(s string) []byte {
	return []byte(strings.ReplaceAll(strings.TrimSpace(s), `\n`, "\n"))
}

// ParsePrivateKey reads a PEM "PRIVATE KEY" block (PKCS#8) holding an EC
// P-256 key (tokens signed ES256) or an Ed25519 key (EdDSA). A literal \n in
// s is read as a newline. Errors never quote s.
func ParsePrivateKey(s string) (crypto.Signer, error) {
	block, rest := pem.Decode(pemText(s))
	if block == nil {
		return nil, errors.New("verifytoken: private key: no PEM block (want -----BEGIN PRIVATE KEY-----)")
	}
	if block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("verifytoken: private key: PEM block is %q, want PRIVATE KEY (PKCS#8; convert with openssl pkcs8 -topk8 -nocrypt)", block.Type)
	}
	if len(strings.TrimSpace(string(rest))) != 0 {
		return nil, errors.New("verifytoken: private key: text after the PEM block")
	}
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, errors.New("verifytoken: private key: not a PKCS#8 key")
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("verifytoken: private key: %T is not a signing key", key)
	}
	if _, err := newPublicKey(signer.Public()); err != nil {
		return nil, fmt.Errorf("verifytoken: private key: %w", err)
	}
	return signer, nil
}

// ParsePublicKeys reads PEM "PUBLIC KEY" blocks (PKIX), one after another,
// each an EC P-256 or Ed25519 key. A literal \n in s is read as a newline.
func ParsePublicKeys(s string) ([]crypto.PublicKey, error) {
	var keys []crypto.PublicKey
	rest := pemText(s)
	for n := 1; len(strings.Trim(string(rest), " \t\r\n,")) > 0; n++ {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return nil, fmt.Errorf("verifytoken: public key %d: no PEM block (want -----BEGIN PUBLIC KEY-----)", n)
		}
		if block.Type != "PUBLIC KEY" {
			return nil, fmt.Errorf("verifytoken: public key %d: PEM block is %q, want PUBLIC KEY", n, block.Type)
		}
		pub, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("verifytoken: public key %d: not a PKIX public key", n)
		}
		if _, err := newPublicKey(pub); err != nil {
			return nil, fmt.Errorf("verifytoken: public key %d: %w", n, err)
		}
		keys = append(keys, pub)
	}
	return keys, nil
}

// marshalJWKS returns the JWK Set (RFC 7517 §5) of keys.
func marshalJWKS(keys []publicKey) []byte {
	set := struct {
		Keys []jwk `json:"keys"`
	}{Keys: make([]jwk, len(keys))}
	for i, k := range keys {
		set.Keys[i] = k.jwk
	}
	b, err := json.Marshal(set)
	if err != nil {
		panic("verifytoken: marshal JWKS: " + err.Error()) // strings only: cannot fail
	}
	return b
}
