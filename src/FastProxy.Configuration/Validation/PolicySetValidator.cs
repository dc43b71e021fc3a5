using FastProxy.Configuration.Reading;
using Tomlyn.Model;

namespace FastProxy.Configuration.Validation;

/// <summary>[policies.NAME]: named gateway policies that routes refer to; <c>type</c> picks the kind and the kind its keys.</summary>
internal static class PolicySetValidator
{
    public static List<PolicyConfig> Read(TableReader? policies)
    {
        var list = new List<PolicyConfig>();
        if (policies is null) return list;
        var context = policies.Context;
        foreach (var (name, value) in policies.Entries)
        {
            var path = policies.PathOf(name);
            if (value is not TomlTable table)
            {
                context.Error(path, $"expected a table [policies.NAME] with a type, got {TomlTypeNames.Of(value)}");
                continue;
            }
            // The keys depend on the type, so they are checked only once the type is known.
            var untyped = new TableReader(context, table, path, keys: null);
            var typeName = untyped.RequiredString("type");
            var type = typeName is null ? null : PolicyTypes.Find(typeName);
            if (typeName is not null && type is null)
            {
                untyped.Error("type", $"unknown policy type \"{typeName}\" (known: {PolicyTypes.KnownList()})");
            }
            var options = type?.Read(new TableReader(context, table, path, ["type", .. type.Keys]));
            // Listed even when invalid, so routes naming it are not also told it does not exist.
            list.Add(new PolicyConfig { Name = name, Type = typeName ?? "", Options = options, Location = context.Map.Value(path) });
        }
        return list;
    }
}
