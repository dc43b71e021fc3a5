using System.Buffers;
using System.Buffers.Text;
using System.Runtime.CompilerServices;
using FastProxy.Async;
using FastProxy.StaticFiles;

namespace FastProxy.Forwarding;

/// <summary>
/// Several ranges of a static file (RFC 9110 §14.6): 206 with <c>multipart/byteranges</c>, one part per satisfiable
/// range in the order asked (as nginx answers: not merged or sorted; ranges that add up to more than the file, or more
/// than <see cref="ByteRange.MaxRanges"/>, get the whole file instead). Each part is a delimiter line, the file's
/// Content-Type and its Content-Range, then the bytes; the Content-Length is worked out before anything is sent. The
/// boundary is random per response (a file cannot be made to contain it). The ranges and the boundary live in
/// per-connection arrays made the first time a connection serves several ranges.
/// </summary>
internal sealed partial class Http1Connection
{
    private const int BoundaryLength = 24;

    /// <summary>(start, length) pairs of the ranges being answered.</summary>
    private long[]? _staticRanges;
    private int _staticRangeCount;
    private byte[]? _staticBoundary;

    /// <summary>Writes the 206 multipart head for <see cref="_staticRanges"/>; returns the body's length.</summary>
    private long WriteMultipartHead(StaticFile file, FileVariant variant, ConnectionHeader connection)
    {
        var boundary = _staticBoundary ??= new byte[BoundaryLength];
        Span<byte> random = stackalloc byte[BoundaryLength / 2];
        Random.Shared.NextBytes(random);
        for (int i = 0; i < random.Length; i++)
        {
            boundary[2 * i] = (byte)"0123456789abcdef"[random[i] >> 4];
            boundary[2 * i + 1] = (byte)"0123456789abcdef"[random[i] & 0xF];
        }

        long length = 4 + BoundaryLength + 4; // "\r\n--" boundary "--\r\n"
        for (int i = 0; i < _staticRangeCount; i++)
        {
            long start = _staticRanges![2 * i], count = _staticRanges[2 * i + 1];
            length += PartHeadLength(file.TypeLine.Length, start, count, variant.Length) + count;
        }

        WriteStatusAndDate("HTTP/1.1 206 Partial Content\r\n"u8, 206);
        _output.Write("Content-Type: multipart/byteranges; boundary="u8);
        _output.Write(boundary);
        _output.Write("\r\nContent-Length: "u8);
        WriteNumber(length);
        _output.Write("\r\n"u8);
        _output.Write(variant.ValidatorLines);
        _output.Write("Accept-Ranges: bytes\r\n"u8);
        EndStaticHead(file, connection);
        return length;
    }

    /// <summary>"\r\n--B\r\n" + the Content-Type line + "Content-Range: bytes a-b/size\r\n\r\n".</summary>
    private static long PartHeadLength(int typeLineLength, long start, long count, long size)
        => 4 + BoundaryLength + 2 + typeLineLength + "Content-Range: bytes "u8.Length + Digits(start) + 1 + Digits(start + count - 1) + 1 + Digits(size) + 4;

    private static int Digits(long value)
    {
        int digits = 1;
        while (value >= 10)
        {
            value /= 10;
            digits++;
        }
        return digits;
    }

    /// <summary>Sends the parts and the closing delimiter (the head is already written).</summary>
    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    private async ValueTask<bool> SendPartsAsync(FileVariant variant, byte[] typeLine)
    {
        for (int i = 0; i < _staticRangeCount; i++)
        {
            long start = _staticRanges![2 * i], count = _staticRanges[2 * i + 1];
            WritePartHead(typeLine, start, count, variant.Length);
            if (!await SendFileAsync(variant, start, count)) return false;
        }
        _output.Write("\r\n--"u8);
        _output.Write(_staticBoundary!);
        _output.Write("--\r\n"u8);
        return true;
    }

    private void WritePartHead(byte[] typeLine, long start, long count, long size)
    {
        _output.Write("\r\n--"u8);
        _output.Write(_staticBoundary!);
        _output.Write("\r\n"u8);
        _output.Write(typeLine);
        _output.Write("Content-Range: bytes "u8);
        WriteNumber(start);
        _output.Write("-"u8);
        WriteNumber(start + count - 1);
        _output.Write("/"u8);
        WriteNumber(size);
        _output.Write("\r\n\r\n"u8);
    }
}
