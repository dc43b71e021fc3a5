namespace FastProxy.Http1.GrpcWeb;

/// <summary>
/// Streaming base64 decoder for gRPC-Web's text framing (application/grpc-web-text): the body arrives in pieces of
/// any size, so up to three characters of an unfinished 4-character group are carried to the next call. Padding
/// ('=') may end any group, not only the last (PROTOCOL-WEB.md: a sender may pad wherever it flushed, e.g. after
/// each message), and decoding goes on after it. Whitespace or any other character is an error, as is a body that
/// ends inside a group (<see cref="IsAtGroupBoundary"/>). A struct with no references: no allocation.
/// </summary>
public struct GrpcWebTextDecoder
{
    private const byte Invalid = 0xFF;
    private const byte Pad = 0xFE;

    private static ReadOnlySpan<byte> Table =>
    [
        // 0x00-0x2F: only '+' (0x2B) and '/' (0x2F) are in the alphabet
        0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
        0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
        0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 62, 0xFF, 0xFF, 0xFF, 63,
        // '0'-'9', then '=' (0x3D) is padding
        52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 0xFF, 0xFF, 0xFF, 0xFE, 0xFF, 0xFF,
        // 'A'-'Z'
        0xFF, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
        15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
        // 'a'-'z'
        0xFF, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
        41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    ];

    /// <summary>The sextets of the group in progress, most recent in the low bits.</summary>
    private uint _bits;
    /// <summary>Characters of the group in progress (0-3).</summary>
    private int _count;
    /// <summary>Padding characters seen in the group in progress (after 2 or 3 data characters).</summary>
    private int _pads;
    private bool _failed;

    /// <summary>True once a character outside the alphabet, or misplaced padding, was met (the decoder stays failed).</summary>
    public readonly bool Failed => _failed;

    /// <summary>True when no group is half done: the body may end here.</summary>
    public readonly bool IsAtGroupBoundary => _count == 0 && !_failed;

    /// <summary>Room <see cref="Decode"/> needs for <paramref name="inputLength"/> characters (the carried ones included).</summary>
    public static int MaxDecodedLength(int inputLength) => (inputLength + 3) / 4 * 3;

    /// <summary>
    /// Decodes <paramref name="input"/> into <paramref name="output"/> (at least <see cref="MaxDecodedLength"/> long),
    /// keeping an unfinished group for the next call. Returns the bytes written; -1 on invalid input.
    /// </summary>
    public int Decode(ReadOnlySpan<byte> input, Span<byte> output)
    {
        if (_failed) return -1;
        var table = Table;
        int w = 0;
        uint bits = _bits;
        int count = _count, pads = _pads;
        foreach (byte c in input)
        {
            byte v = c < 128 ? table[c] : Invalid;
            if (v == Invalid) return Fail();
            if (v == Pad)
            {
                // "xx==" or "xxx=": padding only after two data characters, and only padding after it.
                if (count + pads < 2) return Fail();
                pads++;
            }
            else
            {
                if (pads > 0) return Fail();
                bits = (bits << 6) | v;
                count++;
            }
            if (count + pads < 4) continue;
            switch (count)
            {
                case 4:
                    output[w++] = (byte)(bits >> 16);
                    output[w++] = (byte)(bits >> 8);
                    output[w++] = (byte)bits;
                    break;
                case 3:
                    // 18 bits: two octets and two zero bits (RFC 4648 §3.5 lets a decoder refuse non-zero ones; we do not care).
                    output[w++] = (byte)(bits >> 10);
                    output[w++] = (byte)(bits >> 2);
                    break;
                default:
                    output[w++] = (byte)(bits >> 4);
                    break;
            }
            bits = 0;
            count = pads = 0;
        }
        _bits = bits;
        _count = count;
        _pads = pads;
        return w;
    }

    private int Fail()
    {
        _failed = true;
        return -1;
    }
}
