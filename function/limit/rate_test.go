package limit

import (
	"strings"
	"testing"
	"time"
)

func TestParseRate(t *testing.T) {
	good := []struct {
		in   string
		want Rate
	}{
		{"5/1h", Rate{5, time.Hour}},
		{"20/1h", Rate{20, time.Hour}},
		{"1000/24h", Rate{1000, 24 * time.Hour}},
		{"5/15m", Rate{5, 15 * time.Minute}},
		{"30/5m", Rate{30, 5 * time.Minute}},
		{"1/60s", Rate{1, time.Minute}},
		{"3/1h30m", Rate{3, 90 * time.Minute}},
		{"10/500ms", Rate{10, 500 * time.Millisecond}},
		{"5/h", Rate{5, time.Hour}},
		{"5/m", Rate{5, time.Minute}},
		{"5/s", Rate{5, time.Second}},
		{"5/d", Rate{5, 24 * time.Hour}},
		{"5/1d", Rate{5, 24 * time.Hour}},
		{"5/7d", Rate{5, 7 * 24 * time.Hour}},
		{" 5 / 1h ", Rate{5, time.Hour}},
		{"007/1h", Rate{7, time.Hour}},
		{"1000000/1s", Rate{MaxN, time.Second}},
	}
	for _, tc := range good {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseRate(tc.in)
			if err != nil {
				t.Fatalf("ParseRate(%q): %v", tc.in, err)
			}
			if got != tc.want {
				t.Errorf("ParseRate(%q) = %+v, want %+v", tc.in, got, tc.want)
			}
		})
	}

	bad := []struct{ in, why string }{
		{"", "missing '/'"},
		{"5", "missing '/'"},
		{"5h", "missing '/'"},
		{"/1h", "whole number"},
		{"0/1h", "at least 1"},
		{"-1/1h", "whole number"},
		{"+5/1h", "whole number"},
		{"1.5/1h", "whole number"},
		{"x/1h", "whole number"},
		{"99999999999999999999/1h", "at most"},
		{"1000001/1h", "at most"},
		{"5/", "missing duration"},
		{"5/0s", "positive"},
		{"5/0", "positive"},
		{"5/-1h", "positive"},
		{"5/1", "bad duration"},
		{"5/1x", "bad duration"},
		{"5/1.5d", "whole number"},
		{"5/99999999999d", "too many days"},
		{"5/1us", "milliseconds"},
		{"5/1.5ms", "milliseconds"},
		{"5/1h/2", "bad duration"},
	}
	for _, tc := range bad {
		t.Run("bad/"+tc.in, func(t *testing.T) {
			got, err := ParseRate(tc.in)
			if err == nil {
				t.Fatalf("ParseRate(%q) = %+v, want error", tc.in, got)
			}
			msg := err.Error()
			if !strings.Contains(msg, `"`+tc.in+`"`) {
				t.Errorf("error %q does not quote the input", msg)
			}
			if !strings.Contains(msg, tc.why) {
				t.Errorf("error %q does not say %q", msg, tc.why)
			}
		})
	}
}

func TestRateString(t *testing.T) {
	tests := []struct {
		r    Rate
		want string
	}{
		{Rate{5, time.Hour}, "5/1h"},
		{Rate{1000, 24 * time.Hour}, "1000/24h"},
		{Rate{5, 15 * time.Minute}, "5/15m"},
		{Rate{3, 90 * time.Minute}, "3/1h30m"},
		{Rate{2, 90 * time.Second}, "2/1m30s"},
		{Rate{1, time.Hour + time.Second}, "1/1h0m1s"},
		{Rate{10, 500 * time.Millisecond}, "10/500ms"},
		{Rate{10, 1500 * time.Millisecond}, "10/1.5s"},
		{Rate{}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			if got := tc.r.String(); got != tc.want {
				t.Fatalf("String() = %q, want %q", got, tc.want)
			}
			if tc.r.IsZero() {
				return
			}
			back, err := ParseRate(tc.want)
			if err != nil {
				t.Fatalf("ParseRate(String()): %v", err)
			}
			if back != tc.r {
				t.Errorf("round trip gave %+v, want %+v", back, tc.r)
			}
		})
	}
}

func TestRateStringRoundTrip(t *testing.T) {
	for _, in := range []string{"5/1h", "5/h", "5/d", "7/7d", "1/1ms", "3/2h45m10s", "9/36h", "4/1.25s"} {
		r, err := ParseRate(in)
		if err != nil {
			t.Fatalf("ParseRate(%q): %v", in, err)
		}
		back, err := ParseRate(r.String())
		if err != nil || back != r {
			t.Errorf("%q -> %q -> %+v, %v; want %+v", in, r.String(), back, err, r)
		}
	}
}

func TestRateDecode(t *testing.T) {
	var r Rate
	if err := r.Decode("5/15m"); err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if want := (Rate{5, 15 * time.Minute}); r != want {
		t.Fatalf("Decode gave %+v, want %+v", r, want)
	}
	if err := r.Decode("0/1h"); err == nil {
		t.Fatal("Decode(\"0/1h\") succeeded")
	}
	if want := (Rate{5, 15 * time.Minute}); r != want {
		t.Errorf("failed Decode changed the rate to %+v", r)
	}
	// The envconfig.Decoder shape, without importing envconfig.
	var _ interface{ Decode(string) error } = &r
}

func TestRateIsZero(t *testing.T) {
	if !(Rate{}).IsZero() {
		t.Error("Rate{}.IsZero() = false")
	}
	for _, r := range []Rate{{N: 1}, {Per: time.Second}, {1, time.Second}} {
		if r.IsZero() {
			t.Errorf("%+v.IsZero() = true", r)
		}
	}
}
