#!/usr/bin/env bash
# FastProxy against nginx and HAProxy, side by side, on this machine: one command.
#
#   bench/compare.sh
#
# Installs what is missing (apt-get), builds the native AOT binary, starts one nginx origin, then for each
# proxy under test (FastProxy, nginx proxy_pass, HAProxy) with equivalent configs measures:
#   - load: requests/s, p50 and p99 latency (wrk, HTTP/1.1 keep-alive), the proxy's CPU time per 1,000
#     requests (utime+stime of its process tree, /proc/PID/stat), its RSS and (where perf can count them, during
#     the warm-up) its syscalls per request, and how many new connections it opened to the origin per 1,000
#     requests (origin nginx's stub_status), in six scenarios:
#     13-byte body at 64 connections, 16 KiB body at 64 connections, 13-byte body at 1,000 connections,
#     L4: the 13-byte body at 64 connections through each proxy's TCP forwarding (FastProxy protocol = "tcp",
#     nginx stream, HAProxy mode tcp), which relays bytes without parsing HTTP;
#     https: the 13-byte body at 64 keep-alive connections over TLS (wrk https), terminated by the proxy
#     (FastProxy [[listeners.tls]], nginx listen ssl, HAProxy bind ssl) and forwarded as plain HTTP/1.1; and
#     tls-l4: the same over TLS terminated on each proxy's TCP listener (FastProxy protocol = "tcp" with
#     [[listeners.tls]], nginx stream ssl, HAProxy mode tcp with bind ssl), the decrypted bytes relayed;
#     h2c and h2: HTTP/2 from the client, the 13-byte body, H2_CONNS connections with H2_STREAMS streams each in
#     flight (h2load -c -m, run for a duration), cleartext with prior knowledge (h2c: FastProxy's plain http listener,
#     nginx `listen http2`, HAProxy `bind proto h2`) or over TLS by ALPN h2 (FastProxy [[listeners.tls]], nginx
#     `listen ssl http2`, HAProxy `bind ssl alpn h2,http/1.1`), forwarded as HTTP/1.1 over the same keep-alive pools.
#     h2load gives no latency percentiles: its mean and max request time are recorded (mean_ms, max_ms);
#     gateway: the 13-byte body at 64 connections through each proxy's API-gateway checks on a listener of its own: the
#     client's address in an allow list, an API key (x-api-key, sent by wrk on every request) looked up and turned
#     into a consumer (401 when unknown), and one response header set (FastProxy ip_filter + api_key + headers
#     policies, HAProxy an acl on src + a map on req.hdr(x-api-key) + http-response set-header, nginx allow/deny + a
#     map on $http_x_api_key + add_header); its CPU per request is read against the same proxy's "small" figure;
#     jwt: the same with an ES256 bearer token instead (one token, generated with openssl for the run and valid for
#     hours, reused by every connection): FastProxy's jwt policy with the public key file against HAProxy's jwt_verify
#     (2.5+) with alg and exp checks. nginx's open-source build cannot verify a JWT, so it sits this one out;
#     ratelimit: the 13-byte body at 64 connections through a per-client-address rate limit on a listener of its own,
#     set at 100,000 a second (6,000,000 a minute), which one wrk client never reaches: the cost of counting every
#     request (FastProxy rate_limit key = "ip", store = "local"; nginx limit_req_zone $binary_remote_addr + limit_req;
#     HAProxy a stick-table type ip storing http_req_rate(60s) + track-sc0 src + deny 429 above the limit). Before
#     measuring, each proxy's twin listener limited to 5 a minute must admit 5 of 8 requests and refuse 3 with 429;
#     observed: the 13-byte scenario again, with each proxy's request log on (issue 15 "Speed"), in a phase of its
#     own after the others (the proxies are started again with the observed snippets, proxy-NAME-observed.*.in):
#     FastProxy's access log as JSON lines to a file with its /metrics scraped every second (a bounded curl loop),
#     nginx's access_log to a file (JSON, the same fields, buffer=64k flush=1s), HAProxy's `option httplog` to a local
#     syslog socket (UDP, bench/load/syslog_sink.py, which counts the lines); read against the same proxy's "small";
#     ratelimit-redis: FastProxy only (not in the default list): the same never-reached limit with store = "redis",
#     against a redis-server (no persistence) the script starts on LOAD_CPU at PORT_BASE+87: what one EVALSHA round
#     trip per request adds, read against the same run's "ratelimit" (local store) figure; its 5-a-minute twin is
#     checked the same way. The proxy's CPU is measured, not Redis's;
#     transform: the 13-byte body at 64 connections through header transforms on a listener of its own (issue 17):
#     three request headers set (one the client's address), one the client sends (X-Internal-Debug, from wrk) removed,
#     one response header set (FastProxy headers policy; nginx proxy_set_header + add_header; HAProxy http-request
#     set-header/del-header + http-response set-header). Before measuring, the origin's /transform-echo must show the
#     upstream received exactly the set fields and not the removed one, and the response must carry the set field;
#     cache-hit, static and gzip (issue 18 "Speed"), each on a listener of its own, 64 connections:
#     cache-hit: a 1 KiB response the origin marks cacheable (Cache-Control: max-age=3600) served from each proxy's
#     cache: FastProxy a `cache` policy on the route, nginx proxy_cache (files in tmpfs, no proxy_cache_valid: the
#     response's own Cache-Control decides), HAProxy a `cache` section, and Varnish (varnishd -s malloc, one thread pool,
#     pinned to PROXY_CPU like the others; this is the only scenario it takes part in). Every request that reaches the
#     origin's /cache-1k is logged there: before measuring, five requests after a first must not reach it, and the
#     count must stay flat through the warm-up and the measured run (the scenario fails otherwise);
#     static: a 16 KiB file served from disk (FastProxy `static = { root = ... }`, nginx `root`, sendfile off (its default,
#     and what FastProxy does: read into a buffer, then written), open_file_cache on with 1 s validity (FastProxy keeps
#     a served file open for 1 s); HAProxy serves no files and sits it out. Checked byte for byte, and that the
#     origin was not asked (no X-Origin);
#     gzip: the origin's 16 KiB JSON (uncompressed) compressed by the proxy with gzip at level GZIP_LEVEL (6) in both:
#     FastProxy `compress` (encodings = ["gzip"]), nginx `gzip on` (gzip_comp_level 6); wrk sends Accept-Encoding: gzip.
#     HAProxy sits it out: Debian's build compresses with libslz, one fixed effort that no level setting changes.
#     Before measuring, each answer must say Content-Encoding: gzip and gunzip to the origin's body, and an answer to a
#     request without Accept-Encoding must be the body as it is; the compressed sizes go to machine.txt;
#   - idle: the proxy's RSS before and after IDLE_CONNS idle keep-alive client connections (each has
#     completed one request), as KB per connection; twice, each time on a fresh proxy: "idle", the requests a
#     hundred at a time (the connections arrive one after another), and "idle-burst", every connection sending its
#     request before any is answered (all IDLE_CONNS in flight at once, through the nginx origin), with RSS read
#     BURST_QUIET_S seconds after the last answer: what the burst's peak leaves behind once the proxy is quiet.
# The proxies run on PROXY_CPU (all three at once, only the one under load is busy); wrk, the origin and the
# idle client share LOAD_CPU. Proxies take turns within each scenario, in a rotating order each round, so that
# the machine's background noise falls on all of them alike; the tables show the median of the ROUNDS rounds.
# Results: perf-results/<date>-<commit>/ (results.md, results.csv, chart.png, machine.txt; raw-logs/ is not
# committed), and perf-results/README.md is updated to show them. A run with any knob below changed (but the CPUs
# and ports) is partial: it goes to /tmp/fastproxy-bench-results/ instead, or to OUT_DIR.
#
# Fails loudly (non-zero exit) when a proxy does not answer correctly before measuring, dies, or when wrk
# counts any non-2xx response or socket error (the figures are still written, with the error counts).
#
# Knobs (environment): ROUNDS=3 WARMUP_S=3 MEASURE_S=10 IDLE_CONNS=5000 PROXIES="fastproxy nginx haproxy varnish"
#   SCENARIOS="small 16k c1000 l4 https tls-l4 h2c h2 gateway jwt ratelimit transform cache-hit static gzip observed idle"
#   PROXY_CPU=0 LOAD_CPU=1 PORT_BASE=18180 SKIP_BUILD=0
#   H2_CONNS=10 H2_STREAMS=100 OUT_DIR=<auto>
# e.g. a quick FastProxy-only check while tuning:  ROUNDS=1 PROXIES=fastproxy SCENARIOS=small bench/compare.sh
# (the ratio columns then read "n/a"; compare ratios only within one full run). Varnish takes part in cache-hit only,
# HAProxy not in static or gzip, nginx not in jwt: a proxy is started only when one of its scenarios runs.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LOAD="$ROOT/bench/load"
PLOT_PYTHON=/usr/bin/python3 # the system Python, where python3-matplotlib installs (python3 on PATH may be another build)

