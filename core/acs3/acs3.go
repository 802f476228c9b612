// Package acs3 signs Alibaba Cloud API requests with the V3 signature,
// ACS3-HMAC-SHA256:
//
//	CanonicalRequest = Method \n Path \n CanonicalQuery \n CanonicalHeaders \n SignedHeaders \n HexSHA256(body)
//	StringToSign     = "ACS3-HMAC-SHA256" \n HexSHA256(CanonicalRequest)
//	Signature        = Hex(HMAC-SHA256(AccessKeySecret, StringToSign))
//
// Signature is the one function that computes it; Sign adds the headers
// every request carries and returns the ones to send, Authorization among
// them; SignHTTP signs an *http.Request through Sign. core's Client,
// core/dypnstest's verification and anything else in this module that
// signs go through them. The package uses the standard library only.
package acs3

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// V3 signature constants.
const (
	// Algorithm is the name of Alibaba's V3 signature algorithm.
	Algorithm = "ACS3-HMAC-SHA256"
	// EmptySHA256 is the hex SHA-256 of an empty body.
	EmptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	// DateFormat is the layout of the x-acs-date header (always UTC).
	DateFormat = "2006-01-02T15:04:05Z"
)

// Credentials are an AccessKey pair, with a SecurityToken when they are
// temporary STS credentials.
type Credentials struct {
	AccessKeyID     string
	AccessKeySecret string
	SecurityToken   string // optional; set for STS credentials
}

// String hides the secret and the token, so Credentials are safe to print.
func (c Credentials) String() string {
	s := "Credentials{AccessKeyID:" + c.AccessKeyID + " AccessKeySecret:***"
	if c.SecurityToken != "" {
		s += " SecurityToken:***"
	}
	return s + "}"
}

// GoString hides the secret from %#v as well.
func (c Credentials) GoString() string { return c.String() }

// Valid reports whether the key id and secret are both present.
func (c Credentials) Valid() bool { return c.AccessKeyID != "" && c.AccessKeySecret != "" }

// Header is one HTTP header.
type Header struct {
	Name  string
	Value string
}

// Request is what a V3 signature covers, besides the secret.
type Request struct {
	Method     string   // HTTP method, e.g. "POST"
	Path       string   // escaped path; "/" for RPC APIs (empty means "/")
	Query      string   // canonical query string, see CanonicalQuery
	Headers    []Header // signed headers in any order and case: host, x-acs-action, x-acs-version, content-type…
	BodySHA256 string   // hex SHA-256 of the body; empty means EmptySHA256
}

// Signature returns the hex V3 signature of r under secret and the
// signed-header list (lower-case names, sorted, joined by ";"). It is a
// pure function of its arguments and leaves r.Headers as it found them.
func Signature(r Request, secret string) (signature, signedHeaders string) {
	var harr [10]Header
	var buf [1024]byte
	canonical, signed := r.appendCanonical(buf[:0], sortedLower(harr[:0], r.Headers))
	sum := sha256.Sum256(canonical)
	var sts [len(Algorithm) + 1 + 2*sha256.Size]byte
	b := append(sts[:0], Algorithm+"\n"...)
	b = hex.AppendEncode(b, sum[:])
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(b)
	var sig [2 * sha256.Size]byte
	hex.Encode(sig[:], mac.Sum(sts[:0])) // the MAC reuses sts's bytes
	return string(sig[:]), string(signed)
}

// sortedLower appends hs to dst with lower-case names, sorted by name.
func sortedLower(dst, hs []Header) []Header {
	for _, h := range hs {
		dst = append(dst, Header{Name: strings.ToLower(h.Name), Value: h.Value})
	}
	slices.SortFunc(dst, func(a, b Header) int { return strings.Compare(a.Name, b.Name) })
	return dst
}

