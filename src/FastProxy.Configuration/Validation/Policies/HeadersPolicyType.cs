using FastProxy.Configuration.Reading;
using FastProxy.Configuration.Values;

namespace FastProxy.Configuration.Validation.Policies;

/// <summary>
/// type = "headers": <c>request = { set, add, remove, rename }</c> and <c>response = { ... }</c>. Names are tokens and
/// never a field the proxy owns (hop-by-hop, framing, the X-Forwarded-* it writes, x-consumer*, a response's Date);
/// values are templates (<see cref="HeaderTemplates"/>); one name is not both set (or renamed) and removed.
/// </summary>
internal sealed class HeadersPolicyType : IPolicyType
{
    public static readonly string[] SideKeys = ["set", "add", "remove", "rename"];

    public string Name => "headers";

    public IReadOnlyList<string> Keys { get; } = ["request", "response"];

    private enum Side { Request, Response }

    public PolicyOptions? Read(TableReader policy)
    {
        var request = ReadSide(policy.Table("request", SideKeys), Side.Request);
        var response = ReadSide(policy.Table("response", SideKeys), Side.Response);
        if (request.IsEmpty && response.IsEmpty)
        {
            policy.Context.Warning(policy.Path, "this headers policy changes nothing: give it request or response edits");
        }
        return new HeadersOptions { Request = request, Response = response };
    }

    private static HeaderEdits ReadSide(TableReader? side, Side which)
    {
        if (side is null) return HeaderEdits.None;
        var context = side.Context;
        var set = ReadValues(side, "set", which);
        var add = ReadValues(side, "add", which);

        var remove = new List<string>();
        var removed = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, path) in side.Strings("remove") ?? [])
        {
            if (!CheckName(context, path, name, which, atKey: false)) continue;
            if (!removed.TryAdd(name, path))
            {
                context.Error(path, $"\"{name}\" is listed twice (names are case-insensitive)");
                continue;
            }
            remove.Add(name);
        }

        var rename = new List<KeyValuePair<string, string>>();
        var renameTable = side.Table("rename", keys: null);
        var renamed = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (from, value) in renameTable?.Entries ?? [])
        {
            var path = renameTable!.PathOf(from);
            if (!CheckName(context, path, from, which, atKey: true)) continue;
            if (value is not string to)
            {
                context.Error(path, $"expected the new header name as a string, got {TomlTypeNames.Of(value)}");
                continue;
            }
            if (!CheckName(context, path, to, which, atKey: false)) continue;
            if (!renamed.Add(from))
            {
                context.ErrorAtKey(path, $"\"{from}\" is renamed twice (names are case-insensitive)");
                continue;
            }
            if (string.Equals(from, to, StringComparison.OrdinalIgnoreCase))
            {
                context.Error(path, $"renames \"{from}\" to itself");
                continue;
            }
            foreach (var name in (string[])[from, to])
            {
                if (removed.ContainsKey(name)) context.Error(path, $"\"{name}\" is both renamed and removed: say which");
            }
            if (set.Any(s => string.Equals(s.Key, to, StringComparison.OrdinalIgnoreCase)))
            {
                context.Error(path, $"\"{to}\" is both a rename's new name and set: set replaces only the client's fields, so both lines would go");
            }
            rename.Add(new(from, to));
        }

        // Set replaces every field of the name, remove drops them: both on one name is a contradiction, not an order.
        foreach (var (name, _) in set)
        {
            if (removed.TryGetValue(name, out var removePath))
            {
                context.Error(removePath, $"\"{name}\" is both set and removed: set already replaces it, remove drops it; keep one");
            }
        }
        return new HeaderEdits { Set = set, Add = add, Remove = remove, Rename = rename };
    }

    private static List<KeyValuePair<string, HeaderTemplate>> ReadValues(TableReader side, string key, Side which)
    {
        var list = new List<KeyValuePair<string, HeaderTemplate>>();
        var table = side.Table(key, keys: null);
        if (table is null) return list;
        var context = side.Context;
        var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, value) in table.Entries)
        {
            var path = table.PathOf(name);
            if (!CheckName(context, path, name, which, atKey: true)) continue;
            if (!names.Add(name))
            {
                context.ErrorAtKey(path, $"header \"{name}\" given twice (names are case-insensitive)");
                continue;
            }
            if (value is not string text)
            {
                context.Error(path, $"expected a string, got {TomlTypeNames.Of(value)}");
                continue;
            }
            var template = HeaderTemplates.Parse(text, out var problem);
            if (template is null)
            {
                context.Error(path, problem!);
                continue;
            }
            list.Add(new(name, template));
        }
        return list;
    }

    /// <summary>A token the proxy lets a policy write; otherwise reported (at the key, or at the value for list items and rename targets).</summary>
    private static bool CheckName(LoadContext context, string path, string name, Side which, bool atKey)
    {
        string? problem = !HttpSyntax.IsToken(name)
            ? $"invalid header name \"{name}\": expected letters, digits and !#$%&'*+-.^_`|~"
            : Reserved(name, which);
        if (problem is null) return true;
        if (atKey) context.ErrorAtKey(path, problem);
        else context.Error(path, problem);
        return false;
    }

    /// <summary>Why the proxy keeps <paramref name="name"/> to itself, or null. An underscore spelling counts as the name.</summary>
    private static string? Reserved(string name, Side which)
    {
        var n = name.Replace('_', '-').ToLowerInvariant();
        if (n is "connection" or "keep-alive" or "te" or "trailer" or "upgrade" || n.StartsWith("proxy-", StringComparison.Ordinal))
        {
            return $"{name} is hop-by-hop (RFC 9110 7.6.1): it is never forwarded, so a policy cannot edit it";
        }
        if (n is "content-length" or "transfer-encoding")
        {
            return $"{name} frames the message: the proxy writes it";
        }
        if (which == Side.Request)
        {
            if (n is "host") return "host is the route's to decide: the upstream receives the client's Host";
            if (n is "x-forwarded-for" or "x-forwarded-proto" or "x-forwarded-host") return $"{name} is written by the proxy ([client_ip])";
            if (n.StartsWith("x-consumer", StringComparison.Ordinal)) return $"{name} is set by authentication policies only (a client's is always removed)";
        }
        else if (n is "date")
        {
            return "date is the proxy's: the server's Date passes, or the proxy adds one";
        }
        return null;
    }
}
