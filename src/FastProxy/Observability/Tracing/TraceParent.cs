using FastProxy.Policies.Pipeline;
namespace FastProxy.Observability.Tracing;

/// <summary>
/// The W3C Trace Context traceparent field (https://www.w3.org/TR/trace-context/ §3.2):
/// <c>version "-" trace-id "-" parent-id "-" trace-flags</c>, lowercase hex, 55 characters in version 00.
/// Stateless; parses and writes spans.
/// </summary>
internal static class TraceParent
{
    /// <summary>"00-" + 32 + "-" + 16 + "-" + 2.</summary>
    public const int Length = 55;

    /// <summary>
    /// Parses a traceparent value. False for anything §3.2.2 calls invalid: a wrong length or separator, uppercase or
    /// non-hex characters, version ff, an all-zero trace-id or parent-id. A version above 00 is read as 00 where it
    /// can be (§3.2.4: its first 55 characters, then "-" or the end).
    /// </summary>
    public static bool TryParse(ReadOnlySpan<byte> value, out ulong traceHigh, out ulong traceLow, out ulong parentId, out byte flags)
    {
        traceHigh = traceLow = parentId = 0;
        flags = 0;
        if (value.Length < Length) return false;
        if (!TryHex(value[..2], out ulong version) || version == 0xff) return false;
        // §3.2.4: version 00 is exactly 55 characters; a later version may append fields after a "-".
        if (version == 0 ? value.Length != Length : value.Length > Length && value[Length] != (byte)'-') return false;
        if (value[2] != (byte)'-' || value[35] != (byte)'-' || value[52] != (byte)'-') return false;
        if (!TryHex(value.Slice(3, 16), out traceHigh) || !TryHex(value.Slice(19, 16), out traceLow)) return false;
        if (!TryHex(value.Slice(36, 16), out parentId) || !TryHex(value.Slice(53, 2), out ulong f)) return false;
        if ((traceHigh | traceLow) == 0 || parentId == 0) return false;
        flags = (byte)f;
        return true;
    }

    /// <summary>Writes a version-00 value (<see cref="Length"/> bytes).</summary>
    public static void Write(Span<byte> destination, ulong traceHigh, ulong traceLow, ulong spanId, byte flags)
    {
        destination[0] = (byte)'0';
        destination[1] = (byte)'0';
        destination[2] = (byte)'-';
        RequestIds.WriteHex(destination.Slice(3, 16), traceHigh);
        RequestIds.WriteHex(destination.Slice(19, 16), traceLow);
        destination[35] = (byte)'-';
        RequestIds.WriteHex(destination.Slice(36, 16), spanId);
        destination[52] = (byte)'-';
        RequestIds.WriteHex(destination.Slice(53, 2), flags);
    }

    /// <summary>Lowercase hex only (§3.2.2: "HEXDIGLC"), at most 16 digits.</summary>
    private static bool TryHex(ReadOnlySpan<byte> digits, out ulong value)
    {
        value = 0;
        foreach (byte c in digits)
        {
            int d = c - '0';
            if ((uint)d > 9)
            {
                d = c - 'a';
                if ((uint)d > 5) return false;
                d += 10;
            }
            value = (value << 4) | (uint)d;
        }
        return true;
    }
}
