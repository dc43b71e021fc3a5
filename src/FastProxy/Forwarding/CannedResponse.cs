using System.Buffers;
using System.Text;
using FastProxy.Configuration;

namespace FastProxy.Forwarding;

/// <summary>How the connection header of a response the proxy writes itself reads.</summary>
internal enum ConnectionHeader : byte
{
    /// <summary>HTTP/1.1 keep-alive: no Connection field.</summary>
    None = 0,
    Close,
    /// <summary>An HTTP/1.0 client that asked for keep-alive.</summary>
    KeepAlive,
}

/// <summary>
/// A complete response serialised once, at load time, in every variant it can be sent in (connection handling,
/// with or without body for HEAD): sending it is one copy, with the current Date (<see cref="DateHeader"/>) put in
/// after the status line.
/// </summary>
internal sealed class CannedResponse
{
    private readonly byte[][] _variants = new byte[6][];

    /// <summary>Where the Date line goes in every variant: after the status line.</summary>
    private readonly int _dateAt;

    public CannedResponse(int status, string body, IReadOnlyList<KeyValuePair<string, string>> headers)
    {
        Status = status;
        byte[] bodyBytes = Encoding.UTF8.GetBytes(body);
        // 1xx, 204 and 304 never carry a body (RFC 9110 §6.4.1).
        bool bodyless = status < 200 || status == 204 || status == 304;
        foreach (ConnectionHeader connection in new[] { ConnectionHeader.None, ConnectionHeader.Close, ConnectionHeader.KeepAlive })
        {
            for (int head = 0; head < 2; head++)
            {
                var sb = new StringBuilder();
                sb.Append("HTTP/1.1 ").Append(status).Append(' ').Append(ReasonPhrases.For(status)).Append("\r\n");
                _dateAt = sb.Length;
                foreach (var (name, value) in headers)
                {
                    // Framing, connection management and Date (a fixed one would be wrong a second later) are the
                    // proxy's to write.
                    if (name.Equals("content-length", StringComparison.OrdinalIgnoreCase)
                        || name.Equals("transfer-encoding", StringComparison.OrdinalIgnoreCase)
                        || name.Equals("connection", StringComparison.OrdinalIgnoreCase)
                        || name.Equals("date", StringComparison.OrdinalIgnoreCase))
                    {
                        continue;
                    }
                    sb.Append(name).Append(": ").Append(value).Append("\r\n");
                }
                if (!bodyless) sb.Append("Content-Length: ").Append(bodyBytes.Length).Append("\r\n");
                if (connection == ConnectionHeader.Close) sb.Append("Connection: close\r\n");
                else if (connection == ConnectionHeader.KeepAlive) sb.Append("Connection: keep-alive\r\n");
                sb.Append("\r\n");
                byte[] headBytes = Encoding.ASCII.GetBytes(sb.ToString());
                _variants[Index(connection, head == 1)] = head == 1 || bodyless ? headBytes : [.. headBytes, .. bodyBytes];
            }
        }
    }

    public CannedResponse(RespondConfig config) : this(config.Status, config.Body, config.Headers)
    {
    }

    public int Status { get; }

    /// <summary>Writes the response, with the current Date, into <paramref name="output"/> (not flushed).
    /// <paramref name="trace"/>: the request's, whose x-request-id follows the Date. <paramref name="listenerLines"/>: the
    /// listener's own fields (Strict-Transport-Security), after it; not counted by <see cref="Length"/>.</summary>
    public void WriteTo(IBufferWriter<byte> output, ConnectionHeader connection, bool headRequest, Observability.Tracing.RequestTrace? trace = null,
        ReadOnlySpan<byte> listenerLines = default)
    {
        var bytes = _variants[Index(connection, headRequest)];
        output.Write(bytes.AsSpan(0, _dateAt));
        output.Write(DateHeader.Line);
        if (trace is not null)
        {
            var span = output.GetSpan(Observability.Tracing.RequestTrace.MaxRequestIdLineLength);
            output.Advance(trace.WriteRequestIdLine(span));
        }
        if (!listenerLines.IsEmpty) output.Write(listenerLines);
        output.Write(bytes.AsSpan(_dateAt));
    }

    /// <summary>The response's length in octets, Date included.</summary>
    public int Length(ConnectionHeader connection, bool headRequest) => _variants[Index(connection, headRequest)].Length + DateHeader.LineLength;

    /// <summary>The response, with the current Date, into <paramref name="destination"/> (at least <see cref="Length"/> long); returns its length.</summary>
    public int CopyTo(Span<byte> destination, ConnectionHeader connection, bool headRequest)
    {
        var bytes = _variants[Index(connection, headRequest)];
        bytes.AsSpan(0, _dateAt).CopyTo(destination);
        DateHeader.Line.CopyTo(destination[_dateAt..]);
        bytes.AsSpan(_dateAt).CopyTo(destination[(_dateAt + DateHeader.LineLength)..]);
        return bytes.Length + DateHeader.LineLength;
    }

    private static int Index(ConnectionHeader connection, bool headRequest) => (int)connection * 2 + (headRequest ? 1 : 0);
}

/// <summary>The responses the proxy produces itself when it cannot or must not forward (docs/behaviour.md).</summary>
internal static class ProxyResponses
{
    private static readonly Dictionary<int, CannedResponse> s_byStatus = Create();

    private static Dictionary<int, CannedResponse> Create()
    {
        var headers = new List<KeyValuePair<string, string>>
        {
            new("Content-Type", "text/plain; charset=utf-8"),
            new("Server", "fastproxy"),
        };
        var map = new Dictionary<int, CannedResponse>();
        foreach (int status in new[] { 400, 404, 408, 413, 414, 417, 431, 500, 501, 502, 503, 504, 505 })
        {
            map[status] = new CannedResponse(status, $"{status} {ReasonPhrases.For(status)}\n", headers);
        }
        return map;
    }

    public static CannedResponse For(int status) => s_byStatus.TryGetValue(status, out var r) ? r : s_byStatus[500];
}