ROUNDS=${ROUNDS:-3}
WARMUP_S=${WARMUP_S:-3}
MEASURE_S=${MEASURE_S:-10}
IDLE_CONNS=${IDLE_CONNS:-5000}
DEFAULT_PROXIES="fastproxy nginx haproxy varnish"
PROXIES=${PROXIES:-$DEFAULT_PROXIES}
DEFAULT_SCENARIOS="small 16k c1000 l4 https tls-l4 h2c h2 gateway jwt ratelimit transform cache-hit static gzip observed idle"
SCENARIOS=${SCENARIOS:-$DEFAULT_SCENARIOS}
PROXY_CPU=${PROXY_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
PORT_BASE=${PORT_BASE:-18180}
SKIP_BUILD=${SKIP_BUILD:-0}
# HTTP/2 scenarios: connections, and streams in flight on each. 10 x 100 = 1,000 requests at once, as c1000: the
# upstream pools hold one connection per request in flight (nginx and HAProxy are configured for 1,024 idle
# connections; FastProxy runs on its default pool, which keeps as many as the recent peak of requests in flight), so
# the origin sees no new connections and the figures measure the proxies, not TCP handshakes.
H2_CONNS=${H2_CONNS:-10}
H2_STREAMS=${H2_STREAMS:-100}
# idle-burst: RSS is read this long after the burst was answered (the requirement: within 1.5x of the sequential
# figure by then).
BURST_QUIET_S=10

ORIGIN_A=$((PORT_BASE + 1))
ORIGIN_B=$((PORT_BASE + 2))
declare -A PROXY_PORT=([fastproxy]=$((PORT_BASE + 10)) [nginx]=$((PORT_BASE + 11)) [haproxy]=$((PORT_BASE + 12)))
# Each proxy's L4 (TCP) listener, round robin over the same two origin ports.
declare -A L4_PORT=([fastproxy]=$((PORT_BASE + 20)) [nginx]=$((PORT_BASE + 21)) [haproxy]=$((PORT_BASE + 22)))
# HTTPS termination (TLS in, plain HTTP with keep-alive to the origins), and TLS termination on an L4 listener
# (TLS in, the decrypted bytes relayed to the origins): the same self-signed ECDSA P-256 certificate for all three.
declare -A TLS_PORT=([fastproxy]=$((PORT_BASE + 30)) [nginx]=$((PORT_BASE + 31)) [haproxy]=$((PORT_BASE + 32)))
declare -A TLSL4_PORT=([fastproxy]=$((PORT_BASE + 40)) [nginx]=$((PORT_BASE + 41)) [haproxy]=$((PORT_BASE + 42)))
# HTTP/2 termination: h2c with prior knowledge, and h2 over TLS (ALPN), each on a listener of its own.
declare -A H2C_PORT=([fastproxy]=$((PORT_BASE + 50)) [nginx]=$((PORT_BASE + 51)) [haproxy]=$((PORT_BASE + 52)))
declare -A H2_PORT=([fastproxy]=$((PORT_BASE + 60)) [nginx]=$((PORT_BASE + 61)) [haproxy]=$((PORT_BASE + 62)))
# API gateway checks (the "gateway" scenario) and JWT verification ("jwt"; nginx has none), each on a listener of its own.
declare -A GW_PORT=([fastproxy]=$((PORT_BASE + 70)) [nginx]=$((PORT_BASE + 71)) [haproxy]=$((PORT_BASE + 72)))
declare -A JWT_PORT=([fastproxy]=$((PORT_BASE + 80)) [haproxy]=$((PORT_BASE + 82)))
# Rate limiting ("ratelimit"): a per-IP limit never reached (measured), and one of 5 a minute that must refuse (checked).
declare -A RL_PORT=([fastproxy]=$((PORT_BASE + 90)) [nginx]=$((PORT_BASE + 91)) [haproxy]=$((PORT_BASE + 92)))
declare -A RLCHECK_PORT=([fastproxy]=$((PORT_BASE + 95)) [nginx]=$((PORT_BASE + 96)) [haproxy]=$((PORT_BASE + 97)))
# The same through Redis ("ratelimit-redis", FastProxy only), and the redis-server it uses.
declare -A RLR_PORT=([fastproxy]=$((PORT_BASE + 85)))
declare -A RLRCHECK_PORT=([fastproxy]=$((PORT_BASE + 86)))
REDIS_PORT=$((PORT_BASE + 87))
# Header transforms ("transform"), on a listener of its own.
declare -A TF_PORT=([fastproxy]=$((PORT_BASE + 75)) [nginx]=$((PORT_BASE + 76)) [haproxy]=$((PORT_BASE + 77)))
# Issue 18: a cached response ("cache-hit"; Varnish takes part in this one only, and it is its only listener), a file
# from disk ("static"; HAProxy serves none) and gzip ("gzip"; HAProxy's libslz has no level to match), each on a
# listener of its own.
declare -A CH_PORT=([fastproxy]=$((PORT_BASE + 110)) [nginx]=$((PORT_BASE + 111)) [haproxy]=$((PORT_BASE + 112)) [varnish]=$((PORT_BASE + 113)))
declare -A ST_PORT=([fastproxy]=$((PORT_BASE + 115)) [nginx]=$((PORT_BASE + 116)))
declare -A GZ_PORT=([fastproxy]=$((PORT_BASE + 120)) [nginx]=$((PORT_BASE + 121)))
PROXY_PORT[varnish]=${CH_PORT[varnish]}
# The gzip scenario's compression level, the same in FastProxy's compress policy and nginx's gzip_comp_level.
GZIP_LEVEL=6
# scenario -> "path connections"
declare -A SCENARIO=([small]="/small 64" [16k]="/16k 64" [c1000]="/small 1000" [l4]="/small 64" [https]="/small 64" [tls-l4]="/small 64"
    [h2c]="/small $H2_CONNS" [h2]="/small $H2_CONNS" [gateway]="/small 64" [jwt]="/small 64" [ratelimit]="/small 64" [observed]="/small 64"
    [ratelimit-redis]="/small 64" [transform]="/small 64" [cache-hit]="/cache-1k 64" [static]="/16k.txt 64" [gzip]="/gzip-16k.json 64")
# The observed phase: FastProxy's admin listener (its /metrics scraped every second) and the syslog socket HAProxy logs to.
ADMIN_PORT=$((PORT_BASE + 100))
SYSLOG_PORT=$((PORT_BASE + 101))
# 1 while the observed phase runs: render() puts the proxies' observed snippets in (their logs on).
OBSERVED_ON=0
SMALL_BODY="hello, world\n" # 13 bytes
WRK_TIMEOUT=2s
NGINX_STREAM_MODULE=/usr/lib/nginx/modules/ngx_stream_module.so
# The gateway listeners (and their key material) exist only when the gateway or jwt scenario runs.
GATEWAY_ON=0
[[ " $SCENARIOS " == *" gateway "* || " $SCENARIOS " == *" jwt "* ]] && GATEWAY_ON=1
# The rate-limit listeners exist only when the ratelimit scenario runs.
RATELIMIT_ON=0
[[ " $SCENARIOS " == *" ratelimit "* ]] && RATELIMIT_ON=1
# The Redis-backed rate-limit listeners, and redis-server, only when the ratelimit-redis scenario runs.
RATELIMIT_REDIS_ON=0
[[ " $SCENARIOS " == *" ratelimit-redis "* ]] && RATELIMIT_REDIS_ON=1
# The transform listeners only when the transform scenario runs.
TRANSFORM_ON=0
[[ " $SCENARIOS " == *" transform "* ]] && TRANSFORM_ON=1
# Issue 18's listeners (and nginx's cache directory in tmpfs) only when their scenario runs.
CACHE_ON=0 STATIC_ON=0 GZIP_ON=0
[[ " $SCENARIOS " == *" cache-hit "* ]] && CACHE_ON=1
[[ " $SCENARIOS " == *" static "* ]] && STATIC_ON=1
[[ " $SCENARIOS " == *" gzip "* ]] && GZIP_ON=1
CACHE_DIR=""

STARTED_AT=$(date +%s)
FAILURES=()
PIDS=()
RUN=""

log() { printf '[compare %s] %s\n' "$(date +%T)" "$*" >&2; }
die() {
    printf '\n[compare] FAILED: %s\n\n' "$*" >&2
    exit 1
}
fail_later() {
    printf '\n[compare] !!! %s\n\n' "$*" >&2
    FAILURES+=("$*")
}

# ---------------------------------------------------------------------------------------------------------------
# Processes: every one started here is remembered by PID and stopped on exit, whatever happens.

# Alive and not a zombie: a crashed child stays a zombie (kill -0 still succeeds) until it is waited for.
is_running() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    [[ ${stat:0:1} != Z ]]
}

stop_pid() {
    local pid=$1 i
    if is_running "$pid"; then
        kill -TERM "$pid" 2>/dev/null || true
        for ((i = 0; i < 50; i++)); do
            is_running "$pid" || break
            sleep 0.1
        done
        is_running "$pid" && kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
    # Reaped: forget it, so cleanup can never signal a process that reuses the number.
    local kept=() p
    for p in "${PIDS[@]}"; do [[ $p == "$pid" ]] || kept+=("$p"); done
    PIDS=("${kept[@]}")
}

cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do stop_pid "$pid"; done 2>/dev/null
    [[ -n "$RUN" && -d "$RUN" ]] && rm -rf "$RUN"
    [[ -n "$CACHE_DIR" && -d "$CACHE_DIR" ]] && rm -rf "$CACHE_DIR"
    return 0
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The process and all its descendants (nginx: master and worker).
tree_pids() {
    local queue=("$1") i=0 child
    while ((i < ${#queue[@]})); do
        for child in $(pgrep -P "${queue[i]}" 2>/dev/null || true); do queue+=("$child"); done
        i=$((i + 1))
    done
    echo "${queue[@]}"
}

# utime+stime of the whole tree, in clock ticks (every thread is included in its process's figures).
cpu_ticks() {
    local total=0 pid stat rest f
    for pid in $(tree_pids "$1"); do
        stat=$(cat "/proc/$pid/stat" 2>/dev/null) || continue
        rest=${stat##*) } # fields from 3 on; the command name may hold spaces
        read -r -a f <<<"$rest"
        total=$((total + f[11] + f[12])) # fields 14 (utime) and 15 (stime)
    done
    echo "$total"
}

# Resident set of the whole tree, KiB.
rss_kb() {
    local total=0 pid kb
    for pid in $(tree_pids "$1"); do
        kb=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status" 2>/dev/null) || continue
        total=$((total + ${kb:-0}))
    done
    echo "$total"
}

port_free() { ! ss -Htln "( sport = :$1 )" | grep -q .; }

wait_port() { # port seconds
    local i
    for ((i = 0; i < $2 * 10; i++)); do
        port_free "$1" || return 0
        sleep 0.1
    done
    return 1
}

# ---------------------------------------------------------------------------------------------------------------
# Tools.

ensure_tools() {
    local missing=()
    command -v nginx >/dev/null || missing+=(nginx)
    [[ -f $NGINX_STREAM_MODULE ]] || missing+=(libnginx-mod-stream) # nginx stream (L4), a dynamic module on Debian
    command -v haproxy >/dev/null || missing+=(haproxy)
    command -v varnishd >/dev/null || missing+=(varnish) # the cache-hit scenario's caching specialist
    command -v gzip >/dev/null || missing+=(gzip)        # the gzip scenario's check (gzip -d)
    command -v wrk >/dev/null || missing+=(wrk)
    command -v h2load >/dev/null || missing+=(nghttp2-client) # h2load: the h2c and h2 scenarios
    command -v curl >/dev/null || missing+=(curl)
    command -v openssl >/dev/null || missing+=(openssl) # the benchmark certificate
    command -v taskset >/dev/null || missing+=(util-linux)
    command -v pgrep >/dev/null || missing+=(procps)
    command -v ss >/dev/null || missing+=(iproute2)
    "$PLOT_PYTHON" -c 'import matplotlib' 2>/dev/null || missing+=(python3-matplotlib)
    if ((${#missing[@]})); then
        log "installing: ${missing[*]}"
        local sudo=""
        [[ $(id -u) -eq 0 ]] || sudo=sudo
        $sudo apt-get update -qq || die "apt-get update failed"
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null || die "apt-get install ${missing[*]} failed"
        # Debian's packages start their own nginx/haproxy service on install; ours never use those ports.
    fi
    command -v dotnet >/dev/null || die "dotnet is not installed (the .NET 10 SDK builds the proxy)"
}

check_machine() {
    local cpus
    cpus=$(nproc)
    ((cpus >= 2)) || die "needs 2 CPUs (one for the proxy, one for the load generator and origin); this machine has $cpus"
    # 5,000 idle connections plus wrk's and the proxies' own need file descriptors in every process.
    local want=$((IDLE_CONNS + 4096))
    ulimit -Hn 65536 2>/dev/null || true
    ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
    (($(ulimit -n) >= want)) || die "open-file limit $(ulimit -n) is below $want; raise it (ulimit -n)"
}

# ---------------------------------------------------------------------------------------------------------------
# Configs and processes under test.

# Which proxy takes part in which scenario: open-source nginx cannot verify a JWT; only FastProxy has a Redis-backed
# limit; HAProxy serves no files, and its gzip (libslz) has no level to match nginx's and FastProxy's; Varnish is
# measured on cache hits only.
takes_part() { # proxy scenario
    case $1:$2 in
    nginx:jwt | haproxy:static | haproxy:gzip) return 1 ;;
    varnish:cache-hit | fastproxy:ratelimit-redis) return 0 ;;
    varnish:* | *:ratelimit-redis) return 1 ;;
    esac
    return 0
}

substitute() { # template [PORT] [L4PORT] [TLSPORT] [TLSL4PORT] [H2CPORT] [H2PORT] [GWPORT] [JWTPORT] [RLPORT] [RLCHECKPORT] -> stdout
    sed -e "s|@RUN@|$RUN|g" -e "s|@LOGS@|$RAW|g" -e "s|@ORIGIN_A@|$ORIGIN_A|g" -e "s|@ORIGIN_B@|$ORIGIN_B|g" -e "s|@PORT@|${2:-0}|g" \
        -e "s|@L4PORT@|${3:-0}|g" -e "s|@TLSPORT@|${4:-0}|g" -e "s|@TLSL4PORT@|${5:-0}|g" -e "s|@H2CPORT@|${6:-0}|g" -e "s|@H2PORT@|${7:-0}|g" \
        -e "s|@GWPORT@|${8:-0}|g" -e "s|@JWTPORT@|${9:-0}|g" -e "s|@RLPORT@|${10:-0}|g" -e "s|@RLCHECKPORT@|${11:-0}|g" -e "s|@ADMINPORT@|$ADMIN_PORT|g" -e "s|@SYSLOGPORT@|$SYSLOG_PORT|g" \
        -e "s|@CERT@|$RUN/tls/cert.pem|g" -e "s|@KEY@|$RUN/tls/key.pem|g" -e "s|@CERTKEY@|$RUN/tls/cert-key.pem|g" \
        -e "s|@APIKEY@|${API_KEY:-}|g" -e "s|@APIKEY_SHA256@|${API_KEY_SHA256:-}|g" -e "s|@JWT_PUBLIC@|$RUN/jwt/public.pem|g" \
        -e "s|@RLRPORT@|${RLR_PORT[fastproxy]}|g" -e "s|@RLRCHECKPORT@|${RLRCHECK_PORT[fastproxy]}|g" -e "s|@REDISPORT@|$REDIS_PORT|g" -e "s|@TFPORT@|${tfport:-0}|g" \
        -e "s|@CHPORT@|${chport:-0}|g" -e "s|@STPORT@|${stport:-0}|g" -e "s|@GZPORT@|${gzport:-0}|g" -e "s|@CACHEDIR@|$CACHE_DIR|g" \
        -e "s|@STATICROOT@|$RUN/static|g" -e "s|@GZIPLEVEL@|$GZIP_LEVEL|g" \
        -e "s|@NGINX_STREAM_MODULE@|$NGINX_STREAM_MODULE|g" "$1"
}

# Puts proxy-NAME-SUFFIX.{toml,cfg,conf}.in (the snippet next to a proxy's template) in place of the rendered config's
# "@MARKER@" line when ON is 1; otherwise the marker line goes, so other runs measure exactly the configs they always did.
splice() { # template output MARKER SUFFIX ON [PORTS...]
    local template=$1 output=$2 marker=$3 suffix=$4 on=$5
    shift 5
    local snippet=${template/%.toml.in/-$suffix.toml.in}
    [[ $snippet == "$template" ]] && snippet=${template/%.cfg.in/-$suffix.cfg.in}
    [[ $snippet == "$template" ]] && snippet=${template/%.conf.in/-$suffix.conf.in}
    if [[ $on == 1 && $snippet != "$template" && -f $snippet ]]; then
        substitute "$snippet" "$@" >"$output.$suffix"
        sed -i -e "/@$marker@/{r $output.$suffix" -e "d}" "$output"
        rm -f "$output.$suffix"
    else
        sed -i "/@$marker@/d" "$output"
    fi
}

# Renders a proxy's config with the snippets of the scenarios that run: gateway (also for jwt), ratelimit,
# ratelimit-redis (FastProxy's only), transform, cache-hit, static and gzip.
render() { # template output [PORT] [L4PORT] [TLSPORT] [TLSL4PORT] [H2CPORT] [H2PORT] [GWPORT] [JWTPORT] [RLPORT] [RLCHECKPORT]
    local template=$1 output=$2 snippet
    shift 2
    substitute "$template" "$@" >"$output"
    splice "$template" "$output" GATEWAY gateway "$GATEWAY_ON" "$@"
    splice "$template" "$output" RATELIMIT ratelimit "$RATELIMIT_ON" "$@"
    splice "$template" "$output" RATELIMIT_REDIS ratelimit-redis "$RATELIMIT_REDIS_ON" "$@"
    splice "$template" "$output" TRANSFORM transform "$TRANSFORM_ON" "$@"
    splice "$template" "$output" CACHE_HIT cache-hit "$CACHE_ON" "$@"
    splice "$template" "$output" STATIC static "$STATIC_ON" "$@"
    splice "$template" "$output" GZIP gzip "$GZIP_ON" "$@"
    # The observed phase: the "@OBSERVED@" line becomes proxy-NAME-observed.*.in, and lines marked "# not-observed"
    # (nginx's "access_log off") go; otherwise the marker goes and the configs are exactly what they always were.
    snippet=${template/%.toml.in/-observed.toml.in}
    [[ $snippet == "$template" ]] && snippet=${template/%.cfg.in/-observed.cfg.in}
    [[ $snippet == "$template" ]] && snippet=${template/%.conf.in/-observed.conf.in}
    if [[ $OBSERVED_ON == 1 && -f $snippet ]]; then
        substitute "$snippet" "$@" >"$output.observed"
        sed -i -e "/@OBSERVED@/{r $output.observed" -e "d}" -e '/# not-observed$/d' "$output"
        rm -f "$output.observed"
    else
        sed -i -e '/@OBSERVED@/d' -e 's/ # not-observed$//' "$output"
    fi
    cp "$output" "$RAW/config-$(basename "$output")"
}

start_origin() {
    mkdir -p "$RUN/www" "$RUN/origin-tmp"
    printf "$SMALL_BODY" >"$RUN/www/small"
    head -c 16384 /dev/zero | tr '\0' 'x' >"$RUN/www/16k"
    # Issue 18's bodies: 1 KiB to cache, 16 KiB of JSON to compress (ids, names, numbers and hex tokens: it compresses
    # about as well as real API answers, not as well as 16,384 times "x"), and a 16 KiB file the proxies serve from disk.
    head -c 768 /dev/urandom | base64 -w 0 >"$RUN/www/cache-1k" # exactly 1,024 characters
    "$PLOT_PYTHON" - "$RUN/www/gzip-16k.json" <<'PY'
import hashlib, json, random, sys
rnd = random.Random(18)
items, size = [], 2
while True:
    n = len(items) + 1
    item = {"id": n, "name": f"user-{n:05d}", "email": f"user{n}@example.com", "active": rnd.random() < 0.7,
            "score": round(rnd.uniform(0, 1000), 2), "tags": rnd.sample(["alpha", "beta", "gamma", "delta", "omega"], 2),
            "token": hashlib.sha1(str(rnd.random()).encode()).hexdigest()}
    text = json.dumps(item, separators=(",", ":"))
    if size + len(text) + 1 > 16384 - 40:
        break
    items.append(text)
    size += len(text) + 1
body = "[" + ",".join(items)
pad = 16384 - len(body) - len(',{"pad":""}]')
body += ',{"pad":"' + "-" * pad + '"}]'
assert len(body) == 16384
json.loads(body)
open(sys.argv[1], "w").write(body)
PY
    mkdir -p "$RUN/static"
    head -c 12288 /dev/urandom | base64 -w 0 >"$RUN/static/16k.txt" # exactly 16,384 characters
    render "$LOAD/origin-nginx.conf.in" "$RUN/origin.conf"
    taskset -c "$LOAD_CPU" nginx -p "$RUN" -e "$RAW/origin-error.log" -c "$RUN/origin.conf" >"$RAW/origin.log" 2>&1 &
    PIDS+=($!)
    ORIGIN_PID=$!
    wait_port "$ORIGIN_A" 10 && wait_port "$ORIGIN_B" 10 || die "origin nginx did not start: $(tail -5 "$RAW/origin.log" "$RAW/origin-error.log" 2>/dev/null)"
    local port
    for port in "$ORIGIN_A" "$ORIGIN_B"; do
        curl -fsS "http://127.0.0.1:$port/small" | cmp -s - "$RUN/www/small" || die "origin :$port does not serve /small"
        curl -fsS "http://127.0.0.1:$port/16k" | cmp -s - "$RUN/www/16k" || die "origin :$port does not serve /16k"
        if [[ $CACHE_ON == 1 ]]; then
            curl -fsS -D "$RUN/origin-headers" "http://127.0.0.1:$port/cache-1k" | cmp -s - "$RUN/www/cache-1k" || die "origin :$port does not serve /cache-1k"
            grep -qi '^cache-control: max-age=3600' "$RUN/origin-headers" || die "origin :$port does not mark /cache-1k cacheable"
        fi
        if [[ $GZIP_ON == 1 ]]; then
            curl -fsS -H 'Accept-Encoding: gzip' -D "$RUN/origin-headers" "http://127.0.0.1:$port/gzip-16k.json" | cmp -s - "$RUN/www/gzip-16k.json" ||
                die "origin :$port does not serve /gzip-16k.json uncompressed"
            grep -qi '^content-type: application/json' "$RUN/origin-headers" || die "origin :$port does not serve /gzip-16k.json as application/json"
        fi
    done
    log "origin nginx (pid $ORIGIN_PID) on :$ORIGIN_A and :$ORIGIN_B, CPU $LOAD_CPU"
}

# One certificate for every proxy's TLS listeners (HAProxy wants certificate and key in one file).
make_certificate() {
    mkdir -p "$RUN/tls"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj /CN=bench.local \
        -addext subjectAltName=DNS:bench.local -keyout "$RUN/tls/key.pem" -out "$RUN/tls/cert.pem" >"$RAW/openssl-req.log" 2>&1 ||
        die "openssl could not make the benchmark certificate: $(tail -3 "$RAW/openssl-req.log")"
    cat "$RUN/tls/cert.pem" "$RUN/tls/key.pem" >"$RUN/tls/cert-key.pem"
}

# The gateway scenarios' secrets, made for this run only: an API key (its SHA-256 for FastProxy's consumer, a map
# file for HAProxy; nginx's map holds it in its config), an ES256 key pair with a token valid for hours
# (bench/load/make_jwt.py), and the wrk scripts that send them on every request (a static header: wrk builds the
# request once, so the Lua costs nothing per request).
make_gateway_material() {
    API_KEY=$(openssl rand -hex 16)
    API_KEY_SHA256=$(printf %s "$API_KEY" | sha256sum | cut -d' ' -f1)
    mkdir -p "$RUN/gateway"
    printf '%s bench\n' "$API_KEY" >"$RUN/gateway/api-keys.map"
    "$PLOT_PYTHON" "$LOAD/make_jwt.py" --dir "$RUN/jwt" --hours 12 >"$RAW/make-jwt.log" 2>&1 ||
        die "could not make the jwt scenario's key and token: $(tail -3 "$RAW/make-jwt.log")"
    JWT_TOKEN=$(cat "$RUN/jwt/token")
    { printf 'wrk.headers["X-Api-Key"] = "%s"\n' "$API_KEY"; cat "$LOAD/wrk-summary.lua"; } >"$RUN/wrk-gateway.lua"
    { printf 'wrk.headers["Authorization"] = "Bearer %s"\n' "$JWT_TOKEN"; cat "$LOAD/wrk-summary.lua"; } >"$RUN/wrk-jwt.lua"
}

# The ratelimit-redis scenario's store: a redis-server without persistence, on the load CPU (its CPU is not the proxy's).
start_redis() {
    port_free "$REDIS_PORT" || die "port $REDIS_PORT (redis-server) is in use; set PORT_BASE"
    command -v redis-server >/dev/null || die "redis-server is missing (Debian package redis-server; scripts/deps.sh installs it)"
    mkdir -p "$RUN/redis"
    taskset -c "$LOAD_CPU" redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no --dir "$RUN/redis" \
        --protected-mode no >"$RAW/redis.log" 2>&1 &
    PIDS+=($!)
    REDIS_PID=$!
    wait_port "$REDIS_PORT" 10 || die "redis-server did not start: $(tail -5 "$RAW/redis.log")"
    log "redis-server $(redis-server --version | awk '{ print $3 }') (pid $REDIS_PID) on :$REDIS_PORT, CPU $LOAD_CPU"
}

declare -A PROXY_PID=()

# Starts proxy $1 pinned to PROXY_CPU, checks it, and records its PID in PROXY_PID[$1]. $2 names its log.
start_proxy() {
    [[ $1 == varnish ]] && { start_varnish "$2"; return; }
    local name=$1 port=${PROXY_PORT[$1]} l4port=${L4_PORT[$1]} tlsport=${TLS_PORT[$1]} tlsl4port=${TLSL4_PORT[$1]} logfile="$RAW/$1-$2.log"
    local h2cport=${H2C_PORT[$1]} h2port=${H2_PORT[$1]} gwport=${GW_PORT[$1]} jwtport=${JWT_PORT[$1]:-}
    local rlport=${RL_PORT[$1]} rlcheckport=${RLCHECK_PORT[$1]} tfport=${TF_PORT[$1]}
    # Issue 18's listeners; a proxy that sits a scenario out has no port for it, and no listener.
    local chport=${CH_PORT[$1]:-} stport=${ST_PORT[$1]:-} gzport=${GZ_PORT[$1]:-}
    if [[ $TRANSFORM_ON == 1 ]]; then
        port_free "$tfport" || die "port $tfport (for $name, transform) is in use"
    fi
    [[ $CACHE_ON == 1 && -n $chport ]] && { port_free "$chport" || die "port $chport (for $name, cache-hit) is in use"; }
    [[ $STATIC_ON == 1 && -n $stport ]] && { port_free "$stport" || die "port $stport (for $name, static) is in use"; }
    [[ $GZIP_ON == 1 && -n $gzport ]] && { port_free "$gzport" || die "port $gzport (for $name, gzip) is in use"; }
    if [[ $RATELIMIT_ON == 1 ]]; then
        port_free "$rlport" || die "port $rlport (for $name, ratelimit) is in use"
        port_free "$rlcheckport" || die "port $rlcheckport (for $name, ratelimit check) is in use"
    fi
    port_free "$port" || die "port $port (for $name) is in use"
    if [[ $GATEWAY_ON == 1 ]]; then
        port_free "$gwport" || die "port $gwport (for $name, gateway) is in use"
        [[ -z $jwtport ]] || port_free "$jwtport" || die "port $jwtport (for $name, jwt) is in use"
    fi
    port_free "$l4port" || die "port $l4port (for $name, L4) is in use"
    port_free "$tlsport" || die "port $tlsport (for $name, HTTPS) is in use"
    port_free "$tlsl4port" || die "port $tlsl4port (for $name, TLS on L4) is in use"
    port_free "$h2cport" || die "port $h2cport (for $name, h2c) is in use"
    port_free "$h2port" || die "port $h2port (for $name, h2) is in use"
    case $name in
    fastproxy)
        render "$LOAD/proxy-fastproxy.toml.in" "$RUN/fastproxy.toml" "$port" "$l4port" "$tlsport" "$tlsl4port" "$h2cport" "$h2port" "$gwport" "$jwtport" "$rlport" "$rlcheckport"
        FASTPROXY_LOG_LEVEL=warn taskset -c "$PROXY_CPU" "$ROOT/artifacts/fastproxy" -c "$RUN/fastproxy.toml" >"$logfile" 2>&1 &
        ;;
    nginx)
        mkdir -p "$RUN/nginx-proxy-tmp"
        render "$LOAD/proxy-nginx.conf.in" "$RUN/nginx-proxy.conf" "$port" "$l4port" "$tlsport" "$tlsl4port" "$h2cport" "$h2port" "$gwport" "$jwtport" "$rlport" "$rlcheckport"
        taskset -c "$PROXY_CPU" nginx -p "$RUN" -e "$RAW/nginx-proxy-error.log" -c "$RUN/nginx-proxy.conf" >"$logfile" 2>&1 &
        ;;
    haproxy)
        render "$LOAD/proxy-haproxy.cfg.in" "$RUN/haproxy.cfg" "$port" "$l4port" "$tlsport" "$tlsl4port" "$h2cport" "$h2port" "$gwport" "$jwtport" "$rlport" "$rlcheckport"
        taskset -c "$PROXY_CPU" haproxy -db -f "$RUN/haproxy.cfg" >"$logfile" 2>&1 &
        ;;
    esac
    PROXY_PID[$name]=$!
    PIDS+=("$!")
    wait_port "$port" 15 || die "$name did not start listening on :$port: $(tail -5 "$logfile")"
    wait_port "$l4port" 15 || die "$name did not start listening on :$l4port (L4): $(tail -5 "$logfile")"
    wait_port "$tlsport" 15 || die "$name did not start listening on :$tlsport (HTTPS): $(tail -5 "$logfile")"
    wait_port "$tlsl4port" 15 || die "$name did not start listening on :$tlsl4port (TLS on L4): $(tail -5 "$logfile")"
    wait_port "$h2cport" 15 || die "$name did not start listening on :$h2cport (h2c): $(tail -5 "$logfile")"
    wait_port "$h2port" 15 || die "$name did not start listening on :$h2port (h2): $(tail -5 "$logfile")"
    check_proxy "$name" "$port"
    check_proxy "$name" "$l4port" # L4: each curl is a new connection, so round robin alternates as well
    check_proxy "$name" "$tlsport" https
    check_proxy "$name" "$tlsl4port" https
    check_proxy "$name" "$h2cport" h2c
    check_proxy "$name" "$h2port" h2
    if [[ $GATEWAY_ON == 1 ]]; then
        wait_port "$gwport" 15 || die "$name did not start listening on :$gwport (gateway): $(tail -5 "$logfile")"
        check_gateway "$name" "$gwport"
        if [[ -n $jwtport ]]; then
            wait_port "$jwtport" 15 || die "$name did not start listening on :$jwtport (jwt): $(tail -5 "$logfile")"
            check_jwt "$name" "$jwtport"
        fi
    fi
    if [[ $RATELIMIT_ON == 1 ]]; then
        wait_port "$rlport" 15 || die "$name did not start listening on :$rlport (ratelimit): $(tail -5 "$logfile")"
        wait_port "$rlcheckport" 15 || die "$name did not start listening on :$rlcheckport (ratelimit check): $(tail -5 "$logfile")"
        check_ratelimit "$name" "$rlport" "$rlcheckport"
    fi
    if [[ $RATELIMIT_REDIS_ON == 1 && -n ${RLR_PORT[$name]:-} ]]; then
        wait_port "${RLR_PORT[$name]}" 15 || die "$name did not start listening on :${RLR_PORT[$name]} (ratelimit-redis): $(tail -5 "$logfile")"
        wait_port "${RLRCHECK_PORT[$name]}" 15 || die "$name did not start listening on :${RLRCHECK_PORT[$name]} (ratelimit-redis check): $(tail -5 "$logfile")"
        check_ratelimit "$name" "${RLR_PORT[$name]}" "${RLRCHECK_PORT[$name]}"
    fi
    if [[ $TRANSFORM_ON == 1 ]]; then
        wait_port "$tfport" 15 || die "$name did not start listening on :$tfport (transform): $(tail -5 "$logfile")"
        check_transform "$name" "$tfport"
    fi
    if [[ $CACHE_ON == 1 && -n $chport ]]; then
        wait_port "$chport" 15 || die "$name did not start listening on :$chport (cache-hit): $(tail -5 "$logfile")"
        check_cache_hit "$name" "$chport"
    fi
    if [[ $STATIC_ON == 1 && -n $stport ]]; then
        wait_port "$stport" 15 || die "$name did not start listening on :$stport (static): $(tail -5 "$logfile")"
        check_static "$name" "$stport"
    fi
    if [[ $GZIP_ON == 1 && -n $gzport ]]; then
        wait_port "$gzport" 15 || die "$name did not start listening on :$gzport (gzip): $(tail -5 "$logfile")"
        check_gzip "$name" "$gzport"
    fi
}

# Varnish, for the cache-hit scenario only: its one listener, pinned to PROXY_CPU with one thread pool (the others run
# one worker or thread), the cache in memory (-s malloc, 256 MiB as the others), no management port (-T none), no
# privilege separation (-j none: the run directory is root's). Its working directory (-n) is the run's own.
start_varnish() { # logname
    local name=varnish port=${CH_PORT[varnish]} logfile="$RAW/varnish-$1.log"
    port_free "$port" || die "port $port (for varnish, cache-hit) is in use"
    substitute "$LOAD/proxy-varnish.vcl.in" >"$RUN/varnish.vcl"
    cp "$RUN/varnish.vcl" "$RAW/config-varnish.vcl"
    rm -rf "$RUN/varnish"
    taskset -c "$PROXY_CPU" varnishd -F -j none -n "$RUN/varnish" -a "127.0.0.1:$port" -T none -f "$RUN/varnish.vcl" \
        -s malloc,256m -p thread_pools=1 -p listen_depth=4096 >"$logfile" 2>&1 &
    PROXY_PID[$name]=$!
    PIDS+=("$!")
    wait_port "$port" 30 || die "varnish did not start listening on :$port: $(tail -5 "$logfile")"
    check_cache_hit "$name" "$port"
}

# Requests that reached the origin's /cache-1k so far (its access log there: one line each, written at once).
origin_cache_requests() {
    if [[ -f "$RAW/origin-cache-1k.log" ]]; then wc -l <"$RAW/origin-cache-1k.log"; else echo 0; fi
}

# The cache-hit listener: the cached body is the origin's, and once a first request has filled the cache, five more
# are answered without the origin seeing any of them (the measured run is held to the same: see measure_load).
check_cache_hit() { # name port
    local name=$1 port=$2 url="http://127.0.0.1:$2/cache-1k" before after i xcache age
    curl -fsS --max-time 5 "$url" | cmp -s - "$RUN/www/cache-1k" || die "$name (cache-hit) returned a wrong /cache-1k body on :$port"
    before=$(origin_cache_requests)
    for ((i = 0; i < 5; i++)); do
        curl -fsS --max-time 5 -D "$RUN/cache-headers" "$url" | cmp -s - "$RUN/www/cache-1k" ||
            die "$name (cache-hit) returned a wrong /cache-1k body on :$port"
    done
    after=$(origin_cache_requests)
    ((after == before)) || die "$name (cache-hit): $((after - before)) of 5 requests after the first reached the origin (not served from its cache)"
    xcache=$(tr -d '\r' <"$RUN/cache-headers" | awk -F': ' 'tolower($1) == "x-cache" { print $2 }')
    age=$(tr -d '\r' <"$RUN/cache-headers" | awk -F': ' 'tolower($1) == "age" { print $2 }')
    [[ $xcache == HIT ]] || die "$name (cache-hit) served the origin's body without the origin, but says x-cache: ${xcache:-(none)} (expected HIT)"
    # FastProxy's listeners speak h2c as well (the others' cache-hit listeners are HTTP/1.1 only): hits there too.
    local h2=""
    if [[ $name == fastproxy ]]; then
        for ((i = 0; i < 3; i++)); do
            curl -fsS --max-time 5 --http2-prior-knowledge "$url" | cmp -s - "$RUN/www/cache-1k" ||
                die "$name (cache-hit) returned a wrong /cache-1k body over h2c on :$port"
        done
        ((after == $(origin_cache_requests))) || die "$name (cache-hit): a request over h2c reached the origin (not served from its cache)"
        h2=", 3 more over h2c too"
    fi
    log "$name cache-hit on :$port: 5 requests after the first served without the origin$h2 (x-cache: $xcache, age: ${age:-none})"
}

# The static listener: the file, byte for byte, served by the proxy itself (the origin, which has no such file and
# adds X-Origin to everything, is not asked), with a validator as any file server sends.
check_static() { # name port
    local name=$1 port=$2 url="http://127.0.0.1:$2/16k.txt" headers
    curl -fsS --max-time 5 -D "$RUN/static-headers" "$url" | cmp -s - "$RUN/static/16k.txt" || die "$name (static) returned a wrong /16k.txt on :$port"
    headers=$(tr -d '\r' <"$RUN/static-headers")
    grep -qi '^x-origin:' <<<"$headers" && die "$name (static) answered /16k.txt from the origin, not from disk"
    grep -qi '^etag:' <<<"$headers" || die "$name (static) answered /16k.txt without an ETag"
    if [[ $name == fastproxy ]]; then
        curl -fsS --max-time 5 --http2-prior-knowledge "$url" | cmp -s - "$RUN/static/16k.txt" || die "$name (static) returned a wrong /16k.txt over h2c"
    fi
    log "$name static on :$port: /16k.txt served from disk ($(grep -i '^content-type:' <<<"$headers" || echo 'no content-type'))"
}

# The gzip listener: with Accept-Encoding: gzip the answer is gzip and gunzips to the origin's JSON; without it, the
# JSON as it is. The compressed size (same level, comparable sizes) goes to machine.txt.
GZIP_SIZES=""
check_gzip() { # name port
    local name=$1 port=$2 url="http://127.0.0.1:$2/gzip-16k.json" size
    curl -fsS --max-time 5 -H 'Accept-Encoding: gzip' -D "$RUN/gzip-headers" -o "$RUN/gzip-body" "$url" || die "$name (gzip) does not answer $url"
    tr -d '\r' <"$RUN/gzip-headers" | grep -qi '^content-encoding: gzip$' ||
        die "$name (gzip) answered without Content-Encoding: gzip to Accept-Encoding: gzip ($(tr -d '\r' <"$RUN/gzip-headers" | grep -i '^content-encoding' || echo none))"
    gzip -dc <"$RUN/gzip-body" | cmp -s - "$RUN/www/gzip-16k.json" || die "$name (gzip): the body does not gunzip to the origin's JSON"
    curl -fsS --max-time 5 -D "$RUN/gzip-headers" "$url" | cmp -s - "$RUN/www/gzip-16k.json" ||
        die "$name (gzip) answered a request without Accept-Encoding with something else than the origin's JSON"
    tr -d '\r' <"$RUN/gzip-headers" | grep -qi '^content-encoding:' && die "$name (gzip) compressed for a client that did not ask"
    size=$(stat -c %s "$RUN/gzip-body")
    # FastProxy's listeners speak h2c as well: the same there.
    if [[ $name == fastproxy ]]; then
        curl -fsS --max-time 5 --http2-prior-knowledge -H 'Accept-Encoding: gzip' -D "$RUN/gzip-headers" -o "$RUN/gzip-body" "$url" ||
            die "$name (gzip) does not answer $url over h2c"
        tr -d '\r' <"$RUN/gzip-headers" | grep -qi '^content-encoding: gzip$' || die "$name (gzip) answered without Content-Encoding: gzip over h2c"
        gzip -dc <"$RUN/gzip-body" | cmp -s - "$RUN/www/gzip-16k.json" || die "$name (gzip): the body over h2c does not gunzip to the origin's JSON"
    fi
    GZIP_SIZES+="$name $size bytes; "
    log "$name gzip on :$port: Content-Encoding: gzip, 16,384 bytes of JSON in $size (level $GZIP_LEVEL), gunzipped byte for byte; identity without Accept-Encoding"
}

# The transform listener: what check_proxy checks (with the field to remove sent), the response field set, and the
# origin's echo of the request fields it received: the three set, the removed one absent.
check_transform() { # name port
    local name=$1 port=$2 echo nosniff
    check_proxy "$name" "$port" http -H "X-Internal-Debug: 1"
    echo=$(curl -fsS --max-time 5 -H "X-Internal-Debug: 1" -H "X-Gw-Tier: client-sent" "http://127.0.0.1:$port/transform-echo") ||
        die "$name (transform) does not answer GET /transform-echo"
    [[ $echo == "version=2 tier=gold client=127.0.0.1 debug=" ]] ||
        die "$name (transform): the origin received \"$echo\" (expected \"version=2 tier=gold client=127.0.0.1 debug=\")"
    nosniff=$(curl -fsS --max-time 5 -D - -o /dev/null "http://127.0.0.1:$port/small" | tr -d '\r' |
        awk -F': ' 'tolower($1) == "x-content-type-options" { print $2 }')
    [[ $nosniff == nosniff ]] || die "$name (transform) answered without exactly one X-Content-Type-Options: nosniff (got: $(echo $nosniff))"
    log "$name transform on :$port: the origin got the three fields set and not the removed one; response field set"
}

# The ratelimit listeners: the measured one answers like the plain one (its limit is never reached); the check one,
# limited to 5 a minute per client address, admits exactly 5 of 8 quick requests and refuses the rest with 429, so the
# measured figure is known to come from a proxy that really counts.
check_ratelimit() { # name port checkport
    local name=$1 port=$2 checkport=$3 statuses="" i
    check_proxy "$name" "$port"
    for i in 1 2 3 4 5 6 7 8; do
        statuses+="$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$checkport/small") "
    done
    [[ $statuses == "200 200 200 200 200 429 429 429 " ]] ||
        die "$name (ratelimit check, 5 a minute) answered: $statuses(expected 5 x 200 then 429)"
    log "$name ratelimit on :$port; its 5-a-minute twin on :$checkport refused the 6th request with 429"
}

