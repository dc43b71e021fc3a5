#!/usr/bin/env bash
# FastProxy alone under h2load, for tuning the HTTP/2 path between full comparison runs:
#
#   bench/h2/measure.sh [cpu|syscalls|perf] [h2c|h2]        (defaults: cpu h2c)
#
# Starts an nginx origin (one worker, bench/load/origin-nginx.conf.in) and artifacts/fastproxy (publish it first:
# dotnet publish src/FastProxy -c Release -o artifacts) with an h2c and an h2 (TLS, ALPN) listener, warms up for 2 s,
# then runs h2load (10 connections x 100 streams, the compare.sh scenario) for DUR seconds (default 8) and prints
# h2load's summary and the proxy's CPU time per 1,000 requests (utime+stime from /proc). With "syscalls" it also
# counts the proxy's system calls by kind during the run (perf stat on syscalls tracepoints), per request; with
# "perf" it records a call-graph profile to $OUT/perf.data (perf report -i ... --no-children --sort sym).
# Proxy on CPU 0, origin and h2load on CPU 1, as in bench/compare.sh. Loopback only; every phase is bounded in time.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
MODE=${1:-cpu}
SCHEME=${2:-h2c}
DUR=${DUR:-8}
OUT=$(mktemp -d /tmp/fastproxy-h2.XXXXXX)
mkdir -p "$OUT/www" "$OUT/origin-tmp"
BASE=$((20000 + RANDOM % 20000))
ORIGIN_A=$((BASE + 1)) ORIGIN_B=$((BASE + 2)) H2C=$((BASE + 3)) H2=$((BASE + 4))
printf 'hello, world\n' >"$OUT/www/small"
sed -e "s|@RUN@|$OUT|g" -e "s|@LOGS@|$OUT|g" -e "s|@ORIGIN_A@|$ORIGIN_A|g" -e "s|@ORIGIN_B@|$ORIGIN_B|g" \
    "$ROOT/bench/load/origin-nginx.conf.in" >"$OUT/origin.conf"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=bench.local \
    -addext subjectAltName=DNS:bench.local -keyout "$OUT/key.pem" -out "$OUT/cert.pem" >/dev/null 2>&1
cat >"$OUT/proxy.toml" <<TOML
[global]
max_connections = 100000

[[listeners]]
name = "h2c"
bind = "127.0.0.1:$H2C"
protocol = "http"

[[listeners]]
name = "h2"
bind = "127.0.0.1:$H2"
protocol = "http"

[[listeners.tls]]
cert = "$OUT/cert.pem"
key = "$OUT/key.pem"

[[routes]]
name = "origin"
upstream = "origin"

[upstreams.origin]
servers = [{ address = "127.0.0.1:$ORIGIN_A" }, { address = "127.0.0.1:$ORIGIN_B" }]
TOML
PIDS=()
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$OUT/www" "$OUT/origin-tmp"
}
trap cleanup EXIT
taskset -c 1 nginx -p "$OUT" -e "$OUT/origin-error.log" -c "$OUT/origin.conf" &
PIDS+=($!)
FASTPROXY_LOG_LEVEL=warn taskset -c 0 "$ROOT/artifacts/fastproxy" -c "$OUT/proxy.toml" >"$OUT/proxy.log" 2>&1 &
PROXY=$!
PIDS+=("$PROXY")
URL=http://127.0.0.1:$H2C/small
[[ $SCHEME == h2 ]] && URL=https://127.0.0.1:$H2/small
for _ in $(seq 50); do curl -fsS -o /dev/null "http://127.0.0.1:$H2C/small" 2>/dev/null && break; sleep 0.2; done
timeout 30 taskset -c 1 h2load -c10 -m100 -D2 "$URL" >/dev/null 2>&1 # warm-up
ticks() { awk '{ print $14 + $15 }' "/proc/$PROXY/stat"; }
SAMPLER=""
case $MODE in
cpu) ;;
syscalls)
    events=raw_syscalls:sys_enter
    for s in sendto sendmsg recvfrom recvmsg ioctl futex epoll_wait sched_yield; do events+=",syscalls:sys_enter_$s"; done
    events+=",context-switches"
    perf stat -x, -e "$events" -p "$PROXY" -o "$OUT/syscalls.txt" &
    SAMPLER=$! ;;
perf) perf record -F 999 -g -p "$PROXY" -o "$OUT/perf.data" -- sleep "$DUR" >/dev/null 2>&1 & SAMPLER=$! ;;
*) echo "mode: cpu, syscalls or perf" >&2; exit 2 ;;
esac
before=$(ticks)
timeout $((DUR + 30)) taskset -c 1 h2load -c10 -m100 -D"$DUR" "$URL" >"$OUT/h2load.txt" 2>&1
after=$(ticks)
if [[ -n $SAMPLER ]]; then kill -INT "$SAMPLER" 2>/dev/null || true; wait "$SAMPLER" 2>/dev/null || true; fi
requests=$(sed -n 's/.* \([0-9]*\) succeeded.*/\1/p' "$OUT/h2load.txt" | head -1)
((${requests:-0} > 0)) || { echo "h2load completed no request: $(tail -5 "$OUT/h2load.txt")" >&2; exit 1; }
grep -E "^finished in|^requests:" "$OUT/h2load.txt"
ticks_per_s=$(getconf CLK_TCK)
echo "$SCHEME: CPU $(echo "scale=2; ($after - $before) * 1000 * 1000 / $ticks_per_s / $requests" | bc) ms per 1k requests"
if [[ $MODE == syscalls ]]; then
    awk -F, -v r="$requests" 'NF > 3 && $1 ~ /^[0-9]+$/ { printf "  %-32s %6.2f per request\n", $3, $1 / r }' "$OUT/syscalls.txt"
fi
[[ $MODE == perf ]] && echo "profile: $OUT/perf.data"
