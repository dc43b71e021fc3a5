namespace FastProxy.Observability.AccessLog;

/// <summary>The request flags' names as logged (JSON array elements), UTF-8, in bit order.</summary>
internal static class AccessLogFlagNames
{
    internal static readonly byte[][] Utf8 = [.. RequestFlagNames.Names.Select(System.Text.Encoding.ASCII.GetBytes)];

    public static IEnumerable<string> All => RequestFlagNames.Names;
}

/// <summary>
/// One request as the access log sees it, filled at the request's end from the request's own buffers: spans into the
/// connection's head and state, so building one allocates nothing. Empty spans are absent values (logged as null or
/// "-"); negative numbers likewise.
/// </summary>
internal ref struct AccessLogEntry
{
    /// <summary>When the request ended (UTC).</summary>
    public DateTime Time;
    /// <summary>The client's address as text (after trusted-proxy resolution).</summary>
    public ReadOnlySpan<byte> ClientIp;
    public ReadOnlySpan<byte> Method;
    public ReadOnlySpan<byte> Host;
    /// <summary>The path as routed (normalised), without the query.</summary>
    public ReadOnlySpan<byte> Path;
    /// <summary>The query, without its '?'; credential parameters are redacted when written.</summary>
    public ReadOnlySpan<byte> Query;
    /// <summary>"HTTP/1.1", "HTTP/1.0", "HTTP/2.0".</summary>
    public ReadOnlySpan<byte> Protocol;
    public int Status;
    /// <summary>Bytes received from the client for this request (head and body).</summary>
    public long BytesIn;
    /// <summary>Bytes sent to the client for this request (head and body).</summary>
    public long BytesOut;
    /// <summary>From the first byte of the request to the last of the response, in Stopwatch ticks.</summary>
    public long DurationTicks;
    /// <summary>The upstream's name; empty when none was used.</summary>
    public ReadOnlySpan<byte> Upstream;
    /// <summary>The server's address ("10.0.0.1:9001") of the last attempt; empty when none.</summary>
    public ReadOnlySpan<byte> Server;
    /// <summary>Request sent to response head received, in Stopwatch ticks; negative: no upstream response.</summary>
    public long UpstreamTicks;
    public ReadOnlySpan<byte> Route;
    public ReadOnlySpan<byte> Consumer;
    public ReadOnlySpan<byte> RequestId;
    public ReadOnlySpan<byte> UserAgent;
    /// <summary>Only the combined format logs it.</summary>
    public ReadOnlySpan<byte> Referer;
    public RequestFlags Flags;
}