# The gateway listener: with the key, what check_proxy checks plus the response header set; without it, or with
# another key, 401 (and nothing else is checked: a wrong answer there would make the scenario measure refusals).
check_gateway() { # name port
    local name=$1 port=$2 url="http://127.0.0.1:$2/small" status frame
    check_proxy "$name" "$port" http -H "X-Api-Key: $API_KEY"
    frame=$(curl -fsS --max-time 5 -H "X-Api-Key: $API_KEY" -D - -o /dev/null "$url" | tr -d '\r' | awk -F': ' 'tolower($1) == "x-frame-options" { print $2 }')
    [[ $frame == DENY ]] || die "$name (gateway) answered without exactly one X-Frame-Options: DENY (got: $(echo $frame))"
    status=$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' "$url")
    [[ $status == 401 ]] || die "$name (gateway) answered $status to a request without an API key (expected 401)"
    status=$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' -H "X-Api-Key: not-$API_KEY" "$url")
    [[ $status == 401 ]] || die "$name (gateway) answered $status to an unknown API key (expected 401)"
    log "$name gateway on :$port: key required (401 without it or with another), X-Frame-Options set"
}

# The jwt listener: with the token, what check_proxy checks; without a token, or with its signature altered, 401.
check_jwt() { # name port
    local name=$1 port=$2 url="http://127.0.0.1:$2/small" status tampered last
    check_proxy "$name" "$port" http -H "Authorization: Bearer $JWT_TOKEN"
    status=$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' "$url")
    [[ $status == 401 ]] || die "$name (jwt) answered $status to a request without a token (expected 401)"
    # One base64url character of the signature changed (the last one keeps its unused bits, so change the first).
    local sig=${JWT_TOKEN##*.}
    last=${sig:0:1}
    [[ $last == A ]] && tampered=B || tampered=A
    tampered="${JWT_TOKEN%.*}.$tampered${sig:1}"
    status=$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $tampered" "$url")
    [[ $status == 401 ]] || die "$name (jwt) answered $status to a token with a bad signature (expected 401)"
    log "$name jwt on :$port: ES256 token required (401 without it or with a bad signature)"
}

# The proxy must answer both bodies correctly and alternate between the two origin ports.
check_proxy() { # name port [scheme: http, https, h2c, h2] [curl arguments: headers the listener requires]
    local name=$1 port=$2 scheme=${3:-http} seen="" i origin
    shift $(($# < 3 ? $# : 3))
    # https: verified against the benchmark certificate, by its name (SNI), and only TLS 1.2 or later.
    local curl=(curl -fsS --max-time 5 "$@")
    [[ $scheme == https || $scheme == h2 ]] && curl+=(--cacert "$RUN/tls/cert.pem" --tlsv1.2 --resolve "bench.local:$port:127.0.0.1")
    # HTTP/2: h2c with prior knowledge, h2 by ALPN (curl offers h2 first); either must really be HTTP/2.
    [[ $scheme == h2c ]] && curl+=(--http2-prior-knowledge)
    [[ $scheme == h2 ]] && curl+=(--http2)
    local base="http://127.0.0.1:$port"
    [[ $scheme == https || $scheme == h2 ]] && base="https://bench.local:$port"
    if [[ $scheme == h2c || $scheme == h2 ]]; then
        [[ $("${curl[@]}" -o /dev/null -w '%{http_version}' "$base/small") == 2 ]] || die "$name does not answer HTTP/2 ($scheme) on :$port"
    fi
    for ((i = 0; i < 6; i++)); do
        origin=$("${curl[@]}" -D - -o /dev/null "$base/small" | tr -d '\r' | awk -F': ' 'tolower($1) == "x-origin" { print $2 }') ||
            die "$name does not answer GET /small on :$port"
        [[ -n $origin ]] || die "$name answered GET /small without the origin's X-Origin header"
        seen+=$origin
    done
    [[ $seen == *a* && $seen == *b* ]] || die "$name does not balance over both origins on :$port (saw: $seen)"
    "${curl[@]}" "$base/small" | cmp -s - "$RUN/www/small" || die "$name returned a wrong /small body on :$port"
    "${curl[@]}" "$base/16k" | cmp -s - "$RUN/www/16k" || die "$name returned a wrong /16k body on :$port"
    [[ $("${curl[@]}" -s -o /dev/null -w '%{http_code}' "$base/small") == 200 ]] || die "$name: GET /small on :$port is not 200"
    log "$name (pid ${PROXY_PID[$name]}) answers $scheme on :$port, CPU $PROXY_CPU; origins seen: $seen"
}

# observed: what FastProxy's admin listener serves for scraping: /metrics when this build has it, else /upstreams.
SCRAPE_PATH=""
scrape_loop() { # count logfile: one scrape a second, on the load CPU, at most count times
    local i ok=0
    for ((i = 0; i < $1; i++)); do
        taskset -c "$LOAD_CPU" curl -fsS --max-time 2 -o /dev/null "http://127.0.0.1:$ADMIN_PORT$SCRAPE_PATH" && ok=$((ok + 1))
        echo "scrapes ok: $ok of $((i + 1))" >"$2"
        sleep 1
    done
}

# The observed phase: each proxy's log must receive lines before it is measured (a log that is silently off would
# make the scenario measure nothing). FastProxy and nginx write files (within their 1 s flush); HAProxy's lines reach
# the syslog sink, which counts them.
check_observed() { # name
    local name=$1 port=${PROXY_PORT[$1]} i lines=0
    curl -fsS --max-time 5 -o /dev/null "http://127.0.0.1:$port/small" || die "$name (observed) does not answer GET /small"
    for ((i = 0; i < 50; i++)); do
        case $name in
        fastproxy) lines=$(wc -l 2>/dev/null <"$RUN/fastproxy-access.log" || echo 0) ;;
        nginx) lines=$(wc -l 2>/dev/null <"$RUN/nginx-access.log" || echo 0) ;;
        haproxy) lines=$(cat "$RUN/syslog-count" 2>/dev/null || echo 0) ;;
        esac
        ((lines > 0)) && break
        sleep 0.1
    done
    ((lines > 0)) || die "$name (observed) logged nothing within 5 s of a request"
    if [[ $name == fastproxy ]]; then
        SCRAPE_PATH=/metrics
        curl -fsS --max-time 5 -o /dev/null "http://127.0.0.1:$ADMIN_PORT/metrics" 2>/dev/null || SCRAPE_PATH=/upstreams
        curl -fsS --max-time 5 -o /dev/null "http://127.0.0.1:$ADMIN_PORT$SCRAPE_PATH" || die "fastproxy (observed): the admin listener does not answer $SCRAPE_PATH"
        head -c 400 "$RUN/fastproxy-access.log" >"$RAW/fastproxy-access-sample.txt"
    fi
    log "$name (observed) logs requests ($lines line(s) so far)${SCRAPE_PATH:+; FastProxy scraped at $SCRAPE_PATH}"
}

