using FastProxy.Tests.Infrastructure;

namespace FastProxy.Tests.Tcp;

/// <summary>
/// A tcp listener whose upstream's servers come from a servers_file that is rewritten while connections are open: the
/// L4 balancer goes on from where it stood for the servers that stay (round-robin position; least_conn's open
/// connection counts), and no open connection is closed by the change, not even one to a server that was removed.
/// Over real sockets: TcpBackend servers that say their name first, then echo.
/// </summary>
public sealed class TcpDiscoveryTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("fastproxy-tcp-servers-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private string File => Path.Combine(_directory, "servers.toml");

    private static string Servers(params TcpBackend[] backends)
        => string.Concat(backends.Select(b => $"[[servers]]\naddress = \"127.0.0.1:{b.Port}\"\n\n"));

    /// <summary>Write elsewhere, then rename over the file (what config management tools do).</summary>
    private void Replace(string text)
    {
        var temporary = Path.Combine(_directory, ".servers.toml.tmp");
        System.IO.File.WriteAllText(temporary, text);
        System.IO.File.Move(temporary, File, overwrite: true);
    }

    private string Config(string balance) => $$"""
        [[listeners]]
        name = "tcp"
        bind = "127.0.0.1:0"
        protocol = "tcp"
        upstream = "app"

        [upstreams.app]
        balance = "{{balance}}"
        servers_file = "{{File}}"
        """;

    private static async Task WaitForServersAsync(TestProxy proxy, int count)
        => await Wait.UntilAsync(() => proxy.Host.Runtime.Upstreams["app"].Servers.Length == count, $"{count} servers applied", TimeSpan.FromSeconds(15));

    private static async Task<(TcpTestClient Client, string Server)> OpenAsync(int port)
    {
        var client = await TcpTestClient.ConnectAsync(port);
        return (client, await client.ReadLineAsync());
    }

    /// <summary>Each connection still carries bytes both ways through the proxy.</summary>
    private static async Task AssertAllEchoAsync(IEnumerable<(TcpTestClient Client, string Server)> open)
    {
        int i = 0;
        foreach (var (client, server) in open)
        {
            string line = $"still here {server} {i++}";
            await client.SendAsync(line + "\n");
            Assert.Equal(line, await client.ReadLineAsync());
        }
    }

    [Fact]
    public async Task Round_robin_goes_on_where_it_stood_and_no_connection_is_lost()
    {
        await using var a = TcpBackend.Named("a");
        await using var b = TcpBackend.Named("b");
        await using var c = TcpBackend.Named("c");
        await using var d = TcpBackend.Named("d");
        System.IO.File.WriteAllText(File, Servers(a, b, c));
        await using var proxy = TestProxy.Start(Config("round_robin"));
        int port = proxy.Port("tcp");
        var open = new List<(TcpTestClient Client, string Server)>();
        try
        {
            open.Add(await OpenAsync(port));
            open.Add(await OpenAsync(port));
            Assert.Equal(["a", "b"], open.Select(o => o.Server));

            // d joins after c: the rotation was at c and goes on there (a new balancer without the old one's state
            // would start again at a).
            Replace(Servers(a, b, c, d));
            await WaitForServersAsync(proxy, 4);
            for (int i = 0; i < 4; i++) open.Add(await OpenAsync(port));
            Assert.Equal(["a", "b", "c", "d", "a", "b"], open.Select(o => o.Server));

            // a leaves while two connections to it are open: the rotation was at b (after a) and goes on at b; the
            // connections to a keep working (an L4 connection is never cut by a server-set change).
            Replace(Servers(b, c, d));
            await WaitForServersAsync(proxy, 3);
            for (int i = 0; i < 3; i++) open.Add(await OpenAsync(port));
            Assert.Equal(["c", "d", "b"], open.Skip(6).Select(o => o.Server));

            await AssertAllEchoAsync(open);
            Assert.Equal(2, a.Connections);
        }
        finally
        {
            foreach (var (client, _) in open) client.Dispose();
        }
    }

    [Fact]
    public async Task Least_conn_keeps_counting_the_open_connections_of_servers_that_stay()
    {
        await using var a = TcpBackend.Named("a");
        await using var b = TcpBackend.Named("b");
        await using var c = TcpBackend.Named("c");
        System.IO.File.WriteAllText(File, Servers(a, b));
        await using var proxy = TestProxy.Start(Config("least_conn"));
        int port = proxy.Port("tcp");
        var open = new List<(TcpTestClient Client, string Server)>();
        try
        {
            // Four long connections: two on a, two on b.
            for (int i = 0; i < 4; i++) open.Add(await OpenAsync(port));
            Assert.Equal(2, open.Count(o => o.Server == "a"));
            Assert.Equal(2, open.Count(o => o.Server == "b"));

            // c joins with nothing open: new connections fill it up to the others' count first. Had the counts of a
            // and b been reset by the change, the next two would not both go to c.
            Replace(Servers(a, b, c));
            await WaitForServersAsync(proxy, 3);
            var servers = proxy.Host.Runtime.Upstreams["app"].Servers;
            Assert.Equal([2, 2, 0], servers.Select(s => s.State.OpenConnections));
            for (int i = 0; i < 2; i++) open.Add(await OpenAsync(port));
            Assert.Equal(["c", "c"], open.Skip(4).Select(o => o.Server));

            await AssertAllEchoAsync(open);
        }
        finally
        {
            foreach (var (client, _) in open) client.Dispose();
        }
    }
}
