namespace FastProxy.Http2.HPack;

/// <summary>
/// HPACK's prefixed integers (RFC 7541 §5.1): N bits in the first octet (the rest are flags), then, if those are
/// all ones, 7 bits per octet, least significant first, the top bit saying more follow.
/// </summary>
public static class HPackInteger
{
    /// <summary>
    /// Continuation octets accepted: 5 carry 35 bits, more than any int. Longer (zero-padded) encodings are refused:
    /// the RFC lets integers be unbounded and says to guard against it (§5.1).
    /// </summary>
    public const int MaxContinuationOctets = 5;

    /// <summary>Writes <paramref name="value"/> with an N-bit prefix, OR-ing <paramref name="flags"/> into the first octet.</summary>
    /// <returns>Octets written, or -1 if <paramref name="destination"/> is too short.</returns>
    public static int Encode(int value, int prefixBits, byte flags, Span<byte> destination)
    {
        if (destination.IsEmpty) return -1;
        int max = (1 << prefixBits) - 1;
        if (value < max)
        {
            destination[0] = (byte)(flags | value);
            return 1;
        }
        destination[0] = (byte)(flags | max);
        int i = 1;
        uint rest = (uint)(value - max);
        while (rest >= 0x80)
        {
            if (i == destination.Length) return -1;
            destination[i++] = (byte)(rest | 0x80);
            rest >>= 7;
        }
        if (i == destination.Length) return -1;
        destination[i++] = (byte)rest;
        return i;
    }
}

/// <summary>Decoding one prefixed integer, resumable across octets (the state the HPACK decoder keeps between segments).</summary>
internal struct HPackIntegerDecoder
{
    private int _value;
    private int _shift;

    /// <summary>Starts with the first octet; true if the integer fits its prefix and is complete.</summary>
    public bool Start(byte first, int prefixBits, out int value)
    {
        int max = (1 << prefixBits) - 1;
        _value = first & max;
        _shift = 0;
        value = _value;
        return _value < max;
    }

    /// <summary>One continuation octet. Returns true when complete; sets <paramref name="overflow"/> on an integer past int.MaxValue.</summary>
    public bool Next(byte b, out int value, out bool overflow)
    {
        value = 0;
        overflow = false;
        if (_shift >= 7 * HPackInteger.MaxContinuationOctets)
        {
            overflow = true;
            return false;
        }
        long next = _value + ((long)(b & 0x7F) << _shift);
        if (next > int.MaxValue)
        {
            overflow = true;
            return false;
        }
        _value = (int)next;
        _shift += 7;
        if ((b & 0x80) != 0) return false;
        value = _value;
        return true;
    }
}
