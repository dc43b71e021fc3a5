using System.Text.Json;
using FastProxy.Hosting;
using FastProxy.Upstreams;

namespace FastProxy.Admin;

/// <summary>
/// The /upstreams document, written by hand with <see cref="Utf8JsonWriter"/> (no reflection: native AOT clean).
/// Upstreams and servers in configuration order; state is "up", "down" (active checks), "ejected" (outlier detection)
/// or "drained" (by the operator, through POST .../drain; it wins over the others, which keep being tracked).
/// </summary>
internal static class UpstreamsJson
{
    public static byte[] Write(ProxyRuntime runtime, long nowMs)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(4096);
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteStartArray("upstreams");
            foreach (var config in runtime.Config.Upstreams)
            {
                if (!runtime.Upstreams.TryGetValue(config.Name, out var upstream)) continue;
                WriteUpstream(json, upstream, nowMs);
            }
            json.WriteEndArray();
            json.WriteEndObject();
        }
        System.Buffers.BuffersExtensions.Write(buffer, "\n"u8);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>"drained", "ejected", "down" or "up", in that order of precedence.</summary>
    public static string StateOf(ServerHealth health)
        => health.Drained ? "drained" : health.EjectedUntilMs != 0 ? "ejected" : health.ActiveUp ? "up" : "down";

    private static void WriteUpstream(Utf8JsonWriter json, Upstream upstream, long nowMs)
    {
        json.WriteStartObject();
        json.WriteString("name", upstream.Name);
        json.WriteString("balance", upstream.Balancer.Name);
        json.WriteBoolean("active_checks", upstream.Checker is not null);
        json.WriteBoolean("outlier_detection", upstream.Outliers.Enabled);
        json.WriteNumber("in_flight", upstream.Limits.Active);
        json.WriteNumber("pending_connects", upstream.Limits.Pending);
        json.WriteNumber("rejected", upstream.Limits.Rejected);
        json.WriteNumber("ejected", upstream.Outliers.EjectedCount);
        json.WriteStartArray("servers");
        foreach (var server in upstream.Servers)
        {
            var health = server.Health;
            long until = health.EjectedUntilMs;
            json.WriteStartObject();
            json.WriteString("address", server.Address);
            // The entry as written ("app.internal:8080") and how to show it ("app.internal:8080 (10.0.0.5)"); both the
            // address for an IP literal.
            json.WriteString("declared", server.Declared);
            json.WriteString("display", server.Display);
            json.WriteNumber("weight", server.State.Weight);
            json.WriteString("state", StateOf(health));
            json.WriteBoolean("drained", health.Drained);
            json.WriteBoolean("healthy", server.State.IsAvailable);
            json.WriteNumber("ejections", health.Ejections);
            json.WriteNumber("ejected_for_ms", until == 0 ? 0 : Math.Max(until - nowMs, 0));
            json.WriteNumber("consecutive_failures", Volatile.Read(ref health.ConsecutiveFailures));
            json.WriteNumber("in_flight", server.State.InFlight);
            json.WriteNumber("open_connections", server.State.OpenConnections);
            json.WriteNumber("idle_connections", server.Pool.IdleCount);
            // How many idle connections the pool keeps now (adaptive: the recent peak in flight, within the ceiling).
            json.WriteNumber("idle_limit", server.Pool.IdleLimit);
            json.WriteNumber("requests", health.Requests);
            json.WriteNumber("failures", health.Failures);
            json.WriteEndObject();
        }
        json.WriteEndArray();
        json.WriteEndObject();
    }
}
