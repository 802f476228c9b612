package acs3

import (
	"net/url"
	"slices"
	"strings"
	"testing"
)

// FuzzCanonicalQuery: the canonical query decodes back to the input, uses
// only unreserved characters and escapes, and is sorted.
func FuzzCanonicalQuery(f *testing.F) {
	for _, s := range []string{"", " ", "*", "~", "+", "/", "=", "&", "%", "速通互联验证码", `{"code":"##code##"}`, "\x00\xff"} {
		f.Add("k", s, "k2", s)
	}
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2 string) {
		in := url.Values{}
		in.Add(k1, v1)
		in.Add(k2, v2)
		q := CanonicalQuery(in)
		for i := 0; i < len(q); i++ {
			if c := q[i]; !unreserved(c) && c != '%' && c != '=' && c != '&' {
				t.Fatalf("literal %q in %q", c, q)
			}
		}
		back, err := url.ParseQuery(q)
		if err != nil {
			t.Fatalf("ParseQuery(%q): %v", q, err)
		}
		for k, vs := range in {
			got, want := slices.Clone(back[k]), slices.Clone(vs)
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Fatalf("%q: got %q, want %q", k, got, want)
			}
		}
		pairs := strings.Split(q, "&")
		if !slices.IsSorted(pairs) && !sortedByName(pairs) {
			t.Fatalf("not sorted: %q", q)
		}
	})
}

func sortedByName(pairs []string) bool {
	return slices.IsSortedFunc(pairs, func(a, b string) int {
		ak, av, _ := strings.Cut(a, "=")
		bk, bv, _ := strings.Cut(b, "=")
		if c := strings.Compare(ak, bk); c != 0 {
			return c
		}
		return strings.Compare(av, bv)
	})
}
