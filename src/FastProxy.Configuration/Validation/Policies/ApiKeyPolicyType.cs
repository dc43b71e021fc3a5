using FastProxy.Configuration.Reading;
using FastProxy.Configuration.Values;

namespace FastProxy.Configuration.Validation.Policies;

/// <summary>type = "api_key": where the key is read from (a header, a query parameter or both), whether it is forwarded.</summary>
internal sealed class ApiKeyPolicyType : IPolicyType
{
    public static readonly string[] Keys = ["header", "query", "hide", "realm"];

    /// <summary>Fields the proxy itself reads or writes: a key cannot travel in them.</summary>
    private static readonly string[] ReservedHeaders = ["host", "content-length", "transfer-encoding", "connection", "te", "upgrade", "keep-alive"];

    public string Name => "api_key";

    IReadOnlyList<string> IPolicyType.Keys => Keys;

    public PolicyOptions? Read(TableReader policy)
    {
        var header = policy.String("header") ?? "x-api-key";
        var query = policy.String("query") ?? "";
        bool ok = true;
        if (header.Length > 0 && !HttpSyntax.IsToken(header))
        {
            policy.Error("header", $"\"{header}\" is not a valid header name");
            ok = false;
        }
        else if (ReservedHeaders.Contains(header, StringComparer.OrdinalIgnoreCase))
        {
            policy.Error("header", $"\"{header}\" is a field the proxy handles itself; name another (e.g. \"x-api-key\")");
            ok = false;
        }
        else if (header.StartsWith("x-consumer", StringComparison.OrdinalIgnoreCase))
        {
            policy.Error("header", "x-consumer* fields are removed from every client request (the proxy sets them); name another");
            ok = false;
        }
        if (query.Length > 0 && !IsQueryName(query))
        {
            policy.Error("query", $"\"{query}\" is not a plain parameter name (letters, digits and - . _ ~)");
            ok = false;
        }
        if (header.Length == 0 && query.Length == 0)
        {
            policy.TableError("header = \"\" and no query: the key could come from nowhere; name a header, a query parameter, or both");
            ok = false;
        }
        var realm = ChallengeRealm.Read(policy, "api");
        return ok && realm is not null
            ? new ApiKeyOptions
            {
                Header = header.Length == 0 ? null : header.ToLowerInvariant(),
                Query = query.Length == 0 ? null : query,
                Hide = policy.Bool("hide") ?? true,
                Realm = realm,
            }
            : null;
    }

    // RFC 3986 unreserved characters: written the same encoded or not, so the name matches as sent.
    private static bool IsQueryName(string name)
    {
        foreach (var c in name)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_' or '~')) return false;
        }
        return true;
    }
}
