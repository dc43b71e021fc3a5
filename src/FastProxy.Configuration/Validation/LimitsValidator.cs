using FastProxy.Configuration.Reading;

namespace FastProxy.Configuration.Validation;

/// <summary>[limits] and [listeners.limits]: request size and time limits. A listener's table overrides [limits] key by key.</summary>
internal static class LimitsValidator
{
    public static readonly string[] Keys = ["header_timeout", "idle_timeout", "max_request_line", "max_header_bytes", "max_headers", "max_body"];

    /// <param name="inherited">The values for keys the table does not set: the defaults for [limits], the merged [limits] for a listener.</param>
    public static LimitsConfig Read(TableReader? table, LimitsConfig inherited)
    {
        if (table is null) return inherited;
        return new LimitsConfig
        {
            HeaderTimeout = table.Duration("header_timeout") ?? inherited.HeaderTimeout,
            IdleTimeout = table.Duration("idle_timeout") ?? inherited.IdleTimeout,
            // Request line and header buffers are single allocations indexed by int.
            MaxRequestLine = (int?)table.Size("max_request_line", int.MaxValue) ?? inherited.MaxRequestLine,
            MaxHeaderBytes = (int?)table.Size("max_header_bytes", int.MaxValue) ?? inherited.MaxHeaderBytes,
            MaxHeaders = table.Int("max_headers", 1) ?? inherited.MaxHeaders,
            // "0" = unlimited (the body is streamed, so there is no buffer to size).
            MaxBody = table.Size("max_body", long.MaxValue, allowZero: true) ?? inherited.MaxBody,
        };
    }
}
