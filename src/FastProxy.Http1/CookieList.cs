namespace FastProxy.Http1;

/// <summary>The value of one cookie in a Cookie field's list (<c>a=1; b="2"</c>), without allocating.</summary>
public static class CookieList
{
    /// <summary>Finds <paramref name="name"/> (exact, case-sensitive) in one Cookie field value; its value unquoted.</summary>
    public static bool TryFind(ReadOnlySpan<byte> list, ReadOnlySpan<byte> name, out ReadOnlySpan<byte> value)
    {
        while (!list.IsEmpty)
        {
            int semi = list.IndexOf((byte)';');
            var pair = (semi < 0 ? list : list[..semi]).Trim((byte)' ');
            int eq = pair.IndexOf((byte)'=');
            if (eq > 0 && pair[..eq].SequenceEqual(name))
            {
                value = pair[(eq + 1)..].Trim((byte)'"');
                return true;
            }
            if (semi < 0) break;
            list = list[(semi + 1)..];
        }
        value = default;
        return false;
    }
}
