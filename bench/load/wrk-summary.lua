-- wrk reports through this one machine-readable line at the end of a run (bench/compare.sh parses it).
-- Only done() is defined, so wrk keeps its fast path: no Lua call per request or response.
-- Latencies are microseconds. status = responses with a status above 399 (wrk's "Non-2xx or 3xx").
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "WRKSUMMARY requests=%.0f duration_us=%.0f bytes=%.0f p50_us=%.0f p90_us=%.0f p99_us=%.0f max_us=%.0f connect=%.0f read=%.0f write=%.0f status=%.0f timeout=%.0f\n",
    summary.requests, summary.duration, summary.bytes,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    e.connect, e.read, e.write, e.status, e.timeout))
end
