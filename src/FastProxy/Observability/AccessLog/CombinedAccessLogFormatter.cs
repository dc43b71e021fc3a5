namespace FastProxy.Observability.AccessLog;

/// <summary>
/// format = "combined": nginx's predefined "combined" format (and Apache's), so existing log tools read it:
/// <c>$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"</c>.
/// remote_user is always "-" (the proxy never logs a credential, and a Basic user name is one half of one);
/// time is UTC (+0000); the byte count is the response's bytes as sent; text is escaped as nginx does (\xHH).
/// </summary>
internal sealed class CombinedAccessLogFormatter : IAccessLogFormatter
{
    private const int RequestLinePartCap = 768;
    private const int HeaderCap = 256;
    private const int ShortCap = 48;

    private static readonly byte[][] Months =
    [
        "Jan"u8.ToArray(), "Feb"u8.ToArray(), "Mar"u8.ToArray(), "Apr"u8.ToArray(), "May"u8.ToArray(), "Jun"u8.ToArray(),
        "Jul"u8.ToArray(), "Aug"u8.ToArray(), "Sep"u8.ToArray(), "Oct"u8.ToArray(), "Nov"u8.ToArray(), "Dec"u8.ToArray(),
    ];

    public string Name => "combined";

    public int Format(scoped in AccessLogEntry entry, QueryRedaction redaction, Span<byte> buffer)
    {
        var line = new LineWriter(buffer);
        Text(ref line, entry.ClientIp, ShortCap);
        line.Raw(" - - ["u8);
        var t = entry.Time;
        line.Digits2(t.Day);
        line.Byte((byte)'/');
        line.Raw(Months[t.Month - 1]);
        line.Byte((byte)'/');
        line.Digits4(t.Year);
        line.Byte((byte)':');
        line.Digits2(t.Hour);
        line.Byte((byte)':');
        line.Digits2(t.Minute);
        line.Byte((byte)':');
        line.Digits2(t.Second);
        line.Raw(" +0000] \""u8);
        // $request: the request line as received (nginx logs it raw, escaped); for HTTP/2, "GET /p HTTP/2.0".
        line.BeginField(ShortCap);
        line.NginxText(entry.Method);
        line.EndField();
        line.Byte((byte)' ');
        line.BeginField(RequestLinePartCap);
        redaction.WritePath(ref line, entry.Path, entry.Query, json: false);
        line.EndField();
        line.Byte((byte)' ');
        line.BeginField(ShortCap);
        line.NginxText(entry.Protocol);
        line.EndField();
        line.Raw("\" "u8);
        line.Long(entry.Status);
        line.Byte((byte)' ');
        line.Long(Math.Max(0, entry.BytesOut));
        line.Raw(" \""u8);
        Text(ref line, entry.Referer, HeaderCap);
        line.Raw("\" \""u8);
        Text(ref line, entry.UserAgent, HeaderCap);
        line.Raw("\"\n"u8);
        return line.Length;
    }

    /// <summary>"-" for an absent value, as nginx writes it.</summary>
    private static void Text(ref LineWriter line, ReadOnlySpan<byte> value, int cap)
    {
        if (value.IsEmpty)
        {
            line.Byte((byte)'-');
            return;
        }
        line.BeginField(cap);
        line.NginxText(value);
        line.EndField();
    }
}
