#!/usr/bin/env bash
# Compares smsverify with Alibaba Cloud's official Go SDKs in one run on this
# machine and prints the Markdown table docs/performance.md shows.
# BENCHTIME (default 1s) is go test's -benchtime. The whole set runs COUNT
# times (default 5), one round after the other, so that each round measures
# every implementation within the same minute; each figure is the median of
# its COUNT runs, since one run's CPU figures on a shared 2-CPU machine vary
# by 10-20%. The default run takes about five minutes on 2 cores.
# Everything runs on loopback; nothing reaches the internet. BenchmarkColdStart
# (docs/performance.md, "The first request after a cold start") is not part
# of this table: it needs the Lambda RIE and reports latencies, not CPU.
set -euo pipefail
cd "$(dirname "$0")"

out=$(mktemp)
go test -c -o "$out.test" .
trap 'rm -f "$out" "$out.test"' EXIT
for _ in $(seq "${COUNT:-5}"); do
	"$out.test" -test.run '^$' -test.bench '^Benchmark(Sign|Send|Send200|Function)$' -test.benchtime "${BENCHTIME:-1s}" | tee -a "$out" >&2
done

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
echo "Machine: $(nproc) CPUs ($cpu), $(go version | cut -d' ' -f3), load average $(cut -d' ' -f1-3 /proc/loadavg)."
echo "Command: \`cd benchmarks && ./run.sh\` (BENCHTIME=${BENCHTIME:-1s}, COUNT=${COUNT:-5}: medians of ${COUNT:-5} runs)."
echo
go run ./ratios < "$out"
