using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using FastProxy.Admin;
using FastProxy.Tests.Forwarding.Support;
using FastProxy.Tests.Infrastructure;

namespace FastProxy.Tests.Hosting;

/// <summary>
/// Who may change state through the admin listener: loopback without a token; with `[admin] token`, only requests
/// carrying it as a bearer token (401 with WWW-Authenticate otherwise); a non-loopback listener without one, nobody (403).
/// </summary>
public sealed class AdminAuthTests
{
    private const string Token = "0123456789abcdef-admin-token-right";

    private static byte[] Hash(string token) => SHA256.HashData(Encoding.ASCII.GetBytes(token));

    [Fact]
    public void The_decision_by_listener_address_and_token()
    {
        var loopback = IPAddress.Loopback;
        var other = IPAddress.Parse("192.0.2.2");
        Assert.Equal(AdminAccess.Allowed, AdminAuth.Decide(loopback, null, null));
        Assert.Equal(AdminAccess.Allowed, AdminAuth.Decide(IPAddress.Parse("127.0.0.2"), null, null));
        Assert.Equal(AdminAccess.Allowed, AdminAuth.Decide(IPAddress.IPv6Loopback, null, null));
        Assert.Equal(AdminAccess.Allowed, AdminAuth.Decide(IPAddress.Parse("::ffff:127.0.0.1"), null, null));
        Assert.Equal(AdminAccess.Forbidden, AdminAuth.Decide(other, null, null));
        Assert.Equal(AdminAccess.Forbidden, AdminAuth.Decide(IPAddress.Any, null, "Bearer " + Token));
        Assert.Equal(AdminAccess.Forbidden, AdminAuth.Decide(IPAddress.IPv6Any, null, null));

        var hash = Hash(Token);
        foreach (var address in new[] { loopback, other })
        {
            // A token once set is asked for everywhere, loopback included.
            Assert.Equal(AdminAccess.MissingToken, AdminAuth.Decide(address, hash, null));
            Assert.Equal(AdminAccess.WrongToken, AdminAuth.Decide(address, hash, "Bearer nope"));
            Assert.Equal(AdminAccess.WrongToken, AdminAuth.Decide(address, hash, "Basic " + Token));
            Assert.Equal(AdminAccess.WrongToken, AdminAuth.Decide(address, hash, "Bearer " + Token + "x"));
            Assert.Equal(AdminAccess.WrongToken, AdminAuth.Decide(address, hash, "Bearer " + Token[..^1]));
            Assert.Equal(AdminAccess.WrongToken, AdminAuth.Decide(address, hash, ""));
            Assert.Equal(AdminAccess.WrongToken, AdminAuth.Decide(address, hash, "Bearer"));
            Assert.Equal(AdminAccess.Allowed, AdminAuth.Decide(address, hash, "Bearer " + Token));
            Assert.Equal(AdminAccess.Allowed, AdminAuth.Decide(address, hash, "bearer " + Token));
        }
    }

    [Fact]
    public void Two_authorization_fields_count_as_a_wrong_token()
    {
        Assert.Null(AdminServer.Authorization("POST / HTTP/1.1\r\nHost: x"));
        Assert.Equal("Bearer a", AdminServer.Authorization("POST / HTTP/1.1\r\nauthorization:  Bearer a \r\nHost: x"));
        Assert.Equal("", AdminServer.Authorization("POST / HTTP/1.1\r\nAuthorization: Bearer a\r\nAuthorization: Bearer b"));
    }

    private static string Config(int port, string bind, string token) => TestProxy.SimpleConfig([port], extraTop: $"""
        [admin]
        bind = "{bind}"
        {token}
        """);

    [Fact]
    public async Task With_a_token_from_the_environment_missing_and_wrong_are_401_and_right_is_200()
    {
        const string variable = "FASTPROXY_TEST_ADMIN_TOKEN_AUTH";
        Environment.SetEnvironmentVariable(variable, Token);
        await using var a = new RawUpstream(_ => RawUpstream.Ok("a"));
        await using var proxy = TestProxy.Start(Config(a.Port, "127.0.0.1:0", $"token = \"env:{variable}\""));
        string url = $"http://{proxy.Host.AdminEndPoint}/upstreams/app/servers/127.0.0.1:{a.Port}/drain";

        var missing = await Processes.CurlAsync("-s", "-i", "-X", "POST", url);
        Assert.StartsWith("HTTP/1.1 401", missing.StdOut);
        Assert.Contains("WWW-Authenticate: Bearer realm=\"fastproxy-admin\"\r\n", missing.StdOut);
        var wrong = await Processes.CurlAsync("-s", "-i", "-X", "POST", "-H", "Authorization: Bearer not-the-token-at-all", url);
        Assert.StartsWith("HTTP/1.1 401", wrong.StdOut);
        Assert.Contains("error=\"invalid_token\"", wrong.StdOut);
        Assert.DoesNotContain(Token, wrong.StdOut);
        // Refused: nothing was drained.
        Assert.Equal((200, "a"), await AdminDrainTests.CurlAsync(proxy.Url().ToString()));

        var right = await AdminDrainTests.CurlAsync(url, "-X", "POST", "-H", "Authorization: Bearer " + Token);
        Assert.Equal(200, right.Status);
        Assert.Equal(503, (await AdminDrainTests.CurlAsync(proxy.Url().ToString())).Status);
        // Read-only endpoints need no token.
        Assert.Equal(200, (await AdminDrainTests.CurlAsync($"http://{proxy.Host.AdminEndPoint}/upstreams")).Status);
    }

