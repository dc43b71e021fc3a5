using System.Net;
using FastProxy.Configuration;

namespace FastProxy.Tests.Configuration;

public class ListenerTests
{
    private const string Route = """

        [[routes]]
        respond = { status = 200 }
        """;

    [Fact]
    public void DuplicateName()
    {
        var error = ConfigText.Error("""
            [[listeners]]
            name = "web"
            bind = "127.0.0.1:0"

            [[listeners]]
            name = "web"
            bind = "127.0.0.1:0"
            """ + Route);

        Assert.Equal("proxy.toml:6:8: listeners[1].name: duplicate listener name \"web\" (also listeners[0])", error);
    }

    [Theory]
    [InlineData("8080", "invalid address \"8080\": missing host, e.g. \"0.0.0.0:8080\" (every interface) or \"127.0.0.1:8080\"")]
    [InlineData("127.0.0.1", "invalid address \"127.0.0.1\": missing port; expected \"host:port\", e.g. \"127.0.0.1:8080\", \"[::1]:8080\" or \"localhost:8080\"")]
    [InlineData("127.0.0.1:99999", "invalid address \"127.0.0.1:99999\": the port must be a number from 0 to 65535")]
    [InlineData("127.0.0.1:http", "invalid address \"127.0.0.1:http\": the port must be a number from 0 to 65535")]
    [InlineData("::1:8080", "invalid address \"::1:8080\": an IPv6 address needs brackets, e.g. \"[::1]:8080\"")]
    [InlineData("[::1]", "invalid address \"[::1]\": missing port, e.g. \"[::1]:8080\"")]
    [InlineData("[zz::1]:80", "invalid address \"[zz::1]:80\": expected an IPv6 address in brackets, e.g. \"[::1]:8080\"")]
    [InlineData("127.1:80", "invalid address \"127.1:80\": \"127.1\" is not an IPv4 address (expected four numbers 0-255, e.g. 127.0.0.1)")]
    [InlineData("300.0.0.1:80", "invalid address \"300.0.0.1:80\": \"300.0.0.1\" is not an IPv4 address (expected four numbers 0-255, e.g. 127.0.0.1)")]
    [InlineData("nowhere:80", "cannot resolve host \"nowhere\": no such host")]
    [InlineData("bad_name:80", "invalid address \"bad_name:80\": \"bad_name\" is not a valid host name; expected \"host:port\", e.g. \"127.0.0.1:8080\", \"[::1]:8080\" or \"localhost:8080\"")]
    public void BadBind(string bind, string message)
    {
        var error = ConfigText.Error($"""
            [[listeners]]
            name = "web"
            bind = "{bind}"
            """ + Route);

        Assert.Equal($"proxy.toml:3:8: listeners[0].bind: {message}", error);
    }

    [Theory]
    [InlineData("0.0.0.0:8080", "0.0.0.0:8080")]
    [InlineData("127.0.0.1:0", "127.0.0.1:0")]
    [InlineData("[::]:8080", "[::]:8080")]
    [InlineData("[::1]:9000", "[::1]:9000")]
    [InlineData("localhost:8080", "127.0.0.1:8080")]
    public void GoodBind(string bind, string endPoint)
    {
        var config = ConfigText.Load($"""
            [[listeners]]
            name = "web"
            bind = "{bind}"
            """ + Route);

        Assert.Equal(IPEndPoint.Parse(endPoint), config.Listeners[0].EndPoint);
        Assert.Equal(bind, config.Listeners[0].Bind);
    }

    [Fact]
    public void SameAddressAndPortTwice()
    {
        var error = ConfigText.Error("""
            [[listeners]]
            name = "a"
            bind = "127.0.0.1:8080"

            [[listeners]]
            name = "b"
            bind = "127.0.0.1:8080"
            """ + Route);

        Assert.Equal("proxy.toml:7:8: listeners[1].bind: 127.0.0.1:8080 is already taken by listener \"a\" (127.0.0.1:8080)", error);
    }

    [Fact]
    public void WildcardOverlapsASpecificAddress_AndAdminCounts()
    {
        var errors = ConfigText.Errors("""
            [admin]
            bind = "0.0.0.0:9901"

            [[listeners]]
            name = "a"
            bind = "127.0.0.1:9901"
            """ + Route);

        Assert.Equal(["proxy.toml:6:8: listeners[0].bind: 127.0.0.1:9901 is already taken by [admin] (0.0.0.0:9901)"], errors);
    }

    [Fact]
    public void PortZeroNeverCollides()
    {
        var config = ConfigText.Load("""
            [[listeners]]
            name = "a"
            bind = "127.0.0.1:0"

            [[listeners]]
            name = "b"
            bind = "127.0.0.1:0"
            """ + Route);

        Assert.Equal(2, config.Listeners.Count);
    }

