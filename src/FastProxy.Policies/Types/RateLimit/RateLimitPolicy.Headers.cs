using System.Text;
using FastProxy.Policies.Pipeline;

namespace FastProxy.Policies.Types.RateLimit;

/// <summary>
/// The response fields: RateLimit-Policy and RateLimit as draft-ietf-httpapi-ratelimit-headers-10 writes them
/// (structured fields: <c>RateLimit-Policy: "api";q=100;w=60</c>, <c>RateLimit: "api";r=42;t=17</c>), the older
/// X-RateLimit-Limit / -Remaining / -Reset with legacy_headers, and Retry-After on a 429. What does not change per
/// request is formatted once at load; the numbers are written into a stack buffer.
/// </summary>
internal sealed partial class RateLimitPolicy
{
    private void WriteHeaders(PolicyContext context, RateLimitRule rule, in RateLimitDecision decision)
    {
        var headers = _headers[rule.Index];
        // t: seconds until the quota is back (refused: until a request fits again; admitted: until the burst is full).
        long reset = SecondsUp(decision.IsAllowed ? decision.ResetAfterMicros : decision.RetryAfterMicros);
        Span<byte> value = stackalloc byte[headers.RateLimitPrefix.Length + 48];
        if (_options.Headers)
        {
            context.AddResponseHeader("ratelimit-policy"u8, headers.Policy);
            headers.RateLimitPrefix.CopyTo(value);
            int n = headers.RateLimitPrefix.Length;
            n += Format(value[n..], decision.Remaining);
            ";t="u8.CopyTo(value[n..]);
            n += 3;
            n += Format(value[n..], reset);
            context.AddResponseHeader("ratelimit"u8, value[..n]);
        }
        if (_options.LegacyHeaders)
        {
            context.AddResponseHeader("x-ratelimit-limit"u8, headers.Limit);
            context.AddResponseHeader("x-ratelimit-remaining"u8, value[..Format(value, decision.Remaining)]);
            context.AddResponseHeader("x-ratelimit-reset"u8, value[..Format(value, reset)]);
        }
    }

    /// <summary>Whole seconds, rounded up: a client that waits this long is not refused for having come too early.</summary>
    internal static long SecondsUp(long micros) => micros <= 0 ? 0 : (micros + 999_999) / 1_000_000;

    private static int Format(Span<byte> destination, long value)
    {
        value.TryFormat(destination, out int written, default, System.Globalization.CultureInfo.InvariantCulture);
        return written;
    }

    /// <summary>One rule's fixed field values.</summary>
    private sealed class RuleHeaders
    {
        public RuleHeaders(string policy, RateLimitRule rule)
        {
            // The item's name tells apart the policies (and plans) one answer may carry: "api", or "api.gold" for a plan.
            var name = SfString(rule.Index == 0 ? policy : policy + "." + rule.Name);
            long window = Math.Max(1, (long)Math.Ceiling(rule.Period.TotalSeconds));
            Policy = Encoding.ASCII.GetBytes($"{name};q={rule.Limit};w={window}");
            RateLimitPrefix = Encoding.ASCII.GetBytes($"{name};r=");
            Limit = Encoding.ASCII.GetBytes(rule.Limit.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        public byte[] Policy { get; }
        public byte[] RateLimitPrefix { get; }
        public byte[] Limit { get; }

        /// <summary>An RFC 8941 string: printable ASCII, with \ and " escaped (anything else becomes '_').</summary>
        private static string SfString(string text)
        {
            var sb = new StringBuilder("\"");
            foreach (var c in text)
            {
                if (c is '"' or '\\') sb.Append('\\').Append(c);
                else sb.Append(c is >= ' ' and <= '~' ? c : '_');
            }
            return sb.Append('"').ToString();
        }
    }
}
