namespace FastProxy.Tests.Configuration;

/// <summary>A typo must not silently do nothing: unknown keys are errors at every level, with a suggestion when one is close.</summary>
public class UnknownKeyTests
{
    [Fact]
    public void TopLevelSection()
    {
        var error = ConfigText.Error(ConfigText.Minimal + """


            [upstream.api]
            servers = ["127.0.0.1:9001"]
            """);

        Assert.Equal("proxy.toml:8:1: upstream: unknown key (did you mean \"upstreams\"?)", error);
    }

    [Fact]
    public void InListener()
    {
        var error = ConfigText.Error("""
            [[listeners]]
            name = "web"
            bind = "127.0.0.1:0"
            protocl = "http"

            [[routes]]
            respond = { status = 200 }
            """);

        Assert.Equal("proxy.toml:4:1: listeners[0].protocl: unknown key (did you mean \"protocol\"?)", error);
    }

    [Fact]
    public void InRouteMatch()
    {
        var error = ConfigText.Error(ConfigText.Minimal + """

            [routes.match]
            path_prefx = "/api/"
            """);

        Assert.Equal("proxy.toml:8:1: routes[0].match.path_prefx: unknown key (did you mean \"path_prefix\"?)", error);
    }

    [Fact]
    public void InUpstream()
    {
        var error = ConfigText.Error("""
            [[listeners]]
            name = "web"
            bind = "127.0.0.1:0"

            [[routes]]
            upstream = "api"

            [upstreams.api]
            servers = ["127.0.0.1:9001"]
            conect_timeout = "1s"
            """);

        Assert.Equal("proxy.toml:10:1: upstreams.api.conect_timeout: unknown key (did you mean \"connect_timeout\"?)", error);
    }

    [Fact]
    public void InServerInlineTable()
    {
        var error = ConfigText.Error("""
            [[listeners]]
            name = "web"
            bind = "127.0.0.1:0"

            [[routes]]
            upstream = "api"

            [upstreams.api]
            servers = [{ address = "127.0.0.1:9001", wieght = 2 }]
            """);

        Assert.Equal("proxy.toml:9:42: upstreams.api.servers[0].wieght: unknown key (did you mean \"weight\"?)", error);
    }

    [Fact]
    public void NothingClose_ListsTheKnownKeys()
    {
        var error = ConfigText.Error(ConfigText.Minimal + """


            [global]
            colour = "blue"
            """);

        Assert.Equal("proxy.toml:9:1: global.colour: unknown key (known: shutdown_timeout, max_connections)", error);
    }

    [Fact]
    public void DashForUnderscore_IsSuggested()
    {
        var error = ConfigText.Error(ConfigText.Minimal + """


            [limits]
            max-body = "1MiB"
            """);

        Assert.Equal("proxy.toml:9:1: limits.max-body: unknown key (did you mean \"max_body\"?)", error);
    }

    [Fact]
    public void InTlsEntryAndRespond()
    {
        var errors = ConfigText.Errors("""
            [[listeners]]
            name = "web"
            bind = "127.0.0.1:0"

            [[listeners.tls]]
            certificate = "a.pem"

            [[routes]]
            respond = { status = 200, bdy = "x" }
            """);

        Assert.Contains("proxy.toml:6:1: listeners[0].tls[0].certificate: unknown key (did you mean \"cert\"?)", errors);
        Assert.Contains("proxy.toml:9:27: routes[0].respond.bdy: unknown key (did you mean \"body\"?)", errors);
    }
}
