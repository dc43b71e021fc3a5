using FastProxy.Configuration.Reading;
using FastProxy.Configuration.Values;

namespace FastProxy.Configuration.Validation;

/// <summary>A route's static = { root, index, precompressed, dotfiles, types }: the directory it serves.</summary>
internal static class StaticValidator
{
    public static readonly string[] Keys = ["root", "index", "precompressed", "dotfiles", "types"];

    public static StaticConfig? Read(TableReader? table)
    {
        if (table is null) return null;
        var context = table.Context;
        var root = table.RequiredString("root");
        string? full = null;
        if (root is not null)
        {
            full = Path.TrimEndingDirectorySeparator(context.FullPath(root));
            if (File.Exists(full) && !Directory.Exists(full)) table.Error("root", $"{full} is a file, expected a directory");
            else if (!Directory.Exists(full)) table.Error("root", $"directory not found: {full}");
        }

        var index = table.String("index") ?? "index.html";
        if (index.Length > 0 && (index.Contains('/') || index.Contains('\\') || index.Contains('\0') || index is "." or ".."))
        {
            table.Error("index", "expected a file name (no '/'), e.g. \"index.html\"");
        }

        var types = new List<KeyValuePair<string, string>>();
        if (table.Table("types", keys: null) is { } typeTable)
        {
            foreach (var (ext, value) in typeTable.Entries)
            {
                var path = typeTable.PathOf(ext);
                if (ext.Length == 0 || ext.StartsWith('.') || ext.Contains('/'))
                {
                    context.ErrorAtKey(path, $"expected an extension without the dot, e.g. \"webmanifest\", got \"{ext}\"");
                    continue;
                }
                if (value is not string type)
                {
                    context.Error(path, $"expected a string, got {TomlTypeNames.Of(value)}");
                    continue;
                }
                if (!type.Contains('/') || HttpSyntax.FieldValueProblem(type) is not null)
                {
                    context.Error(path, $"expected a media type such as \"application/manifest+json\", got \"{type}\"");
                    continue;
                }
                types.Add(new(ext.ToLowerInvariant(), type));
            }
        }

        // Returned even when root is wrong (the error is recorded): the route is still a static one, not one "without upstream".
        return new StaticConfig
        {
            Root = full ?? "",
            Index = index,
            Precompressed = table.Bool("precompressed") ?? false,
            Dotfiles = table.Bool("dotfiles") ?? false,
            Types = types,
        };
    }
}
