using FastProxy.Policies.Types.JsonBody;

namespace FastProxy.Observability.Metrics;

/// <summary>
/// json_body's counts on /metrics: bodies rewritten per side, and bodies left as they came (or refused) per side and
/// reason. Always shown (0 while no json_body policy runs); the counts are process-wide, kept across reloads.
/// </summary>
internal static class JsonBodyMetrics
{
    public static void Register()
    {
        foreach (bool response in (ReadOnlySpan<bool>)[false, true])
        {
            string side = response ? "response" : "request";
            ExternalMetrics.AddCounter("fastproxy_json_body_transformed_total", "JSON bodies json_body policies rewrote.",
                () => JsonBodyStats.Transformed(response), ("side", side));
            foreach (var reason in (ReadOnlySpan<JsonBodySkip>)[JsonBodySkip.Oversize, JsonBodySkip.Encoded, JsonBodySkip.Invalid])
            {
                ExternalMetrics.AddCounter("fastproxy_json_body_skipped_total",
                    "JSON bodies json_body policies left as they came (or refused): over max_size, an unknown coding, not JSON.",
                    () => JsonBodyStats.Skipped(response, reason), ("side", side), ("reason", reason.ToString().ToLowerInvariant()));
            }
        }
    }
}
