package limit

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// MaxN is the largest event count a Rate may allow.
const MaxN = 1_000_000

// ExactN is the largest N a window counts exactly. A window keeps its
// events as counts per time stamp: to the millisecond when N is at most
// ExactN, so it holds at most N stamps; for a larger N each event's time is
// rounded up to the end of its bucket, one of ExactN buckets spanning Per,
// so it holds at most ExactN+2 stamps whatever N. Rounding up only ever
// holds an event longer: a window never counts more than N events in any
// span of Per, and a slot comes back at most Per/ExactN (1% of Per) later
// than an exact log would give it back.
const ExactN = 100

// Rate is N events per Per, written "N/duration": "5/1h", "20/1h",
// "1000/24h", "5/15m", "30/5m".
//
// The duration is anything time.ParseDuration accepts, a whole number of
// days such as "1d", or a bare unit meaning one of it: "5/h" is "5/1h",
// likewise "s", "m", "d". Per must be a positive whole number of
// milliseconds, the stores' resolution.
type Rate struct {
	N   int
	Per time.Duration
}

// ParseRate parses a rate written "N/duration" (see Rate).
func ParseRate(s string) (Rate, error) {
	bad := func(why string) (Rate, error) {
		return Rate{}, fmt.Errorf("limit: invalid rate %q: %s (want N/duration, e.g. \"5/1h\")", s, why)
	}
	num, dur, ok := strings.Cut(strings.TrimSpace(s), "/")
	if !ok {
		return bad("missing '/'")
	}
	num, dur = strings.TrimSpace(num), strings.TrimSpace(dur)
	if num == "" || strings.TrimLeft(num, "0123456789") != "" {
		return bad("N must be a whole number")
	}
	n, err := strconv.Atoi(num)
	if err != nil || n > MaxN {
		return bad(fmt.Sprintf("N must be at most %d", MaxN))
	}
	if n < 1 {
		return bad("N must be at least 1")
	}
	per, err := parsePer(dur)
	if err != nil {
		return bad(err.Error())
	}
	r := Rate{N: n, Per: per}
	if err := r.validate(); err != nil {
		return bad(err.Error())
	}
	return r, nil
}

// parsePer parses the duration half of a rate.
func parsePer(s string) (time.Duration, error) {
	if s == "" {
		return 0, fmt.Errorf("missing duration")
	}
	if c := s[0]; c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' {
		s = "1" + s // bare unit: "h" is "1h"
	}
	if days, ok := strings.CutSuffix(s, "d"); ok {
		if days == "" || strings.TrimLeft(days, "0123456789") != "" {
			return 0, fmt.Errorf("days must be a whole number")
		}
		d, err := strconv.ParseInt(days, 10, 64)
		if err != nil || d > int64(1<<63-1)/int64(24*time.Hour) {
			return 0, fmt.Errorf("too many days")
		}
		return time.Duration(d) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("bad duration: %s", strings.TrimPrefix(err.Error(), "time: "))
	}
	return d, nil
}

// validate reports whether r can be enforced by a store.
func (r Rate) validate() error {
	switch {
	case r.N < 1:
		return fmt.Errorf("N must be at least 1, got %d", r.N)
	case r.N > MaxN:
		return fmt.Errorf("N must be at most %d, got %d", MaxN, r.N)
	case r.Per <= 0:
		return fmt.Errorf("period must be positive, got %v", r.Per)
	case r.Per%time.Millisecond != 0:
		return fmt.Errorf("period must be a whole number of milliseconds, got %v", r.Per)
	}
	return nil
}

// widthMs is the bucket width of r's window in milliseconds: 1 (exact) up
// to ExactN events, else Per/ExactN rounded up (see ExactN).
func (r Rate) widthMs() int64 {
	if r.N <= ExactN {
		return 1
	}
	per := r.Per.Milliseconds()
	return (per + ExactN - 1) / ExactN
}

// stampMs is the time an event at nowMs is counted at in a window whose
// buckets are widthMs wide: the last millisecond of its bucket.
func stampMs(nowMs, widthMs int64) int64 {
	return nowMs - (nowMs%widthMs+widthMs)%widthMs + widthMs - 1
}

// Decode parses s into r. It implements envconfig.Decoder, so a Rate can be
// a field of an envconfig-read configuration. On error r is unchanged.
func (r *Rate) Decode(s string) error {
	v, err := ParseRate(s)
	if err != nil {
		return err
	}
	*r = v
	return nil
}

// String formats r as "N/duration", for example "5/1h" or "1000/24h". The
// result parses back to r with ParseRate. The zero Rate formats as "".
func (r Rate) String() string {
	if r.IsZero() {
		return ""
	}
	d := r.Per.String()
	if strings.HasSuffix(d, "m0s") {
		d = d[:len(d)-2]
	}
	if strings.HasSuffix(d, "h0m") {
		d = d[:len(d)-2]
	}
	return strconv.Itoa(r.N) + "/" + d
}

// IsZero reports whether r is the zero Rate (unset).
func (r Rate) IsZero() bool { return r == Rate{} }
