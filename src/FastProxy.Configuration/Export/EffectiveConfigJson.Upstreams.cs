using System.Text.Json;

namespace FastProxy.Configuration.Export;

public static partial class EffectiveConfigJson
{
    private static void WriteUpstreams(Utf8JsonWriter json, IReadOnlyList<UpstreamConfig> upstreams)
    {
        json.WriteStartArray("upstreams");
        foreach (var upstream in upstreams)
        {
            json.WriteStartObject();
            json.WriteString("name", upstream.Name);
            json.WriteString("balance", upstream.Balance switch
            {
                BalanceKind.LeastConn => "least_conn",
                BalanceKind.IpHash => "ip_hash",
                BalanceKind.Weighted => "weighted",
                BalanceKind.ConsistentHash => "consistent_hash",
                BalanceKind.PowerOfTwoChoices => "p2c",
                _ => "round_robin",
            });
            if (upstream.Balance == BalanceKind.ConsistentHash) json.WriteString("hash_key", upstream.HashKey.ToString());
            if (upstream.Sticky is { } sticky)
            {
                json.WriteStartObject("sticky");
                json.WriteString("cookie", sticky.Cookie);
                if (sticky.Ttl is { } ttl) json.WriteString("ttl", Duration(ttl));
                json.WriteString("path", sticky.Path);
                json.WriteBoolean("httponly", sticky.HttpOnly);
                json.WriteBoolean("secure", sticky.Secure);
                json.WriteEndObject();
            }
            json.WriteString("protocol", upstream.Protocol switch { UpstreamProtocol.H2c => "h2c", UpstreamProtocol.H2 => "h2", _ => "http1" });
            json.WriteBoolean("tls", upstream.Tls);
            if (upstream.Ca is null) json.WriteNull("ca");
            else json.WriteString("ca", upstream.Ca);
            if (upstream.Sni is null) json.WriteNull("sni");
            else json.WriteString("sni", upstream.Sni);
            json.WriteBoolean("insecure_skip_verify", upstream.InsecureSkipVerify);
            json.WriteString("connect_timeout", Duration(upstream.ConnectTimeout));
            json.WriteString("response_timeout", Duration(upstream.ResponseTimeout));
            json.WriteString("read_timeout", Duration(upstream.ReadTimeout ?? upstream.ResponseTimeout));
            json.WriteString("request_timeout", Duration(upstream.RequestTimeout));
            if (upstream.MaxIdlePerServer is { } maxIdle) json.WriteNumber("max_idle_per_server", maxIdle);
            else json.WriteNull("max_idle_per_server");
            json.WriteBoolean("request_buffering", upstream.RequestBuffering);
            json.WriteStartArray("servers");
            foreach (var server in upstream.Servers)
            {
                json.WriteStartObject();
                json.WriteString("address", Redaction.Scrub(server.Address));
                json.WriteString("resolved", server.EndPoint.ToString());
                json.WriteNumber("weight", server.Weight);
                json.WriteEndObject();
            }
            json.WriteEndArray();
            if (upstream.Health is { } health)
            {
                json.WriteStartObject("health");
                json.WriteString("type", health.Type == HealthCheckType.Tcp ? "tcp" : "http");
                json.WriteString("path", health.Path);
                json.WriteString("method", health.Method);
                json.WriteString("interval", Duration(health.Interval));
                json.WriteString("timeout", Duration(health.Timeout));
                json.WriteNumber("unhealthy", health.Unhealthy);
                json.WriteNumber("healthy", health.Healthy);
                json.WriteString("expect", health.ExpectMin == health.ExpectMax
                    ? health.ExpectMin.ToString(System.Globalization.CultureInfo.InvariantCulture)
                    : string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{health.ExpectMin}-{health.ExpectMax}"));
                json.WriteEndObject();
            }
            else json.WriteNull("health");
            if (upstream.Passive is { } passive)
            {
                json.WriteStartObject("passive");
                json.WriteNumber("consecutive_failures", passive.ConsecutiveFailures);
                json.WriteString("eject", Duration(passive.Eject));
                json.WriteNumber("max_ejected_percent", passive.MaxEjectedPercent);
                json.WriteEndObject();
            }
            else json.WriteNull("passive");
            if (upstream.Retry is { } retry)
            {
                json.WriteStartObject("retry");
                json.WriteNumber("attempts", retry.Attempts);
                json.WriteNumber("budget_percent", retry.BudgetPercent);
                json.WriteEndObject();
            }
            else json.WriteNull("retry");
            if (upstream.Limits is { } limits)
            {
                json.WriteStartObject("limits");
                json.WriteNumber("max_requests", limits.MaxRequests);
                json.WriteNumber("max_pending", limits.MaxPending);
                json.WriteEndObject();
            }
            else json.WriteNull("limits");
            json.WriteEndObject();
        }
        json.WriteEndArray();
    }
}
