using FastProxy.Configuration;

namespace FastProxy.Tests.Configuration;

public class RouteTests
{
    // Ends with an empty line, so what follows starts on line 5.
    private const string Listener = """
        [[listeners]]
        name = "web"
        bind = "127.0.0.1:0"


        """;

    private const string Upstreams = """

        [upstreams.api]
        servers = ["127.0.0.1:9001"]

        [upstreams.web]
        servers = ["127.0.0.1:9002"]
        """;

    [Fact]
    public void UnknownUpstream_TheSpecExample()
    {
        // Laid out so the value lands where the spec's example says: line 14, column 11.
        var error = ConfigText.Error("""
            [[listeners]]
            name = "web"
            bind = "127.0.0.1:0"

            [[routes]]
            upstream = "api"

            [[routes]]
            upstream = "web"

            [[routes]]
            name = "typo"
            strip_prefix = "/typo"
            upstream= "apii"
            """ + Upstreams);

        Assert.Equal("proxy.toml:14:11: routes[2].upstream: no upstream named \"apii\" (known: api, web)", error);
    }

    [Fact]
    public void MatchConditionOnTheRouteItself_SaysWhereItBelongs()
    {
        var error = ConfigText.Error(Listener + """
            [[routes]]
            respond = { status = 200 }
            path_prefix = "/api/"
            """);

        Assert.Equal("proxy.toml:7:1: routes[0].path_prefix: unknown key (it belongs in [routes.match])", error);
    }

    [Fact]
    public void BothUpstreamAndRespond()
    {
        var error = ConfigText.Error(Listener + """
            [[routes]]
            upstream = "api"
            respond = { status = 200 }
            """ + Upstreams);

        Assert.Equal("proxy.toml:7:1: routes[0].respond: give either upstream or respond, not both", error);
    }

    [Fact]
    public void NeitherUpstreamNorRespond()
    {
        var error = ConfigText.Error(Listener + """
            [[routes]]
            name = "nothing"
            """);

        Assert.Equal("proxy.toml:5:1: routes[0]: needs upstream = \"NAME\" or respond = { status = ..., body = ... }, or a policy that answers every request (mock) or picks the upstream (version)", error);
    }

    [Fact]
    public void PathAndPathPrefix()
    {
        var error = ConfigText.Error(Listener + """
            [[routes]]
            respond = { status = 200 }
            [routes.match]
            path = "/a"
            path_prefix = "/b/"
            """);

        Assert.Equal("proxy.toml:9:1: routes[0].match.path_prefix: give either path or path_prefix, not both", error);
    }

    [Theory]
    [InlineData("*example.com", "invalid host \"*example.com\": a wildcard is only allowed as the whole first label, e.g. \"*.example.com\"")]
    [InlineData("api.*.com", "invalid host \"api.*.com\": a wildcard is only allowed as the whole first label, e.g. \"*.example.com\"")]
    [InlineData("api.example.com:8080", "invalid host \"api.example.com:8080\": give the name only, without port or scheme (names are compared without port)")]
    [InlineData("https://api.example.com", "invalid host \"https://api.example.com\": give the name only, without port or scheme (names are compared without port)")]
    [InlineData("api example.com", "invalid host \"api example.com\": expected a name of letters, digits, '-' and '.', e.g. \"api.example.com\" or \"*.example.com\"")]
    [InlineData("*", "\"*\" matches every name: leave the condition out instead")]
    [InlineData("", "must not be empty")]
    public void BadHostPattern(string host, string message)
    {
        var error = ConfigText.Error(Listener + $"""
            [[routes]]
            respond = {"{"} status = 200 {"}"}
            [routes.match]
            host = "{host}"
            """);

        Assert.Equal($"proxy.toml:8:8: routes[0].match.host: {message}", error);
    }