start_syslog_sink() {
    taskset -c "$LOAD_CPU" "$PLOT_PYTHON" "$LOAD/syslog_sink.py" --port "$SYSLOG_PORT" --count-file "$RUN/syslog-count" \
        >"$RAW/syslog-sink.log" 2>&1 &
    SYSLOG_PID=$!
    PIDS+=("$SYSLOG_PID")
    local i
    for ((i = 0; i < 50; i++)); do [[ -s "$RUN/syslog-count" ]] && break; sleep 0.1; done
    [[ -s "$RUN/syslog-count" ]] || die "the syslog sink did not start: $(tail -3 "$RAW/syslog-sink.log")"
}

# Connections the origin has accepted so far (nginx stub_status; the request that asks is one of them).
origin_accepts() {
    curl -fsS --max-time 5 "http://127.0.0.1:$ORIGIN_A/origin-status" | awk 'NR == 3 { print $1 }' ||
        die "the origin's status page does not answer"
}

alive_or_die() { is_running "${PROXY_PID[$1]}" || die "$1 died (pid ${PROXY_PID[$1]}); its log: $(tail -20 "$2")"; }

# ---------------------------------------------------------------------------------------------------------------
# Measuring.

CSV_HEADER="round,proxy,scenario,path,connections,duration_s,requests,rps,p50_ms,p90_ms,p99_ms,max_ms,cpu_ms,cpu_ms_per_1k,cpu_pct,syscalls_per_req,origin_conns_per_1k,rss_kb,non_2xx,err_connect,err_read,err_write,err_timeout,idle_conns,rss_before_kb,rss_after_kb,rss_after_close_kb,kb_per_conn,mean_ms"

