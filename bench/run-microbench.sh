#!/usr/bin/env bash
# Runs the BenchmarkDotNet microbenchmarks of the hot components and files their tables, with the machine they ran
# on, in perf-results/<date>-<commit>/microbench.md; then refreshes perf-results/README.md.
#
#   bench/run-microbench.sh                 every benchmark, BenchmarkDotNet's short job (about 6 minutes)
#   bench/run-microbench.sh '*Router*'      a subset (BenchmarkDotNet --filter glob)
#   JOB=default bench/run-microbench.sh     the full job: tighter error bars, several times longer
#
# Fails (exit 1) when any benchmark allocates: the steady-state request path must allocate nothing.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
FILTER=${1:-*}
JOB=${JOB:-short}
cd "$ROOT"

COMMIT=$(git rev-parse --short HEAD)
git diff --quiet HEAD -- src Directory.Build.props Directory.Build.targets Directory.Packages.props || COMMIT+="-dirty"
OUT="$ROOT/perf-results/$(date +%F)-$COMMIT"
ART=$(mktemp -d /tmp/fastproxy-microbench.XXXXXX)
trap 'rm -rf "$ART"' EXIT
mkdir -p "$OUT"

STARTED=$(date +%s)
dotnet run -c Release --project bench/FastProxy.Benchmarks -- --filter "$FILTER" --job "$JOB" --artifacts "$ART" | tee "$ART/run.log"
shopt -s nullglob
reports=("$ART"/results/*-report-github.md)
((${#reports[@]})) || { echo "run-microbench: no BenchmarkDotNet report was written (see above)" >&2; exit 1; }

{
    echo "# Microbenchmarks $(basename "$OUT")"
    echo
    echo "BenchmarkDotNet, job \`$JOB\`, filter \`$FILTER\`, MemoryDiagnoser on. Produced by \`bench/run-microbench.sh\`"
    echo "in $(($(date +%s) - STARTED)) s. \"Allocated -\" means 0 bytes per operation."
    echo "Sources: bench/FastProxy.Benchmarks/ (one class per hot component, folders as in src/)."
    echo
    for report in "${reports[@]}"; do
        echo "## $(basename "$report" -report-github.md | sed 's/^FastProxy\.Benchmarks\.//')"
        echo
        # The environment block (```...```) is the same in every report: keep the first one only.
        if [[ $report == "${reports[0]}" ]]; then cat "$report"; else sed '/^```/,/^```/d' "$report"; fi
        echo
    done
} >"$OUT/microbench.md"

# Every row's Allocated cell must be "-" (BenchmarkDotNet's zero) or "0 B", but for methods named Cold*: those measure
# a first sight that builds what later requests reuse (JwtBenchmarks.Cold: a verified token's cache entry), and
# CompressEncoderBenchmarks' GzipResponse and BrotliResponse (their encoders are made per response, as in
# CompressStage; CompressAllocationTests budgets that; ZstdResponse must stay at 0).
allocating=$(awk -F'|' '
    /^\| *Method *\|/ { col = 0; for (i = 1; i <= NF; i++) { h = $i; gsub(/ /, "", h); if (h == "Allocated") col = i } next }
    col && /^\|/ && $0 !~ /^\|[-: |]+$/ { a = $col; gsub(/[ *]/, "", a); m = $2; gsub(/[ *]/, "", m); if (m !~ /^Cold/ && m !~ /^(Gzip|Brotli)Response$/ && a != "-" && a != "0B") print m "(" a ")" }
' "$OUT/microbench.md")
if [[ -n $allocating ]]; then
    { echo; echo "**Allocating benchmarks:** $(echo $allocating)"; } >>"$OUT/microbench.md"
fi

/usr/bin/python3 "$ROOT/bench/load/report.py" --readme "$ROOT/perf-results/README.md" ||
    python3 "$ROOT/bench/load/report.py" --readme "$ROOT/perf-results/README.md"
echo "run-microbench: wrote ${OUT#"$ROOT"/}/microbench.md"
if [[ -n $allocating ]]; then
    echo "run-microbench: FAILED: these benchmarks allocate: $allocating" >&2
    exit 1
fi
