using FastProxy.Tests.Infrastructure;

namespace FastProxy.Tests.Cli;

/// <summary>FASTPROXY_LOG_LEVEL (docs/operations.md): debug, info, warn or error (an unknown value: CommandLineTests).</summary>
public sealed class LogLevelTests
{
    private static string Config(int port) => $$"""
        [[listeners]]
        name = "web"
        bind = "127.0.0.1:{{port}}"

        [[routes]]
        respond = { status = 200 }

        [upstreams.spare]
        servers = ["127.0.0.1:9"]
        """;

    private static string WriteConfig(int port)
    {
        string path = Path.Combine(Path.GetTempPath(), $"fastproxy-loglevel-{Guid.NewGuid():N}.toml");
        File.WriteAllText(path, Config(port));
        return path;
    }

    [Fact]
    public async Task Warn_keeps_warnings_and_drops_info_lines()
    {
        int port = ProxyProcess.FreePort();
        string path = WriteConfig(port);
        try
        {
            // Upper case is accepted; the unused upstream is a warning logged at start.
            await using var proxy = ProxyProcess.Start(new Dictionary<string, string> { ["FASTPROXY_LOG_LEVEL"] = "WARN" }, "-c", path);
            await proxy.WaitForPortAsync(port);
            // The start logs its listeners (info) before the config's warnings: once the warning is out, so is any info line.
            await Wait.UntilAsync(() => proxy.StdErr.Contains("upstreams.spare: not used by any route or listener"), "the unused-upstream warning",
                TimeSpan.FromSeconds(20));

            Assert.Contains(" warn  ", proxy.StdErr);
            Assert.DoesNotContain(" info  ", proxy.StdErr);
            Assert.False(proxy.HasExited);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
