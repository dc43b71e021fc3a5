using System.Text.RegularExpressions;
using FastProxy.Configuration.Validation;
using FastProxy.Tests.Infrastructure;

namespace FastProxy.Tests.Configuration;

/// <summary>
/// docs/configuration.md describes every key the loader accepts, each as a row <c>| `key` | ...</c> of the
/// section whose heading names its table in backticks (<c>## `[upstreams.NAME.health]`</c>). The accepted keys
/// come from the validators themselves (<see cref="ConfigKeys"/>), so a key added to a validator and not to the
/// doc fails here.
/// </summary>
public sealed partial class DocsTests
{
    private static string DocPath => Path.Combine(Processes.RepoRoot, "docs", "configuration.md");

    [Fact]
    public void Every_key_the_validators_accept_is_documented_under_its_table()
    {
        var problems = Undocumented(File.ReadAllText(DocPath));
        Assert.True(problems.Count == 0, "docs/configuration.md does not describe:\n" + string.Join("\n", problems));
    }

    [Fact]
    public void A_key_row_taken_out_of_the_doc_is_reported()
    {
        // The check above must be able to fail: the doc without the row of [limits] max_body.
        var lines = File.ReadAllLines(DocPath);
        // ([limits]'s row: validate has a max_body key of its own, with another default.)
        var row = Assert.Single(lines, l => l.StartsWith("| `max_body` | size | `\"10MiB\"` |", StringComparison.Ordinal));
        var without = string.Join("\n", lines.Where(l => !ReferenceEquals(l, row)));

        var problems = Undocumented(without);

        // The one section describes [limits] and [listeners.limits]: both lose the key.
        Assert.Equal(["[limits]: `max_body`", "[listeners.limits]: `max_body`"], problems);
    }

    [Fact]
    public void A_key_under_another_tables_heading_does_not_count()
    {
        // `interval` of [upstreams.NAME.health] moved under [upstreams.NAME.passive]: present in the doc, but not where it belongs.
        var lines = File.ReadAllLines(DocPath).ToList();
        int row = lines.FindIndex(l => l.StartsWith("| `interval` |", StringComparison.Ordinal));
        Assert.True(row >= 0);
        var moved = lines[row];
        lines.RemoveAt(row);
        int passive = lines.FindIndex(l => l.StartsWith('#') && l.Contains("`[upstreams.NAME.passive]`", StringComparison.Ordinal));
        int firstRow = lines.FindIndex(passive, l => l.StartsWith("| `", StringComparison.Ordinal));
        lines.Insert(firstRow, moved);

        Assert.Contains("[upstreams.NAME.health]: `interval`", Undocumented(string.Join("\n", lines)));
    }

    [Fact]
    public void Every_documented_key_is_one_the_validators_accept()
    {
        var problems = new List<string>();
        foreach (var (heading, keys) in Sections(File.ReadAllText(DocPath)))
        {
            var tables = ConfigKeys.Tables.Where(t => Describes(heading, t)).ToList();
            if (tables.Count == 0) continue;
            foreach (var key in keys)
            {
                if (tables.Any(t => t.Keys.Contains(key))) continue;
                problems.Add($"{heading}: `{key}` is not accepted by the loader");
            }
        }
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public void Every_validators_key_list_is_in_the_registry()
    {
        // A new validator with its own Keys must be listed in ConfigKeys, or its table would go unchecked here.
        string validation = Path.Combine(Processes.RepoRoot, "src", "FastProxy.Configuration", "Validation");
        string registry = File.ReadAllText(Path.Combine(validation, "ConfigKeys.cs"));
        var owners = new List<string>();
        foreach (var file in Directory.GetFiles(validation, "*.cs"))
        {
            string text = File.ReadAllText(file);
            if (!KeysField().IsMatch(text)) continue;
            owners.Add(ClassName().Match(text).Groups[1].Value);
        }
        Assert.True(owners.Count >= 10, $"found only {owners.Count} validators with Keys: {string.Join(", ", owners)}");
        foreach (var owner in owners)
        {
            Assert.True(registry.Contains($"{owner}.Keys", StringComparison.Ordinal), $"{owner}.Keys is not listed in ConfigKeys.Tables");
        }
    }

    /// <summary>"TABLE: `key`" for every accepted key that has no row in its table's section.</summary>
    private static List<string> Undocumented(string doc)
    {
        var sections = Sections(doc);
        var problems = new List<string>();
        foreach (var table in ConfigKeys.Tables)
        {
            var matching = sections.Where(s => Describes(s.Heading, table)).ToList();
            if (matching.Count != 1)
            {
                problems.Add($"{Label(table)}: {matching.Count} headings name it (expected one)");
                continue;
            }
            foreach (var key in table.Keys)
            {
                if (!matching[0].Keys.Contains(key)) problems.Add($"{Label(table)}: `{key}`");
            }
        }
        return problems;
    }

    private static string Label(ConfigKeys.Table table) => table.Name.Length == 0 ? "top level" : table.Name;

    /// <summary>The top level is the heading "Top level ..."; any other table is named in backticks in its heading.</summary>
    private static bool Describes(string heading, ConfigKeys.Table table) => table.Name.Length == 0
        ? heading.StartsWith("Top level", StringComparison.Ordinal)
        : heading.Contains($"`{table.Name}`", StringComparison.Ordinal);

    /// <summary>Each heading (outside code blocks) with the keys of the <c>| `key` |</c> rows before the next heading.</summary>
    private static List<(string Heading, List<string> Keys)> Sections(string doc)
    {
        var sections = new List<(string, List<string>)>();
        bool inCode = false;
        foreach (var line in doc.Split('\n'))
        {
            if (line.StartsWith("```", StringComparison.Ordinal)) inCode = !inCode;
            if (inCode) continue;
            if (line.StartsWith('#'))
            {
                sections.Add((line.TrimStart('#').Trim(), []));
            }
            else if (sections.Count > 0 && KeyRow().Match(line) is { Success: true } row)
            {
                sections[^1].Item2.Add(row.Groups[1].Value);
            }
        }
        return sections;
    }

    [GeneratedRegex(@"^\|\s*`([a-z0-9_]+)`\s*\|")]
    private static partial Regex KeyRow();

    [GeneratedRegex(@"static readonly string\[\] Keys\b")]
    private static partial Regex KeysField();

    [GeneratedRegex(@"static class (\w+)")]
    private static partial Regex ClassName();
}
