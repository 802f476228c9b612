// Command ratios reads `go test -bench` output of the benchmarks module on
// standard input and prints one Markdown table: smsverify (core for the
// client rows, the whole function for the function rows) against the
// official V3 SDK, and against the V1 SDK (client rows) or the net/http floor
// (function rows), each with the ratio smsverify ÷ other. When the input
// holds several runs (-count), each figure is the median of its runs, and
// the guard lines give the median and the spread of the per-run ratios.
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// results maps "Bench/impl[/transport]" (without the -GOMAXPROCS suffix) to
// unit → the values of its runs, in order.
type results map[string]map[string][]float64

// median is the median of vs (the mean of the middle two for an even count).
func median(vs []float64) float64 {
	s := slices.Sorted(slices.Values(vs))
	n := len(s)
	if n == 0 {
		return 0
	}
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

var line = regexp.MustCompile(`^(Benchmark\S+?)(?:-\d+)?\s+\d+\s+(.*)$`)

func parse(r io.Reader) (results, error) {
	res := results{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		m := line.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		f := strings.Fields(m[2])
		name := strings.TrimPrefix(m[1], "Benchmark")
		if res[name] == nil {
			res[name] = map[string][]float64{}
		}
		for i := 0; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				return nil, fmt.Errorf("%q: %v", sc.Text(), err)
			}
			res[name][f[i+1]] = append(res[name][f[i+1]], v)
		}
	}
	return res, sc.Err()
}

// row is one line of the table: a metric of a benchmark for three
// implementations.
type row struct {
	label       string
	bench, unit string
	impls       [3]string // ours, V3 SDK, third
	suffix      string    // appended to the implementation names, e.g. "/tls"
}

func clientRow(label, bench, unit string) row {
	return row{label: label, bench: bench, unit: unit, impls: [3]string{"core", "v3sdk", "v1sdk"}}
}

func functionRow(label, unit, transport string) row {
	return row{label: label, bench: "Function", unit: unit, impls: [3]string{"smsverify", "v3sdk", "floor"}, suffix: "/" + transport}
}

var rows = []row{
	clientRow("Sign one request: time", "Sign", "ns/op"),
	clientRow("Sign one request: allocations", "Sign", "allocs/op"),
	clientRow("Send, one at a time: client CPU per call", "Send", "cpu-ns/op"),
	clientRow("Send, one at a time: allocations per call", "Send", "allocs/op"),
	clientRow("Send, 200 goroutines: calls/s", "Send200", "calls/s"),
	clientRow("Send, 200 goroutines: client CPU per call", "Send200", "cpu-ns/op"),
	clientRow("Send, 200 goroutines: new connections per 1,000 calls", "Send200", "conns/1000"),
	functionRow("Function, plain HTTP upstream: requests/s", "calls/s", "http"),
	functionRow("Function, plain HTTP upstream: CPU per request", "cpu-ns/op", "http"),
	functionRow("Function, plain HTTP upstream: new upstream connections per 1,000", "conns/1000", "http"),
	functionRow("Function, TLS upstream: requests/s", "calls/s", "tls"),
	functionRow("Function, TLS upstream: CPU per request", "cpu-ns/op", "tls"),
	functionRow("Function, TLS upstream: new upstream connections per 1,000", "conns/1000", "tls"),
	functionRow("Function, TLS upstream: heap allocated per request", "srv-B/op", "tls"),
	functionRow("Function, TLS upstream: heap allocations per request", "srv-allocs/op", "tls"),
}

func format(v float64, unit string) string {
	switch unit {
	case "ns/op", "cpu-ns/op":
		return fmt.Sprintf("%.1f µs", v/1000)
	case "calls/s":
		return fmt.Sprintf("%.0f/s", v)
	case "conns/1000":
		return fmt.Sprintf("%.1f", v)
	case "srv-B/op":
		return fmt.Sprintf("%.1f KB", v/1000)
	case "srv-allocs/op":
		return fmt.Sprintf("%.0f", v)
	default:
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
}

func ratio(a, b float64) string {
	if b == 0 || a == 0 {
		return "—"
	}
	if r := a / b; r < 0.01 {
		return "<0.01×"
	}
	return fmt.Sprintf("%.2f×", a/b)
}

func table(w io.Writer, res results) error {
	fmt.Fprintln(w, "| Measure | smsverify | official V3 SDK | smsverify ÷ V3 SDK | V1 SDK · stdlib floor | smsverify ÷ that |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|")
	for _, r := range rows {
		var v [3]float64
		for i, impl := range r.impls {
			m, ok := res[r.bench+"/"+impl+r.suffix]
			if !ok {
				return fmt.Errorf("no result for Benchmark%s/%s%s", r.bench, impl, r.suffix)
			}
			runs, ok := m[r.unit]
			if !ok {
				return fmt.Errorf("Benchmark%s/%s%s reports no %s", r.bench, impl, r.suffix, r.unit)
			}
			v[i] = median(runs)
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s: %s | %s |\n", r.label,
			format(v[0], r.unit), format(v[1], r.unit), ratio(v[0], v[1]),
			map[string]string{"v1sdk": "V1 SDK", "floor": "floor"}[r.impls[2]], format(v[2], r.unit), ratio(v[0], v[2]))
	}
	// The guards, over TLS as against Alibaba: the whole function's CPU per
	// request within 1.25× the floor's, and its requests/s at least 4× the
	// V3 SDK's, each judged on the median of the runs' ratios (each run
	// measures all of them in the same minute, so the machine's drift
	// cancels out). Plain HTTP is shown for comparison, without a target.
	fmt.Fprintln(w)
	ratioLine(w, "Plain HTTP upstream: function CPU per request ÷ the floor's",
		res["Function/smsverify/http"]["cpu-ns/op"], res["Function/floor/http"]["cpu-ns/op"], nil)
	ratioLine(w, "Guard, TLS upstream: function CPU per request ≤ 1.25× the floor's",
		res["Function/smsverify/tls"]["cpu-ns/op"], res["Function/floor/tls"]["cpu-ns/op"], func(m float64) bool { return m <= 1.25 })
	ratioLine(w, "Guard, TLS upstream: function requests/s ≥ 4× the V3 SDK's",
		res["Function/smsverify/tls"]["calls/s"], res["Function/v3sdk/tls"]["calls/s"], func(m float64) bool { return m >= 4 })
	return nil
}

// ratioLine prints the median of the per-run ratios a[i]/b[i] and their
// spread, with the verdict of ok when there is one.
func ratioLine(w io.Writer, label string, a, b []float64, ok func(float64) bool) {
	var rs []float64
	for i := range min(len(a), len(b)) {
		rs = append(rs, a[i]/b[i])
	}
	m := median(rs)
	spread := ""
	if len(rs) > 1 {
		spread = fmt.Sprintf(" (median of %d runs, which gave %.2f–%.2f×)", len(rs), slices.Min(rs), slices.Max(rs))
	}
	verdict := ""
	switch {
	case ok == nil:
	case ok(m):
		verdict = ", met"
	default:
		verdict = ", NOT met"
	}
	fmt.Fprintf(w, "- %s: %.2f×%s%s.\n", label, m, spread, verdict)
}

func main() {
	res, err := parse(os.Stdin)
	if err == nil {
		err = table(os.Stdout, res)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "ratios:", err)
		os.Exit(1)
	}
}
