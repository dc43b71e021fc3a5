using FastProxy.Configuration.Reading;

namespace FastProxy.Configuration.Validation.Policies;

/// <summary>type = "authorize": the groups (any of) and the claims (all of) a request needs to go on.</summary>
internal sealed class AuthorizePolicyType : IPolicyType
{
    public static readonly string[] Keys = ["groups", "claims"];

    public string Name => "authorize";

    IReadOnlyList<string> IPolicyType.Keys => Keys;

    public PolicyOptions? Read(TableReader policy)
    {
        bool ok = true;
        var groups = new List<string>();
        var groupPaths = new List<string>();
        foreach (var (group, path) in policy.Strings("groups") ?? [])
        {
            if (!ConsumerSetValidator.HeaderSafe(group))
            {
                policy.Context.Error(path, $"group \"{group}\" may only hold letters, digits and - _ . @ : + (as in [consumers.NAME] groups)");
                ok = false;
                continue;
            }
            groups.Add(group);
            groupPaths.Add(path);
        }
        if (policy.Has("groups") && policy.Raw("groups") is Tomlyn.Model.TomlArray { Count: 0 })
        {
            policy.Error("groups", "is empty: list the groups that may pass, or leave the key out");
            ok = false;
        }

        var claims = new List<KeyValuePair<string, string>>();
        var table = policy.Table("claims", keys: null);
        if (table is not null)
        {
            foreach (var (name, value) in table.Entries)
            {
                var path = table.PathOf(name);
                var text = value switch
                {
                    string s => s,
                    // A number or boolean claim is compared as the token writes it.
                    long n => n.ToString(System.Globalization.CultureInfo.InvariantCulture),
                    bool b => b ? "true" : "false",
                    _ => null,
                };
                if (text is null)
                {
                    policy.Context.Error(path, $"expected a string (the value the claim must equal or contain), got {TomlTypeNames.Of(value)}");
                    ok = false;
                    continue;
                }
                if (name.Length == 0)
                {
                    policy.Context.ErrorAtKey(path, "a claim needs a name");
                    ok = false;
                    continue;
                }
                claims.Add(new(name, text));
            }
            if (table.Entries.Any() is false)
            {
                policy.Error("claims", "is empty: name the claims that must hold, or leave the key out");
                ok = false;
            }
        }
        if (ok && groups.Count == 0 && claims.Count == 0)
        {
            policy.TableError("authorize needs groups = [...] or claims = { name = \"value\" } (or both): without them it would let every request on");
            ok = false;
        }
        return ok ? new AuthorizeOptions { Groups = groups, Claims = claims, GroupPaths = groupPaths } : null;
    }
}
