using System.Buffers;
using System.Buffers.Text;
using System.Text;
using FastProxy.Policies.Pipeline;

namespace FastProxy.Forwarding;

/// <summary>Writes a gateway policy's answer as an HTTP/1.1 response (an HTTP/2 stream converts it like any other).</summary>
internal static class PolicyAnswerWriter
{
    private static readonly byte[]?[] s_statusLines = new byte[600][];

    /// <param name="listenerLines">The listener's own fields (Strict-Transport-Security), or empty.</param>
    public static void Write(IBufferWriter<byte> output, PolicyAnswer answer, ReadOnlySpan<byte> extraLines, ConnectionHeader connection, bool headRequest,
        Observability.Tracing.RequestTrace? trace = null, ReadOnlySpan<byte> listenerLines = default)
    {
        int status = answer.Status;
        bool bodyless = status < 200 || status == 204 || status == 304;
        var statusLine = StatusLine(status);
        var body = answer.Body;
        var span = output.GetSpan(statusLine.Length + DateHeader.LineLength + answer.HeaderLines.Length + extraLines.Length + listenerLines.Length + 64
            + (trace is null ? 0 : Observability.Tracing.RequestTrace.MaxRequestIdLineLength) + (headRequest ? 0 : body.Length));
        int w = 0;
        Put(span, ref w, statusLine);
        Put(span, ref w, DateHeader.Line);
        if (trace is not null) w += trace.WriteRequestIdLine(span[w..]);
        Put(span, ref w, listenerLines);
        Put(span, ref w, answer.HeaderLines);
        Put(span, ref w, extraLines);
        if (!bodyless)
        {
            Put(span, ref w, "Content-Length: "u8);
            Utf8Formatter.TryFormat(body.Length, span[w..], out int digits);
            w += digits;
            Put(span, ref w, "\r\n"u8);
        }
        Put(span, ref w, connection switch
        {
            ConnectionHeader.Close => "Connection: close\r\n\r\n"u8,
            ConnectionHeader.KeepAlive => "Connection: keep-alive\r\n\r\n"u8,
            _ => "\r\n"u8,
        });
        if (!bodyless && !headRequest) Put(span, ref w, body);
        output.Advance(w);
    }

    internal static byte[] StatusLine(int status)
    {
        if ((uint)status >= (uint)s_statusLines.Length) status = 500;
        // Built once per status code; a race builds it twice, harmlessly.
        return s_statusLines[status] ??= Encoding.ASCII.GetBytes($"HTTP/1.1 {status} {ReasonPhrases.For(status)}\r\n");
    }

    private static void Put(Span<byte> span, ref int w, ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(span[w..]);
        w += bytes.Length;
    }
}
