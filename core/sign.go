package core

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
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

// Header is one header taking part in a signature.
type Header struct {
	Name  string
	Value string
}

// SignInput is everything the V3 signature covers, except the secret.
type SignInput struct {
	Method     string   // HTTP method, e.g. "POST"
	Path       string   // canonical URI; "/" for RPC APIs (empty means "/")
	Query      string   // canonical query string, see CanonicalQuery
	Headers    []Header // signed headers in any order and case
	BodySHA256 string   // hex SHA-256 of the body (EmptySHA256 for none)
}

// Sign returns the hex V3 signature of in under secret and the signed-header
// list (lower-case names joined by ";"):
//
//	Signature = Hex(HMAC-SHA256(secret, StringToSign(CanonicalRequest)))
//
// It is the one signing function: the Client's requests, SignRequest and
// core/dypnstest's verification all go through it. It is a pure function of
// its arguments and leaves in.Headers as it found them.
func Sign(in SignInput, secret string) (signature, signedHeaders string) {
	var harr [8]Header
	var buf [1024]byte
	canonical, signed := in.appendCanonicalRequest(buf[:0], sortedLower(harr[:0], in.Headers))
	var sts [len(Algorithm) + 1 + 2*sha256.Size]byte
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(appendStringToSign(sts[:0], canonical))
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

// appendCanonicalRequest appends the canonical request of in with the
// headers hs (lower-case, sorted) to b. It returns the extended slice and
// the part of it that is the signed-header list.
func (in *SignInput) appendCanonicalRequest(b []byte, hs []Header) (canonical, signed []byte) {
	b = append(b, in.Method...)
	b = append(b, '\n')
	if in.Path == "" {
		b = append(b, '/')
	} else {
		b = append(b, in.Path...)
	}
	b = append(b, '\n')
	b = append(b, in.Query...)
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
	b = append(b, in.BodySHA256...)
	return b, b[start:end]
}

// appendStringToSign appends the string to sign of canonical to b.
func appendStringToSign(b, canonical []byte) []byte {
	sum := sha256.Sum256(canonical)
	b = append(b, Algorithm+"\n"...)
	return hex.AppendEncode(b, sum[:])
}

// authorizationHeader formats the Authorization header value.
func authorizationHeader(accessKeyID, signedHeaders, signature string) string {
	return Algorithm + " Credential=" + accessKeyID + ",SignedHeaders=" + signedHeaders + ",Signature=" + signature
}

// SignRequest signs r in place with V3: it sets x-acs-date (from t, in UTC),
// x-acs-signature-nonce, x-acs-content-sha256 (bodySHA256, or EmptySHA256
// when empty), x-acs-security-token for STS credentials, and Authorization.
// It signs host, content-type (when present) and every x-acs-* header.
// The request's query is canonicalized from r.URL.RawQuery, so the caller
// may build it in any order. SignRequest is a pure function of its inputs.
func SignRequest(r *http.Request, bodySHA256 string, c Credentials, t time.Time, nonce string) error {
	if bodySHA256 == "" {
		bodySHA256 = EmptySHA256
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return &ParamError{Field: "query", Reason: "is not a valid query string"}
	}
	r.Header.Set("x-acs-date", t.UTC().Format(DateFormat))
	r.Header.Set("x-acs-signature-nonce", nonce)
	r.Header.Set("x-acs-content-sha256", bodySHA256)
	if c.SecurityToken != "" {
		r.Header.Set("x-acs-security-token", c.SecurityToken)
	} else {
		r.Header.Del("x-acs-security-token")
	}
	host := r.Host
	if host == "" {
		host = r.URL.Host
	}
	hs := []Header{{Name: "host", Value: host}}
	for name, vs := range r.Header {
		ln := strings.ToLower(name)
		if (strings.HasPrefix(ln, "x-acs-") || ln == "content-type") && len(vs) > 0 {
			hs = append(hs, Header{Name: ln, Value: vs[0]})
		}
	}
	sig, signed := Sign(SignInput{
		Method: r.Method, Path: r.URL.EscapedPath(), Query: CanonicalQuery(q),
		Headers: hs, BodySHA256: bodySHA256,
	}, c.AccessKeySecret)
	r.Header.Set("Authorization", authorizationHeader(c.AccessKeyID, signed, sig))
	return nil
}

// CanonicalQuery encodes v for the V3 canonical request: each name and value
// percent-encoded (percentEncode), pairs sorted by encoded name then value,
// joined by "&", and "name=" for an empty value.
func CanonicalQuery(v url.Values) string {
	ps := make([]param, 0, len(v))
	for k, vs := range v {
		for _, s := range vs {
			ps = append(ps, param{k, s})
		}
	}
	return string(appendQuery(nil, ps))
}

// param is one API parameter, unencoded.
type param struct{ k, v string }

// appendQuery appends the canonical query for ps to b; ps is reordered.
// Names and values are encoded as they are appended; a name that needs
// encoding (never one of the API's) is encoded once up front so the sort
// sees encoded names.
func appendQuery(b []byte, ps []param) []byte {
	for i := range ps {
		ps[i].k = percentEncode(ps[i].k)
	}
	slices.SortFunc(ps, func(a, b param) int {
		if c := strings.Compare(a.k, b.k); c != 0 {
			return c
		}
		return strings.Compare(percentEncode(a.v), percentEncode(b.v))
	})
	for i, p := range ps {
		if i > 0 {
			b = append(b, '&')
		}
		b = append(b, p.k...)
		b = append(b, '=')
		b = appendPercentEncoded(b, p.v)
	}
	return b
}

// unreserved reports whether c stays literal in RFC 3986 encoding.
func unreserved(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '-' || c == '_' || c == '.' || c == '~'
}

// percentEncode encodes s as RFC 3986 over UTF-8: only A-Za-z0-9-_.~ stay
// literal, every other byte becomes %XX with upper-case hex (space is %20,
// "*" is %2A, "+" is %2B). It returns s itself when nothing needs encoding.
func percentEncode(s string) string {
	for i := 0; i < len(s); i++ {
		if !unreserved(s[i]) {
			return string(appendPercentEncoded(make([]byte, 0, len(s)+16), s))
		}
	}
	return s
}

func appendPercentEncoded(b []byte, s string) []byte {
	const hexdig = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		c := s[i]
		if unreserved(c) {
			b = append(b, c)
		} else {
			b = append(b, '%', hexdig[c>>4], hexdig[c&15])
		}
	}
	return b
}
