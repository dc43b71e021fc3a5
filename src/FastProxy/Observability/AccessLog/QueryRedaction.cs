using System.Text;

namespace FastProxy.Observability.AccessLog;

/// <summary>
/// The query parameters whose values never reach the access log: those a policy reads credentials from (api_key
/// `query`, jwt `from = "query:NAME"`) and those listed in [access_log] redact_query. Names are compared as the
/// policies compare them: byte for byte, as written in the request (not percent-decoded).
/// </summary>
internal sealed class QueryRedaction
{
    /// <summary>What a redacted value becomes.</summary>
    public static ReadOnlySpan<byte> Replacement => "REDACTED"u8;

    public static readonly QueryRedaction None = new([]);

    private readonly byte[][] _names;

    public QueryRedaction(IEnumerable<string> names)
    {
        _names = [.. names.Distinct(StringComparer.Ordinal).Select(Encoding.UTF8.GetBytes)];
    }

    public IEnumerable<string> Names => _names.Select(Encoding.UTF8.GetString);

    public bool IsEmpty => _names.Length == 0;

    public bool Matches(ReadOnlySpan<byte> name)
    {
        foreach (var candidate in _names)
        {
            if (name.SequenceEqual(candidate)) return true;
        }
        return false;
    }

    /// <summary>Writes the path, and '?' and the query with the values of the redacted parameters replaced (every occurrence).</summary>
    public void WritePath(ref LineWriter line, ReadOnlySpan<byte> path, ReadOnlySpan<byte> query, bool json)
    {
        Text(ref line, path, json);
        if (query.IsEmpty) return;
        Text(ref line, "?"u8, json);
        if (IsEmpty)
        {
            Text(ref line, query, json);
            return;
        }
        var rest = query;
        while (true)
        {
            int amp = rest.IndexOf((byte)'&');
            var pair = amp < 0 ? rest : rest[..amp];
            int eq = pair.IndexOf((byte)'=');
            if (eq >= 0 && Matches(pair[..eq]))
            {
                Text(ref line, pair[..(eq + 1)], json);
                Text(ref line, Replacement, json);
            }
            else
            {
                Text(ref line, pair, json);
            }
            if (amp < 0) return;
            Text(ref line, "&"u8, json);
            rest = rest[(amp + 1)..];
        }
    }

    private static void Text(ref LineWriter line, ReadOnlySpan<byte> text, bool json)
    {
        if (json) line.JsonText(text);
        else line.NginxText(text);
    }
}
