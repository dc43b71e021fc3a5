using FastProxy.Configuration.Reading;
using Tomlyn.Model;

namespace FastProxy.Configuration.Validation;

/// <summary>[upstreams]: a table of named upstreams, kept in file order.</summary>
internal static class UpstreamSetValidator
{
    public static List<UpstreamConfig> Read(TableReader? upstreams)
    {
        var list = new List<UpstreamConfig>();
        if (upstreams is null) return list;
        foreach (var (name, value) in upstreams.Entries)
        {
            var path = upstreams.PathOf(name);
            if (value is not TomlTable table)
            {
                upstreams.Context.Error(path, $"expected a table [upstreams.NAME] (every upstream has a name), got {TomlTypeNames.Of(value)}");
                continue;
            }
            list.Add(UpstreamValidator.Read(new TableReader(upstreams.Context, table, path, UpstreamValidator.Keys, UpstreamValidator.Misplaced), name));
        }
        return list;
    }
}
