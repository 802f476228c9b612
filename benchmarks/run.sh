#!/usr/bin/env bash
# Compares smsverify with Alibaba Cloud's official Go SDKs in one run on this
# machine and prints the Markdown table docs/performance.md shows.
# BENCHTIME (default 1s) is go test's -benchtime; the run takes about a
# minute on 2 cores. Everything runs on loopback; nothing reaches the internet.
set -euo pipefail
cd "$(dirname "$0")"

out=$(mktemp)
trap 'rm -f "$out"' EXIT
go test -run '^$' -bench . -benchtime "${BENCHTIME:-1s}" -count 1 . | tee "$out" >&2

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
echo "Machine: $(nproc) CPUs ($cpu), $(go version | cut -d' ' -f3), load average $(cut -d' ' -f1-3 /proc/loadavg)."
echo "Command: \`cd benchmarks && ./run.sh\` (BENCHTIME=${BENCHTIME:-1s})."
echo
go run ./ratios < "$out"
