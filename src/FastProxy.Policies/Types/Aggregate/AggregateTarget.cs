using System.Buffers;
using System.Text;
using FastProxy.Configuration;
using FastProxy.Policies.Pipeline;

namespace FastProxy.Policies.Types.Aggregate;

/// <summary>
/// A part's request target, compiled at load from its path template. Expanding it writes the literal text as it is
/// and each variable's value percent-encoded (everything but RFC 3986's unreserved characters, '/' included), so a
/// value can never add a segment, a "/../", a query, a space or a line break to the target.
/// </summary>
internal sealed class AggregateTarget
{
    /// <summary>A target longer than this is refused (a server's request line limit is typically 8 KiB).</summary>
    public const int MaxLength = 8 * 1024;

    private readonly Segment[] _segments;

    public AggregateTarget(PathTemplate template)
    {
        Source = template.Source;
        _segments = new Segment[template.Parts.Count];
        for (int i = 0; i < _segments.Length; i++)
        {
            var part = template.Parts[i];
            _segments[i] = new Segment(part.Variable, Encoding.ASCII.GetBytes(part.Text), part.Text);
        }
    }

    public string Source { get; }

    private readonly record struct Segment(PathVariable Variable, byte[] Bytes, string Text);

    /// <summary>The target for this request; null with <paramref name="problem"/> when a variable has no value or the result is too long.</summary>
    public byte[]? Expand(PolicyContext context, out string? problem)
    {
        var output = new ArrayBufferWriter<byte>(256);
        foreach (var segment in _segments)
        {
            if (segment.Variable == PathVariable.Literal)
            {
                output.Write(segment.Bytes);
                continue;
            }
            if (!TryGetValue(context, segment, out var value) || value.IsEmpty)
            {
                // An empty value would change what the target names ("/users/" instead of "/users/42"): no request.
                problem = $"no value for {Describe(segment)}";
                return null;
            }
            switch (segment.Variable)
            {
                case PathVariable.Query:
                    EncodeDecoded(output, value);
                    break;
                case PathVariable.Path:
                    EncodePath(output, value);
                    break;
                default:
                    Encode(output, value);
                    break;
            }
            if (output.WrittenCount > MaxLength) break;
        }
        if (output.WrittenCount > MaxLength)
        {
            problem = $"the target is longer than {MaxLength} bytes";
            return null;
        }
        problem = null;
        return output.WrittenSpan.ToArray();
    }

    private static string Describe(Segment segment) => segment.Variable switch
    {
        PathVariable.ClientIp => "{client_ip}",
        PathVariable.Consumer => "{consumer}",
        PathVariable.RequestId => "{request_id}",
        PathVariable.Claim => "{claim." + segment.Text + "}",
        PathVariable.Header => "{header." + segment.Text + "}",
        PathVariable.Query => "{query." + segment.Text + "}",
        _ => "{path}",
    };

    private static bool TryGetValue(PolicyContext context, Segment segment, out ReadOnlySpan<byte> value)
    {
        switch (segment.Variable)
        {
            case PathVariable.ClientIp:
                value = context.ClientText;
                return true;
            case PathVariable.Consumer:
                value = context.Consumer is { } consumer ? consumer.NameBytes : default;
                return context.Consumer is not null;
            case PathVariable.RequestId:
                value = context.RequestId;
                return true;
            case PathVariable.Claim:
                value = default;
                return context.Claims is { } claims && claims.TryGetText(segment.Bytes, out value);
            case PathVariable.Header:
                return context.TryGetHeader(segment.Bytes, out value);
            case PathVariable.Query:
                return context.TryGetQuery(segment.Bytes, out value, out _);
            case PathVariable.Path:
                value = context.Path;
                return true;
            default:
                value = default;
                return false;
        }
    }

    /// <summary>RFC 3986 §2.3: the only bytes that never need encoding, anywhere in a URI.</summary>
    private static bool IsUnreserved(byte b) => b is (>= (byte)'a' and <= (byte)'z') or (>= (byte)'A' and <= (byte)'Z') or (>= (byte)'0' and <= (byte)'9')
        or (byte)'-' or (byte)'.' or (byte)'_' or (byte)'~';

    /// <summary>Every byte but the unreserved ones as %XX ('/', '%', '?', '#', '&amp;', spaces, controls, non-ASCII alike).</summary>
    internal static void Encode(IBufferWriter<byte> output, ReadOnlySpan<byte> value)
    {
        var span = output.GetSpan(value.Length * 3);
        int w = 0;
        foreach (var b in value)
        {
            if (IsUnreserved(b))
            {
                span[w++] = b;
                continue;
            }
            span[w++] = (byte)'%';
            span[w++] = Hex(b >> 4);
            span[w++] = Hex(b & 0xF);
        }
        output.Advance(w);
    }

    /// <summary>A query parameter's value arrives encoded: decoded once (%XX), then encoded as any value.</summary>
    private static void EncodeDecoded(IBufferWriter<byte> output, ReadOnlySpan<byte> value)
    {
        var decoded = new byte[value.Length];
        int n = 0;
        for (int i = 0; i < value.Length; i++)
        {
            if (value[i] == (byte)'%' && i + 2 < value.Length && IsHex(value[i + 1]) && IsHex(value[i + 2]))
            {
                decoded[n++] = (byte)((HexValue(value[i + 1]) << 4) | HexValue(value[i + 2]));
                i += 2;
            }
            else
            {
                decoded[n++] = value[i];
            }
        }
        Encode(output, decoded.AsSpan(0, n));
    }

    /// <summary>The client's path (already in normal form: no dot segments): '/' stays a separator, valid %XX stay, anything else outside pchar is encoded.</summary>
    private static void EncodePath(IBufferWriter<byte> output, ReadOnlySpan<byte> value)
    {
        for (int i = 0; i < value.Length; i++)
        {
            byte b = value[i];
            bool keep = IsUnreserved(b) || b is (byte)'/' or (byte)':' or (byte)'@' or (byte)'!' or (byte)'$' or (byte)'&' or (byte)'\''
                or (byte)'(' or (byte)')' or (byte)'*' or (byte)'+' or (byte)',' or (byte)';' or (byte)'='
                || (b == (byte)'%' && i + 2 < value.Length && IsHex(value[i + 1]) && IsHex(value[i + 2]));
            if (keep)
            {
                output.Write([b]);
            }
            else
            {
                Encode(output, value.Slice(i, 1));
            }
        }
    }

    private static byte Hex(int nibble) => (byte)(nibble < 10 ? '0' + nibble : 'A' + nibble - 10);

    private static bool IsHex(byte b) => b is (>= (byte)'0' and <= (byte)'9') or (>= (byte)'a' and <= (byte)'f') or (>= (byte)'A' and <= (byte)'F');

    private static int HexValue(byte b) => b <= '9' ? b - '0' : (b | 0x20) - 'a' + 10;
}
