using System.Net;
using FastProxy.Configuration;
using FastProxy.Hosting;

namespace FastProxy.Tests.Infrastructure;

/// <summary>
/// A real proxy, in this process, on real loopback sockets, configured from TOML text. Listeners should bind
/// "127.0.0.1:0"; <see cref="Port"/> tells the port the OS chose.
/// </summary>
public sealed class TestProxy : IAsyncDisposable
{
    private readonly ProxyHost _host;

    private TestProxy(ProxyHost host) => _host = host;

    public static TestProxy Start(string toml)
    {
        var result = ConfigLoader.Parse(toml, "test.toml", AppContext.BaseDirectory);
        if (result.Config is null)
        {
            throw new InvalidOperationException("test config is invalid:\n" + string.Join("\n", result.Errors));
        }
        return new TestProxy(ProxyHost.Start(result.Config));
    }

    internal ProxyHost Host => _host;

    public int Port(string listener = "web") => _host.EndPoints[listener].Port;

    public IPEndPoint EndPoint(string listener = "web") => _host.EndPoints[listener];

    public Uri Url(string path = "/", string listener = "web") => new($"http://127.0.0.1:{Port(listener)}{path}");

    /// <summary>Applies a new configuration as SIGHUP would.</summary>
    public void Reload(string toml)
    {
        var result = ConfigLoader.Parse(toml, "test.toml", AppContext.BaseDirectory);
        if (result.Config is null) throw new InvalidOperationException(string.Join("\n", result.Errors));
        _host.Reload(result.Config);
    }

    public Task<int> StopAsync(TimeSpan timeout) => _host.StopAsync(timeout);

    public ValueTask DisposeAsync() => _host.DisposeAsync();

    /// <summary>A config with one "web" listener on an ephemeral port and one upstream "app" over the given servers.</summary>
    public static string SimpleConfig(IEnumerable<int> upstreamPorts, string balance = "round_robin", string extraUpstream = "", string extraTop = "")
    {
        var servers = string.Join(", ", upstreamPorts.Select(p => $"{{ address = \"127.0.0.1:{p}\" }}"));
        return $$"""
            {{extraTop}}
            [[listeners]]
            name = "web"
            bind = "127.0.0.1:0"

            [[routes]]
            name = "app"
            upstream = "app"

            [upstreams.app]
            balance = "{{balance}}"
            servers = [ {{servers}} ]
            {{extraUpstream}}
            """;
    }
}
