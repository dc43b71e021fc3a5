using System.Text;
using System.Text.RegularExpressions;
using FastProxy.Tests.Infrastructure;

namespace FastProxy.Tests.Docs;

/// <summary>
/// The repository carries its own documentation: every relative link in its Markdown files leads to a file of the
/// repository (and to a heading of it, for a #fragment), and nothing points at the machine it was written on.
/// </summary>
public sealed partial class DocLinkTests
{
    private static IEnumerable<string> MarkdownFiles()
    {
        string root = Processes.RepoRoot;
        yield return Path.Combine(root, "README.md");
        foreach (var dir in new[] { "docs", "perf-results", "src", "deploy", "bench" })
        {
            foreach (var file in Directory.GetFiles(Path.Combine(root, dir), "*.md", SearchOption.AllDirectories))
            {
                string relative = Path.GetRelativePath(root, file);
                if (relative.Contains("/bin/", StringComparison.Ordinal) || relative.Contains("/obj/", StringComparison.Ordinal)) continue;
                // A run's own results.md is written by bench/load/report.py and only links its own chart.
                if (relative.StartsWith("perf-results/", StringComparison.Ordinal) && Path.GetFileName(file) != "README.md"
                    && Path.GetDirectoryName(relative) != "perf-results") continue;
                yield return file;
            }
        }
    }

    [Fact]
    public void Every_relative_link_leads_to_a_file_and_heading_of_the_repository()
    {
        string root = Path.GetFullPath(Processes.RepoRoot) + Path.DirectorySeparatorChar;
        var problems = new List<string>();
        int checkedLinks = 0;
        foreach (var file in MarkdownFiles())
        {
            string name = Path.GetRelativePath(root, file);
            foreach (Match link in Link().Matches(WithoutCode(File.ReadAllText(file))))
            {
                string target = link.Groups[1].Value;
                if (target.StartsWith("http://", StringComparison.Ordinal) || target.StartsWith("https://", StringComparison.Ordinal)
                    || target.StartsWith("mailto:", StringComparison.Ordinal)) continue;
                checkedLinks++;
                int hash = target.IndexOf('#');
                string path = hash < 0 ? target : target[..hash];
                string? fragment = hash < 0 ? null : target[(hash + 1)..];
                string resolved = path.Length == 0 ? file : Path.GetFullPath(Path.Combine(Path.GetDirectoryName(file)!, path));
                if (!resolved.StartsWith(root, StringComparison.Ordinal))
                {
                    problems.Add($"{name}: {target} leads outside the repository");
                    continue;
                }
                if (!File.Exists(resolved) && !Directory.Exists(resolved))
                {
                    problems.Add($"{name}: {target}: no such file");
                    continue;
                }
                if (fragment is not null && resolved.EndsWith(".md", StringComparison.Ordinal) && !Anchors(File.ReadAllText(resolved)).Contains(fragment))
                {
                    problems.Add($"{name}: {target}: no heading with that anchor");
                }
            }
        }
        Assert.True(checkedLinks > 50, $"only {checkedLinks} links found");
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public void No_document_points_at_the_machine_it_was_written_on()
    {
        var problems = new List<string>();
        foreach (var file in MarkdownFiles())
        {
            string text = File.ReadAllText(file);
            foreach (var outside in new[] { "../shared/", "/work/" })
            {
                if (text.Contains(outside, StringComparison.Ordinal)) problems.Add($"{Path.GetRelativePath(Processes.RepoRoot, file)} mentions {outside}");
            }
        }
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public void A_link_to_a_missing_heading_is_reported()
    {
        // The anchor rule above must be able to fail: GitHub's slug of a heading, and nothing else.
        var anchors = Anchors("# Top\n## `[limits]` and `[listeners.limits]`\n## HTTP/2\n## HTTP/2\n```\n# not a heading\n```\n");
        Assert.Equal(["top", "limits-and-listenerslimits", "http2", "http2-1"], anchors);
    }

    /// <summary>Code blocks and inline code hold TOML and shell, not links.</summary>
    private static string WithoutCode(string markdown)
    {
        var text = new StringBuilder();
        bool inBlock = false;
        foreach (var line in markdown.Split('\n'))
        {
            if (line.StartsWith("```", StringComparison.Ordinal)) { inBlock = !inBlock; continue; }
            if (!inBlock) text.AppendLine(InlineCode().Replace(line, "``"));
        }
        return text.ToString();
    }

    /// <summary>GitHub's anchors: headings lower-cased, punctuation dropped, spaces to '-', repeats numbered.</summary>
    private static List<string> Anchors(string markdown)
    {
        var anchors = new List<string>();
        bool inBlock = false;
        foreach (var line in markdown.Split('\n'))
        {
            if (line.StartsWith("```", StringComparison.Ordinal)) { inBlock = !inBlock; continue; }
            if (inBlock || !line.StartsWith('#')) continue;
            var slug = new StringBuilder();
            foreach (char c in line.TrimStart('#').Trim().ToLowerInvariant())
            {
                if (char.IsLetterOrDigit(c) || c is '-' or '_') slug.Append(c);
                else if (c == ' ') slug.Append('-');
            }
            string anchor = slug.ToString();
            int repeats = anchors.Count(a => a == anchor || a.StartsWith(anchor + "-", StringComparison.Ordinal) && int.TryParse(a[(anchor.Length + 1)..], out _));
            anchors.Add(repeats == 0 ? anchor : $"{anchor}-{repeats}");
        }
        return anchors;
    }

    [GeneratedRegex(@"\]\(([^)\s]+)\)")]
    private static partial Regex Link();

    [GeneratedRegex(@"`[^`]*`")]
    private static partial Regex InlineCode();
}
