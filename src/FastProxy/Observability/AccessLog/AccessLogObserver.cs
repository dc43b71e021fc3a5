using System.Diagnostics;
using System.Text;

namespace FastProxy.Observability.AccessLog;

/// <summary>
/// The access log's side of the request record: at each request's end, on the request's thread, the record's text
/// and figures become an <see cref="AccessLogEntry"/> (spans over the record, names transcoded into a stack buffer)
/// that the current writer formats into a queue slot. Registered with the hub only while [access_log] is on.
/// </summary>
internal sealed class AccessLogObserver(AccessLogSink sink) : IRequestObserver
{
    /// <summary>Room for the route, upstream and server names (each cut at <see cref="MaxName"/> characters).</summary>
    private const int MaxName = 128;

    private static ReadOnlySpan<byte> Http10 => "HTTP/1.0"u8;
    private static ReadOnlySpan<byte> Http11 => "HTTP/1.1"u8;
    private static ReadOnlySpan<byte> Http2 => "HTTP/2.0"u8;

    public bool WantsText => true;

    public void OnRequestComplete(RequestRecord record)
    {
        var writer = sink.Writer;
        if (writer is null) return;
        // UTF-8 of three names, at most 3 bytes per char.
        Span<byte> names = stackalloc byte[3 * MaxName * 3];
        int used = 0;
        var upstream = Name(record.Upstream?.Name, names, ref used);
        var server = Name(record.Server?.Address, names, ref used);
        var route = Name(record.Route?.Name, names, ref used);
        var entry = new AccessLogEntry
        {
            Upstream = upstream,
            Server = server,
            Route = route,
            Time = DateTime.UtcNow,
            ClientIp = record.ClientText,
            Method = record.MethodText,
            Host = record.Host,
            Path = record.Path,
            Query = record.Query,
            Protocol = record.Protocol == RequestProtocol.H2 ? Http2 : record.Version == FastProxy.Http1.HttpVersion.Http10 ? Http10 : Http11,
            Status = record.Status,
            BytesIn = record.BytesIn,
            BytesOut = record.BytesOut,
            DurationTicks = record.EndTimestamp - record.StartTimestamp,
            UpstreamTicks = record.UpstreamHeadTimestamp == 0 || record.UpstreamSentTimestamp == 0 ? -1
                : record.UpstreamHeadTimestamp - record.UpstreamSentTimestamp,
            Consumer = record.Consumer is { } consumer ? consumer.NameBytes : default,
            RequestId = record.RequestId,
            UserAgent = record.UserAgent,
            Referer = record.Referer,
            Flags = record.Flags,
        };
        writer.Write(entry);
    }

    private static ReadOnlySpan<byte> Name(string? name, Span<byte> buffer, ref int used)
    {
        if (string.IsNullOrEmpty(name)) return default;
        var chars = name.AsSpan(0, Math.Min(name.Length, MaxName));
        int length = Encoding.UTF8.GetBytes(chars, buffer[used..]);
        var bytes = buffer.Slice(used, length);
        used += length;
        return bytes;
    }
}
