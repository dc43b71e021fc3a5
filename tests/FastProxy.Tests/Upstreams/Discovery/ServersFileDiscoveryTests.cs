using FastProxy.Tests.Infrastructure;

namespace FastProxy.Tests.Upstreams.Discovery;

/// <summary>
/// servers_file through a running proxy: the file is rewritten (atomically by rename, then in place) while a bounded
/// load goes through; traffic follows the file with no failed request, and a broken file is refused with its
/// file:line while the servers in use stay.
/// </summary>
public sealed class ServersFileDiscoveryTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("fastproxy-servers-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private string File => Path.Combine(_directory, "servers.toml");

    private static string Servers(params int[] ports)
        => string.Concat(ports.Select(p => $"[[servers]]\naddress = \"127.0.0.1:{p}\"\nweight = 1\n\n"));

    private string Config() => $$"""
        [[listeners]]
        name = "web"
        bind = "127.0.0.1:0"

        [[routes]]
        name = "app"
        upstream = "app"

        [upstreams.app]
        servers_file = "{{File}}"
        """;

    private static string[] Serving(TestProxy proxy)
        => [.. proxy.Host.Runtime.Upstreams["app"].Servers.Select(s => s.Address).Order()];

    private static string[] Addresses(params int[] ports) => [.. ports.Select(p => $"127.0.0.1:{p}").Order()];

    /// <summary>Write elsewhere, then rename over the file: what config management tools and `mv` do.</summary>
    private void ReplaceAtomically(string text)
    {
        var temporary = Path.Combine(_directory, ".servers.toml.tmp");
        System.IO.File.WriteAllText(temporary, text);
        System.IO.File.Move(temporary, File, overwrite: true);
    }

    [Fact]
    public async Task Rewrites_under_load_move_traffic_and_a_broken_file_keeps_the_servers()
    {
        await using var a = new RawUpstream(_ => RawUpstream.Ok("a"));
        await using var b = new RawUpstream(_ => RawUpstream.Ok("b"));
        await using var c = new RawUpstream(_ => RawUpstream.Ok("c"));
        System.IO.File.WriteAllText(File, Servers(a.Port, b.Port));
        await using var proxy = TestProxy.Start(Config());
        Assert.Equal(Addresses(a.Port, b.Port), Serving(proxy));

        await using var load = new DiscoveryLoad(proxy.Port());
        await load.RunForAsync(100);

        // 1. Atomic replace: a out, c in.
        ReplaceAtomically(Servers(b.Port, c.Port));
        await Wait.UntilAsync(() => Serving(proxy).SequenceEqual(Addresses(b.Port, c.Port)), "the renamed file applied", TimeSpan.FromSeconds(15));
        await load.RunForAsync(20);
        int aCount = a.Requests.Count;
        await load.RunForAsync(150);
        Assert.Equal(aCount, a.Requests.Count);
        Assert.True(c.Requests.Count > 0, "c takes traffic");

        // 2. In-place write: only c.
        System.IO.File.WriteAllText(File, Servers(c.Port));
        await Wait.UntilAsync(() => Serving(proxy).SequenceEqual(Addresses(c.Port)), "the rewritten file applied", TimeSpan.FromSeconds(15));
        await load.RunForAsync(20);
        int bCount = b.Requests.Count;
        await load.RunForAsync(150);
        Assert.Equal(bCount, b.Requests.Count);

        // 3. A broken file: refused with its file:line, c keeps serving.
        var upstream = proxy.Host.Runtime.Upstreams["app"];
        System.IO.File.WriteAllText(File, $"[[servers]]\naddress = \"127.0.0.1:{a.Port}\"\nweight = 0\n");
        await Wait.UntilAsync(() => upstream.Discovery.Refusal is not null, "the broken file refused", TimeSpan.FromSeconds(15));
        Assert.Contains($"{File}:3:", upstream.Discovery.Refusal);
        Assert.Contains("weight", upstream.Discovery.Refusal);
        int cCount = c.Requests.Count;
        await load.RunForAsync(100);
        Assert.Equal(Addresses(c.Port), Serving(proxy));
        Assert.True(c.Requests.Count >= cCount + 100, "c still serves everything");

        // 4. Fixed: applied again.
        ReplaceAtomically(Servers(a.Port, c.Port));
        await Wait.UntilAsync(() => Serving(proxy).SequenceEqual(Addresses(a.Port, c.Port)), "the fixed file applied", TimeSpan.FromSeconds(15));
        Assert.Null(upstream.Discovery.Refusal);
        await load.RunForAsync(50);

        Assert.Empty(await load.StopAsync());
        await Wait.UntilAsync(() => b.OpenConnections == 0, "connections to the removed server closed", TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task A_reload_reads_the_file_again_and_check_names_its_errors()
    {
        await using var a = new RawUpstream(_ => RawUpstream.Ok("a"));
        System.IO.File.WriteAllText(File, Servers(a.Port));
        var good = global::FastProxy.Configuration.ConfigLoader.Parse(Config(), "test.toml", _directory);
        Assert.Empty(good.Errors);
        Assert.Equal(File, good.Config!.Upstreams[0].ServersFile);

        System.IO.File.WriteAllText(File, "[[servers]]\naddress = \"127.0.0.1\"\n");
        var bad = global::FastProxy.Configuration.ConfigLoader.Parse(Config(), "test.toml", _directory);
        var error = Assert.Single(bad.Errors);
        Assert.StartsWith($"{File}:2:", error.ToString());
        Assert.Contains("servers[0].address", error.ToString());
    }
}
