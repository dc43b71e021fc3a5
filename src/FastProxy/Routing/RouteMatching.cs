using System.Buffers;
using System.Text.RegularExpressions;

namespace FastProxy.Routing;

/// <summary>The route conditions that need more than a byte comparison (path_regex, query), without allocating.</summary>
internal static class RouteMatching
{
    private const int StackLimit = 1024;

    /// <summary>
    /// The path (bytes, one char each: escapes stay as written, as in the normal form) matches the route's regex. A
    /// match that runs out of time (only a backtracking pattern has a timeout) is no match.
    /// </summary>
    public static bool PathMatches(Regex regex, ReadOnlySpan<byte> path)
    {
        char[]? rented = null;
        Span<char> chars = path.Length <= StackLimit ? stackalloc char[path.Length] : (rented = ArrayPool<char>.Shared.Rent(path.Length));
        chars = chars[..path.Length];
        for (int i = 0; i < path.Length; i++) chars[i] = (char)path[i];
        try
        {
            return regex.IsMatch(chars);
        }
        catch (RegexMatchTimeoutException)
        {
            return false;
        }
        finally
        {
            if (rented is not null) ArrayPool<char>.Shared.Return(rented);
        }
    }

    /// <summary>
    /// Some parameter of <paramref name="query"/> ("?a=1&amp;b=2", or empty) is named <paramref name="name"/> and has the
    /// value <paramref name="value"/>, both compared after percent-decoding the client's bytes ("a%20b" is "a b"; '+' is a plus).
    /// </summary>
    public static bool HasQueryParameter(ReadOnlySpan<byte> query, ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
    {
        if (query.IsEmpty) return false;
        query = query[1..];
        while (true)
        {
            int amp = query.IndexOf((byte)'&');
            var pair = amp < 0 ? query : query[..amp];
            int eq = pair.IndexOf((byte)'=');
            var key = eq < 0 ? pair : pair[..eq];
            var given = eq < 0 ? default : pair[(eq + 1)..];
            if (DecodedEquals(key, name) && DecodedEquals(given, value)) return true;
            if (amp < 0) return false;
            query = query[(amp + 1)..];
        }
    }

    private static bool DecodedEquals(ReadOnlySpan<byte> encoded, ReadOnlySpan<byte> expected)
    {
        int e = 0;
        for (int i = 0; i < encoded.Length; i++)
        {
            int b = encoded[i];
            if (b == '%' && i + 2 < encoded.Length && Hex(encoded[i + 1]) is int high and >= 0 && Hex(encoded[i + 2]) is int low and >= 0)
            {
                b = high << 4 | low;
                i += 2;
            }
            if (e == expected.Length || expected[e++] != b) return false;
        }
        return e == expected.Length;
    }

    private static int Hex(byte b) => b switch
    {
        >= (byte)'0' and <= (byte)'9' => b - '0',
        >= (byte)'a' and <= (byte)'f' => b - 'a' + 10,
        >= (byte)'A' and <= (byte)'F' => b - 'A' + 10,
        _ => -1,
    };
}