    [Fact]
    public async Task A_token_changed_by_reload_is_the_one_asked_for()
    {
        await using var a = new RawUpstream(_ => RawUpstream.Ok("a"));
        await using var proxy = TestProxy.Start(Config(a.Port, "127.0.0.1:0", $"token = \"{Token}\""));
        string url = $"http://{proxy.Host.AdminEndPoint}/upstreams/app/servers/127.0.0.1:{a.Port}/enable";
        Assert.Equal(200, (await AdminDrainTests.CurlAsync(url, "-X", "POST", "-H", "Authorization: Bearer " + Token)).Status);
        proxy.Reload(Config(a.Port, $"127.0.0.1:{proxy.Host.AdminEndPoint!.Port}", "token = \"another-token-0123456789\""));
        Assert.Equal(401, (await AdminDrainTests.CurlAsync(url, "-X", "POST", "-H", "Authorization: Bearer " + Token)).Status);
        Assert.Equal(200, (await AdminDrainTests.CurlAsync(url, "-X", "POST", "-H", "Authorization: Bearer another-token-0123456789")).Status);
        // No token any more, and loopback: open again.
        proxy.Reload(Config(a.Port, $"127.0.0.1:{proxy.Host.AdminEndPoint!.Port}", ""));
        Assert.Equal(200, (await AdminDrainTests.CurlAsync(url, "-X", "POST")).Status);
    }

    [Fact]
    public async Task Any_127_address_is_loopback()
    {
        await using var a = new RawUpstream(_ => RawUpstream.Ok("a"));
        await using var proxy = TestProxy.Start(Config(a.Port, "127.0.0.2:0", ""));
        Assert.Equal("127.0.0.2", proxy.Host.AdminEndPoint!.Address.ToString());
        Assert.Equal(200, (await AdminDrainTests.CurlAsync($"http://{proxy.Host.AdminEndPoint}/upstreams/app/servers/127.0.0.1:{a.Port}/drain", "-X", "POST")).Status);
    }

    /// <summary>This machine's own non-loopback IPv4 address, if it has one (connections to it stay on the machine).</summary>
    private static IPAddress? LocalNonLoopback()
    {
        foreach (var nic in NetworkInterface.GetAllNetworkInterfaces())
        {
            if (nic.OperationalStatus != OperationalStatus.Up || nic.NetworkInterfaceType == NetworkInterfaceType.Loopback) continue;
            foreach (var unicast in nic.GetIPProperties().UnicastAddresses)
            {
                if (unicast.Address.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(unicast.Address)) return unicast.Address;
            }
        }
        return null;
    }

    [Fact]
    public async Task A_listener_on_a_non_loopback_address_refuses_without_a_token_and_accepts_with_it()
    {
        // Bound to this machine's own interface address and reached from this machine: no traffic leaves it.
        var address = LocalNonLoopback();
        // Without one (xunit 2 cannot skip), The_decision_by_listener_address_and_token covers the rule.
        if (address is null) return;
        await using var a = new RawUpstream(_ => RawUpstream.Ok("a"));
        await using (var open = TestProxy.Start(Config(a.Port, $"{address}:0", "")))
        {
            var refused = await Processes.CurlAsync("-s", "-i", "-X", "POST",
                $"http://{open.Host.AdminEndPoint}/upstreams/app/servers/127.0.0.1:{a.Port}/drain");
            Assert.StartsWith("HTTP/1.1 403", refused.StdOut);
            // Even with a token sent: there is none to check it against.
            Assert.Equal(403, (await AdminDrainTests.CurlAsync($"http://{open.Host.AdminEndPoint}/upstreams/app/servers/127.0.0.1:{a.Port}/drain",
                "-X", "POST", "-H", "Authorization: Bearer " + Token)).Status);
            Assert.Equal(200, (await AdminDrainTests.CurlAsync($"http://{open.Host.AdminEndPoint}/healthz")).Status);
            Assert.Equal((200, "a"), await AdminDrainTests.CurlAsync(open.Url().ToString()));
        }
        await using var guarded = TestProxy.Start(Config(a.Port, $"{address}:0", $"token = \"{Token}\""));
        string url = $"http://{guarded.Host.AdminEndPoint}/upstreams/app/servers/127.0.0.1:{a.Port}/drain";
        Assert.Equal(401, (await AdminDrainTests.CurlAsync(url, "-X", "POST")).Status);
        Assert.Equal(200, (await AdminDrainTests.CurlAsync(url, "-X", "POST", "-H", "Authorization: Bearer " + Token)).Status);
    }
}
