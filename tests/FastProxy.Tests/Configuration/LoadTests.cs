using System.Net;
using FastProxy.Configuration;

namespace FastProxy.Tests.Configuration;

public class LoadTests
{
    /// <summary>The repository's own proxy.toml, found by walking up to the folder holding FastProxy.sln.</summary>
    private static string RepoConfigPath()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "FastProxy.sln"))) return Path.Combine(dir.FullName, "proxy.toml");
        }
        throw new InvalidOperationException("FastProxy.sln not found above " + AppContext.BaseDirectory);
    }

    [Fact]
    public void RepositoryProxyToml_LoadsCleanly()
    {
        var result = ConfigLoader.Load(RepoConfigPath());

        Assert.True(result.Success, string.Join("\n", result.Errors));
        Assert.Empty(result.Warnings);
        var config = result.Config;
        Assert.Equal(["web", "origin-a", "origin-b"], config.Listeners.Select(l => l.Name));
        Assert.Equal(IPEndPoint.Parse("127.0.0.1:8080"), config.Listeners[0].EndPoint);
        Assert.Equal(["origin-a", "origin-b", "demo"], config.Routes.Select(r => r.Name));
        Assert.Equal("hello from origin a\n", config.Routes[0].Respond!.Body);
        Assert.Equal([new KeyValuePair<string, string>("content-type", "text/plain")], config.Routes[0].Respond!.Headers);
        var demo = Assert.Single(config.Upstreams);
        Assert.Equal(BalanceKind.RoundRobin, demo.Balance);
        Assert.Equal([IPEndPoint.Parse("127.0.0.1:8081"), IPEndPoint.Parse("127.0.0.1:8082")], demo.Servers.Select(s => s.EndPoint));
        Assert.Equal(Path.GetDirectoryName(RepoConfigPath()), config.BaseDirectory);
    }

    [Fact]
    public void MissingFile_IsOneLine()
    {
        var result = ConfigLoader.Load("/nonexistent/dir/proxy.toml");

        Assert.False(result.Success);
        Assert.Equal(["/nonexistent/dir/proxy.toml: cannot read file: the file does not exist"], result.Errors.Select(e => e.ToString()));
    }

    [Fact]
    public void DirectoryInsteadOfFile_IsOneLine()
    {
        var result = ConfigLoader.Load(AppContext.BaseDirectory);

        Assert.Equal([$"{AppContext.BaseDirectory}: cannot read file: is a directory"], result.Errors.Select(e => e.ToString()));
    }

    [Fact]
    public void Defaults_WhenSectionsAreAbsent()
    {
        var config = ConfigText.Load(ConfigText.Minimal);

        Assert.Equal(TimeSpan.FromSeconds(30), config.Global.ShutdownTimeout);
        Assert.Equal(100_000, config.Global.MaxConnections);
        Assert.Null(config.Admin);
        var limits = config.Listeners[0].Limits;
        Assert.Equal(TimeSpan.FromSeconds(10), limits.HeaderTimeout);
        Assert.Equal(TimeSpan.FromSeconds(60), limits.IdleTimeout);
        Assert.Equal(8 * 1024, limits.MaxRequestLine);
        Assert.Equal(32 * 1024, limits.MaxHeaderBytes);
        Assert.Equal(100, limits.MaxHeaders);
        Assert.Equal(10L * 1024 * 1024, limits.MaxBody);
        Assert.Equal(ListenerProtocol.Http, config.Listeners[0].Protocol);
        Assert.Empty(config.Listeners[0].Tls);
        var route = config.Routes[0];
        Assert.Equal("routes[0]", route.Name);
        Assert.Null(route.Listeners);
        Assert.Empty(route.Policies);
        Assert.Equal((200, ""), (route.Respond!.Status, route.Respond.Body));
        Assert.Null(route.Match.Host);
        Assert.Null(route.Match.Methods);
        Assert.Equal("proxy.toml", config.SourcePath);
    }

    [Fact]
    public void ListenerLimits_OverrideGlobalLimits_KeyByKey()
    {
        var config = ConfigText.Load("""
            [limits]
            header_timeout = "5s"
            max_body = "1MiB"
            max_headers = 50

            [[listeners]]
            name = "public"
            bind = "127.0.0.1:0"

            [listeners.limits]
            max_body = "0"
            idle_timeout = "2m"

            [[listeners]]
            name = "internal"
            bind = "127.0.0.1:0"

            [[routes]]
            respond = { status = 200 }
            """);

        var global = config.Limits;
        Assert.Equal((TimeSpan.FromSeconds(5), 1024L * 1024, 50), (global.HeaderTimeout, global.MaxBody, global.MaxHeaders));

        var merged = config.Listeners[0].Limits;
        Assert.Equal(TimeSpan.FromSeconds(5), merged.HeaderTimeout);    // from [limits]
        Assert.Equal(TimeSpan.FromMinutes(2), merged.IdleTimeout);      // from [listeners.limits]
        Assert.Equal(0, merged.MaxBody);                                // overridden: unlimited
        Assert.Equal(50, merged.MaxHeaders);                            // from [limits]
        Assert.Equal(32 * 1024, merged.MaxHeaderBytes);                 // default

        Assert.Same(global, config.Listeners[1].Limits);
    }

    [Fact]
    public void AdminSection()
    {
        var config = ConfigText.Load(ConfigText.Minimal + """


            [admin]
            bind = "127.0.0.1:9901"
            """);

        Assert.Equal(IPEndPoint.Parse("127.0.0.1:9901"), config.Admin!.EndPoint);
    }

    [Fact]
    public void AdminSection_WithoutBind_IsLoopback_AndAPublicBindIsAWarning()
    {
        var config = ConfigText.Load(ConfigText.Minimal + """


            [admin]
            """);
        Assert.Equal(IPEndPoint.Parse("127.0.0.1:9901"), config.Admin!.EndPoint);
        Assert.Empty(config.Warnings);

        var open = ConfigText.Load(ConfigText.Minimal + """


            [admin]
            bind = "0.0.0.0:9901"
            """);
        Assert.Contains(open.Warnings, w => w.ToString().EndsWith("admin.bind: 0.0.0.0:9901 is not a loopback address: the admin endpoints are reachable from the network, and with no [admin] token its POST endpoints (drain, enable) refuse every request (403); set token = \"env:NAME\" to use them", StringComparison.Ordinal));
    }

    [Fact]
    public void ManyProblems_AreReportedTogether_InFileOrder()
    {
        var errors = ConfigText.Errors("""
            [[routes]]
            upstream = "nope"

            [global]
            shutdown_timeout = "soon"
            max_conections = 5

            [[listeners]]
            name = "web"
            bind = "localhost"

            [upstreams.api]
            balance = "random"
            servers = [{ address = "127.0.0.1:9001", weight = 0 }]
            """);

        Assert.Equal(
        [
            "proxy.toml:2:12: routes[0].upstream: no upstream named \"nope\" (known: api)",
            "proxy.toml:5:20: global.shutdown_timeout: invalid duration \"soon\": expected a whole number with a unit ms, s, m or h, e.g. \"250ms\", \"5s\", \"2m\", \"1h\", or combined as \"1m30s\"",
            "proxy.toml:6:1: global.max_conections: unknown key (did you mean \"max_connections\"?)",
            "proxy.toml:10:8: listeners[0].bind: invalid address \"localhost\": missing port; expected \"host:port\", e.g. \"127.0.0.1:8080\", \"[::1]:8080\" or \"localhost:8080\"",
            "proxy.toml:13:11: upstreams.api.balance: unknown balance \"random\" (known: round_robin, least_conn, ip_hash, weighted, consistent_hash, p2c)",
            "proxy.toml:14:51: upstreams.api.servers[0].weight: must be at least 1, got 0",
        ], errors);
    }
}
