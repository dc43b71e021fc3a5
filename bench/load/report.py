#!/usr/bin/python3
"""Turns one bench/compare.sh run into results.md and chart.png, and rewrites perf-results/README.md.

  report.py --results perf-results/DATE-COMMIT --readme perf-results/README.md
  report.py --readme perf-results/README.md          (README only, from the newest results directory)

Reads results.csv and machine.txt from the results directory. Needs matplotlib (Debian: python3-matplotlib).
"""
import argparse
import csv
import math
import os
import time
import statistics
import sys

# Varnish takes part in the cache-hit scenario only.
PROXIES = [("fastproxy", "FastProxy"), ("nginx", "nginx"), ("haproxy", "HAProxy"), ("varnish", "Varnish")]
SCENARIOS = [
    ("small", "13-byte body, 64 connections"),
    ("16k", "16 KiB body, 64 connections"),
    ("c1000", "13-byte body, 1,000 connections"),
    ("l4", "L4 (tcp): 13-byte body, 64 connections"),
    ("https", "HTTPS termination: 13-byte body, 64 keep-alive TLS connections"),
    ("tls-l4", "TLS on L4 (tcp): 13-byte body, 64 keep-alive TLS connections"),
    ("h2c", "h2c (HTTP/2 cleartext, prior knowledge): 13-byte body, {conns} connections x 100 streams"),
    ("h2", "h2 over TLS (ALPN): 13-byte body, {conns} connections x 100 streams"),
    ("gateway", "API gateway: client address allow list + API key (x-api-key, a consumer) + a response header set; "
                "13-byte body, 64 connections"),
    ("jwt", "JWT: an ES256 bearer token (one token, reused) verified with a public key; 13-byte body, 64 connections "
            "(nginx: none, its open-source build cannot verify a JWT)"),
    ("ratelimit", "Rate limit per client address, never reached (100,000/s): FastProxy rate_limit (local GCRA), nginx "
                  "limit_req, HAProxy stick-table http_req_rate; 13-byte body, 64 connections"),
    ("observed", "Observed: the 13-byte scenario with the request log on (FastProxy: JSON access log to a file and /metrics "
                 "scraped every second; nginx: access_log to a file; HAProxy: option httplog to a local syslog socket)"),
    ("ratelimit-redis", "The same limit with store = \"redis\" (FastProxy only): one EVALSHA per request to a local "
                        "redis-server; 13-byte body, 64 connections"),
    ("transform", "Header transforms: three request headers set (one the client's address), one removed, one response "
                  "header set (FastProxy headers policy; nginx proxy_set_header + add_header; HAProxy http-request "
                  "set-header/del-header + http-response set-header); 13-byte body, 64 connections"),
    ("cache-hit", "Cache hits: a 1 KiB response the origin marks cacheable (max-age=3600), every measured request served "
                  "from the proxy's cache (FastProxy cache policy, nginx proxy_cache, HAProxy cache, Varnish); 64 connections"),
    ("static", "Static file: 16 KiB served from disk (FastProxy static route, nginx root with sendfile off and "
               "open_file_cache on, valid 1 s; HAProxy serves no files); 64 connections"),
    ("gzip", "gzip: the origin's 16 KiB JSON compressed at level 6 (FastProxy compress, nginx gzip on; HAProxy's libslz "
             "has no level to match); 64 connections, Accept-Encoding: gzip"),
]
# The gateway summary: each proxy's CPU per request with its gateway checks against its own figure without them.
GATEWAY_BASE = "small"
GATEWAY_SCENARIOS = [("gateway", "gateway"), ("jwt", "jwt")]
GATEWAY_TARGET = 1.10  # issue 14: FastProxy's gateway at most 1.10x its own no-policy CPU per request
# The observability summary (issue 15 "Speed"): each proxy's CPU per request with its request log on against its own
# figure without it; FastProxy's target: at most 1.10x its own "small", and below nginx's observed figure.
OBSERVED_TARGET = 1.10
COLOURS = {"fastproxy": "#7b3fa0", "nginx": "#2f8a3b", "haproxy": "#2463a6", "varnish": "#d0822a"}
# Issue 18 "Speed": (scenario, peer, target ratio of FastProxy's CPU per request to the peer's, strictly below it or
# at most it). Cache hits and static files below nginx, hits below Varnish; gzip within 1.1x nginx (the compressor
# dominates).
ISSUE18_SCENARIOS = ["cache-hit", "static", "gzip"]
ISSUE18_TARGETS = [("cache-hit", "nginx", 1.0, "below"), ("cache-hit", "varnish", 1.0, "below"),
                   ("static", "nginx", 1.0, "below"), ("gzip", "nginx", 1.10, "at most")]
REPRODUCE = "bench/compare.sh"
IDLE_TARGET_KB = 2.5
MICROBENCH = "bench/run-microbench.sh"


