#!/usr/bin/env bash
# Noise-free per-request costs of the FastProxy binary, for tuning on a shared machine:
#
#   bench/profile.sh syscalls       # syscalls per proxied request (strace -c over a wrk run)
#   bench/profile.sh instructions   # user-space instructions per proxied request (callgrind), and the top functions
#   bench/profile.sh both
#
# The origin is one nginx worker answering 13 bytes (or 16 KiB on /16k, 1 MiB on /1m: the body copy loop) on two loopback ports; FastProxy balances over
# both. Knobs: REQUESTS=3000 (instructions), PATH_=/ (request path), PORT_BASE=18280, SKIP_BUILD=0.
# Instructions are counted after a 500-request warm-up, from a 4-header GET on one keep-alive connection; the count
# is repeatable within about 0.3% (the heartbeat timer's ticks are the only time-dependent part).
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-both}
REQUESTS=${REQUESTS:-3000}
PATH_=${PATH_:-/}
PORT_BASE=${PORT_BASE:-18280}
SKIP_BUILD=${SKIP_BUILD:-0}
KEEP=${KEEP:-}
work=$(mktemp -d /tmp/fastproxy-profile.XXXXXX)
chmod 755 "$work" # nginx's worker (nobody) reads the bodies from here: /16k was a 403 while this was mktemp's 700
pids=()
cleanup() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

source scripts/deps.sh
ensure_packages build
need=()
command -v nginx >/dev/null || need+=(nginx-light)
command -v wrk >/dev/null || need+=(wrk)
command -v strace >/dev/null || need+=(strace)
command -v valgrind >/dev/null || need+=(valgrind)
if [ ${#need[@]} -gt 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null; fi

# The binary with its symbol table but without DWARF (valgrind 3.19 cannot read NativeAOT's debug info).
if [ "$SKIP_BUILD" != 1 ]; then
  dotnet publish src/FastProxy/FastProxy.csproj -c Release -o "$work/publish" -p:StripSymbols=false -nologo -v quiet
fi
bin="$work/fastproxy"
objcopy --strip-debug "${SKIP_BUILD_BIN:-$work/publish/fastproxy}" "$bin"

origin1=$PORT_BASE; origin2=$((PORT_BASE + 1)); proxy=$((PORT_BASE + 2))
head -c 16384 /dev/zero | tr '\0' 'x' > "$work/16k"
head -c 1048576 /dev/zero | tr '\0' 'y' > "$work/1m"
cat > "$work/origin.conf" <<EOF
daemon off; master_process off; worker_processes 1; pid $work/origin.pid; error_log $work/origin.err;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 100000000;
  server { listen 127.0.0.1:$origin1; location / { return 200 "hello world!\n"; } location = /16k { alias $work/16k; } location = /1m { alias $work/1m; } }
  server { listen 127.0.0.1:$origin2; location / { return 200 "hello world!\n"; } location = /16k { alias $work/16k; } location = /1m { alias $work/1m; } } }
EOF
cat > "$work/proxy.toml" <<EOF
[[listeners]]
name = "web"
bind = "127.0.0.1:$proxy"
[[routes]]
upstream = "app"
[upstreams.app]
servers = [ { address = "127.0.0.1:$origin1" }, { address = "127.0.0.1:$origin2" } ]
EOF
nginx -c "$work/origin.conf" & pids+=($!)

wait_port() { for _ in $(seq 200); do curl -s -m 1 -o /dev/null "http://127.0.0.1:$1$PATH_" && return 0; sleep 0.1; done; echo "port $1 does not answer" >&2; exit 1; }
wait_port "$origin1"

if [ "$mode" = syscalls ] || [ "$mode" = both ]; then
  "$bin" -c "$work/proxy.toml" 2>"$work/proxy.err" & ppid=$!; pids+=($ppid)
  wait_port "$proxy"
  wrk -t1 -c16 -d2s "http://127.0.0.1:$proxy$PATH_" >/dev/null
  strace -f -c -o "$work/strace.out" -p "$ppid" 2>/dev/null & spid=$!
  sleep 1
  n=$(wrk -t1 -c16 -d3s "http://127.0.0.1:$proxy$PATH_" | awk '/requests in/ {print $1}')
  sleep 0.3; kill -INT "$spid"; wait "$spid" 2>/dev/null || true
  echo "syscalls per request ($n requests, 16 connections, $PATH_):"
  awk -v n="$n" 'NR>2 && $4 ~ /^[0-9]+$/ && $4/n >= 0.01 {printf "  %-14s %6.2f\n", $NF, $4/n}' "$work/strace.out"
  kill -9 "$ppid"; wait "$ppid" 2>/dev/null || true
  if [ -n "$KEEP" ]; then mkdir -p "$KEEP" && cp "$work/strace.out" "$KEEP/"; fi
fi

if [ "$mode" = instructions ] || [ "$mode" = both ]; then
  valgrind --tool=callgrind --callgrind-out-file="$work/cg.out" "$bin" -c "$work/proxy.toml" >"$work/valgrind.log" 2>&1 & vpid=$!; pids+=($vpid)
  wait_port "$proxy"
  cat > "$work/client.py" <<EOF
import socket, sys
n = int(sys.argv[1])
s = socket.create_connection(('127.0.0.1', $proxy))
req = b'GET $PATH_ HTTP/1.1\r\nHost: example.test\r\nUser-Agent: bench\r\nAccept: */*\r\n\r\n'
for _ in range(n):
    s.sendall(req); d = b''
    while True:
        d += s.recv(65536)
        head, sep, body = d.partition(b'\r\n\r\n')
        if sep and len(body) >= int([l.split(b':')[1] for l in head.split(b'\r\n') if l.lower().startswith(b'content-length')][0]): break
EOF
  python3 "$work/client.py" 500
  callgrind_control -z "$vpid" >/dev/null
  python3 "$work/client.py" "$REQUESTS"
  callgrind_control -d "$vpid" >/dev/null
  sleep 1
  kill -9 "$vpid"; wait "$vpid" 2>/dev/null || true
  dump=$(ls -t "$work"/cg.out.* | head -1)
  total=$(awk '/^summary:/ {print $2}' "$dump")
  echo "user-space instructions per request: $((total / REQUESTS)) ($REQUESTS requests, $PATH_)"
  if [ -n "$KEEP" ]; then mkdir -p "$KEEP" && cp "$dump" "$KEEP/callgrind.out" && cp "$bin" "$KEEP/fastproxy"; fi
  python3 - "$dump" "$REQUESTS" <<'EOF'
import collections, re, sys
names, cost, cur, in_call = {}, collections.Counter(), None, False
n = int(sys.argv[2])
for line in open(sys.argv[1]):
    line = line.rstrip('\n')
    m = re.match(r'^fn=\((\d+)\)(?: (.*))?$', line)
    if m:
        if m.group(2): names[m.group(1)] = m.group(2)
        cur, in_call = names.get(m.group(1)), False
        continue
    if line.startswith('calls='): in_call = True; continue
    m = re.match(r'^(cfn|cfi|cfl|cob|ob|fl|fi|fe)=\((\d+)\)(?: (.*))?$', line)
    if m:
        if m.group(1) == 'cfn' and m.group(3): names[m.group(2)] = m.group(3)
        continue
    m = re.match(r'^[+-]?\d+ (\d+)$', line)
    if m and cur:
        if in_call: in_call = False; continue
        cost[cur] += int(m.group(1))
total = sum(cost.values())
print("top functions (self instructions per request):")
for fn, c in cost.most_common(15): print(f"  {c // n:7d}  {100 * c / total:5.1f}%  {fn[:110]}")
EOF
fi