    [Fact]
    public void ReusePort_DefaultsToFalse_AndTrueIsRead()
    {
        var config = ConfigText.Load("""
            [[listeners]]
            name = "a"
            bind = "127.0.0.1:8080"

            [[listeners]]
            name = "b"
            bind = "127.0.0.1:8081"
            reuse_port = true
            """ + Route);

        Assert.False(config.Listeners[0].ReusePort);
        Assert.True(config.Listeners[1].ReusePort);
        Assert.Empty(config.Warnings);
    }

    [Fact]
    public void ReusePort_MustBeABoolean()
    {
        var error = ConfigText.Error("""
            [[listeners]]
            name = "web"
            bind = "127.0.0.1:8080"
            reuse_port = "yes"
            """ + Route);

        Assert.Equal("proxy.toml:4:14: listeners[0].reuse_port: expected a boolean (true or false), got a string", error);
    }

    [Fact]
    public void ReusePort_OnPortZero_IsAWarning()
    {
        var config = ConfigText.Load("""
            [[listeners]]
            name = "web"
            bind = "127.0.0.1:0"
            reuse_port = true
            """ + Route);

        Assert.Equal(["proxy.toml:4:14: listeners[0].reuse_port: with port 0 each process gets a port of its own, so nothing is shared"],
            config.Warnings.Select(w => w.ToString()));
    }

    [Fact]
    public void ReusePort_DoesNotLetTwoListenersOfOneFileShareAPort()
    {
        var error = ConfigText.Error("""
            [[listeners]]
            name = "a"
            bind = "127.0.0.1:8080"
            reuse_port = true

            [[listeners]]
            name = "b"
            bind = "127.0.0.1:8080"
            reuse_port = true
            """ + Route);

        Assert.Equal("proxy.toml:8:8: listeners[1].bind: 127.0.0.1:8080 is already taken by listener \"a\" (127.0.0.1:8080)", error);
    }

    [Fact]
    public void UnknownProtocol()
    {
        var error = ConfigText.Error("""
            [[listeners]]
            name = "web"
            bind = "127.0.0.1:0"
            protocol = "https"
            """ + Route);

        Assert.Equal("proxy.toml:4:12: listeners[0].protocol: unknown protocol \"https\" (known: http, tcp)", error);
    }

    [Fact]
    public void UpstreamOnHttpListener()
    {
        var errors = ConfigText.Errors("""
            [[listeners]]
            name = "web"
            bind = "127.0.0.1:0"
            upstream = "api"
            """ + Route + """

            [upstreams.api]
            servers = ["127.0.0.1:9001"]
            """);

        Assert.Equal(["proxy.toml:4:12: listeners[0].upstream: only tcp listeners (protocol = \"tcp\") take an upstream; http listeners are routed by [[routes]]"], errors);
    }

    [Fact]
    public void TcpListener_WithUpstream()
    {
        var config = ConfigText.Load("""
            [[listeners]]
            name = "db"
            bind = "127.0.0.1:0"
            protocol = "tcp"
            upstream = "db"

            [upstreams.db]
            servers = ["127.0.0.1:5432"]
            """);

        Assert.Equal(ListenerProtocol.Tcp, config.Listeners[0].Protocol);
        Assert.Equal("db", config.Listeners[0].Upstream);
        Assert.Empty(config.Warnings);
    }

    [Fact]
    public void TcpListener_WithNeitherUpstreamNorRoutes()
    {
        var error = ConfigText.Error("""
            [[listeners]]
            name = "db"
            bind = "127.0.0.1:0"
            protocol = "tcp"
            """);

        Assert.Equal("proxy.toml:1:1: listeners[0]: a tcp listener needs upstream = \"NAME\", or [[routes]] that list it in listeners and match on sni", error);
    }

    [Fact]
    public void TcpListener_WithUnknownUpstream()
    {
        var error = ConfigText.Error("""
            [[listeners]]
            name = "db"
            bind = "127.0.0.1:0"
            protocol = "tcp"
            upstream = "pg"
            """);

        Assert.Equal("proxy.toml:5:12: listeners[0].upstream: no upstream named \"pg\" (known: none)", error);
    }

    [Fact]
    public void NoListenersAtAll()
    {
        var error = ConfigText.Error("""
            [global]
            max_connections = 10
            """);

        Assert.Equal("proxy.toml: no [[listeners]]: the proxy would accept no connections", error);
    }

    [Fact]
    public void HttpListenerWithoutRoutes_IsAWarning()
    {
        var result = ConfigText.Parse("""
            [[listeners]]
            name = "web"
            bind = "127.0.0.1:0"
            """);

        Assert.True(result.Success);
        Assert.Equal(["proxy.toml:1:1: listeners[0]: no route serves this listener: every request gets 404"], result.Warnings.Select(w => w.ToString()));
    }
}
