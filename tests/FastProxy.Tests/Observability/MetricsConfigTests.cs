using FastProxy.Tests.Configuration;

namespace FastProxy.Tests.Observability;

/// <summary>[metrics]: what `fastproxy check` says (file:line:col, key path) and what loads.</summary>
public sealed class MetricsConfigTests
{
    private const string Admin = """
        [admin]
        bind = "127.0.0.1:0"
        """;

    private const string Alice = """
        [consumers.alice]
        groups = ["gold"]
        """;

    [Fact]
    public void Absent_section_and_default_are_per_consumer_off()
    {
        Assert.False(ConfigText.Load(ConfigText.Minimal).Metrics.PerConsumer);
        Assert.False(ConfigText.Load(ConfigText.Minimal + "\n[metrics]\n").Metrics.PerConsumer);
    }

    [Fact]
    public void Per_consumer_true_loads_without_warnings_when_there_are_an_admin_listener_and_consumers()
    {
        var result = ConfigText.Parse($"{ConfigText.Minimal}\n{Admin}\n{Alice}\n[metrics]\nper_consumer = true\n");
        Assert.True(result.Success, string.Join("\n", result.Errors));
        Assert.True(result.Config!.Metrics.PerConsumer);
        Assert.Empty(result.Config.Warnings);
    }

    [Fact]
    public void A_value_of_the_wrong_type_names_file_line_column_and_key()
    {
        var error = ConfigText.Error($"{ConfigText.Minimal}\n{Admin}\n[metrics]\nper_consumer = \"yes\"\n");
        Assert.StartsWith("proxy.toml:10:16: metrics.per_consumer:", error);
        Assert.Contains("boolean", error);
    }

    [Fact]
    public void An_unknown_key_is_an_error_with_a_suggestion()
    {
        var error = ConfigText.Error($"{ConfigText.Minimal}\n[metrics]\nper_consumers = true\n");
        Assert.StartsWith("proxy.toml:8:1: metrics.per_consumers: unknown key", error);
        Assert.Contains("per_consumer", error);
    }

    [Theory]
    [InlineData(false, true, "there is no [admin] section")]
    [InlineData(true, false, "no [consumers] are declared")]
    public void Per_consumer_without_admin_or_consumers_is_a_warning(bool admin, bool consumers, string warning)
    {
        var result = ConfigText.Parse($"{ConfigText.Minimal}\n{(admin ? Admin : "")}\n{(consumers ? Alice : "")}\n[metrics]\nper_consumer = true\n");
        Assert.True(result.Success, string.Join("\n", result.Errors));
        var only = Assert.Single(result.Config!.Warnings);
        Assert.Equal("metrics.per_consumer", only.Key);
        Assert.Contains(warning, only.Message);
    }
}
