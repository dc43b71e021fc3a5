using FastProxy.Tests.Hosting;
using FastProxy.Tests.Infrastructure;

namespace FastProxy.Tests.Cli;

/// <summary>
/// The real binary started twice: a duplicate instance must not silently take part of the traffic. It exits 1 naming
/// the port, unless both asked to share it with reuse_port = true.
/// </summary>
public sealed class PortSharingTests
{
    private static string Config(int port, string body, string listenerExtra = "", int? admin = null) => $$"""
        {{(admin is null ? "" : $"[admin]\nbind = \"127.0.0.1:{admin}\"")}}
        [[listeners]]
        name = "web"
        bind = "127.0.0.1:{{port}}"
        {{listenerExtra}}

        [[routes]]
        respond = { status = 200, body = "{{body}}" }
        """;

    [Fact]
    public async Task A_second_instance_on_the_same_config_exits_1_and_the_first_keeps_serving()
    {
        int port = ProxyProcess.FreePort();
        await using var first = ProxyProcess.StartWithConfig(Config(port, "first"), out string path);
        try
        {
            await first.WaitForPortAsync(port);

            await using var second = ProxyProcess.Start("-c", path);
            int exit = await second.WaitForExitAsync(TimeSpan.FromSeconds(10));

            Assert.Equal(1, exit);
            Assert.Contains($"listener \"web\": cannot bind 127.0.0.1:{port}: address already in use", second.StdErr);
            Assert.False(first.HasExited);
            for (int i = 0; i < 20; i++) Assert.Equal("first", await PortHolder.GetBodyAsync(port));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task A_second_instance_on_the_same_admin_port_exits_1()
    {
        int admin = ProxyProcess.FreePort();
        int port = ProxyProcess.FreePort(), otherPort = ProxyProcess.FreePort();
        await using var first = ProxyProcess.StartWithConfig(Config(port, "first", admin: admin), out string firstPath);
        string secondPath = "";
        try
        {
            await first.WaitForPortAsync(admin);

            await using var second = ProxyProcess.StartWithConfig(Config(otherPort, "second", admin: admin), out secondPath);
            int exit = await second.WaitForExitAsync(TimeSpan.FromSeconds(10));

            Assert.Equal(1, exit);
            Assert.Contains($"admin: cannot bind 127.0.0.1:{admin}: address already in use", second.StdErr);
            Assert.False(first.HasExited);
            Assert.Equal("first", await PortHolder.GetBodyAsync(port));
        }
        finally
        {
            File.Delete(firstPath);
            if (secondPath.Length > 0) File.Delete(secondPath);
        }
    }

    [Fact]
    public async Task With_reuse_port_two_instances_share_the_port_and_both_answer()
    {
        int port = ProxyProcess.FreePort();
        await using var one = ProxyProcess.StartWithConfig(Config(port, "one", "reuse_port = true"), out string onePath);
        string twoPath = "";
        try
        {
            await one.WaitForPortAsync(port);
            await using var two = ProxyProcess.StartWithConfig(Config(port, "two", "reuse_port = true"), out twoPath);
            await WaitForStartedAsync(two);

            var seen = await ReloadBindTests.AnswersUntilBothAsync(port, "one", "two");

            Assert.Equal(["one", "two"], seen.Order());
            Assert.False(one.HasExited);
            Assert.False(two.HasExited);
        }
        finally
        {
            File.Delete(onePath);
            if (twoPath.Length > 0) File.Delete(twoPath);
        }
    }

    /// <summary>The port already answers (the other instance): wait for this one's start-up line instead.</summary>
    private static async Task WaitForStartedAsync(ProxyProcess proxy)
    {
        await Wait.UntilAsync(() => proxy.HasExited || proxy.StdErr.Contains("fastproxy started"), "the second instance started");
        Assert.False(proxy.HasExited, proxy.StdErr);
    }
}