def num(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def fmt(value, digits=1, thousands=False):
    if math.isnan(value):
        return "n/a"
    return f"{value:,.{digits}f}" if thousands else f"{value:.{digits}f}"


def count(value):
    v = num(value)
    return 0 if math.isnan(v) else int(v)


def ratio(a, b):
    if math.isnan(a) or math.isnan(b) or b == 0:
        return "n/a"
    return f"{a / b:.2f}×"


ERROR_FIELDS = ("non_2xx", "err_connect", "err_read", "err_write", "err_timeout")


def load_rows(results_dir):
    """Every (proxy, scenario): the median of each figure over the rounds, and the sum of each error count."""
    with open(os.path.join(results_dir, "results.csv"), newline="") as f:
        rows = list(csv.DictReader(f))
    groups = {}
    for r in rows:
        groups.setdefault((r["proxy"], r["scenario"]), []).append(r)
    merged = {}
    for key, group in groups.items():
        m = {"rounds": len(group)}
        for field in group[0]:
            if field in ("round", "proxy", "scenario", "path"):
                m[field] = group[0][field]
            elif field in ERROR_FIELDS:
                m[field] = sum(count(r[field]) for r in group)
            else:
                values = [num(r[field]) for r in group if not math.isnan(num(r[field]))]
                m[field] = statistics.median(values) if values else math.nan
                m[field + ":min"] = min(values) if values else math.nan
                m[field + ":max"] = max(values) if values else math.nan
        merged[key] = m
    return merged


def rounds_note(rows):
    n = max((r["rounds"] for (p, s), r in rows.items() if s not in IDLE_SCENARIOS), default=1)
    return [f"Each figure is the median of {n} rounds; error counts are summed over them.", ""] if n > 1 else []


def load_table(rows):
    """One table per load scenario: each proxy's figures, then FastProxy's ratio to nginx and to HAProxy."""
    metrics = [
        ("req/s", "rps", 0, True),
        ("p50 ms", "p50_ms", 2, False),
        ("p99 ms", "p99_ms", 2, False),
        ("mean ms", "mean_ms", 2, False),
        ("CPU ms / 1k req", "cpu_ms_per_1k", 1, False),
        ("CPU %", "cpu_pct", 0, False),
        ("syscalls / req", "syscalls_per_req", 1, False),
        ("new origin conns / 1k req", "origin_conns_per_1k", 2, False),
        ("RSS MiB", "rss_kb", 1, False),
    ]
    # A ratio of two near-zero counts says nothing: this column is read as it is.
    no_ratio = {"origin_conns_per_1k"}
    # Latency columns a scenario's load generator does not give (wrk: no mean; h2load: no percentiles) are left out.
    optional = {"p50_ms", "p99_ms", "mean_ms"}
    all_metrics = metrics
    out = []
    for scenario, title in SCENARIOS:
        present = [(p, label) for p, label in PROXIES if (p, scenario) in rows]
        if not present:
            continue
        metrics = [m for m in all_metrics
                   if m[1] not in optional or any(not math.isnan(num(rows[(p, scenario)].get(m[1]))) for p, _ in present)]
        title = title.format(conns=int(num(rows[(present[0][0], scenario)].get("connections"))))
        out.append(f"**{title}**\n")
        out.append("| proxy | " + " | ".join(m[0] for m in metrics) + " | non-2xx | socket errors |")
        out.append("|---" * (len(metrics) + 3) + "|")
        values = {}
        for p, label in present:
            r = rows[(p, scenario)]
            vals = [num(r.get(key)) / (1024 if key == "rss_kb" else 1) for _, key, _, _ in metrics]
            values[p] = vals
            errors = sum(count(r[k]) for k in ("err_connect", "err_read", "err_write", "err_timeout"))
            cells = [fmt(v, d, thousands) for v, (_, _, d, thousands) in zip(vals, metrics)]
            out.append(f"| {label} | " + " | ".join(cells) + f" | {count(r['non_2xx'])} | {errors} |")
        if "fastproxy" in values:
            for other, label in PROXIES[1:]:
                if other in values:
                    cells = ["" if m[1] in no_ratio else ratio(a, b) for a, b, m in zip(values["fastproxy"], values[other], metrics)]
                    out.append(f"| *FastProxy ÷ {label}* | " + " | ".join(cells) + " | | |")
        out.append("")
    return out


def policy_cost_table(rows, scen, title, what, issue):
    """CPU ms per 1,000 requests through one policy scenario, against each proxy's own no-policy figure (the same run's
    "small"), and FastProxy's against the peers' (the issues' target: below both)."""
    present = [(p, label) for p, label in PROXIES if (p, scen) in rows]
    if not present:
        return []
    def cpu(p, s):
        return num(rows[(p, s)]["cpu_ms_per_1k"]) if (p, s) in rows else math.nan
    out = [f"**{title}: proxy CPU ms per 1,000 requests** (HTTP/1.1, 64 connections, 13-byte body, {what}; the same "
           f"run's `small` scenario is the figure without it)\n",
           f"| proxy | without | {scen} | {scen} ÷ without |",
           "|---|---|---|---|"]
    for p, label in present:
        base, with_policy = cpu(p, GATEWAY_BASE), cpu(p, scen)
        out.append(f"| {label} | {fmt(base)} | {fmt(with_policy)} | {ratio(with_policy, base)} |")
    if any(p == "fastproxy" for p, _ in present):
        peers = [(o, label) for o, label in PROXIES[1:] if (o, scen) in rows]
        for other, label in peers:
            out.append(f"| *FastProxy ÷ {label}* | {ratio(cpu('fastproxy', GATEWAY_BASE), cpu(other, GATEWAY_BASE))} "
                       f"| {ratio(cpu('fastproxy', scen), cpu(other, scen))} | |")
        if peers:
            above = [label for o, label in peers if cpu("fastproxy", scen) >= cpu(o, scen)]
            target = "met" if not above else f"not met: not below {' and '.join(above)}"
            out += ["", f"FastProxy's target ({issue}): {scen} below {' and '.join(l for _, l in peers)} ({target})."]
    out.append("")
    return out


def ratelimit_table(rows):
    return policy_cost_table(rows, "ratelimit", "Rate-limit cost", "a per-IP limit never reached", "issue 16")


def transform_table(rows):
    return policy_cost_table(rows, "transform", "Header-transform cost",
                             "three request headers set, one removed, one response header set", "issue 17")


def summary_tables(rows):
    """The tables a run's results.md and perf-results/README.md both show, in that order."""
    return (rounds_note(rows) + gateway_table(rows) + ratelimit_table(rows) + transform_table(rows) + observed_table(rows)
            + redis_store_table(rows) + issue18_table(rows) + load_table(rows) + idle_table(rows))


def issue18_table(rows):
    """Cache hits, a static file and gzip (issue 18 "Speed"): each proxy's CPU per 1,000 requests, req/s and p99 side
    by side, then FastProxy's CPU per request over each peer's against the issue's targets."""
    scens = [s for s in ISSUE18_SCENARIOS if any((p, s) in rows for p, _ in PROXIES)]
    if not scens:
        return []
    out = ["**Caching, static files, compression (issue 18): proxy CPU ms per 1,000 requests, req/s, p99 ms** (HTTP/1.1, "
           "64 connections; cache-hit: 1 KiB, every measured request a hit; static: a 16 KiB file from disk; gzip: 16 KiB "
           "of JSON at level 6)\n",
           "| scenario | proxy | CPU ms / 1k req | req/s | p99 ms | FastProxy's CPU ÷ this proxy's |",
           "|---|---|---|---|---|---|"]
    def cpu(p, s):
        return num(rows[(p, s)]["cpu_ms_per_1k"]) if (p, s) in rows else math.nan
    for s in scens:
        for p, label in PROXIES:
            if (p, s) not in rows:
                continue
            r = rows[(p, s)]
            vs = "" if p == "fastproxy" else ratio(cpu("fastproxy", s), cpu(p, s))
            out.append(f"| {s} | {label} | {fmt(cpu(p, s))} | {fmt(num(r['rps']), 0, True)} | {fmt(num(r['p99_ms']), 2)} | {vs} |")
    verdicts = []
    labels = dict(PROXIES)
    for s, peer, target, how in ISSUE18_TARGETS:
        mine, theirs = cpu("fastproxy", s), cpu(peer, s)
        if math.isnan(mine) or math.isnan(theirs) or theirs == 0:
            continue
        r = mine / theirs
        met = r < target if how == "below" else r <= target
        bound = f"below {labels[peer]}'s" if target == 1.0 else f"{how} {target:.2f}× {labels[peer]}'s"
        verdicts.append(f"{s} {r:.2f}× {labels[peer]} (target: {bound}: {'met' if met else 'not met'})")
    if verdicts:
        out += ["", "FastProxy's targets (issue 18, CPU per request, same run): " + "; ".join(verdicts) + "."]
    out.append("")
    return out


def redis_store_table(rows):
    """What store = "redis" adds to FastProxy's rate limit against the local store, same run (issue 16)."""
    if ("fastproxy", "ratelimit-redis") not in rows or ("fastproxy", "ratelimit") not in rows:
        return []
    local, redis = rows[("fastproxy", "ratelimit")], rows[("fastproxy", "ratelimit-redis")]
    out = ["**Rate limit through Redis: what store = \"redis\" adds per request** (FastProxy, HTTP/1.1, 64 connections, "
           "the same never-reached per-IP limit; the proxy's CPU only, Redis's own is not counted)\n",
           "| store | CPU ms / 1k req | req/s | p50 ms | p99 ms |",
           "|---|---|---|---|---|"]
    for label, r in (("local", local), ("redis", redis)):
        out.append(f"| {label} | {fmt(num(r['cpu_ms_per_1k']), 2)} | {fmt(num(r['rps']), 0, True)} | "
                   f"{fmt(num(r['p50_ms']), 3)} | {fmt(num(r['p99_ms']), 3)} |")
    cpu = num(redis["cpu_ms_per_1k"]) - num(local["cpu_ms_per_1k"])
    p50 = num(redis["p50_ms"]) - num(local["p50_ms"])
    out += ["", f"Added by Redis: {fmt(cpu, 2)} ms of proxy CPU per 1,000 requests ({fmt(cpu, 2)} µs per request); "
                f"median latency {'+' if p50 >= 0 else '−'}{fmt(abs(p50) * 1000, 0)} µs (64 requests in flight).", ""]
    return out


def gateway_table(rows):
    """CPU ms per 1,000 requests: each proxy without policies (the 13-byte scenario), with its gateway checks and with
    JWT verification, the cost of each over its own no-policy figure, and FastProxy's figures over the peers'."""
    present = [(p, label) for p, label in PROXIES if any((p, s) in rows for s, _ in GATEWAY_SCENARIOS)]
    if not present:
        return []
    def cpu(p, s):
        return num(rows[(p, s)]["cpu_ms_per_1k"]) if (p, s) in rows else math.nan
    out = ["**Gateway cost: proxy CPU ms per 1,000 requests** (HTTP/1.1, 64 connections, 13-byte body; the same run's "
           "`small` scenario is the no-policy figure)\n",
           "| proxy | no policies | gateway | gateway ÷ no policies | jwt | jwt ÷ no policies |",
           "|---|---|---|---|---|---|"]
    for p, label in present:
        base, gw, jwt = cpu(p, GATEWAY_BASE), cpu(p, "gateway"), cpu(p, "jwt")
        jwt_cells = (f"{fmt(jwt)} | {ratio(jwt, base)}" if not math.isnan(jwt)
                     else "n/a (no JWT verification in open-source nginx) | " if p == "nginx" else "n/a | ")
        out.append(f"| {label} | {fmt(base)} | {fmt(gw)} | {ratio(gw, base)} | {jwt_cells} |")
    if any(p == "fastproxy" for p, _ in present):
        for other, label in PROXIES[1:]:
            if any(p == other for p, _ in present):
                out.append(f"| *FastProxy ÷ {label}* | {ratio(cpu('fastproxy', GATEWAY_BASE), cpu(other, GATEWAY_BASE))} "
                           f"| {ratio(cpu('fastproxy', 'gateway'), cpu(other, 'gateway'))} | "
                           f"| {ratio(cpu('fastproxy', 'jwt'), cpu(other, 'jwt'))} | |")
        own = cpu("fastproxy", "gateway") / cpu("fastproxy", GATEWAY_BASE) if cpu("fastproxy", GATEWAY_BASE) else math.nan
        verdicts = []
        if not math.isnan(own):
            verdicts.append(f"gateway ÷ no policies {own:.2f}× (target ≤ {GATEWAY_TARGET:.2f}×: {'met' if own <= GATEWAY_TARGET else 'not met'})")
        if not math.isnan(cpu("fastproxy", "gateway")):
            peers = [(o, label) for o, label in PROXIES[1:] if not math.isnan(cpu(o, "gateway"))]
            above = [label for o, label in peers if cpu("fastproxy", "gateway") >= cpu(o, "gateway")]
            if peers:
                target = "met" if not above else f"not met: not below {' and '.join(above)}"
                verdicts.append(f"gateway below {' and '.join(label for _, label in peers)} (target: {target})")
        if not math.isnan(cpu("fastproxy", "jwt")) and not math.isnan(cpu("haproxy", "jwt")):
            below = cpu("fastproxy", "jwt") < cpu("haproxy", "jwt")
            verdicts.append(f"jwt below HAProxy's jwt_verify (target: {'met' if below else 'not met'})")
        if verdicts:
            out += ["", "FastProxy's targets (issue 14): " + "; ".join(verdicts) + "."]
    out.append("")
    return out


def observed_table(rows):
    """CPU ms per 1,000 requests: each proxy without its request log (the 13-byte scenario) and with it ("observed"),
    the cost over its own figure, and FastProxy's figures over the peers'."""
    present = [(p, label) for p, label in PROXIES if (p, "observed") in rows]
    if not present:
        return []
    def cpu(p, s):
        return num(rows[(p, s)]["cpu_ms_per_1k"]) if (p, s) in rows else math.nan
    out = ["**Observability cost: proxy CPU ms per 1,000 requests** (HTTP/1.1, 64 connections, 13-byte body; the same "
           "run's `small` scenario is the figure without a request log)\n",
           "| proxy | no log | observed | observed ÷ no log |",
           "|---|---|---|---|"]
    for p, label in present:
        base, obs = cpu(p, GATEWAY_BASE), cpu(p, "observed")
        out.append(f"| {label} | {fmt(base)} | {fmt(obs)} | {ratio(obs, base)} |")
    if any(p == "fastproxy" for p, _ in present):
        for other, label in PROXIES[1:]:
            if any(p == other for p, _ in present):
                out.append(f"| *FastProxy ÷ {label}* | {ratio(cpu('fastproxy', GATEWAY_BASE), cpu(other, GATEWAY_BASE))} "
                           f"| {ratio(cpu('fastproxy', 'observed'), cpu(other, 'observed'))} | |")
        verdicts = []
        base = cpu("fastproxy", GATEWAY_BASE)
        own = cpu("fastproxy", "observed") / base if base else math.nan
        if not math.isnan(own):
            verdicts.append(f"observed ÷ no log {own:.2f}× (target ≤ {OBSERVED_TARGET:.2f}×: {'met' if own <= OBSERVED_TARGET else 'not met'})")
        if not math.isnan(cpu("nginx", "observed")):
            below = cpu("fastproxy", "observed") < cpu("nginx", "observed")
            verdicts.append(f"observed below nginx's (target: {'met' if below else 'not met'})")
        if verdicts:
            out += ["", "FastProxy's targets (issue 15): " + "; ".join(verdicts) + "."]
    out.append("")
    return out


IDLE_SCENARIOS = ("idle", "idle-burst")
BURST_QUIET_S = 10  # bench/compare.sh BURST_QUIET_S


def idle_table(rows):
    """The idle scenario's two variants side by side: idle_kb_per_conn (connections arriving a hundred at a time) and
    idle_burst_kb_per_conn (all of them sending at once, RSS read BURST_QUIET_S after the last answer)."""
    present = [(p, label) for p, label in PROXIES if any((p, s) in rows for s in IDLE_SCENARIOS)]
    if not present:
        return []
    first = next(rows[(p, s)] for p, _ in present for s in IDLE_SCENARIOS if (p, s) in rows)
    n = int(num(first["idle_conns"]))
    # Runs from before the burst variant have no idle-burst rows: their table keeps its old columns.
    has_burst = any((p, "idle-burst") in rows for p, _ in present)
    title = f"**{n:,} idle keep-alive client connections** (each has completed one request; fresh proxy process"
    if has_burst:
        title += (f" for each variant). Sequential: the requests go a hundred at a time. Burst: every connection sends its "
                  f"request before any is answered, and RSS is read {BURST_QUIET_S} s after the last answer.")
    else:
        title += ")"
    header = "| proxy | RSS before MiB | RSS with them open MiB | idle_kb_per_conn | RSS after closing them MiB |"
    if has_burst:
        header += f" burst: RSS {BURST_QUIET_S} s after MiB | idle_burst_kb_per_conn | burst ÷ sequential |"
    out = [title + "\n", header, "|---" * (header.count("|") - 1) + "|"]
    nan = {"rss_before_kb": math.nan, "rss_after_kb": math.nan, "rss_after_close_kb": math.nan, "kb_per_conn": math.nan}
    per, burst = {}, {}
    for p, label in present:
        r = rows.get((p, "idle"), nan)
        b = rows.get((p, "idle-burst"), nan)
        per[p] = num(r["kb_per_conn"])
        burst[p] = num(b["kb_per_conn"])
        line = (f"| {label} | {fmt(num(r['rss_before_kb']) / 1024)} | {fmt(num(r['rss_after_kb']) / 1024)} "
                f"| {fmt(per[p], 2)} | {fmt(num(r['rss_after_close_kb']) / 1024)} |")
        if has_burst:
            line += f" {fmt(num(b['rss_after_kb']) / 1024)} | {fmt(burst[p], 2)} | {ratio(burst[p], per[p])} |"
        out.append(line)
    if "fastproxy" in per:
        for other, label in PROXIES[1:]:
            if other in per:
                line = f"| *FastProxy ÷ {label}* | | | {ratio(per['fastproxy'], per[other])} | |"
                if has_burst:
                    line += f" | {ratio(burst['fastproxy'], burst[other])} | |"
                out.append(line)
    out.append("")
    return out


# Tick labels for the chart (the tables carry the full titles).
SHORT = {"small": "13 B\n64 conns", "16k": "16 KiB\n64 conns", "c1000": "13 B\n1,000 conns", "l4": "L4 tcp\n13 B",
         "https": "HTTPS\n13 B", "tls-l4": "TLS on L4\n13 B", "h2c": "h2c\n10 x 100", "h2": "h2 (TLS)\n10 x 100",
         "gateway": "gateway\nIP+key+hdr", "jwt": "jwt\nES256", "ratelimit": "rate limit\nper IP", "transform": "transform\nheaders", "observed": "observed\nlog+metrics",
         "cache-hit": "cache hit\n1 KiB", "static": "static file\n16 KiB", "gzip": "gzip\n16 KiB JSON"}


def chart(rows, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scen = [(s, t) for s, t in SCENARIOS if any((p, s) in rows for p, _ in PROXIES)]
    proxies = [(p, l) for p, l in PROXIES if any((p, s) in rows for s in [s for s, _ in SCENARIOS] + list(IDLE_SCENARIOS))]
    panels = [("Throughput (req/s, higher is better)", "rps", 1, "{:,.0f}"),
              ("Proxy CPU per 1,000 requests (ms, lower is better)", "cpu_ms_per_1k", 1, "{:.1f}")]
    has_idle = any((p, s) in rows for p, _ in PROXIES for s in IDLE_SCENARIOS)
    fig, axes = plt.subplots(1, len(panels) + has_idle, figsize=(7.6 * (len(panels) + has_idle), 5.2), constrained_layout=True)
    width = 0.8 / max(len(proxies), 1)
    rounds = max((r["rounds"] for (p, s), r in rows.items() if s not in IDLE_SCENARIOS), default=1)

    for ax, (title, key, scale, label_fmt) in zip(axes, panels):
        for i, (p, label) in enumerate(proxies):
            xs, ys, lo, hi = [], [], [], []
            for j, (s, _) in enumerate(scen):
                if (p, s) in rows:
                    r = rows[(p, s)]
                    xs.append(j + (i - (len(proxies) - 1) / 2) * width)
                    ys.append(r[key] / scale)
                    lo.append((r[key] - r[key + ":min"]) / scale)
                    hi.append((r[key + ":max"] - r[key]) / scale)
            # Whiskers: the lowest and highest of the rounds; the bar is their median.
            bars = ax.bar(xs, ys, width, label=label, color=COLOURS[p], yerr=[lo, hi] if rounds > 1 else None,
                          error_kw={"elinewidth": 0.8, "capsize": 2, "ecolor": "#333333"})
            ax.bar_label(bars, labels=[label_fmt.format(y) for y in ys], fontsize=7.5, padding=2,
                         rotation=90 if key == "rps" else 0, label_type="center", color="white")
        ax.set_title(title, fontsize=11)
        ax.set_xticks(range(len(scen)), [SHORT.get(s, s) for s, _ in scen], fontsize=8.5)
        ax.margins(y=0.12)
        ax.grid(axis="y", alpha=0.3)
        ax.set_axisbelow(True)
        ax.legend(fontsize=9)

    if has_idle:
        ax = axes[-1]
        ps = [(p, l) for p, l in proxies if any((p, s) in rows for s in IDLE_SCENARIOS)]
        # Two bars per proxy: the connections arriving one after another, and all at once (RSS 10 s after the burst).
        for k, (scen, label, hatch) in enumerate([("idle", "sequential", None), ("idle-burst", f"burst (+{BURST_QUIET_S} s)", "//")]):
            xs = [i + (k - 0.5) * 0.38 for i, (p, _) in enumerate(ps) if (p, scen) in rows]
            ys = [num(rows[(p, scen)]["kb_per_conn"]) for p, _ in ps if (p, scen) in rows]
            cs = [COLOURS[p] for p, _ in ps if (p, scen) in rows]
            bars = ax.bar(xs, ys, 0.36, color=cs, hatch=hatch, edgecolor="white", label=label)
            ax.bar_label(bars, labels=[f"{y:.2f}" for y in ys], fontsize=8.5, padding=2)
        ax.axhline(IDLE_TARGET_KB, color=COLOURS["fastproxy"], linestyle="--", linewidth=1)
        ax.annotate(f"FastProxy's target: {IDLE_TARGET_KB} KB", (len(ps) - 0.6, IDLE_TARGET_KB), textcoords="offset points",
                    xytext=(0, 4), ha="right", fontsize=8.5, color=COLOURS["fastproxy"])
        n = int(num(next(rows[(p, s)] for p, _ in ps for s in IDLE_SCENARIOS if (p, s) in rows)["idle_conns"]))
        ax.set_title(f"Memory per idle connection (KB, {n:,} conns, lower is better)", fontsize=11)
        ax.set_xticks(range(len(ps)), [l for _, l in ps], fontsize=9)
        ax.legend(fontsize=8.5)
        ax.margins(y=0.15)
        ax.grid(axis="y", alpha=0.3)
        ax.set_axisbelow(True)

    what = f"median of {rounds} rounds, whiskers: lowest and highest" if rounds > 1 else "one round"
    fig.suptitle(f"{' vs '.join(l for _, l in proxies)}: keep-alive client connections, proxy pinned to one CPU ({what})", fontsize=12)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def machine_lines(results_dir):
    path = os.path.join(results_dir, "machine.txt")
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [f"- {line.rstrip()}" for line in f if line.strip()]


def results_markdown(results_dir, rows):
    name = os.path.basename(os.path.normpath(results_dir))
    out = [
        f"# Load comparison {name}",
        "",
        f"FastProxy, nginx (`proxy_pass`, upstream `keepalive`) and HAProxy (`http-reuse always`) in front of one nginx "
        f"origin, with equivalent configs (bench/load/). Produced by `{REPRODUCE}`. The L4 scenario relays the same "
        f"HTTP/1.1 traffic as bytes: FastProxy `protocol = \"tcp\"`, nginx `stream`, HAProxy `mode tcp`. Varnish joins "
        f"for cache hits only.",
        "",
        "Ratios are FastProxy's figure divided by the other proxy's, from this one run: above 1 is better for req/s, "
        "worse for latency, CPU and memory. The machine is shared and noisy: trust ratios and CPU per request more than "
        "absolute req/s (wrk and the origin share one CPU, so req/s is capped by them as much as by the proxy).",
        "",
    ]
    out += summary_tables(rows)
    out += ["![throughput, CPU per 1k requests, memory per idle connection](chart.png)", "", "## Machine and method", ""]
    out += machine_lines(results_dir)
    out += [
        "",
        "- CPU ms / 1k req: the proxy's utime+stime (its whole process tree, from /proc/PID/stat, read before and after "
        "the measured run) divided by the requests wrk counted. CPU %: the same time over the run's length, as a share of "
        "the one CPU the proxy may use (well under 100 %: the proxy waited on something, or the load side was the limit). "
        "syscalls / req: the proxy's system calls (perf, raw_syscalls:sys_enter) during the warm-up run, which is "
        "not the measured one, over the requests wrk counted in it. New origin conns / 1k req: connections the origin "
        "accepted during the measured run (its stub_status) per 1,000 requests; 0 means every request reused a pooled "
        "connection. RSS: VmRSS of the process tree after the measured run.",
        "- p50/p99: wrk's latency distribution (`--latency`); wrk is closed-loop, so the tail is understated.",
        "- h2c/h2: h2load (`-c` connections, `-m 100` streams in flight on each, `-D` seconds), HTTP/2 from the client and "
        "HTTP/1.1 to the origin; h2load prints no percentiles, so mean ms is its mean request time (and max_ms in "
        "results.csv its slowest); non-2xx counts requests done without a 2xx, socket errors its failed and errored ones.",
        "- Idle: RSS of a fresh proxy (it has answered only the 9 check requests) before, and 2 s after, the idle client "
        "(bench/load/idle_clients.py) opened its connections and completed one request on each, a hundred at a time; "
        "KB per connection = growth / connections (idle_kb_per_conn). Burst (idle_burst_kb_per_conn): the same on another "
        "fresh proxy, the client opening every connection, then writing every request before reading any answer "
        f"(`--burst`: all of them in flight at once, through the nginx origin), RSS read {BURST_QUIET_S} s after the last answer.",
        "- Gateway and jwt: the client sends an API key (`x-api-key`) or an ES256 bearer token on every request (a static "
        "wrk header; key, key pair and token are made for the run, bench/load/make_jwt.py). Gateway: FastProxy `ip_filter` + "
        "`api_key` + `headers` (a response header set) on a listener; HAProxy an `acl` on `src`, `map_str` on "
        "`req.hdr(x-api-key)`, `http-response set-header`; nginx `allow`/`deny`, a `map` on `$http_x_api_key` (401 when "
        "unknown), `add_header`. Each removes the key and names the consumer to the origin. Jwt: FastProxy's `jwt` policy "
        "(`keys` = the public key file, `algorithms = [\"ES256\"]`) against HAProxy's `jwt_verify` with alg and exp checks; "
        "nginx has no JWT verification outside NGINX Plus, so it has no jwt row.",
        "- Observed: the proxies started again with their request logs on (bench/load/proxy-*-observed.*.in), the 13-byte "
        "scenario at 64 connections: FastProxy `[access_log]` JSON to a file (64 KiB batches, flushed every second) and its "
        "admin `/metrics` scraped every second by a curl loop on the load CPU; nginx `access_log` to a file with a JSON "
        "`log_format` of the same fields (`escape=json`, `buffer=64k flush=1s`); HAProxy `option httplog` sent to a UDP "
        "syslog socket on the load CPU (bench/load/syslog_sink.py counts the lines). Read against the same proxy's `small`.",
        "- Transform: wrk sends `X-Internal-Debug: 1` on every request; each proxy sets `X-Gw-Version`, `X-Gw-Tier` and "
        "`X-Gw-Client` (the client's address), removes `X-Internal-Debug`, and sets `X-Content-Type-Options` on the response "
        "(FastProxy `headers` policy on a listener; nginx `proxy_set_header` + `add_header`; HAProxy `http-request "
        "set-header`/`del-header` + `http-response set-header`). Before measuring, the origin's `/transform-echo` must show "
        "exactly the fields set and not the removed one. Read against the same proxy's `small`.",
        "- Cache-hit, static, gzip (issue 18), each on a listener of its own at 64 connections. Cache-hit: the origin's "
        "`/cache-1k` (1 KiB, `Cache-Control: max-age=3600`) through FastProxy's `cache` policy, nginx `proxy_cache` (files in "
        "tmpfs, no `proxy_cache_valid`), HAProxy's `cache` section and Varnish (`-s malloc`, one thread pool, pinned to the "
        "proxy CPU), each keyed by host, path and query; the origin logs every request that reaches `/cache-1k`, and the "
        "count must not move during the warm-up and the measured run. Static: a 16 KiB file from disk, FastProxy `static` "
        "route against nginx `root` (sendfile off, nginx's default and FastProxy's way: read into a buffer, then "
        "written; open_file_cache on, 1,024 files checked again after 1 s, as FastProxy keeps a file open for 1 s); HAProxy "
        "serves no files. Gzip: "
        "the origin's 16 KiB JSON, sent uncompressed, compressed at level 6 by FastProxy's `compress` policy and nginx "
        "`gzip on` (`gzip_comp_level 6`); wrk sends `Accept-Encoding: gzip` and each answer is checked to gunzip to the "
        "origin's body (compressed sizes in machine.txt: the same level, but nginx's zlib and .NET's zlib-ng deflate differently, "
        "so they differ by a few per cent). Debian's HAProxy compresses with libslz, one fixed effort no "
        "level setting changes, so it is left out of gzip.",
        "- results.csv holds every figure; raw-logs/ (wrk output, proxy logs, rendered configs) stays on the machine.",
        "",
    ]
    return "\n".join(out)


def duration(results_dir):
    for line in machine_lines(results_dir):
        if line.startswith("- duration: "):
            seconds = int(line.split()[2])
            return f"{seconds // 60} min {seconds % 60} s"
    return "an unknown time"


def newest(perf_dir, filename):
    """The run directory holding filename that was made last: by the date in its machine.txt, else its own time.

    Directory names are <date>-<commit>, and commits do not sort in time order within a day."""
    def made(d):
        machine = os.path.join(perf_dir, d, "machine.txt")
        if os.path.isfile(machine):
            with open(machine) as f:
                for line in f:
                    if line.startswith("date:"):
                        return line.split(":", 1)[1].strip()
        return time.strftime("%Y-%m-%d %H:%M", time.gmtime(os.path.getmtime(os.path.join(perf_dir, d, filename))))
    dirs = [d for d in os.listdir(perf_dir) if os.path.isfile(os.path.join(perf_dir, d, filename))]
    return max(dirs, key=made) if dirs else None


def readme(perf_dir):
    latest = newest(perf_dir, "results.csv")
    micro = newest(perf_dir, "microbench.md")
    out = [
        "# Performance results",
        "",
        "Generated by bench/load/report.py; do not edit by hand. Each run is kept in its own directory, "
        "`<date>-<commit>/` (the commit is the tree measured).",
        "",
        "## How to reproduce",
        "",
        "- Load comparison against nginx and HAProxy (and Varnish for cache hits), from the repository root: "
        f"`{REPRODUCE}`. It installs what is "
        "missing with apt-get, builds the native AOT binary, runs every scenario for every proxy"
        + (f" (the latest run took {duration(os.path.join(perf_dir, latest))})" if latest else "")
        + " and writes a new `<date>-<commit>/` here, then this page. Knobs are listed at the top of the script; "
        "a quick FastProxy-only check while tuning: `ROUNDS=1 PROXIES=fastproxy SCENARIOS=small bench/compare.sh` "
        "(compare ratios only within one full run).",
        f"- Microbenchmarks (BenchmarkDotNet, short job, fails if any benchmark allocates): `{MICROBENCH}`",
        "",
    ]
    # The hand-written list of every run, with its headline ratios.
    if os.path.exists(os.path.join(perf_dir, "history.md")):
        out += ["Every load run so far, with its headline ratios: [history.md](history.md).", ""]
    if latest:
        rows = load_rows(os.path.join(perf_dir, latest))
        out += [f"## Latest load comparison: [{latest}]({latest}/results.md)", ""]
        out += summary_tables(rows)
        out += [f"![chart]({latest}/chart.png)", ""]
        out += machine_lines(os.path.join(perf_dir, latest))
        out += [""]
    if micro:
        # A run of a subset (run-microbench.sh '<filter>') files only those classes: list every file, newest first,
        # with the classes each holds, so the latest figures of every component can be found.
        out += ["## Microbenchmarks", "", "Newest first; each file names the classes it measured.", ""]
        for d in sorted((d for d in os.listdir(perf_dir) if os.path.isfile(os.path.join(perf_dir, d, "microbench.md"))),
                        reverse=True):  # <date>-<commit>: newest day first
            with open(os.path.join(perf_dir, d, "microbench.md")) as f:
                classes = [line[3:].strip() for line in f if line.startswith("## ")]
            out += [f"- [{d}/microbench.md]({d}/microbench.md): {', '.join(classes)}"]
        out += [""]
    # The hand-written record of what was tried to make the proxy fast, and what each change gave.
    log = os.path.join(perf_dir, "tuning-log.md")
    if os.path.exists(log):
        with open(log) as f:
            out += [f.read().rstrip(), ""]
    return "\n".join(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results", help="a results directory written by bench/compare.sh")
    parser.add_argument("--readme", help="perf-results/README.md to rewrite")
    args = parser.parse_args()
    if not args.results and not args.readme:
        parser.error("nothing to do: give --results and/or --readme")

    if args.results:
        rows = load_rows(args.results)
        chart(rows, os.path.join(args.results, "chart.png"))
        with open(os.path.join(args.results, "results.md"), "w") as f:
            f.write(results_markdown(args.results, rows))
    if args.readme:
        with open(args.readme, "w") as f:
            f.write(readme(os.path.dirname(os.path.abspath(args.readme))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
