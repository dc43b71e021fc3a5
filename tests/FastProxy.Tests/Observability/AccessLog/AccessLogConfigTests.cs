using FastProxy.Configuration;
using FastProxy.Tests.Configuration;

namespace FastProxy.Tests.Observability.AccessLog;

public sealed class AccessLogConfigTests
{
    [Fact]
    public void Absent_section_is_off()
    {
        Assert.False(ConfigText.Load(ConfigText.Minimal).AccessLog.Enabled);
    }

    [Fact]
    public void Keys_are_read_with_their_units()
    {
        var dir = Directory.CreateTempSubdirectory("fastproxy-al-").FullName;
        var config = ConfigText.Load(ConfigText.Minimal + """

            [access_log]
            path = "logs.json"
            format = "combined"
            buffer = "128KiB"
            queue = 100
            flush_interval = "250ms"
            redact_query = ["sig"]
            """, dir).AccessLog;
        Assert.Equal(Path.Combine(dir, "logs.json"), config.Path);
        Assert.Equal(AccessLogFormat.Combined, config.Format);
        Assert.Equal(128 * 1024, config.Buffer);
        Assert.Equal(100, config.Queue);
        Assert.Equal(TimeSpan.FromMilliseconds(250), config.FlushInterval);
        Assert.Equal(["sig"], config.RedactQuery);
    }

    [Theory]
    [InlineData("path = \"stdout\"", "stdout")]
    [InlineData("path = \"off\"", null)]
    [InlineData("format = \"json\"", "stdout")]
    public void Stdout_and_off(string line, string? path)
    {
        Assert.Equal(path, ConfigText.Load(ConfigText.Minimal + "\n[access_log]\n" + line).AccessLog.Path);
    }

    [Theory]
    [InlineData("format = \"clf\"", "proxy.toml:9:10: access_log.format: unknown access log format \"clf\" (known: json, combined)")]
    [InlineData("path = \"/nonexistent-dir-fp/a.log\"", "proxy.toml:9:8: access_log.path: directory /nonexistent-dir-fp does not exist")]
    [InlineData("path = \"/tmp\"", "proxy.toml:9:8: access_log.path: /tmp is a directory; name a file in it")]
    [InlineData("path = \"\"", "proxy.toml:9:8: access_log.path: must not be empty (a file path, \"stdout\" or \"off\")")]
    [InlineData("buffer = \"1KiB\"", "proxy.toml:9:10: access_log.buffer: must be at least 4KiB (a whole line must fit)")]
    [InlineData("queue = 1", "proxy.toml:9:9: access_log.queue: must be between 16 and 1048576, got 1")]
    [InlineData("flush_interval = \"0s\"", "proxy.toml:9:18: access_log.flush_interval: must be greater than 0")]
    [InlineData("redact_query = [\"a=b\"]", "proxy.toml:9:17: access_log.redact_query[0]: \"a=b\" is not a query parameter name")]
    [InlineData("formt = \"json\"", "proxy.toml:9:1: access_log.formt: unknown key (did you mean \"format\"?)")]
    public void Errors_name_file_line_column_and_key(string line, string error)
    {
        Assert.Equal(error, ConfigText.Error(ConfigText.Minimal + "\n\n[access_log]\n" + line));
    }
}