// appendCanonical appends the canonical request of r with the headers hs
// (lower-case, sorted) to b. It returns the extended slice and the part of
// it that is the signed-header list.
func (r *Request) appendCanonical(b []byte, hs []Header) (canonical, signed []byte) {
	path, body := r.Path, r.BodySHA256
	if path == "" {
		path = "/"
	}
	if body == "" {
		body = EmptySHA256
	}
	b = append(b, r.Method...)
	b = append(b, '\n')
	b = append(b, path...)
	b = append(b, '\n')
	b = append(b, r.Query...)
	b = append(b, '\n')
	for _, h := range hs {
		b = append(b, h.Name...)
		b = append(b, ':')
		b = append(b, strings.TrimSpace(h.Value)...)
		b = append(b, '\n')
	}
	b = append(b, '\n')
	start := len(b)
	for i, h := range hs {
		if i > 0 {
			b = append(b, ';')
		}
		b = append(b, h.Name...)
	}
	end := len(b)
	b = append(b, '\n')
	b = append(b, body...)
	return b, b[start:end]
}

// Sign signs r with c at t: it adds the headers every signed request
// carries (x-acs-date from t in UTC, x-acs-signature-nonce, x-acs-content-
// sha256, and x-acs-security-token for STS credentials) to r.Headers, signs
// them all, and returns the headers to send: r.Headers but host (net/http
// sends it from the URL), the added ones and Authorization, by their
// canonical MIME names.
func Sign(r Request, c Credentials, t time.Time, nonce string) []Header {
	if r.BodySHA256 == "" {
		r.BodySHA256 = EmptySHA256
	}
	hs := make([]Header, 0, len(r.Headers)+5)
	hs = append(hs, r.Headers...)
	hs = append(hs,
		Header{"X-Acs-Date", t.UTC().Format(DateFormat)},
		Header{"X-Acs-Signature-Nonce", nonce},
		Header{"X-Acs-Content-Sha256", r.BodySHA256},
	)
	if c.SecurityToken != "" {
		hs = append(hs, Header{"X-Acs-Security-Token", c.SecurityToken})
	}
	r.Headers = hs
	sig, signed := Signature(r, c.AccessKeySecret)
	hs = slices.DeleteFunc(hs, func(h Header) bool { return strings.EqualFold(h.Name, "host") })
	for i := range hs {
		hs[i].Name = http.CanonicalHeaderKey(hs[i].Name)
	}
	return append(hs, Header{"Authorization", Algorithm + " Credential=" + c.AccessKeyID + ",SignedHeaders=" + signed + ",Signature=" + sig})
}

// SignHTTP signs req in place through Sign: it signs host (req.Host, else
// req.URL.Host), content-type when present and every x-acs-* header the
// caller set, replaces the ones Sign adds, and sets Authorization. The
// query is canonicalized from req.URL.RawQuery, so the caller may build it
// in any order; bodySHA256 is the body's hex SHA-256 (empty: no body).
func SignHTTP(req *http.Request, bodySHA256 string, c Credentials, t time.Time, nonce string) error {
	q, err := url.ParseQuery(req.URL.RawQuery)
	if err != nil {
		return errors.New("acs3: the request's query is not a valid query string")
	}
	for _, h := range []string{"X-Acs-Date", "X-Acs-Signature-Nonce", "X-Acs-Content-Sha256", "X-Acs-Security-Token", "Authorization"} {
		req.Header.Del(h)
	}
	host := req.Host
	if host == "" {
		host = req.URL.Host
	}
	hs := []Header{{Name: "host", Value: host}}
	for name, vs := range req.Header {
		ln := strings.ToLower(name)
		if (strings.HasPrefix(ln, "x-acs-") || ln == "content-type") && len(vs) > 0 {
			hs = append(hs, Header{Name: name, Value: vs[0]})
		}
	}
	r := Request{Method: req.Method, Path: req.URL.EscapedPath(), Query: CanonicalQuery(q), Headers: hs, BodySHA256: bodySHA256}
	for _, h := range Sign(r, c, t, nonce) {
		req.Header.Set(h.Name, h.Value)
	}
	return nil
}
