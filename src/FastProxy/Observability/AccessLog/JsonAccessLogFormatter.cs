namespace FastProxy.Observability.AccessLog;

/// <summary>
/// format = "json": one object a line, keys always present in this order, absent values null:
/// {"time":"2026-12-07T15:41:00.123Z","client_ip":"127.0.0.1","method":"GET","host":"example.com","path":"/a?b=1",
/// "protocol":"HTTP/1.1","status":200,"bytes_in":78,"bytes_out":152,"duration_ms":0.412,"upstream":"api",
/// "server":"127.0.0.1:9001","upstream_ms":0.301,"route":"api","consumer":null,"request_id":"...","user_agent":"curl/8.5.0","flags":[]}
/// </summary>
internal sealed class JsonAccessLogFormatter : IAccessLogFormatter
{
    // Per-field caps (escapes included): a path longer than this is cut, so one request cannot starve the rest of
    // its line; LineWriter's reserve still guarantees the line fits.
    private const int PathCap = 768;
    private const int HostCap = 256;
    private const int UserAgentCap = 256;
    private const int NameCap = 128;
    private const int ShortCap = 48;

    public string Name => "json";

    public int Format(scoped in AccessLogEntry entry, QueryRedaction redaction, Span<byte> buffer)
    {
        var line = new LineWriter(buffer);
        line.Raw("{\"time\":\""u8);
        var t = entry.Time;
        line.Digits4(t.Year);
        line.Byte((byte)'-');
        line.Digits2(t.Month);
        line.Byte((byte)'-');
        line.Digits2(t.Day);
        line.Byte((byte)'T');
        line.Digits2(t.Hour);
        line.Byte((byte)':');
        line.Digits2(t.Minute);
        line.Byte((byte)':');
        line.Digits2(t.Second);
        line.Byte((byte)'.');
        line.Digits3(t.Millisecond);
        line.Raw("Z\",\"client_ip\":"u8);
        String(ref line, entry.ClientIp, ShortCap);
        line.Raw(",\"method\":"u8);
        String(ref line, entry.Method, ShortCap);
        line.Raw(",\"host\":"u8);
        String(ref line, entry.Host, HostCap);
        line.Raw(",\"path\":"u8);
        if (entry.Path.IsEmpty)
        {
            line.Raw("null"u8);
        }
        else
        {
            line.Byte((byte)'"');
            line.BeginField(PathCap);
            redaction.WritePath(ref line, entry.Path, entry.Query, json: true);
            line.EndField();
            line.Byte((byte)'"');
        }
        line.Raw(",\"protocol\":"u8);
        String(ref line, entry.Protocol, ShortCap);
        line.Raw(",\"status\":"u8);
        line.Long(entry.Status);
        line.Raw(",\"bytes_in\":"u8);
        line.Long(Math.Max(0, entry.BytesIn));
        line.Raw(",\"bytes_out\":"u8);
        line.Long(Math.Max(0, entry.BytesOut));
        line.Raw(",\"duration_ms\":"u8);
        line.Milliseconds(entry.DurationTicks);
        line.Raw(",\"upstream\":"u8);
        String(ref line, entry.Upstream, NameCap);
        line.Raw(",\"server\":"u8);
        String(ref line, entry.Server, NameCap);
        line.Raw(",\"upstream_ms\":"u8);
        if (entry.UpstreamTicks < 0) line.Raw("null"u8);
        else line.Milliseconds(entry.UpstreamTicks);
        line.Raw(",\"route\":"u8);
        String(ref line, entry.Route, NameCap);
        line.Raw(",\"consumer\":"u8);
        String(ref line, entry.Consumer, NameCap);
        line.Raw(",\"request_id\":"u8);
        String(ref line, entry.RequestId, NameCap);
        line.Raw(",\"user_agent\":"u8);
        String(ref line, entry.UserAgent, UserAgentCap);
        line.Raw(",\"flags\":["u8);
        line.BeginField(LineQueue.SlotSize);
        var flags = (uint)entry.Flags;
        bool first = true;
        for (int bit = 0; flags != 0 && bit < AccessLogFlagNames.Utf8.Length; bit++, flags >>= 1)
        {
            if ((flags & 1) == 0) continue;
            // A name whole or not at all: the flags come last, after whatever text the line holds.
            var name = AccessLogFlagNames.Utf8[bit];
            if (!line.TryRaw(first ? 2 + name.Length : 3 + name.Length)) break;
            if (!first) line.Byte((byte)',');
            first = false;
            line.Byte((byte)'"');
            line.Raw(name);
            line.Byte((byte)'"');
        }
        line.EndField(ellipsis: false);
        line.Raw("]}\n"u8);
        return line.Length;
    }

    private static void String(ref LineWriter line, ReadOnlySpan<byte> value, int cap)
    {
        if (value.IsEmpty)
        {
            line.Raw("null"u8);
            return;
        }
        line.Byte((byte)'"');
        line.BeginField(cap);
        line.JsonText(value);
        line.EndField();
        line.Byte((byte)'"');
    }
}
