// Package jsonobj reads the members of a JSON object in place, without
// decoding it. The hot paths (every request body, every answer from
// Alibaba) read a few named members of a small object, where
// encoding/json's reflection costs more than the reading; they check the
// text with json.Valid first and fall back to json.Unmarshal for anything
// out of the ordinary, so that the result is always json.Unmarshal's.
package jsonobj

import (
	"encoding/json"
	"iter"
	"strings"
	"unicode/utf8"
)

// IsObject reports whether the valid JSON text s is an object.
func IsObject(s string) bool {
	i := skipSpace(s, 0)
	return i < len(s) && s[i] == '{'
}

// Members yields the key (still quoted) and the value text of each member
// of the JSON object s, in order. s must be valid JSON (json.Valid) and an
// object (IsObject).
func Members(s string) iter.Seq2[string, string] {
	return func(yield func(key, value string) bool) {
		i := skipSpace(s, 0) + 1 // past the '{'
		for {
			i = skipSpace(s, i)
			switch s[i] {
			case '}':
				return
			case ',':
				i = skipSpace(s, i+1)
			}
			k := endOfValue(s, i)
			key := s[i:k]
			i = skipSpace(s, skipSpace(s, k)+1) // past the colon
			v := endOfValue(s, i)
			if !yield(key, s[i:v]) {
				return
			}
			i = v
		}
	}
}

// Key returns the string the quoted JSON key decodes to, as json.Unmarshal
// decodes it (escapes resolved, invalid UTF-8 replaced).
func Key(quoted string) string {
	if s, ok := PlainString(quoted); ok {
		return s
	}
	var s string
	_ = json.Unmarshal([]byte(quoted), &s) // valid JSON text: a string always decodes
	return s
}

// PlainString returns the string the JSON value v holds when v is a string
// without escapes and in valid UTF-8: then its text between the quotes is
// what json.Unmarshal would give. ok is false for anything else.
func PlainString(v string) (s string, ok bool) {
	if len(v) < 2 || v[0] != '"' || strings.IndexByte(v, '\\') >= 0 || !utf8.ValidString(v) {
		return "", false
	}
	return v[1 : len(v)-1], true
}

// SetString sets *dst as json.Unmarshal would from the JSON value v when v
// is a plain string (PlainString), and leaves it for null, as
// json.Unmarshal does. For any other value it reports false and changes
// nothing.
func SetString(dst *string, v string) bool {
	if v == "null" {
		return true
	}
	s, ok := PlainString(v)
	if ok {
		*dst = s
	}
	return ok
}

// skipSpace returns the index of the first byte at or after i in s that is
// not JSON white space.
func skipSpace(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
		i++
	}
	return i
}

// endOfValue returns the index just past the JSON value starting at i in
// the valid JSON text s.
func endOfValue(s string, i int) int {
	depth := 0
	for ; i < len(s); i++ {
		switch s[i] {
		case '"':
			for i++; s[i] != '"'; i++ {
				if s[i] == '\\' {
					i++
				}
			}
		case '{', '[':
			depth++
			continue
		case '}', ']':
			if depth == 0 {
				return i
			}
			depth--
		case ',', ':', ' ', '\t', '\n', '\r':
			if depth == 0 {
				return i
			}
			continue
		default:
			continue
		}
		if depth == 0 {
			return i + 1
		}
	}
	return i
}
