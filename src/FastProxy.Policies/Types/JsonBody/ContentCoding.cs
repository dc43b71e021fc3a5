using System.Buffers;
using System.IO.Compression;
using System.Runtime.InteropServices;
using System.Text;
using FastProxy.Policies.Pipeline;

namespace FastProxy.Policies.Types.JsonBody;

internal enum Coding : byte
{
    Identity = 0,
    Gzip,
    /// <summary>"deflate": the zlib format (RFC 9110 8.4.1.2); a raw deflate stream, which some servers send, is accepted too.</summary>
    Deflate,
    Brotli,
    /// <summary>Anything else (zstd, compress, a list of codings): not decoded, so not transformed.</summary>
    Unknown,
}

internal enum DecodeResult : byte
{
    Done = 0,
    TooLarge,
    Invalid,
}

/// <summary>
/// Content-Encoding for json_body: which coding a message names, and decoding it (System.IO.Compression) into a pooled
/// buffer with a bound on the decoded size, so a small compressed body cannot expand into a large one (a zip bomb).
/// The transformed body is sent in identity coding: the policy drops the Content-Encoding field.
/// </summary>
internal static class ContentCoding
{
    /// <summary>The coding of a Content-Encoding field value (one coding; case-insensitive; "x-gzip" is gzip, RFC 9110 8.4.1.3).</summary>
    public static Coding Parse(ReadOnlySpan<byte> value)
    {
        value = value.Trim(" \t"u8);
        if (value.IsEmpty || Ascii.EqualsIgnoreCase(value, "identity"u8)) return Coding.Identity;
        if (Ascii.EqualsIgnoreCase(value, "gzip"u8) || Ascii.EqualsIgnoreCase(value, "x-gzip"u8)) return Coding.Gzip;
        if (Ascii.EqualsIgnoreCase(value, "deflate"u8)) return Coding.Deflate;
        if (Ascii.EqualsIgnoreCase(value, "br"u8)) return Coding.Brotli;
        return Coding.Unknown;
    }

    /// <summary>Decodes <paramref name="body"/> into <paramref name="output"/>, at most <paramref name="max"/> octets.</summary>
    public static DecodeResult Decode(Coding coding, ReadOnlyMemory<byte> body, long max, PooledBufferWriter output)
    {
        try
        {
            switch (coding)
            {
                case Coding.Brotli:
                    return DecodeBrotli(body.Span, max, output);
                case Coding.Gzip:
                    return DecodeStream(new GZipStream(AsStream(body), CompressionMode.Decompress), max, output);
                case Coding.Deflate:
                    var zlib = DecodeStream(new ZLibStream(AsStream(body), CompressionMode.Decompress), max, output);
                    if (zlib != DecodeResult.Invalid) return zlib;
                    output.Release();
                    return DecodeStream(new DeflateStream(AsStream(body), CompressionMode.Decompress), max, output);
                default:
                    return DecodeResult.Invalid;
            }
        }
        catch (InvalidDataException)
        {
            return DecodeResult.Invalid;
        }
    }

    private static MemoryStream AsStream(ReadOnlyMemory<byte> body)
        => MemoryMarshal.TryGetArray(body, out var segment)
            ? new MemoryStream(segment.Array!, segment.Offset, segment.Count, writable: false)
            : new MemoryStream(body.ToArray(), writable: false);

    private static DecodeResult DecodeStream(Stream decoder, long max, PooledBufferWriter output)
    {
        using (decoder)
        {
            while (true)
            {
                var span = output.GetSpan(16 * 1024);
                int n = decoder.Read(span);
                if (n == 0) return DecodeResult.Done;
                output.Advance(n);
                if (output.WrittenCount > max) return DecodeResult.TooLarge;
            }
        }
    }

    private static DecodeResult DecodeBrotli(ReadOnlySpan<byte> body, long max, PooledBufferWriter output)
    {
        using var decoder = new BrotliDecoder();
        while (true)
        {
            var status = decoder.Decompress(body, output.GetSpan(16 * 1024), out int consumed, out int written);
            body = body[consumed..];
            output.Advance(written);
            if (output.WrittenCount > max) return DecodeResult.TooLarge;
            switch (status)
            {
                case OperationStatus.Done:
                    return body.IsEmpty ? DecodeResult.Done : DecodeResult.Invalid;
                case OperationStatus.DestinationTooSmall:
                    continue;
                case OperationStatus.NeedMoreData:
                    // The stream ended before the compressed data did.
                    return DecodeResult.Invalid;
                default:
                    return DecodeResult.Invalid;
            }
        }
    }
}
