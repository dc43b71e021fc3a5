using FastProxy.Tests.Infrastructure;
using FastProxy.Transport;

namespace FastProxy.Tests.Hosting;

/// <summary>
/// Binding at start: a port someone else holds (another proxy included) is "address already in use", unless every
/// party asked to share it with reuse_port = true. The admin listener never shares.
/// </summary>
public sealed class StartBindTests
{
    private static string Web(int port, string body, string listenerExtra = "", string top = "") => $$"""
        {{top}}
        [[listeners]]
        name = "web"
        bind = "127.0.0.1:{{port}}"
        {{listenerExtra}}

        [[routes]]
        respond = { status = 200, body = "{{body}}" }
        """;

    [Fact]
    public async Task A_second_proxy_on_the_same_port_fails_to_start_and_the_first_keeps_serving()
    {
        int port = ProxyProcess.FreePort();
        await using var first = TestProxy.Start(Web(port, "first"));

        // Before the fix both sockets had SO_REUSEPORT (what .NET's ReuseAddress sets on Linux): the second started.
        var refused = Assert.Throws<ListenerBindException>(() => TestProxy.Start(Web(port, "second")));

        Assert.Equal($"listener \"web\": cannot bind 127.0.0.1:{port}: address already in use", refused.Message);
        for (int i = 0; i < 20; i++) Assert.Equal("first", await PortHolder.GetBodyAsync(port));
    }

    [Fact]
    public void A_port_held_by_another_program_fails_the_start()
    {
        using var holder = PortHolder.Plain();

        var refused = Assert.Throws<ListenerBindException>(() => TestProxy.Start(Web(holder.Port, "x")));

        Assert.Equal($"listener \"web\": cannot bind 127.0.0.1:{holder.Port}: address already in use", refused.Message);
    }

    [Fact]
    public async Task A_second_proxy_on_the_same_admin_port_fails_to_start()
    {
        int admin = ProxyProcess.FreePort();
        string top = $"[admin]\nbind = \"127.0.0.1:{admin}\"";
        await using var first = TestProxy.Start(Web(0, "first", top: top));

        var refused = Assert.Throws<ListenerBindException>(() => TestProxy.Start(Web(0, "second", top: top)));

        Assert.Equal($"admin: cannot bind 127.0.0.1:{admin}: address already in use", refused.Message);
        Assert.Equal(admin, first.Host.AdminEndPoint!.Port);
    }

    [Fact]
    public async Task With_reuse_port_on_both_two_proxies_share_the_port_and_both_answer()
    {
        int port = ProxyProcess.FreePort();
        await using var one = TestProxy.Start(Web(port, "one", "reuse_port = true"));
        await using var two = TestProxy.Start(Web(port, "two", "reuse_port = true"));

        var seen = await ReloadBindTests.AnswersUntilBothAsync(port, "one", "two");

        Assert.Equal(["one", "two"], seen.Order());
    }

    [Fact]
    public async Task Reuse_port_on_one_side_only_is_still_address_already_in_use()
    {
        int port = ProxyProcess.FreePort();
        await using var sharing = TestProxy.Start(Web(port, "one", "reuse_port = true"));

        var refused = Assert.Throws<ListenerBindException>(() => TestProxy.Start(Web(port, "two")));

        Assert.Equal($"listener \"web\": cannot bind 127.0.0.1:{port}: address already in use", refused.Message);
    }
}
