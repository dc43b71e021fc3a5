namespace FastProxy.Http2.HPack;

public enum HuffmanStatus : byte
{
    Ok,
    /// <summary>The input decodes to EOS, or ends in padding that is over 7 bits or not all ones (RFC 7541 §5.2).</summary>
    Invalid,
    /// <summary>The output does not fit the destination.</summary>
    TooLong,
}

/// <summary>
/// The static Huffman code of HPACK (RFC 7541 §5.2, Appendix B). The appendix's code is canonical: within one
/// length, codes are consecutive in symbol order, and each length starts where the previous one ended, shifted.
/// So the table below is only the 257 code lengths, transcribed from the appendix, and the codes are computed from
/// them (the tests check the computed codes against the appendix's hex column and that the lengths fill the code
/// space exactly, so a mis-transcribed length cannot go unnoticed).
/// Decoding walks the code tree four bits at a time through a precomputed table (256 states, one per internal
/// node, times 16 nibbles): two lookups per input octet, no branches per bit. No code is shorter than 5 bits, so
/// one nibble completes at most one symbol.
/// </summary>
public static class HuffmanCode
{
    /// <summary>EOS: 30 ones. Never sent as a symbol; its leading bits are the padding (§5.2).</summary>
    public const int Eos = 256;

    // Appendix B, "len in bits", for symbols 0..256 in order.
    private static ReadOnlySpan<byte> Lengths =>
    [
        13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28, //   0..15
        28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28, //  16..31
        6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6,         //  ' '..'/'
        5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10,              //  '0'..'?'
        13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,                //  '@'..'O'
        7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6,             //  'P'..'_'
        15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5,                //  '`'..'o'
        6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28,            //  'p'..127
        20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23, // 128..143
        24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24, // 144..159
        22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23, // 160..175
        21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23, // 176..191
        26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25, // 192..207
        19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27, // 208..223
        20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23, // 224..239
        26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26, // 240..255
        30,                                                             // EOS
    ];

    private static readonly uint[] s_codes = BuildCodes();

    // Decode table entry: bits 0-7 next state, 8-15 symbol, bit 16 a symbol was completed, bit 17 failure (EOS).
    private const uint Emit = 1u << 16;
    private const uint Fail = 1u << 17;
    private static readonly uint[] s_decode = new uint[256 * 16];
    /// <summary>States where the input may end: the root, or 1..7 bits down the all-ones path (valid padding).</summary>
    private static readonly bool[] s_accepting = new bool[256];

    static HuffmanCode() => BuildDecoder();

    public static int CodeLength(int symbol) => Lengths[symbol];

    /// <summary>The code of <paramref name="symbol"/>, aligned to the least significant bit.</summary>
    public static uint Code(int symbol) => s_codes[symbol];

    private static uint[] BuildCodes()
    {
        // Canonical assignment: by length, then by symbol; each length continues from the last code, shifted left.
        var codes = new uint[257];
        uint code = 0;
        int previousLength = 0;
        for (int length = 1; length <= 30; length++)
        {
            for (int symbol = 0; symbol <= Eos; symbol++)
            {
                if (Lengths[symbol] != length) continue;
                if (previousLength != 0) code = (code + 1) << (length - previousLength);
                previousLength = length;
                codes[symbol] = code;
            }
        }
        return codes;
    }

    private static void BuildDecoder()
    {
        // The code tree: 257 leaves need exactly 256 internal nodes; node 0 is the root.
        // child >= 0 is an internal node, child < 0 is leaf -(symbol + 1); 0 (unset) cannot be a child of anything.
        var children = new int[256, 2];
        int nodes = 1;
        for (int symbol = 0; symbol <= Eos; symbol++)
        {
            int length = Lengths[symbol];
            uint code = s_codes[symbol];
            int node = 0;
            for (int bit = length - 1; bit > 0; bit--)
            {
                int b = (int)(code >> bit) & 1;
                if (children[node, b] == 0) children[node, b] = nodes++;
                node = children[node, b];
            }
            children[node, (int)code & 1] = -(symbol + 1);
        }
        if (nodes != 256) throw new InvalidOperationException("the Huffman code table is not a complete code");

        for (int state = 0; state < 256; state++)
        {
            for (int nibble = 0; nibble < 16; nibble++)
            {
                int node = state;
                uint entry = 0;
                for (int bit = 3; bit >= 0; bit--)
                {
                    int child = children[node, (nibble >> bit) & 1];
                    if (child >= 0)
                    {
                        node = child;
                        continue;
                    }
                    int symbol = -child - 1;
                    if (symbol == Eos)
                    {
                        entry = Fail;
                        break;
                    }
                    entry = Emit | ((uint)symbol << 8);
                    node = 0;
                }
                s_decode[(state << 4) | nibble] = (entry & Fail) != 0 ? Fail : entry | (uint)node;
            }
        }

        int onesNode = 0;
        s_accepting[0] = true;
        for (int depth = 1; depth <= 7; depth++)
        {
            onesNode = children[onesNode, 1];
            s_accepting[onesNode] = true;
        }
    }

