using System.Globalization;
using FastProxy.Configuration.Reading;
using Tomlyn.Model;

namespace FastProxy.Configuration.Validation.Policies;

/// <summary>
/// type = "error_pages": which statuses get a page (`statuses`), in which format (`format`: problem+json, html, or
/// negotiated by Accept), HTML files per status (`pages`, read here, at load), and whether upstream answers are
/// replaced too (`only_proxy_errors`).
/// </summary>
internal sealed class ErrorPagesPolicyType : IPolicyType
{
    public static readonly string[] Keys = ["statuses", "format", "pages", "only_proxy_errors"];

    /// <summary>An error page is a page, not a site: anything bigger is the wrong file (and every page is held in memory).</summary>
    private const long MaxPageBytes = 1 << 20;

    private static readonly (string Name, ErrorPageFormat Value)[] s_formats =
    [
        ("problem+json", ErrorPageFormat.ProblemJson),
        ("html", ErrorPageFormat.Html),
    ];

    public string Name => "error_pages";

    IReadOnlyList<string> IPolicyType.Keys => Keys;

    public PolicyOptions? Read(TableReader policy)
    {
        bool ok = true;
        var statuses = ReadStatuses(policy, ref ok);
        var formats = ReadFormats(policy, ref ok);
        var pages = ReadPages(policy, statuses, formats, ref ok);
        bool onlyProxy = policy.Bool("only_proxy_errors") ?? true;
        if (!ok || statuses is null || formats is null || pages is null) return null;
        return new ErrorPagesOptions { Statuses = statuses, Formats = formats, Pages = pages, OnlyProxyErrors = onlyProxy };
    }