    [Fact]
    public void MatchValuesAreNormalised()
    {
        var config = ConfigText.Load(Listener + """
            [[routes]]
            upstream = "api"
            strip_prefix = "/api"
            [routes.match]
            host = "*.Example.COM"
            path_prefix = "/api/"
            methods = ["get", "Post"]
            headers = { "X-Version" = "2" }
            """ + Upstreams.Replace("[upstreams.web]\nservers = [\"127.0.0.1:9002\"]", "", StringComparison.Ordinal));

        var route = Assert.Single(config.Routes);
        Assert.Equal("routes[0]", route.Name);
        Assert.Equal("*.example.com", route.Match.Host);
        Assert.Equal("/api/", route.Match.PathPrefix);
        Assert.Equal(["GET", "POST"], route.Match.Methods);
        Assert.Equal([new KeyValuePair<string, string>("x-version", "2")], route.Match.Headers);
        Assert.Equal("/api", route.StripPrefix);
        Assert.Null(route.Listeners);
    }

    [Theory]
    [InlineData("path = \"api\"", "path", "must start with '/', e.g. \"/api\"")]
    [InlineData("path = \"/a b\"", "path", "must not contain spaces (percent-encode them as %20)")]
    [InlineData("path_prefix = \"/a?b=1\"", "path_prefix", "must not contain '?': paths are matched without the query string")]
    [InlineData("path_prefix = \"/a#top\"", "path_prefix", "must not contain '#': fragments are never sent to a server")]
    [InlineData("methods = [\"GE T\"]", "methods[0]", "invalid method \"GE T\": expected a token such as \"GET\"")]
    [InlineData("headers = { \"x y\" = \"1\" }", "headers.\"x y\"", "invalid header name \"x y\": expected letters, digits and !#$%&'*+-.^_`|~")]
    [InlineData("headers = { x-a = \"1\\r\\nx-b: 2\" }", "headers.x-a", "must not contain a carriage return (CR)")]
    public void BadMatchConditions(string line, string key, string message)
    {
        var errors = ConfigText.Errors(Listener + $"""
            [[routes]]
            respond = {"{"} status = 200 {"}"}
            [routes.match]
            {line}
            """);

        var error = Assert.Single(errors);
        Assert.Matches($@"^proxy\.toml:8:\d+: routes\[0\]\.match\.{System.Text.RegularExpressions.Regex.Escape(key)}: ", error);
        Assert.EndsWith(message, error);
    }

    [Fact]
    public void Respond_IsReadWithHeadersInOrder()
    {
        var config = ConfigText.Load(Listener + """
            [[routes]]
            respond = { status = 503, body = "down\n", headers = { "Content-Type" = "text/plain", "Retry-After" = "5" } }
            """);

        var respond = config.Routes[0].Respond!;
        Assert.Equal(503, respond.Status);
        Assert.Equal("down\n", respond.Body);
        Assert.Equal(
            [new KeyValuePair<string, string>("Content-Type", "text/plain"), new KeyValuePair<string, string>("Retry-After", "5")],
            respond.Headers);
    }

    [Theory]
    [InlineData("status = 99", "routes[0].respond.status: must be between 200 and 599, got 99")]
    [InlineData("status = 204, body = \"x\"", "routes[0].respond.body: a 204 response has no body")]
    [InlineData("status = \"200\"", "routes[0].respond.status: expected an integer, got a string")]
    [InlineData("headers = { content-length = \"5\" }", "routes[0].respond.headers.content-length: content-length is set by the proxy")]
    [InlineData("headers = { x = \"a\\nb\" }", "routes[0].respond.headers.x: must not contain a line feed (LF)")]
    [InlineData("headers = { x = 1 }", "routes[0].respond.headers.x: expected a string, got an integer")]
    public void BadRespond(string fields, string message)
    {
        var error = ConfigText.Error(Listener + $$"""
            [[routes]]
            respond = { {{fields}} }
            """);

        Assert.EndsWith(message, error);
        Assert.StartsWith("proxy.toml:6:", error);
    }

    [Fact]
    public void UnknownListenerAndPolicy()
    {
        var errors = ConfigText.Errors(Listener + """
            [[routes]]
            listeners = ["web", "wbe"]
            policies = ["auth"]
            respond = { status = 200 }
            """);

        Assert.Equal(
        [
            "proxy.toml:6:21: routes[0].listeners[1]: no listener named \"wbe\" (known: web)",
            "proxy.toml:7:13: routes[0].policies[0]: no policy named \"auth\" (known: none)",
        ], errors);
    }

