using FastProxy.Balancing;
using FastProxy.Tests.Infrastructure;

namespace FastProxy.Tests.Docs;

/// <summary>docs/configuration.md lists every algorithm the `balance` key accepts, one line each, and no other.</summary>
public sealed class BalanceDocsTests
{
    [Fact]
    public void Every_balance_algorithm_has_its_line()
    {
        string text = File.ReadAllText(Path.Combine(Processes.RepoRoot, "docs", "configuration.md"));
        const string heading = "### The six `balance` algorithms";
        int start = text.IndexOf(heading, StringComparison.Ordinal);
        Assert.True(start >= 0, "the section of the balance algorithms");
        int end = text.IndexOf("\n#", start + heading.Length, StringComparison.Ordinal);
        var listed = text[start..(end < 0 ? text.Length : end)].Split('\n')
            .Where(l => l.StartsWith("- `", StringComparison.Ordinal))
            .Select(l => l[3..l.IndexOf('`', 3)])
            .ToList();
        Assert.Equal(LoadBalancers.KnownNames.Order(StringComparer.Ordinal), listed.Order(StringComparer.Ordinal));
        Assert.Equal(6, LoadBalancers.KnownNames.Count); // the heading says six
    }
}
