using System.Buffers;
using System.Buffers.Text;

namespace FastProxy.Http1.GrpcWeb;

/// <summary>
/// Streaming base64 encoder for gRPC-Web's text framing, aware of gRPC's length-prefixed frames (a flag octet and a
/// 4-octet big-endian length, then the message): each frame is encoded on its own and padded at its end, as
/// Envoy's grpc_web filter does, so a client sees every message as soon as it is complete even when the next one
/// is long in coming, and the output splits into self-contained groups per frame. Bytes of an unfinished group (at
/// most two) are carried to the next call. A struct with no references: no allocation.
/// </summary>
public struct GrpcWebTextEncoder
{
    /// <summary>Octets of the current frame's 5-octet prefix seen so far.</summary>
    private int _prefixSeen;
    /// <summary>The current frame's message length, as its prefix is read.</summary>
    private uint _length;
    /// <summary>Message octets of the current frame still to come (valid once the prefix is complete).</summary>
    private long _messageLeft;
    /// <summary>An unfinished 3-octet group.</summary>
    private byte _carry0, _carry1;
    private int _carried;

    /// <summary>Room <see cref="Encode"/> needs for <paramref name="inputLength"/> octets: every frame end may pad.</summary>
    public static int MaxEncodedLength(int inputLength) => (inputLength + 4) / 3 * 4 + (inputLength / 5 + 2) * 4;

    /// <summary>True when the input so far ended exactly at a frame's end.</summary>
    public readonly bool IsAtFrameBoundary => _prefixSeen == 0 && _carried == 0;

    /// <summary>Encodes <paramref name="input"/> into <paramref name="output"/> (at least <see cref="MaxEncodedLength"/> long); returns the characters written.</summary>
    public int Encode(ReadOnlySpan<byte> input, Span<byte> output)
    {
        int w = 0;
        while (!input.IsEmpty)
        {
            int take;
            if (_prefixSeen < 5)
            {
                take = Math.Min(5 - _prefixSeen, input.Length);
                for (int i = 0; i < take; i++)
                {
                    // The flag octet, then the length, most significant octet first.
                    if (_prefixSeen > 0) _length = (_length << 8) | input[i];
                    _prefixSeen++;
                }
                if (_prefixSeen == 5) _messageLeft = _length;
            }
            else
            {
                take = (int)Math.Min(_messageLeft, input.Length);
                _messageLeft -= take;
            }
            w += Append(input[..take], output[w..]);
            input = input[take..];
            if (_prefixSeen == 5 && _messageLeft == 0)
            {
                // The frame is complete: pad it off.
                w += Flush(output[w..]);
                _prefixSeen = 0;
                _length = 0;
            }
        }
        return w;
    }

    /// <summary>Encodes what is carried, padded (the end of the body; a well-formed body ends at a frame boundary and carries nothing).</summary>
    public int Flush(Span<byte> output)
    {
        if (_carried == 0) return 0;
        Span<byte> group = [_carry0, _carry1];
        Base64.EncodeToUtf8(group[.._carried], output, out _, out int written, isFinalBlock: true);
        _carried = 0;
        return written;
    }

    private int Append(ReadOnlySpan<byte> input, Span<byte> output)
    {
        int w = 0;
        if (_carried > 0)
        {
            // Complete the carried group first.
            Span<byte> group = stackalloc byte[3];
            group[0] = _carry0;
            group[1] = _carry1;
            int need = 3 - _carried;
            if (input.Length < need)
            {
                input.CopyTo(group[_carried..]);
                _carried += input.Length;
                _carry0 = group[0];
                _carry1 = group[1];
                return 0;
            }
            input[..need].CopyTo(group[_carried..]);
            Base64.EncodeToUtf8(group, output, out _, out int n, isFinalBlock: true);
            w += n;
            input = input[need..];
            _carried = 0;
        }
        int whole = input.Length / 3 * 3;
        if (whole > 0)
        {
            Base64.EncodeToUtf8(input[..whole], output[w..], out _, out int n, isFinalBlock: true);
            w += n;
        }
        var rest = input[whole..];
        _carried = rest.Length;
        if (rest.Length > 0) _carry0 = rest[0];
        if (rest.Length > 1) _carry1 = rest[1];
        return w;
    }
}