    /// <summary>Octets the Huffman coding of <paramref name="source"/> takes.</summary>
    public static int EncodedLength(ReadOnlySpan<byte> source)
    {
        ReadOnlySpan<byte> lengths = Lengths;
        long bits = 0;
        foreach (byte b in source) bits += lengths[b];
        return (int)((bits + 7) >> 3);
    }

    /// <summary>Writes the Huffman coding of <paramref name="source"/>, padded with the most significant bits of EOS (ones).</summary>
    /// <returns>Octets written, or -1 if <paramref name="destination"/> is too short.</returns>
    public static int Encode(ReadOnlySpan<byte> source, Span<byte> destination)
    {
        ReadOnlySpan<byte> lengths = Lengths;
        uint[] codes = s_codes;
        ulong pending = 0; // bits not yet written, right-aligned
        int pendingBits = 0;
        int written = 0;
        foreach (byte b in source)
        {
            pending = (pending << lengths[b]) | codes[b];
            pendingBits += lengths[b];
            while (pendingBits >= 8)
            {
                if (written == destination.Length) return -1;
                pendingBits -= 8;
                destination[written++] = (byte)(pending >> pendingBits);
            }
        }
        if (pendingBits > 0)
        {
            if (written == destination.Length) return -1;
            destination[written++] = (byte)((pending << (8 - pendingBits)) | (0xFFu >> pendingBits));
        }
        return written;
    }

    /// <summary>
    /// Decodes part of a Huffman-coded string. <paramref name="state"/> carries the position in the code tree from
    /// one call to the next (start at 0), so a string may arrive in any number of pieces; call
    /// <see cref="IsValidEnd"/> after the last one.
    /// </summary>
    public static HuffmanStatus Decode(ReadOnlySpan<byte> source, ref byte state, Span<byte> destination, ref int written)
    {
        uint[] table = s_decode;
        int s = state;
        int w = written;
        foreach (byte b in source)
        {
            uint high = table[(s << 4) | (b >> 4)];
            if ((high & Fail) != 0) return HuffmanStatus.Invalid;
            if ((high & Emit) != 0)
            {
                if (w == destination.Length) return HuffmanStatus.TooLong;
                destination[w++] = (byte)(high >> 8);
            }
            uint low = table[((int)(high & 0xFF) << 4) | (b & 0xF)];
            if ((low & Fail) != 0) return HuffmanStatus.Invalid;
            if ((low & Emit) != 0)
            {
                if (w == destination.Length) return HuffmanStatus.TooLong;
                destination[w++] = (byte)(low >> 8);
            }
            s = (int)(low & 0xFF);
        }
        state = (byte)s;
        written = w;
        return HuffmanStatus.Ok;
    }

    /// <summary>Whether a string may end in <paramref name="state"/>: padding of at most 7 bits, all ones (§5.2).</summary>
    public static bool IsValidEnd(byte state) => s_accepting[state];

    /// <summary>Decodes a whole Huffman-coded string.</summary>
    public static HuffmanStatus Decode(ReadOnlySpan<byte> source, Span<byte> destination, out int written)
    {
        byte state = 0;
        written = 0;
        var status = Decode(source, ref state, destination, ref written);
        if (status == HuffmanStatus.Ok && !IsValidEnd(state)) return HuffmanStatus.Invalid;
        return status;
    }
}