    [Fact]
    public void UnknownPolicyTypeIsRefusedWithTheKnownOnes()
    {
        var error = ConfigText.Error(Listener + """
            [[routes]]
            policies = ["auth"]
            respond = { status = 200 }

            [policies.auth]
            type = "no_such_kind"
            """);

        // Kind-agnostic: every kind added to PolicyTypes.All lengthens the list.
        Assert.StartsWith("proxy.toml:10:8: policies.auth.type: unknown policy type \"no_such_kind\" (known: ", error);
        Assert.Contains("ip_filter", error);
    }

    [Fact]
    public void PolicyWithoutType()
    {
        var error = ConfigText.Error(Listener + """
            [[routes]]
            respond = { status = 200 }

            [policies.auth]
            """);

        Assert.Equal("proxy.toml:8:1: policies.auth: missing required key \"type\"", error);
    }

    [Fact]
    public void DuplicateRouteName()
    {
        var error = ConfigText.Error(Listener + """
            [[routes]]
            name = "r"
            respond = { status = 200 }

            [[routes]]
            name = "r"
            respond = { status = 200 }
            """);

        Assert.Equal("proxy.toml:10:8: routes[1].name: duplicate route name \"r\" (also routes[0])", error);
    }

    // Ends with an empty line, so what follows starts five lines on.
    private const string TcpListener = """
        [[listeners]]
        name = "tls-pass"
        bind = "127.0.0.1:0"
        protocol = "tcp"


        """;

    [Fact]
    public void SniRouteOnTcpListener()
    {
        var config = ConfigText.Load(TcpListener + """
            [[routes]]
            listeners = ["tls-pass"]
            upstream = "api"
            [routes.match]
            sni = "*.Example.com"
            """ + Upstreams.Replace("[upstreams.web]\nservers = [\"127.0.0.1:9002\"]", "", StringComparison.Ordinal));

        Assert.Equal("*.example.com", config.Routes[0].Match.Sni);
    }

    [Fact]
    public void TcpRoute_WithRespondAndHttpConditionsAndNoSni()
    {
        var errors = ConfigText.Errors(TcpListener + """
            [[routes]]
            listeners = ["tls-pass"]
            respond = { status = 200 }
            [routes.match]
            path = "/"
            """);

        Assert.Equal(
        [
            "proxy.toml:8:1: routes[0].respond: a route on a tcp listener forwards bytes to an upstream; respond is for http listeners",
            "proxy.toml:10:1: routes[0].match.path: routes on tcp listeners match on sni only (the request is not HTTP, or is still encrypted)",
        ], errors);
    }

    [Fact]
    public void TcpRoute_WithoutSni()
    {
        var error = ConfigText.Error(TcpListener + """
            [[routes]]
            listeners = ["tls-pass"]
            upstream = "api"
            """ + Upstreams.Replace("[upstreams.web]\nservers = [\"127.0.0.1:9002\"]", "", StringComparison.Ordinal));

        Assert.Equal("proxy.toml:6:1: routes[0]: a route on a tcp listener needs [routes.match] sni = \"NAME\" (for every connection, set upstream on the listener instead)", error);
    }

    [Fact]
    public void SniOnHttpRoute()
    {
        var error = ConfigText.Error(Listener + """
            [[routes]]
            respond = { status = 200 }
            [routes.match]
            sni = "a.example.com"
            """);

        Assert.Equal("proxy.toml:8:1: routes[0].match.sni: sni matching is for routes on tcp listeners; http routes match on host", error);
    }

    [Fact]
    public void RouteMixingHttpAndTcpListeners()
    {
        var error = ConfigText.Error(Listener + TcpListener + """
            [[routes]]
            listeners = ["web", "tls-pass"]
            upstream = "api"
            [routes.match]
            sni = "a.example.com"
            """ + Upstreams.Replace("[upstreams.web]\nservers = [\"127.0.0.1:9002\"]", "", StringComparison.Ordinal));

        Assert.Equal("proxy.toml:11:13: routes[0].listeners: mixes http and tcp listeners (\"web\" is http, \"tls-pass\" is tcp): give each kind its own route", error);
    }
}
