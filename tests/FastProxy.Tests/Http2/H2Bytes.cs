using System.Buffers;
using System.Text;
using FastProxy.Tests.Infrastructure;

namespace FastProxy.Tests.Http2;

/// <summary>Test helpers: hex dumps as the RFCs print them, and sequences cut into segments.</summary>
internal static class H2Bytes
{
    /// <summary>"8286 8441 0f77" as bytes: whitespace and newlines ignored.</summary>
    public static byte[] Hex(string dump) => Convert.FromHexString(new string(dump.Where(Uri.IsHexDigit).ToArray()));

    public static byte[] Ascii(string s) => Encoding.Latin1.GetBytes(s);

    public static string Text(ReadOnlySpan<byte> b) => Encoding.Latin1.GetString(b);

    /// <summary>One sequence whose segments are <paramref name="parts"/> (empty parts kept: real pipes can produce them).</summary>
    public static ReadOnlySequence<byte> Sequence(params byte[][] parts) => Sequences.Of(parts);

    /// <summary>One byte per segment.</summary>
    public static ReadOnlySequence<byte> BytePerSegment(byte[] bytes) => Sequences.BytePerSegment(bytes);

    public static ReadOnlySequence<byte> Split(byte[] bytes, int at) => Sequence(bytes[..at], bytes[at..]);
}
