namespace FastProxy.Tests.Configuration;

/// <summary>[tracing]: defaults, every key read, and errors that name file:line:col and the key.</summary>
public sealed class TracingConfigTests
{
    [Fact]
    public void Absent_section_exports_nothing_with_the_defaults()
    {
        var config = ConfigText.Load(ConfigText.Minimal);
        Assert.Null(config.Tracing.OtlpEndpoint);
        Assert.Equal(0.01, config.Tracing.Sample);
        Assert.Equal("fastproxy", config.Tracing.ServiceName);
        Assert.Equal(512, config.Tracing.BatchSize);
        Assert.Equal(TimeSpan.FromSeconds(5), config.Tracing.ExportInterval);
        Assert.Equal(2048, config.Tracing.QueueSize);
    }

    [Fact]
    public void Every_key_is_read()
    {
        var config = ConfigText.Load(ConfigText.Minimal + """


            [tracing]
            otlp_endpoint = "http://127.0.0.1:4318"
            sample = 0.25
            service_name = "edge"
            batch_size = 100
            export_interval = "1s"
            queue_size = 5000
            """);
        Assert.Equal(new Uri("http://127.0.0.1:4318"), config.Tracing.OtlpEndpoint);
        Assert.Equal(0.25, config.Tracing.Sample);
        Assert.Equal("edge", config.Tracing.ServiceName);
        Assert.Equal(100, config.Tracing.BatchSize);
        Assert.Equal(TimeSpan.FromSeconds(1), config.Tracing.ExportInterval);
        Assert.Equal(5000, config.Tracing.QueueSize);
    }

    [Theory]
    [InlineData("sample = 1", 1.0)]
    [InlineData("sample = 0", 0.0)]
    public void Sample_may_be_written_as_an_integer(string line, double expected)
    {
        var config = ConfigText.Load(ConfigText.Minimal + "\n\n[tracing]\n" + line + "\n");
        Assert.Equal(expected, config.Tracing.Sample);
    }

    [Fact]
    public void Sample_above_one_is_an_error_at_its_value()
    {
        var error = ConfigText.Error(ConfigText.Minimal + """


            [tracing]
            sample = 1.5
            """);
        Assert.Equal("proxy.toml:9:10: tracing.sample: must be from 0 to 1 (a ratio: 0.01 is one request in a hundred), got 1.5", error);
    }

    [Fact]
    public void Sample_as_a_string_is_a_type_error()
    {
        var error = ConfigText.Error(ConfigText.Minimal + """


            [tracing]
            sample = "1%"
            """);
        Assert.Equal("proxy.toml:9:10: tracing.sample: expected a number from 0 to 1 (0.01: one request in a hundred), got a string", error);
    }

    [Theory]
    [InlineData("\"127.0.0.1:4318\"")]
    [InlineData("\"grpc://collector:4317\"")]
    [InlineData("\"http://collector:4318/?x=1\"")]
    public void A_bad_endpoint_is_an_error_naming_the_key(string value)
    {
        var error = ConfigText.Error(ConfigText.Minimal + "\n\n[tracing]\notlp_endpoint = " + value + "\n");
        Assert.StartsWith("proxy.toml:9:17: tracing.otlp_endpoint: ", error);
    }

    [Fact]
    public void An_unknown_key_is_reported_with_a_suggestion()
    {
        var error = ConfigText.Error(ConfigText.Minimal + """


            [tracing]
            sampel = 0.5
            """);
        Assert.StartsWith("proxy.toml:9:1: tracing.sampel: unknown key", error);
        Assert.Contains("sample", error[30..]);
    }
}
