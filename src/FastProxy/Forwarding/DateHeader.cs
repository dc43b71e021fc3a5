using System.Buffers.Text;

namespace FastProxy.Forwarding;

/// <summary>
/// The Date field of the responses the proxy sends (RFC 9110 §6.6.1: a server with a clock MUST send one, and an
/// intermediary that forwards a response without one MUST add it). Formatted once per second, not per response, as
/// Kestrel's DateHeaderValueManager does: the heartbeat calls <see cref="Refresh"/> and responses copy the bytes. A
/// new array per second (never per response) is published whole, so a reader never sees a value half rewritten.
/// </summary>
internal static class DateHeader
{
    /// <summary>An IMF-fixdate (RFC 9110 §5.6.7) is always 29 octets: "Sun, 06 Nov 1994 08:49:37 GMT".</summary>
    public const int ValueLength = 29;

    /// <summary>"Date: " + value + CRLF.</summary>
    public const int LineLength = 6 + ValueLength + 2;

    private static byte[] s_line = Format(DateTimeOffset.UtcNow);
    private static long s_second = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    /// <summary>"Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n", for the current second (as of the last refresh).</summary>
    public static ReadOnlySpan<byte> Line => Volatile.Read(ref s_line);

    /// <summary>The value alone (for HTTP/2, where the name is HPACK's).</summary>
    public static ReadOnlySpan<byte> Value => Volatile.Read(ref s_line).AsSpan(6, ValueLength);

    /// <summary>Called by the heartbeat (several times a second): a new value when the second has changed.</summary>
    public static void Refresh()
    {
        var now = DateTimeOffset.UtcNow;
        long second = now.ToUnixTimeSeconds();
        if (second == Volatile.Read(ref s_second)) return;
        Volatile.Write(ref s_line, Format(now));
        Volatile.Write(ref s_second, second);
    }

    private static byte[] Format(DateTimeOffset now)
    {
        var line = new byte[LineLength];
        "Date: "u8.CopyTo(line);
        // 'R' is RFC 1123, which IMF-fixdate is: always GMT, English names, two-digit day.
        if (!Utf8Formatter.TryFormat(now, line.AsSpan(6), out int written, new System.Buffers.StandardFormat('R')) || written != ValueLength)
        {
            throw new InvalidOperationException("IMF-fixdate formatting failed");
        }
        line[LineLength - 2] = (byte)'\r';
        line[LineLength - 1] = (byte)'\n';
        return line;
    }
}
