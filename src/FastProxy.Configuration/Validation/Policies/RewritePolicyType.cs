using System.Text;
using System.Text.RegularExpressions;
using FastProxy.Configuration.Reading;
using FastProxy.Configuration.Values;

namespace FastProxy.Configuration.Validation.Policies;

/// <summary>
/// type = "rewrite": <c>pattern</c> (a .NET regular expression on the path) with <c>replacement</c> ($N, ${name}, $$),
/// and <c>query = { set = { k = "v" }, remove = ["k"] }</c>. The pattern is compiled here, once (<see cref="PathRegex"/>).
/// Every $N and ${name} in the replacement must be a group of the pattern.
/// </summary>
internal sealed class RewritePolicyType : IPolicyType
{
    public static readonly string[] QueryKeys = ["set", "remove"];

    public string Name => "rewrite";

    public IReadOnlyList<string> Keys { get; } = ["pattern", "replacement", "query"];

    public PolicyOptions? Read(TableReader policy)
    {
        var context = policy.Context;
        var patternText = policy.String("pattern");
        var replacement = policy.String("replacement");
        Regex? regex = null;
        bool groups = false;
        if (patternText is not null)
        {
            regex = PathRegex.Compile(patternText, out var problem);
            if (regex is null) policy.Error("pattern", problem!);
            if (replacement is null) policy.Missing("replacement");
        }
        else if (replacement is not null)
        {
            policy.Error("replacement", "a replacement needs a pattern: say which part of the path it replaces (\"^/old/(.*)\")");
        }
        if (regex is not null && replacement is not null)
        {
            var problem = CheckReplacement(replacement, regex, out groups);
            if (problem is not null) policy.Error("replacement", problem);
            else if (!groups) replacement = replacement.Replace("$$", "$", StringComparison.Ordinal);
        }

        var set = new List<KeyValuePair<string, HeaderTemplate>>();
        var remove = new List<string>();
        var query = policy.Table("query", QueryKeys);
        if (query is not null)
        {
            var setTable = query.Table("set", keys: null);
            foreach (var (name, value) in setTable?.Entries ?? [])
            {
                var path = setTable!.PathOf(name);
                if (name.Length == 0)
                {
                    context.ErrorAtKey(path, "a query parameter needs a name");
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
                set.Add(new(name, template));
            }
            var removed = new HashSet<string>(StringComparer.Ordinal);
            foreach (var (name, path) in query.Strings("remove") ?? [])
            {
                if (name.Length == 0)
                {
                    context.Error(path, "a query parameter needs a name");
                    continue;
                }
                if (!removed.Add(name))
                {
                    context.Error(path, $"\"{name}\" is listed twice");
                    continue;
                }
                if (set.Any(s => s.Key == name)) context.Error(path, $"\"{name}\" is both set and removed: set already replaces the client's, remove drops it; keep one");
                remove.Add(name);
            }
        }
        if (regex is null && patternText is null && set.Count == 0 && remove.Count == 0)
        {
            context.Warning(policy.Path, "this rewrite policy changes nothing: give it a pattern and replacement, or query edits");
        }
        return new RewriteOptions
        {
            Pattern = regex,
            Replacement = replacement,
            ReplacementHasGroups = groups,
            QuerySet = set,
            QueryRemove = remove,
        };
    }

    /// <summary>
    /// Null when every '$' is $N, ${name} (a group of <paramref name="regex"/>) or $$; else what is wrong.
    /// .NET's other substitutions ($&amp;, $`, $', $+, $_) are refused: they are rarely meant, and a typo of them is silent.
    /// </summary>
    public static string? CheckReplacement(string replacement, Regex regex, out bool usesGroups)
    {
        usesGroups = false;
        foreach (char c in replacement)
        {
            if (c is '?' or '#') return $"'{c}' cannot stand in a path: the replacement is the path only (set query parameters with query.set; percent-encode a literal one)";
            if (c <= ' ' || c >= 0x7F) return "the replacement holds a space, a control or a non-ASCII character: percent-encode it (\"%20\", \"%C3%A9\")";
        }
        var numbers = regex.GetGroupNumbers();
        var names = regex.GetGroupNames();
        for (int i = 0; i < replacement.Length; i++)
        {
            if (replacement[i] != '$') continue;
            if (i + 1 == replacement.Length) return $"a '$' ends the replacement: write $$ for a dollar sign";
            char next = replacement[i + 1];
            if (next == '$')
            {
                i++;
                continue;
            }
            if (char.IsAsciiDigit(next))
            {
                int end = i + 1;
                while (end < replacement.Length && char.IsAsciiDigit(replacement[end])) end++;
                var digits = replacement[(i + 1)..end];
                if (!int.TryParse(digits, out int number) || !numbers.Contains(number))
                {
                    return $"${digits} is not a group of the pattern (it has {Groups(numbers)}); write ${{N}} to put digits right after a group";
                }
                usesGroups = true;
                i = end - 1;
                continue;
            }
            if (next == '{')
            {
                int close = replacement.IndexOf('}', i + 2);
                if (close < 0) return $"unclosed \"${{\" at character {i + 1}";
                var name = replacement[(i + 2)..close];
                bool known = int.TryParse(name, out int number) ? numbers.Contains(number) : names.Contains(name, StringComparer.Ordinal);
                if (!known) return $"${{{name}}} is not a group of the pattern (it has {Groups(numbers)}{Names(names)})";
                usesGroups = true;
                i = close;
                continue;
            }
            return $"'$' at character {i + 1} is neither $N, ${{name}} nor $$ (write $$ for a dollar sign)";
        }
        return null;
    }

    private static string Groups(int[] numbers) => numbers.Length == 1 ? "only $0, the whole match" : $"$0 to ${numbers.Max()}";

    private static string Names(string[] names)
    {
        var named = names.Where(n => !int.TryParse(n, out _)).ToArray();
        if (named.Length == 0) return "";
        var sb = new StringBuilder(" and ");
        sb.AppendJoin(", ", named.Select(n => "${" + n + "}"));
        return sb.ToString();
    }
}
