package acs3

import (
	"net/url"
	"slices"
	"strings"
)

// Param is one API parameter, unencoded.
type Param struct{ Name, Value string }

// CanonicalQuery encodes v for the canonical request: each name and value
// percent-encoded (RFC 3986: only A-Za-z0-9-_.~ stay literal, every other
// byte of the UTF-8 becomes %XX), pairs sorted by encoded name then value,
// joined by "&", and "name=" for an empty value.
func CanonicalQuery(v url.Values) string {
	ps := make([]Param, 0, len(v))
	for k, vs := range v {
		for _, s := range vs {
			ps = append(ps, Param{k, s})
		}
	}
	return string(AppendQuery(nil, ps))
}

// AppendQuery appends CanonicalQuery's encoding of ps to b; ps is reordered
// and its names encoded in place.
func AppendQuery(b []byte, ps []Param) []byte {
	for i := range ps {
		ps[i].Name = percentEncode(ps[i].Name)
	}
	slices.SortFunc(ps, func(a, b Param) int {
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		return strings.Compare(percentEncode(a.Value), percentEncode(b.Value))
	})
	for i, p := range ps {
		if i > 0 {
			b = append(b, '&')
		}
		b = append(b, p.Name...)
		b = append(b, '=')
		b = appendPercentEncoded(b, p.Value)
	}
	return b
}

// unreserved reports whether c stays literal in RFC 3986 encoding.
func unreserved(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '-' || c == '_' || c == '.' || c == '~'
}

// percentEncode encodes s as RFC 3986 over UTF-8 (space is %20, "*" is
// %2A, "+" is %2B). It returns s itself when nothing needs encoding.
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
