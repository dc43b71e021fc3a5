using System.Buffers;
using System.Buffers.Text;

namespace FastProxy.Forwarding;

/// <summary>Writes an HTTP/2 DATA payload into an HTTP/1.1 message body: as one chunk (RFC 9112 §7.1) or as is.</summary>
internal static class ChunkFraming
{
    public static void Write(IBufferWriter<byte> writer, in ReadOnlySequence<byte> payload, bool chunked)
    {
        if (chunked)
        {
            Span<byte> size = stackalloc byte[16];
            Utf8Formatter.TryFormat((ulong)payload.Length, size, out int n, new StandardFormat('x'));
            writer.Write(size[..n]);
            writer.Write("\r\n"u8);
        }
        foreach (var segment in payload) writer.Write(segment.Span);
        if (chunked) writer.Write("\r\n"u8);
    }
}
