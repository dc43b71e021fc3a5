using System.Buffers.Binary;
using System.Text;

namespace FastProxy.Http1.GrpcWeb;

/// <summary>
/// gRPC-Web carries a response's trailers (grpc-status, grpc-message, ...) in the body, as its last frame
/// (PROTOCOL-WEB.md, "Message framing"): the flag octet 0x80 (uncompressed trailers), a 4-octet big-endian length,
/// then the fields as HTTP/1 header lines without the final empty line, names lowercased: "name:value\r\n" (the
/// form Envoy's grpc_web filter writes; clients split on the first ':' and trim the value).
/// </summary>
public static class GrpcWebTrailerFrame
{
    public const byte TrailerFlag = 0x80;

    /// <summary>Room <see cref="Write"/> needs for a trailer section (lines as <see cref="ChunkedDecoder"/> handed them out).</summary>
    public static int MaxLength(ReadOnlySpan<byte> trailerSection) => 5 + trailerSection.Length;

    /// <summary>
    /// Writes the trailer frame for <paramref name="trailerSection"/> (validated "name: value\r\n" lines; empty: a
    /// frame with no fields) into <paramref name="into"/>; returns its length.
    /// </summary>
    public static int Write(ReadOnlySpan<byte> trailerSection, Span<byte> into)
    {
        into[0] = TrailerFlag;
        int w = 5;
        var fields = new TrailerFields(trailerSection);
        while (fields.TryRead(out var name, out var value))
        {
            Ascii.ToLower(name, into[w..], out int n);
            w += n;
            into[w++] = (byte)':';
            value.CopyTo(into[w..]);
            w += value.Length;
            into[w++] = (byte)'\r';
            into[w++] = (byte)'\n';
        }
        BinaryPrimitives.WriteUInt32BigEndian(into[1..], (uint)(w - 5));
        return w;
    }
}