    /// <summary>"503", 503, "5xx" or "4xx"; 400-599 only (1xx-3xx answers are not errors and most carry no body).</summary>
    internal static bool TryParseStatus(object value, out StatusRange range, out string problem)
    {
        range = default;
        problem = "";
        if (value is long number)
        {
            if (number is >= 400 and <= 599)
            {
                range = new StatusRange((int)number, (int)number);
                return true;
            }
            problem = $"must be a status between 400 and 599, got {number}";
            return false;
        }
        if (value is not string text)
        {
            problem = $"expected a status such as \"503\" or a class such as \"5xx\", got {TomlTypeNames.Of(value)}";
            return false;
        }
        if (text.Length == 3 && text[0] is '4' or '5' && text[1..] is "xx" or "XX")
        {
            int first = (text[0] - '0') * 100;
            range = new StatusRange(first, first + 99);
            return true;
        }
        if (text.Length == 3 && int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int status) && status is >= 400 and <= 599)
        {
            range = new StatusRange(status, status);
            return true;
        }
        problem = $"\"{text}\" is not an error status: write a status between 400 and 599 (\"503\") or a class (\"4xx\", \"5xx\")";
        return false;
    }

    private static List<StatusRange>? ReadStatuses(TableReader policy, ref bool ok)
    {
        if (!policy.Has("statuses")) return [new(400, 499), new(500, 599)];
        var raw = policy.Raw("statuses");
        if (raw is not TomlArray array)
        {
            policy.Error("statuses", $"expected an array of statuses (write [\"502\", \"5xx\"]), got {TomlTypeNames.Of(raw!)}");
            ok = false;
            return null;
        }
        if (array.Count == 0)
        {
            policy.Error("statuses", "an empty list would replace nothing: leave statuses out for every 4xx and 5xx, or list them");
            ok = false;
            return null;
        }
        var list = new List<StatusRange>();
        int index = 0;
        foreach (var item in array)
        {
            var path = KeyPath.Index(policy.PathOf("statuses"), index++);
            if (!TryParseStatus(item!, out var range, out var problem))
            {
                policy.Context.Error(path, problem);
                ok = false;
                continue;
            }
            list.Add(range);
        }
        return list;
    }

    /// <summary>"problem+json", "html", "negotiate" (= ["problem+json", "html"]), or a list of the first two in preference order.</summary>
    private static List<ErrorPageFormat>? ReadFormats(TableReader policy, ref bool ok)
    {
        var raw = policy.Raw("format");
        if (raw is null or "negotiate") return [ErrorPageFormat.ProblemJson, ErrorPageFormat.Html];
        if (raw is string single)
        {
            foreach (var (name, value) in s_formats)
            {
                if (name == single) return [value];
            }
            policy.Error("format", $"unknown format \"{single}\" (known: problem+json, html, negotiate)");
            ok = false;
            return null;
        }
        if (raw is not TomlArray array)
        {
            policy.Error("format", $"expected \"problem+json\", \"html\", \"negotiate\" or a list of formats in preference order, got {TomlTypeNames.Of(raw)}");
            ok = false;
            return null;
        }
        var list = new List<ErrorPageFormat>();
        int index = 0;
        foreach (var item in array)
        {
            var path = KeyPath.Index(policy.PathOf("format"), index++);
            var match = s_formats.Where(f => item is string s && f.Name == s).Select(f => (ErrorPageFormat?)f.Value).FirstOrDefault();
            if (match is null)
            {
                policy.Context.Error(path, item is string s ? $"unknown format \"{s}\" (known in a list: problem+json, html)" : $"expected a string, got {TomlTypeNames.Of(item!)}");
                ok = false;
            }
            else if (list.Contains(match.Value))
            {
                policy.Context.Error(path, "listed twice");
                ok = false;
            }
            else
            {
                list.Add(match.Value);
            }
        }
        if (list.Count == 0 && ok)
        {
            policy.Error("format", "an empty list: write \"negotiate\", or the formats in preference order");
            ok = false;
        }
        return list;
    }

    private static List<ErrorPageFile>? ReadPages(TableReader policy, List<StatusRange>? statuses, List<ErrorPageFormat>? formats, ref bool ok)
    {
        var table = policy.Table("pages", null);
        if (table is null)
        {
            if (policy.Has("pages")) ok = false;
            return [];
        }
        if (formats is not null && !formats.Contains(ErrorPageFormat.Html) && table.Entries.Any())
        {
            policy.Error("pages", "pages are HTML pages, and format = \"problem+json\" never sends one: add \"html\" to format (or \"negotiate\"), or leave pages out");
            ok = false;
            return null;
        }
        var list = new List<ErrorPageFile>();
        foreach (var (key, value) in table.Entries)
        {
            if (!TryParseStatus(key, out var range, out var problem))
            {
                policy.Context.ErrorAtKey(table.PathOf(key), problem);
                ok = false;
                continue;
            }
            if (statuses is not null && !statuses.Any(s => s.First <= range.First && s.Last >= range.Last))
            {
                policy.Context.ErrorAtKey(table.PathOf(key), $"{range} is not in statuses, so this page would never be sent (statuses: {string.Join(", ", statuses)})");
                ok = false;
                continue;
            }
            if (value is not string file || file.Length == 0)
            {
                table.Error(key, value is string ? "must not be empty" : $"expected a file name, got {TomlTypeNames.Of(value)}");
                ok = false;
                continue;
            }
            var path = policy.Context.FullPath(file);
            var content = ReadFile(policy.Context, table.PathOf(key), path);
            if (content is null)
            {
                ok = false;
                continue;
            }
            list.Add(new ErrorPageFile { Statuses = range, Path = path, Content = content });
        }
        return list;
    }

    private static byte[]? ReadFile(LoadContext context, string keyPath, string file)
    {
        try
        {
            if (Directory.Exists(file))
            {
                context.Error(keyPath, $"{file} is a directory, expected an HTML file");
                return null;
            }
            var info = new FileInfo(file);
            if (!info.Exists)
            {
                context.Error(keyPath, $"file not found: {file}");
                return null;
            }
            if (info.Length > MaxPageBytes)
            {
                context.Error(keyPath, $"{file} is over 1 MiB: an error page should be small (every page is held in memory)");
                return null;
            }
            return File.ReadAllBytes(file);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            context.Error(keyPath, $"cannot read {file}: {(e is UnauthorizedAccessException ? "permission denied" : e.Message)}");
            return null;
        }
    }
}
