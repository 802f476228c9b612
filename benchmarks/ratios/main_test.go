package main

import (
	"strings"
	"testing"
)

const sample = `goos: linux
BenchmarkSign/core-2         	   53700	     22000 ns/op	    4249 B/op	      58 allocs/op
BenchmarkSign/v3sdk-2        	   24154	     44000 ns/op	    7144 B/op	      96 allocs/op
BenchmarkSign/v1sdk-2        	   12501	     88000 ns/op	   12457 B/op	      116 allocs/op
BenchmarkSend/core-2  	     300	    534849 ns/op	    100000 cpu-ns/op	    8922 B/op	     114 allocs/op
BenchmarkSend/v3sdk-2 	     300	    666030 ns/op	    200000 cpu-ns/op	   32318 B/op	     464 allocs/op
BenchmarkSend/v1sdk-2 	     300	    508389 ns/op	    400000 cpu-ns/op	   33593 B/op	     299 allocs/op
BenchmarkSend200/core-2         	    1000	    218177 ns/op	      4000 calls/s	         0 conns/1000	     83733 cpu-ns/op	    8906 B/op	     113 allocs/op
BenchmarkSend200/v3sdk-2        	    1000	    660952 ns/op	      1000 calls/s	       746.0 conns/1000	    328281 cpu-ns/op	   40426 B/op	     494 allocs/op
BenchmarkSend200/v1sdk-2        	    1000	    493882 ns/op	      2000 calls/s	       797.0 conns/1000	    330758 cpu-ns/op	   42669 B/op	     336 allocs/op
BenchmarkFunction/smsverify/http-2         	    1000	    418221 ns/op	      2391 calls/s	        37.00 conns/1000	    120000 cpu-ns/op
BenchmarkFunction/smsverify/tls-2          	    1000	    423530 ns/op	      2361 calls/s	         0 conns/1000	    181093 cpu-ns/op	     13600 srv-B/op	       147.5 srv-allocs/op
BenchmarkFunction/v3sdk/http-2             	    1000	    706814 ns/op	      1415 calls/s	       915.0 conns/1000	    464913 cpu-ns/op
BenchmarkFunction/v3sdk/tls-2              	    1000	   1860598 ns/op	       537.5 calls/s	       803.0 conns/1000	    942766 cpu-ns/op	     97600 srv-B/op	       846.0 srv-allocs/op
BenchmarkFunction/floor/http-2             	    1000	    268774 ns/op	      3721 calls/s	       176.0 conns/1000	    100000 cpu-ns/op
BenchmarkFunction/floor/tls-2              	    1000	    240790 ns/op	      4153 calls/s	         0 conns/1000	    181093 cpu-ns/op	     14700 srv-B/op	       151.0 srv-allocs/op
PASS
`

// wantTable requires the table of input to hold every line of want.
func wantTable(t *testing.T, input string, want ...string) {
	t.Helper()
	res, err := parse(strings.NewReader(input))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := table(&b, res); err != nil {
		t.Fatal(err)
	}
	for _, w := range want {
		if !strings.Contains(b.String(), w) {
			t.Errorf("table lacks %q:\n%s", w, b.String())
		}
	}
}

func TestTable(t *testing.T) {
	wantTable(t, sample,
		"| Sign one request: time | 22.0 µs | 44.0 µs | 0.50× | V1 SDK: 88.0 µs | 0.25× |",
		"| Send, 200 goroutines: calls/s | 4000/s | 1000/s | 4.00× | V1 SDK: 2000/s | 2.00× |",
		"| Send, 200 goroutines: new connections per 1,000 calls | 0.0 | 746.0 | — | V1 SDK: 797.0 | — |",
		"| Function, plain HTTP upstream: CPU per request | 120.0 µs | 464.9 µs | 0.26× | floor: 100.0 µs | 1.20× |",
		"| Function, plain HTTP upstream: new upstream connections per 1,000 | 37.0 | 915.0 | 0.04× | floor: 176.0 | 0.21× |",
		"| Function, TLS upstream: requests/s | 2361/s | 538/s | 4.39× | floor: 4153/s | 0.57× |",
		"| Function, TLS upstream: heap allocated per request | 13.6 KB | 97.6 KB | 0.14× | floor: 14.7 KB | 0.93× |",
		"| Function, TLS upstream: heap allocations per request | 148 | 846 | 0.17× | floor: 151 | 0.98× |",
		"- Plain HTTP upstream: function CPU per request ÷ the floor's: 1.20×.",
		"- Guard, TLS upstream: function CPU per request ≤ 1.25× the floor's: 1.00×, met.",
		"- Guard, TLS upstream: function requests/s ≥ 4× the V3 SDK's: 4.39×, met.",
	)
}

func TestTableMissing(t *testing.T) {
	res, _ := parse(strings.NewReader("BenchmarkSign/core-2 10 5 ns/op\n"))
	if err := table(new(strings.Builder), res); err == nil || !strings.Contains(err.Error(), "Sign/v3sdk") {
		t.Fatalf("err = %v, want a missing result named", err)
	}
}

// TestTableMedians: with several runs each figure is its median, and the
// guard is judged on the median of the per-run ratios, with their spread.
func TestTableMedians(t *testing.T) {
	more := sample + `BenchmarkFunction/smsverify/http-2 1000 1 ns/op 140000 cpu-ns/op
BenchmarkFunction/smsverify/tls-2 1000 1 ns/op 200000 cpu-ns/op
BenchmarkFunction/floor/http-2 1000 1 ns/op 100000 cpu-ns/op
BenchmarkFunction/floor/tls-2 1000 1 ns/op 190000 cpu-ns/op
BenchmarkFunction/smsverify/http-2 1000 1 ns/op 100000 cpu-ns/op
BenchmarkFunction/smsverify/tls-2 1000 1 ns/op 190000 cpu-ns/op
BenchmarkFunction/floor/http-2 1000 1 ns/op 100000 cpu-ns/op
BenchmarkFunction/floor/tls-2 1000 1 ns/op 200000 cpu-ns/op
`
	wantTable(t, more,
		"| Function, plain HTTP upstream: CPU per request | 120.0 µs | 464.9 µs | 0.26× | floor: 100.0 µs | 1.20× |",
		"- Plain HTTP upstream: function CPU per request ÷ the floor's: 1.20× (median of 3 runs, which gave 1.00–1.40×).",
		"- Guard, TLS upstream: function CPU per request ≤ 1.25× the floor's: 1.00× (median of 3 runs, which gave 0.95–1.05×), met.",
	)
}

// TestGuardNotMet: a function using more than 1.25× the floor's CPU over
// TLS is reported as NOT met.
func TestGuardNotMet(t *testing.T) {
	slow := strings.ReplaceAll(sample, "    181093 cpu-ns/op	     14700 srv-B/op",
		"     90546 cpu-ns/op	     14700 srv-B/op")
	if slow == sample {
		t.Fatal("the sample has no floor TLS line to change")
	}
	wantTable(t, slow, "- Guard, TLS upstream: function CPU per request ≤ 1.25× the floor's: 2.00×, NOT met.")
}