run_wrk() { # port path connections seconds logfile [scheme] [wrk script] -> sets W_* from wrk's summary line
    local port=$1 path=$2 conns=$3 secs=$4 logfile=$5 scheme=${6:-http} script=${7:-$LOAD/wrk-summary.lua}
    # One wrk thread: it shares one CPU with the origin, more threads would only contend.
    timeout $((secs + 30)) taskset -c "$LOAD_CPU" wrk -t1 -c"$conns" -d"${secs}s" --timeout "$WRK_TIMEOUT" --latency \
        -s "$script" "$scheme://127.0.0.1:$port$path" >"$logfile" 2>&1 || die "wrk failed: $(tail -5 "$logfile")"
    local line kv
    line=$(grep '^WRKSUMMARY ' "$logfile") || die "wrk printed no summary: $(tail -5 "$logfile")"
    for kv in ${line#WRKSUMMARY }; do
        printf -v "W_${kv%%=*}" '%s' "${kv#*=}"
    done
}

# h2load for the HTTP/2 scenarios: H2_CONNS connections, H2_STREAMS streams each, for a duration; sets the same W_*
# as run_wrk (h2load gives no percentiles: p50/p90/p99 stay empty, mean and max are taken).
run_h2load() { # port path connections seconds logfile scheme(h2c|h2)
    local port=$1 path=$2 conns=$3 secs=$4 logfile=$5 scheme=$6 url
    url="http://127.0.0.1:$port$path"
    [[ $scheme == h2 ]] && url="https://127.0.0.1:$port$path" # ALPN h2 (h2load's default list offers h2 first)
    timeout $((secs + 30)) taskset -c "$LOAD_CPU" h2load -t1 -c"$conns" -m"$H2_STREAMS" -D"$secs" "$url" >"$logfile" 2>&1 ||
        die "h2load failed: $(tail -5 "$logfile")"
    grep -Eq '^Application protocol: h2c?$' "$logfile" || die "h2load did not speak h2 to :$port: $(grep -i protocol "$logfile")"
    # requests: the ones done and succeeded (the status-code line also counts a few answered after the end).
    local parsed
    parsed=$(awk '
        function us(v) { # h2load prints durations as 123us, 1.23ms or 1.23s
            if (v ~ /us$/) return v + 0
            if (v ~ /ms$/) return v * 1000
            if (v ~ /s$/) return v * 1000000
            return ""
        }
        /^finished in / { d = $3; sub(/,$/, "", d); dur = us(d) }
        /^requests: / { done = $6; ok = $8; failed = $10; errored = $12; timeout = $14 }
        /^status codes: / { s2 = $3 + 0; other = $5 + $7 + $9 } # "N 2xx, N 3xx, N 4xx, N 5xx"
        /^time for request:/ { mx = us($5); mean = us($6) }
        END { printf "requests=%d duration_us=%.0f p50_us= p90_us= p99_us= max_us=%s mean_us=%s status=%d connect=0 read=%d write=0 timeout=%d\n",
                  ok, dur, mx, mean, other, failed + errored, timeout }' "$logfile")
    [[ -n $parsed ]] || die "could not read h2load's summary: $(tail -5 "$logfile")"
    W_mean_us=""
    local kv
    for kv in $parsed; do
        printf -v "W_${kv%%=*}" '%s' "${kv#*=}"
    done
}

measure_load() { # proxy scenario round
    local name=$1 scen=$2 round=$3 port=${PROXY_PORT[$1]} pid=${PROXY_PID[$1]} path conns logbase="$RAW/$1-$2-r$3"
    local scheme=http
    [[ $scen == l4 ]] && port=${L4_PORT[$1]}
    # wrk over TLS with keep-alive: one handshake per connection, then the steady state of encrypted requests.
    [[ $scen == https ]] && port=${TLS_PORT[$1]} scheme=https
    [[ $scen == tls-l4 ]] && port=${TLSL4_PORT[$1]} scheme=https
    [[ $scen == h2c ]] && port=${H2C_PORT[$1]} scheme=h2c
    [[ $scen == h2 ]] && port=${H2_PORT[$1]} scheme=h2
    # The gateway scenarios: wrk sends the API key, or the bearer token, on every request (bench/load/make_jwt.py).
    local script="$LOAD/wrk-summary.lua"
    [[ $scen == gateway ]] && port=${GW_PORT[$1]} script="$RUN/wrk-gateway.lua"
    [[ $scen == jwt ]] && port=${JWT_PORT[$1]} script="$RUN/wrk-jwt.lua"
    [[ $scen == ratelimit ]] && port=${RL_PORT[$1]}
    [[ $scen == ratelimit-redis ]] && port=${RLR_PORT[$1]}
    [[ $scen == transform ]] && port=${TF_PORT[$1]} script="$RUN/wrk-transform.lua"
    [[ $scen == cache-hit ]] && port=${CH_PORT[$1]}
    [[ $scen == static ]] && port=${ST_PORT[$1]}
    [[ $scen == gzip ]] && port=${GZ_PORT[$1]} script="$RUN/wrk-gzip.lua"
    read -r path conns <<<"${SCENARIO[$scen]}"
    local load=run_wrk
    [[ $scheme == h2c || $scheme == h2 ]] && load=run_h2load
    W_mean_us=""
    # observed: FastProxy's metrics are scraped every second for the whole warm-up and measured run (bounded).
    local scraper=""
    if [[ $scen == observed && $name == fastproxy ]]; then
        scrape_loop $((WARMUP_S + MEASURE_S + 8)) "$logbase-scrapes.txt" &
        scraper=$!
        PIDS+=("$scraper")
    fi

    # cache-hit: one request first (it fills the cache again should the entry have expired since the check), then
    # the origin must see none of the warm-up's and measured run's requests.
    local origin_before=""
    if [[ $scen == cache-hit ]]; then
        curl -fsS --max-time 5 -o /dev/null "http://127.0.0.1:$port$path" || die "$name (cache-hit) does not answer $path"
        origin_before=$(origin_cache_requests)
    fi

    # Syscalls are counted during the warm-up, never during the measured run: counting costs the proxy a little CPU.
    local perf_pid="" syscalls=""
    if [[ $HAVE_PERF == 1 ]]; then
        taskset -c "$LOAD_CPU" perf stat -x, -e raw_syscalls:sys_enter -p "$(tree_pids "$pid" | tr ' ' ,)" \
            -o "$logbase-warmup-syscalls.txt" 2>/dev/null &
        perf_pid=$!
        PIDS+=("$perf_pid")
        sleep 0.3 # attached before the first request
    fi
    $load "$port" "$path" "$conns" "$WARMUP_S" "$logbase-warmup.txt" "$scheme" "$script"
    if [[ -n $perf_pid ]]; then
        kill -INT "$perf_pid" 2>/dev/null || true # perf stat writes its counts on SIGINT
        local i=0
        while is_running "$perf_pid" && ((i++ < 50)); do sleep 0.1; done
        stop_pid "$perf_pid"
        syscalls=$(awk -F, '/raw_syscalls:sys_enter/ { print $1 }' "$logbase-warmup-syscalls.txt" 2>/dev/null || true)
        [[ $syscalls =~ ^[0-9]+$ ]] && ((W_requests > 0)) &&
            syscalls=$(awk -v n="$syscalls" -v r="$W_requests" 'BEGIN { printf "%.2f", n / r }') || syscalls=""
    fi
    alive_or_die "$name" "$RAW/$name-load.log"
    ((W_status + W_connect + W_read + W_write + W_timeout == 0)) ||
        log "warning: $name $scen warm-up: non-2xx $W_status, socket errors connect $W_connect read $W_read write $W_write timeout $W_timeout"
    # h2load's timed warm-up ends by cutting the ~1,000 streams still in flight, and every proxy closes the upstream
    # connection of a cut exchange: a short pass with a request count (which ends with every stream answered) refills
    # the pools, so the measured run's "new origin connections" speak of the proxy's pool, not of the warm-up's end.
    if [[ $scheme == h2c || $scheme == h2 ]]; then
        local settle_url="http://127.0.0.1:$port$path"
        [[ $scheme == h2 ]] && settle_url="https://127.0.0.1:$port$path"
        timeout 60 taskset -c "$LOAD_CPU" h2load -t1 -c"$conns" -m"$H2_STREAMS" -n$((conns * H2_STREAMS * 4)) "$settle_url" \
            >"$logbase-settle.txt" 2>&1 || die "h2load settle pass failed: $(tail -5 "$logbase-settle.txt")"
    fi

    sleep 1
    local cpu0 cpu1 accepts0 accepts1
    accepts0=$(origin_accepts)
    cpu0=$(cpu_ticks "$pid")
    $load "$port" "$path" "$conns" "$MEASURE_S" "$logbase.txt" "$scheme" "$script"
    cpu1=$(cpu_ticks "$pid")
    accepts1=$(origin_accepts)
    local rss
    rss=$(rss_kb "$pid")
    if [[ -n $origin_before ]]; then
        local reached=$(($(origin_cache_requests) - origin_before))
        ((reached == 0)) || fail_later "round $round, $name cache-hit: $reached request(s) reached the origin during the warm-up and measured run (not all cache hits)"
    fi
    [[ -n $scraper ]] && stop_pid "$scraper"
    alive_or_die "$name" "$RAW/$name-$([[ $scen == observed ]] && echo observed || echo load).log"

    local row
    row=$(awk -v r="$round" -v p="$name" -v s="$scen" -v path="$path" -v c="$conns" -v req="$W_requests" -v dur="$W_duration_us" \
        -v p50="$W_p50_us" -v p90="$W_p90_us" -v p99="$W_p99_us" -v mx="$W_max_us" -v ticks=$((cpu1 - cpu0)) -v hz="$CLK_TCK" \
        -v rss="$rss" -v sc="$syscalls" -v oc=$((accepts1 - accepts0 - 1)) -v st="$W_status" -v ec="$W_connect" -v er="$W_read" -v ew="$W_write" -v et="$W_timeout" \
        -v mean="$W_mean_us" 'BEGIN {
            cpu = ticks * 1000 / hz
            per1k = req > 0 ? sprintf("%.2f", cpu / req * 1000) : ""
            oc1k = req > 0 ? sprintf("%.2f", oc / req * 1000) : ""
            p50s = p50 == "" ? "" : sprintf("%.3f", p50 / 1000)
            p90s = p90 == "" ? "" : sprintf("%.3f", p90 / 1000)
            p99s = p99 == "" ? "" : sprintf("%.3f", p99 / 1000)
            means = mean == "" ? "" : sprintf("%.3f", mean / 1000)
            printf "%d,%s,%s,%s,%d,%.2f,%d,%.0f,%s,%s,%s,%.3f,%.0f,%s,%.0f,%s,%s,%d,%d,%d,%d,%d,%d,,,,,,%s\n",
                r, p, s, path, c, dur / 1e6, req, req / (dur / 1e6), p50s, p90s, p99s, mx / 1000, cpu, per1k,
                cpu / (dur / 1000) * 100, sc, oc1k, rss, st, ec, er, ew, et, means
        }')
    echo "$row" >>"$CSV"
    log "round $round, $name $scen: $(echo "$row" | awk -F, '{ printf "%s req/s, p50 %s ms, p99 %s ms, mean %s ms, CPU %s ms/1k req (%s%% of its CPU), %s syscalls/req, %s new origin conns/1k req, RSS %d MiB", $8, $9, $11, $29, $14, $15, $16, $17, $18 / 1024 }')"
    if ((W_status + W_connect + W_read + W_write + W_timeout > 0)); then
        fail_later "round $round, $name $scen: non-2xx $W_status, socket errors: connect $W_connect, read $W_read, write $W_write, timeout $W_timeout (see $logbase.txt)"
    fi
}

# On a fresh proxy that has only answered check_proxy's requests: memory left over from a load run (a .NET heap
# grown by it, say) would absorb the connections' memory and hide what they cost. kind: sequential (scenario "idle":
# the connections arrive a hundred at a time) or burst ("idle-burst": all of them send before any is answered, and RSS
# is read BURST_QUIET_S after the last answer).
measure_idle() { # proxy kind
    local name=$1 kind=$2 port=${PROXY_PORT[$1]} pid=${PROXY_PID[$1]}
    local scen=idle burst=() settle=2
    [[ $kind == burst ]] && scen=idle-burst burst=(--burst) settle=$BURST_QUIET_S
    local logbase="$RAW/$name-$scen"
    sleep 2
    local before after closed established ready="$RUN/$scen-ready-$name" client
    before=$(rss_kb "$pid")

    rm -f "$ready"
    timeout 180 taskset -c "$LOAD_CPU" "$PLOT_PYTHON" "$LOAD/idle_clients.py" --port "$port" --connections "$IDLE_CONNS" \
        --open-timeout 60 --hold 90 "${burst[@]}" --ready-file "$ready" >"$logbase.txt" 2>&1 &
    client=$!
    PIDS+=("$client")
    local i=0
    while [[ ! -s "$ready" ]] && ((i++ < 900)) && is_running "$client"; do sleep 0.1; done
    [[ -s "$ready" ]] || die "$scen client did not report (see $logbase.txt): $(tail -5 "$logbase.txt")"
    local opened
    opened=$(sed -n 's/.*"open": \([0-9]*\).*/\1/p' "$ready")
    # Let the proxy settle: every response sent, every connection back to waiting (burst: and the quiet period passed).
    sleep "$settle"
    after=$(rss_kb "$pid")
    established=$(ss -Htn state established "( sport = :$port )" | wc -l)
    alive_or_die "$name" "$RAW/$name-$scen.log"

    stop_pid "$client"
    sleep 2
    closed=$(rss_kb "$pid")

    local row
    row=$(awk -v p="$name" -v s="$scen" -v n="$opened" -v b="$before" -v a="$after" -v c="$closed" 'BEGIN {
            per = n > 0 ? sprintf("%.2f", (a - b) / n) : ""
            printf "1,%s,%s,/small,%d,,,,,,,,,,,,,%d,,,,,,%d,%d,%d,%d,%s,\n", p, s, n, a, n, b, a, c, per
        }')
    echo "$row" >>"$CSV"
    log "$name $scen: $opened connections open ($established established at the proxy), RSS $before -> $after KiB ($(echo "$row" | awk -F, '{ print $28 }') KB per connection${burst:+, ${settle} s after the burst was answered}), $closed KiB after closing them"
    ((opened == IDLE_CONNS)) || fail_later "$name $scen: only $opened of $IDLE_CONNS connections completed their request (see $logbase.txt)"
    ((established >= opened)) || fail_later "$name $scen: only $established of $opened connections were still open at the proxy when RSS was read"
}

# The knobs this run was given that differ from the defaults, as they would be typed before the command.
knobs() {
    local k v d out=""
    for k in ROUNDS=3 WARMUP_S=3 MEASURE_S=10 IDLE_CONNS=5000 "PROXIES=$DEFAULT_PROXIES" \
        "SCENARIOS=$DEFAULT_SCENARIOS" PROXY_CPU=0 LOAD_CPU=1 PORT_BASE=18180 H2_CONNS=10 H2_STREAMS=100; do
        d=${k#*=} k=${k%%=*} v=${!k}
        [[ $v == "$d" ]] || out+="$k=\"$v\" "
    done
    echo "$out"
}

machine_info() {
    {
        echo "date: $(date -u +'%Y-%m-%d %H:%M UTC')"
        echo "commit: $COMMIT"
        echo "nproc: $(nproc)"
        echo "kernel: $(uname -r)"
        echo "cpu: $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
        echo "memory: $(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
        echo "nginx: $(nginx -v 2>&1 | sed 's/^nginx version: //')"
        echo "haproxy: $(haproxy -v | head -1)"
        echo "varnish: $(varnishd -V 2>&1 | head -1)"
        echo "wrk: $(wrk -v 2>&1 | head -1)"
        echo "h2load: $(h2load --version 2>&1 | head -1)"
        echo "dotnet: $(dotnet --version)"
        echo "fastproxy: $("$ROOT/artifacts/fastproxy" --version)"
        echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min; 2 CPUs: above 2 means other work competed)"
        echo "python: $("$PLOT_PYTHON" --version 2>&1), matplotlib $("$PLOT_PYTHON" -c 'import matplotlib; print(matplotlib.__version__)')"
        echo "method: proxy on CPU $PROXY_CPU; wrk (1 thread, HTTP/1.1 keep-alive), origin nginx (1 worker) and idle client on CPU $LOAD_CPU; warm-up ${WARMUP_S} s, measured ${MEASURE_S} s, $ROUNDS round(s); wrk timeout $WRK_TIMEOUT; h2c/h2: h2load (1 thread) with $H2_CONNS connections x $H2_STREAMS streams; gateway/jwt: wrk sending an API key / an ES256 bearer token on every request, nginx left out of jwt (no JWT verification in its open-source build); cache-hit: Varnish (one thread pool, -s malloc) with the others, every measured request a hit (the origin saw none); static: FastProxy and nginx (sendfile off, open_file_cache on, valid 1 s, as FastProxy's), HAProxy serves no files; gzip: level $GZIP_LEVEL in FastProxy and nginx, HAProxy left out (libslz: no level)"
        echo "command: $(knobs)bench/compare.sh"
    } >"$OUT/machine.txt"
}

# ---------------------------------------------------------------------------------------------------------------

main() {
    cd "$ROOT"
    ensure_tools
    check_machine
    CLK_TCK=$(getconf CLK_TCK)
    # perf (optional) counts each proxy's syscalls per request; without it that column reads n/a.
    HAVE_PERF=0
    perf stat -e raw_syscalls:sys_enter -o /dev/null -- true >/dev/null 2>&1 && HAVE_PERF=1
    ((HAVE_PERF)) || log "note: perf cannot count syscalls here; syscalls per request will read n/a"

    if [[ $SKIP_BUILD != 1 ]]; then
        log "building the native AOT binary (artifacts/fastproxy)"
        dotnet publish src/FastProxy/FastProxy.csproj -c Release -o artifacts -nologo -v quiet >/tmp/fastproxy-bench-publish.log 2>&1 ||
            die "dotnet publish failed: $(tail -20 /tmp/fastproxy-bench-publish.log)"
    fi
    [[ -x artifacts/fastproxy ]] || die "artifacts/fastproxy is missing (run without SKIP_BUILD=1)"

    COMMIT=$(git -C "$ROOT" rev-parse --short HEAD)
    # Only the proxy's own sources decide what was measured.
    git -C "$ROOT" diff --quiet HEAD -- src Directory.Build.props Directory.Build.targets Directory.Packages.props || COMMIT+="-dirty"
    # Only a full run (every proxy, every scenario, the default lengths) goes to perf-results/: a quick partial run
    # must never overwrite the full results of the same commit.
    local partial=""
    [[ "$ROUNDS $WARMUP_S $MEASURE_S $IDLE_CONNS $PROXIES $SCENARIOS $H2_CONNS $H2_STREAMS" == "3 3 10 5000 $DEFAULT_PROXIES $DEFAULT_SCENARIOS 10 100" ]] ||
        partial="/tmp/fastproxy-bench-results/$(date +%F-%H%M%S)-$COMMIT"
    OUT=${OUT_DIR:-${partial:-$ROOT/perf-results/$(date +%F)-$COMMIT}}
    RAW="$OUT/raw-logs"
    # Only this script's own files: bench/run-microbench.sh keeps microbench.md in the same directory.
    rm -rf "$RAW" "$OUT/results.csv" "$OUT/results.md" "$OUT/chart.png" "$OUT/machine.txt"
    mkdir -p "$RAW"
    CSV="$OUT/results.csv"
    echo "$CSV_HEADER" >"$CSV"
    RUN=$(mktemp -d /tmp/fastproxy-bench.XXXXXX)
    chmod 755 "$RUN"
    machine_info
    log "results go to ${OUT#"$ROOT"/}${partial:+ (a partial run: perf-results/ is left alone)}"

    local port
    for port in "$ORIGIN_A" "$ORIGIN_B"; do port_free "$port" || die "port $port (origin) is in use; set PORT_BASE"; done
    start_origin
    make_certificate
    [[ $GATEWAY_ON == 1 ]] && make_gateway_material
    [[ $RATELIMIT_REDIS_ON == 1 ]] && start_redis
    # transform: wrk sends the field the proxies remove on every request.
    [[ $TRANSFORM_ON == 1 ]] && { printf 'wrk.headers["X-Internal-Debug"] = "1"\n'; cat "$LOAD/wrk-summary.lua"; } >"$RUN/wrk-transform.lua"
    # gzip: wrk asks for gzip on every request.
    [[ $GZIP_ON == 1 ]] && { printf 'wrk.headers["Accept-Encoding"] = "gzip"\n'; cat "$LOAD/wrk-summary.lua"; } >"$RUN/wrk-gzip.lua"
    # cache-hit: nginx's cache files in tmpfs, made for this run (removed on exit).
    if [[ $CACHE_ON == 1 ]]; then
        CACHE_DIR=$(mktemp -d /dev/shm/fastproxy-bench-cache.XXXXXX)
        chmod 755 "$CACHE_DIR"
    fi

    local name scen load_scenarios=()
    for scen in $SCENARIOS; do
        [[ $scen == idle || -n ${SCENARIO[$scen]:-} ]] || die "unknown scenario $scen (known: ${!SCENARIO[*]} idle)"
        [[ $scen == idle || $scen == observed ]] || load_scenarios+=("$scen")
    done
    local proxies=($PROXIES)
    for name in "${proxies[@]}"; do
        [[ -n ${PROXY_PORT[$name]:-} ]] || die "unknown proxy $name (known: ${!PROXY_PORT[*]})"
    done

    if ((${#load_scenarios[@]})); then
        # Only the proxies that take part in one of the scenarios (Varnish: cache-hit only).
        local started=()
        for name in "${proxies[@]}"; do
            for scen in "${load_scenarios[@]}"; do
                if takes_part "$name" "$scen"; then
                    start_proxy "$name" load
                    started+=("$name")
                    break
                fi
            done
        done
        local round i k
        for ((round = 1; round <= ROUNDS; round++)); do
            for scen in "${load_scenarios[@]}"; do
                # Rotate who goes first, so that no proxy always runs right after the same neighbour.
                for ((i = 0; i < ${#proxies[@]}; i++)); do
                    k=$(((i + round - 1) % ${#proxies[@]}))
                    takes_part "${proxies[k]}" "$scen" || continue
                    measure_load "${proxies[k]}" "$scen" "$round"
                done
            done
        done
        for name in "${started[@]}"; do stop_pid "${PROXY_PID[$name]}"; done
    fi
    # Issue 18's listeners belong to the load phase: the observed and idle phases run the configs they always did (an
    # idle proxy has answered only check_proxy's requests, not a cache fill or a compression).
    CACHE_ON=0 STATIC_ON=0 GZIP_ON=0

    # observed: a phase of its own, the proxies started again with their logs on (and FastProxy's admin listener).
    if [[ " $SCENARIOS " == *" observed "* ]]; then
        port_free "$ADMIN_PORT" || die "port $ADMIN_PORT (FastProxy's admin listener, observed) is in use"
        [[ " $PROXIES " == *" haproxy "* ]] && start_syslog_sink
        OBSERVED_ON=1
        for name in "${proxies[@]}"; do
            takes_part "$name" observed || continue
            start_proxy "$name" observed
            check_observed "$name"
        done
        local round i k
        for ((round = 1; round <= ROUNDS; round++)); do
            for ((i = 0; i < ${#proxies[@]}; i++)); do
                k=$(((i + round - 1) % ${#proxies[@]}))
                takes_part "${proxies[k]}" observed || continue
                measure_load "${proxies[k]}" observed "$round"
            done
        done
        for name in "${proxies[@]}"; do if takes_part "$name" observed; then stop_pid "${PROXY_PID[$name]}"; fi; done
        OBSERVED_ON=0
        local lines=""
        [[ -f "$RUN/fastproxy-access.log" ]] && lines+="FastProxy $(wc -l <"$RUN/fastproxy-access.log") "
        [[ -f "$RUN/nginx-access.log" ]] && lines+="nginx $(wc -l <"$RUN/nginx-access.log") "
        if [[ -n ${SYSLOG_PID:-} ]]; then
            stop_pid "$SYSLOG_PID"
            lines+="HAProxy $(cat "$RUN/syslog-count")"
        fi
        log "observed: lines logged: $lines"
        echo "observed lines logged: $lines" >>"$OUT/machine.txt"
    fi

    if [[ " $SCENARIOS " == *" idle "* ]]; then
        local kind
        for kind in sequential burst; do
            for name in "${proxies[@]}"; do
                takes_part "$name" idle || continue
                start_proxy "$name" "$([[ $kind == burst ]] && echo idle-burst || echo idle)"
                measure_idle "$name" "$kind"
                stop_pid "${PROXY_PID[$name]}"
            done
        done
    fi
    is_running "$ORIGIN_PID" || die "the origin nginx died; its log: $(tail -5 "$RAW/origin-error.log")"

    # Anything a proxy or the origin logged (warnings and errors only) is worth a look before trusting the figures.
    local f
    for f in "$RAW"/*-load.log "$RAW"/*-observed.log "$RAW"/*-idle.log "$RAW"/*-idle-burst.log "$RAW"/*-error.log; do
        local said=$f
        if [[ $f == */varnish-*.log ]]; then
            # varnishd -F narrates its start and stop (Debug:, Info:, "Manager got SIGTERM"): only what else it said is worth a note.
            grep -vE '^(Debug: |Info: |Child launched OK$|Error: Manager got SIGTERM$)' "$f" >"$RUN/varnish-said" || true
            said="$RUN/varnish-said"
        fi
        [[ -s $said ]] && log "note: ${f#"$ROOT"/} is not empty ($(wc -l <"$said") lines): $(head -c 300 "$said" | head -3 | tr '\n' ' ')"
    done

    local elapsed=$(($(date +%s) - STARTED_AT))
    {
        echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
        if [[ -n $GZIP_SIZES ]]; then echo "gzip: compressed size of the 16,384-byte JSON at level $GZIP_LEVEL: $GZIP_SIZES"; fi
        echo "duration: ${elapsed} s for the whole run"
    } >>"$OUT/machine.txt"
    # perf-results/README.md shows the newest full run kept there; a partial run (even one written there with
    # OUT_DIR) leaves it alone, so that its few scenarios never replace the full table.
    local readme=()
    [[ -z $partial && $(dirname "$OUT") == "$ROOT/perf-results" ]] && readme=(--readme "$ROOT/perf-results/README.md")
    "$PLOT_PYTHON" "$LOAD/report.py" --results "$OUT" "${readme[@]}" || die "report.py failed"
    log "done in ${elapsed} s: ${OUT#"$ROOT"/}/results.md, results.csv, chart.png"
    cat "$OUT/results.md"

    if ((${#FAILURES[@]})); then
        printf '\n[compare] FAILED: %d problem(s) during the run (the figures above include them):\n' "${#FAILURES[@]}" >&2
        printf '  - %s\n' "${FAILURES[@]}" >&2
        exit 1
    fi
}

main "$@"
