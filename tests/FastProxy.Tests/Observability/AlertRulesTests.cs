using FastProxy.Tests.Infrastructure;

namespace FastProxy.Tests.Observability;

/// <summary>
/// deploy/prometheus: the alert rules and scrape config docs/operations.md shows, checked by Prometheus' own tool:
/// `promtool check rules` / `check config`, and `promtool test rules` with series named and labelled as /metrics
/// writes them (alert-rules-test.yml: each alert fires when it should and not otherwise).
/// </summary>
public sealed class AlertRulesTests
{
    private static string Deploy(string file) => Path.Combine(Processes.RepoRoot, "deploy", "prometheus", file);

    [Fact]
    public async Task The_rules_and_scrape_config_pass_promtool_check()
    {
        var rules = await Processes.RunAsync("promtool", ["check", "rules", Deploy("fastproxy-alerts.yml")]);
        Assert.True(rules.ExitCode == 0, rules.StdOut + rules.StdErr);
        Assert.Contains("SUCCESS: 4 rules found", rules.StdOut);
        var config = await Processes.RunAsync("promtool", ["check", "config", Deploy("prometheus.yml")]);
        Assert.True(config.ExitCode == 0, config.StdOut + config.StdErr);
    }

    [Fact]
    public async Task The_alerts_fire_on_5xx_rate_servers_down_and_refused_reloads()
    {
        string dir = Path.Combine(Path.GetTempPath(), $"fastproxy-rules-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        try
        {
            string test = File.ReadAllText(Path.Combine(Processes.RepoRoot, "tests", "FastProxy.Tests", "Observability", "alert-rules-test.yml"));
            string path = Path.Combine(dir, "test.yml");
            File.WriteAllText(path, test.Replace("RULES", Deploy("fastproxy-alerts.yml")));
            var result = await Processes.RunAsync("promtool", ["test", "rules", path], TimeSpan.FromSeconds(30));
            Assert.True(result.ExitCode == 0, result.StdOut + result.StdErr);
            Assert.Contains("SUCCESS", result.StdOut);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Operations_md_shows_the_rules_and_scrape_config_as_they_are()
    {
        string doc = File.ReadAllText(Path.Combine(Processes.RepoRoot, "docs", "operations.md"));
        Assert.Contains(File.ReadAllText(Deploy("fastproxy-alerts.yml")).Trim(), doc);
        Assert.Contains(File.ReadAllText(Deploy("prometheus.yml")).Trim(), doc);
    }
}
