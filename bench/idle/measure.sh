#!/usr/bin/env bash
# What one idle keep-alive client connection costs FastProxy, and where it goes:
#
#   bench/idle/measure.sh [aot|jit] [N] [sequential|burst]        (defaults: aot 5000 sequential)
#
# Starts an nginx origin and a fresh proxy (aot: artifacts/fastproxy, from `dotnet publish src/FastProxy -c Release
# -o artifacts`; jit: the Release build's fastproxy.dll), opens N keep-alive connections that each complete one
# request (bench/load/idle_clients.py, as bench/compare.sh's idle scenario does) and prints the proxy's RSS before and
# with them open, per connection. sequential: the requests go a hundred at a time; burst: every connection sends its
# request before any is answered (all N in flight at once), and RSS is read SETTLE seconds (default 10) after the
# last answer, as bench/compare.sh's idle_burst figure. With jit it also walks the managed heap before and after (bench/idle/HeapWalk,
# ClrMD) and prints the live bytes per connection by type (heapdiff.py). Proxy on CPU 0, origin and client on CPU 1.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
MODE=${1:-aot}
N=${2:-5000}
KIND=${3:-sequential}
case $KIND in
sequential) SETTLE=${SETTLE:-2} BURST=() ;;
burst) SETTLE=${SETTLE:-10} BURST=(--burst) ;;
*) echo "kind: sequential or burst" >&2; exit 2 ;;
esac
OUT=$(mktemp -d /tmp/fastproxy-idle.XXXXXX)
mkdir -p "$OUT/www" "$OUT/tmp"
ulimit -n "$(ulimit -Hn)"
BASE=$((20000 + RANDOM % 20000))
ORIGIN_A=$((BASE + 1)) ORIGIN_B=$((BASE + 2)) PORT=$((BASE + 3))
printf 'hello, world\n' >"$OUT/www/small"
sed -e "s|@RUN@|$OUT|g" -e "s|@LOGS@|$OUT|g" -e "s|@ORIGIN_A@|$ORIGIN_A|g" -e "s|@ORIGIN_B@|$ORIGIN_B|g" \
    "$ROOT/bench/load/origin-nginx.conf.in" >"$OUT/origin.conf"
sed -i "s|$OUT/origin-tmp|$OUT/tmp|g" "$OUT/origin.conf"
taskset -c 1 nginx -p "$OUT" -e "$OUT/origin-error.log" -c "$OUT/origin.conf" >"$OUT/origin.log" 2>&1 &
ORIGIN=$!
cat >"$OUT/proxy.toml" <<TOML
[global]
max_connections = 100000

[[listeners]]
name = "web"
bind = "127.0.0.1:$PORT"
protocol = "http"

[[routes]]
name = "origin"
upstream = "origin"

[upstreams.origin]
servers = [{ address = "127.0.0.1:$ORIGIN_A" }, { address = "127.0.0.1:$ORIGIN_B" }]
TOML
case $MODE in
aot) FASTPROXY_LOG_LEVEL=warn taskset -c 0 "$ROOT/artifacts/fastproxy" -c "$OUT/proxy.toml" >"$OUT/proxy.log" 2>&1 & ;;
jit) FASTPROXY_LOG_LEVEL=warn taskset -c 0 dotnet "$ROOT/src/FastProxy/bin/Release/net10.0/fastproxy.dll" -c "$OUT/proxy.toml" >"$OUT/proxy.log" 2>&1 & ;;
*) echo "mode: aot or jit" >&2; exit 2 ;;
esac
PROXY=$!
CLIENT=""
cleanup() {
    local pid
    for pid in $CLIENT $PROXY $ORIGIN; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap cleanup EXIT
for _ in $(seq 100); do curl -fsS -o /dev/null "http://127.0.0.1:$PORT/small" 2>/dev/null && break; sleep 0.2; done
for _ in 1 2 3 4 5 6 7 8; do curl -fsS -o /dev/null "http://127.0.0.1:$PORT/small"; done
sleep 2
rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$PROXY/status"; }
walk() {
    dotnet build "$ROOT/bench/idle/HeapWalk" -c Release -o "$OUT/heapwalk" -v quiet >/dev/null
    dotnet "$OUT/heapwalk/HeapWalk.dll" "$PROXY" "$1"
}
[[ $MODE == jit ]] && walk "$OUT/heap-before.tsv"
BEFORE=$(rss)
python3 "$ROOT/bench/load/idle_clients.py" --port "$PORT" --connections "$N" --open-timeout 60 --hold 120 \
    "${BURST[@]}" --ready-file "$OUT/ready" >"$OUT/client.log" 2>&1 &
CLIENT=$!
for _ in $(seq 900); do [[ -s $OUT/ready ]] && break; sleep 0.1; done
[[ -s $OUT/ready ]] || { echo "the idle client did not report: $(tail -3 "$OUT/client.log")" >&2; exit 1; }
sleep "$SETTLE" # every response sent, every connection back to waiting (burst: and the quiet period passed)
AFTER=$(rss)
grep -E '^(VmRSS|RssAnon|RssFile|Threads)' "/proc/$PROXY/status" | tr -s ' \t' ' ' | paste -sd ' '
echo "$MODE $KIND: $(cat "$OUT/ready") RSS $BEFORE -> $AFTER KiB: $(echo "scale=2; ($AFTER - $BEFORE) / $N" | bc) KB per connection"
if [[ $MODE == jit ]]; then
    walk "$OUT/heap-after.tsv"
    python3 "$ROOT/bench/idle/heapdiff.py" "$OUT" "$N"
fi
[[ -s $OUT/proxy.log ]] && echo "proxy log ($(wc -l <"$OUT/proxy.log") lines): $(sort "$OUT/proxy.log" | uniq -c | sort -rn | head -3)"
rm -rf "$OUT"
