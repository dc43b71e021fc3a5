using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using FastProxy.Configuration;
using FastProxy.Policies.Pipeline;

namespace FastProxy.Policies.Types.RateLimit;

/// <summary>
/// Writes a request's rate-limit key into a caller's (stack) buffer: the rule's index, then each part tagged by kind,
/// so "ip" 10.0.0.1 and "header:x" "10.0.0.1" never meet. The client address is its 16 bytes; a consumer, route or
/// header value its bytes with their length, or its SHA-256 when longer than <see cref="MaxPartBytes"/>. A part with
/// nothing to say (no consumer, the header absent) counts the client address instead: one client cannot escape
/// its limit by leaving a header out, and anonymous clients do not share one budget. For a key kept outside the
/// process (store = "redis") a header value is always its SHA-256: a header may carry a credential (an API key, a
/// token), and Redis key names are visible to anyone who can SCAN.
/// </summary>
internal sealed class RateLimitKeyBuilder
{
    public const int MaxPartBytes = 128;
    private const int MaxPartLength = 1 + 2 + MaxPartBytes;

    private readonly RateLimitKeyPart[] _parts;
    private readonly byte[][] _headerNames;
    private readonly bool _digestHeaders;

    /// <param name="digestHeaders">Header values always as their SHA-256 (a key stored outside the process).</param>
    public RateLimitKeyBuilder(IReadOnlyList<RateLimitKeyPart> parts, bool digestHeaders = false)
    {
        _parts = [.. parts];
        _digestHeaders = digestHeaders;
        _headerNames = [.. _parts.Select(p => p.HeaderName is null ? [] : Encoding.ASCII.GetBytes(p.HeaderName))];
        MaxLength = 1 + _parts.Length * MaxPartLength;
    }

    /// <summary>The longest key this builder writes (the buffer to give <see cref="Build"/>).</summary>
    public int MaxLength { get; }

    public ReadOnlySpan<byte> Build(PolicyContext context, int ruleIndex, Span<byte> buffer)
    {
        buffer[0] = (byte)ruleIndex;
        int n = 1;
        for (int p = 0; p < _parts.Length; p++)
        {
            switch (_parts[p].Kind)
            {
                case RateLimitKeyKind.Ip:
                    n += WriteIp(context, buffer[n..]);
                    break;
                case RateLimitKeyKind.Consumer:
                    n += context.Consumer is { } consumer ? WriteBytes((byte)'c', consumer.NameBytes, buffer[n..]) : WriteIp(context, buffer[n..]);
                    break;
                case RateLimitKeyKind.Route:
                    n += WriteRoute(context.Route, buffer[n..]);
                    break;
                default:
                    n += !context.TryGetHeader(_headerNames[p], out var value) ? WriteIp(context, buffer[n..])
                        : _digestHeaders ? WriteDigest((byte)'H', value, buffer[n..])
                        : WriteBytes((byte)'h', value, buffer[n..]);
                    break;
            }
        }
        return buffer[..n];
    }

    private static int WriteIp(PolicyContext context, Span<byte> to)
    {
        var client = context.Client;
        to[0] = client.IsV4 ? (byte)'4' : (byte)'6';
        BinaryPrimitives.WriteUInt128BigEndian(to[1..], client.Bits);
        return 17;
    }

    private static int WriteBytes(byte tag, ReadOnlySpan<byte> value, Span<byte> to)
    {
        if (value.Length > MaxPartBytes) return WriteDigest((byte)(tag - 32), value, to); // upper case: a digest
        to[0] = tag;
        BinaryPrimitives.WriteUInt16BigEndian(to[1..], (ushort)value.Length);
        value.CopyTo(to[3..]);
        return 3 + value.Length;
    }

    private static int WriteDigest(byte tag, ReadOnlySpan<byte> value, Span<byte> to)
    {
        to[0] = tag;
        SHA256.HashData(value, to[1..33]);
        return 33;
    }

    private static int WriteRoute(string? route, Span<byte> to)
    {
        route ??= "";
        if (Encoding.UTF8.GetByteCount(route) <= MaxPartBytes)
        {
            Span<byte> text = stackalloc byte[MaxPartBytes];
            int length = Encoding.UTF8.GetBytes(route, text);
            return WriteBytes((byte)'r', text[..length], to);
        }
        // A very long route name: its UTF-16 hashed (the same digest every time, so the key stays the same).
        to[0] = (byte)'R';
        SHA256.HashData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(route.AsSpan()), to[1..33]);
        return 33;
    }
}
