using FastProxy.Tests.Configuration;

namespace FastProxy.Tests.GrpcWeb;

/// <summary>`grpc_web` on a route: a boolean, for routes to an h2c/h2 upstream (gRPC needs HTTP/2).</summary>
public sealed class GrpcWebConfigTests
{
    // Ends with an empty line, so the route starts on line 5.
    private const string Listener = """
        [[listeners]]
        name = "web"
        bind = "127.0.0.1:0"


        """;

    private const string Upstreams = """

        [upstreams.grpc]
        protocol = "h2c"
        servers = ["127.0.0.1:9001"]

        [upstreams.web]
        servers = ["127.0.0.1:9002"]
        """;

    [Fact]
    public void Loads_on_an_h2c_upstream()
    {
        var config = ConfigText.Load(Listener + """
            [[routes]]
            upstream = "grpc"
            grpc_web = true

            [[routes]]
            upstream = "web"
            """ + Upstreams);

        Assert.True(config.Routes[0].GrpcWeb);
        Assert.False(config.Routes[1].GrpcWeb);
    }

    [Fact]
    public void Refused_on_an_http1_upstream_naming_the_key()
    {
        var error = ConfigText.Error(Listener + """
            [[routes]]
            upstream = "web"
            grpc_web = true
            """ + Upstreams);

        Assert.Equal("proxy.toml:7:1: routes[0].grpc_web: gRPC needs HTTP/2: upstream \"web\" must have protocol = \"h2c\" or \"h2\"", error);
    }

    [Fact]
    public void Refused_on_a_respond_route()
    {
        var error = ConfigText.Error(Listener + """
            [[routes]]
            respond = { status = 200 }
            grpc_web = true
            """ + Upstreams);

        Assert.Equal("proxy.toml:7:1: routes[0].grpc_web: converts gRPC-Web requests for a gRPC upstream: the route needs upstream = \"NAME\"", error);
    }

    [Fact]
    public void Must_be_a_boolean()
    {
        var error = ConfigText.Error(Listener + """
            [[routes]]
            upstream = "grpc"
            grpc_web = "yes"
            """ + Upstreams);

        Assert.StartsWith("proxy.toml:7:12: routes[0].grpc_web: ", error);
    }
}
