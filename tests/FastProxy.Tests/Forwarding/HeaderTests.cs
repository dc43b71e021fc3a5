using FastProxy.Tests.Forwarding.Support;
using FastProxy.Tests.Infrastructure;

namespace FastProxy.Tests.Forwarding;

/// <summary>Hop-by-hop fields stay on their hop (RFC 9110 §7.6.1); X-Forwarded-*, Via and Host are as a backend expects.</summary>
public sealed class HeaderTests
{
    [Fact]
    public async Task Hop_by_hop_request_fields_are_not_forwarded()
    {
        await using var upstream = new RawUpstream();
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([upstream.Port]));
        using var client = new WireClient(proxy.Port());

        var response = await client.RoundTripAsync(
            "GET / HTTP/1.1\r\n" +
            "Host: a\r\n" +
            "Connection: keep-alive, X-Secret-Hop\r\n" +
            "X-Secret-Hop: 1\r\n" +
            "Keep-Alive: timeout=5\r\n" +
            // "TE: trailers" is answered with the proxy's own TE (Http2/ProxyTrailerTests); other codings stop here.
            "TE: gzip\r\n" +
            "Trailer: X-Sum\r\n" +
            "Upgrade: h2c\r\n" +
            "Proxy-Connection: keep-alive\r\n" +
            "Proxy-Authorization: Basic eDp5\r\n" +
            "X-End-To-End: kept\r\n" +
            "\r\n");

        Assert.Equal(200, response.Status);
        var seen = Assert.Single(upstream.Requests);
        foreach (var name in new[] { "Connection", "X-Secret-Hop", "Keep-Alive", "TE", "Trailer", "Upgrade", "Proxy-Connection", "Proxy-Authorization" })
        {
            Assert.Null(seen.Header(name));
        }
        Assert.Equal("kept", seen.Header("X-End-To-End"));
    }

    [Fact]
    public async Task Hop_by_hop_response_fields_are_not_relayed()
    {
        await using var upstream = new RawUpstream(_ => RawUpstream.Ok("ok",
            "Connection: X-Internal, keep-alive\r\n" +
            "X-Internal: 1\r\n" +
            "Keep-Alive: timeout=60\r\n" +
            "Trailer: X-Sum\r\n" +
            "Upgrade: h2c\r\n" +
            "Proxy-Authenticate: Basic\r\n" +
            "Proxy-Connection: keep-alive\r\n" +
            "X-End-To-End: kept\r\n"));
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([upstream.Port]));
        using var client = new WireClient(proxy.Port());

        var response = await client.RoundTripAsync("GET / HTTP/1.1\r\nHost: a\r\n\r\n");

        Assert.Equal(200, response.Status);
        foreach (var name in new[] { "Connection", "X-Internal", "Keep-Alive", "Trailer", "Upgrade", "Proxy-Authenticate", "Proxy-Connection" })
        {
            Assert.False(response.Has(name), name + " was relayed");
        }
        Assert.Equal("kept", response.Header("X-End-To-End"));
        Assert.Equal("ok", response.BodyText);
    }

    [Fact]
    public async Task Framing_fields_named_by_connection_are_still_honoured()
    {
        // "Connection: content-length" must not make the proxy drop the field it frames the body with.
        await using var upstream = new RawUpstream(r => RawUpstream.Ok(System.Text.Encoding.ASCII.GetString(r.Body)));
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([upstream.Port]));
        using var client = new WireClient(proxy.Port());

        var response = await client.RoundTripAsync("POST / HTTP/1.1\r\nHost: a\r\nConnection: content-length\r\nContent-Length: 4\r\n\r\nbody");

        Assert.Equal("body", response.BodyText);
        Assert.Equal("4", upstream.Requests[0].Header("Content-Length"));
    }

    [Fact]
    public async Task Forwarded_fields_and_via_are_added_and_host_is_passed_through()
    {
        await using var upstream = new RawUpstream();
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([upstream.Port]));
        using var client = new WireClient(proxy.Port());

        await client.RoundTripAsync("GET /p?q=1 HTTP/1.1\r\nHost: Shop.Example.com:8443\r\n\r\n");

        var seen = Assert.Single(upstream.Requests);
        Assert.Equal("GET /p?q=1 HTTP/1.1", seen.RequestLine);
        Assert.Equal("Shop.Example.com:8443", seen.Header("Host"));
        Assert.Equal("127.0.0.1", seen.Header("X-Forwarded-For"));
        Assert.Equal("http", seen.Header("X-Forwarded-Proto"));
        Assert.Equal("Shop.Example.com:8443", seen.Header("X-Forwarded-Host"));
        Assert.Equal("1.1 fastproxy", seen.Header("Via"));
    }

    [Fact]
    public async Task X_forwarded_for_from_an_untrusted_peer_is_replaced()
    {
        await using var upstream = new RawUpstream();
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([upstream.Port]));
        using var client = new WireClient(proxy.Port());

        await client.RoundTripAsync("GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 203.0.113.7, 10.0.0.1\r\nX-Forwarded-For: 198.51.100.2\r\n\r\n");

        var seen = Assert.Single(upstream.Requests);
        // No [client_ip]: nobody is trusted, so whatever the client wrote is dropped and only the peer is named.
        Assert.Equal("127.0.0.1", seen.Header("X-Forwarded-For"));
    }

    [Fact]
    public async Task X_forwarded_for_from_a_trusted_proxy_is_appended_to()
    {
        await using var upstream = new RawUpstream();
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([upstream.Port], extraTop: "[client_ip]\ntrusted_proxies = [\"127.0.0.1\"]\n"));
        using var client = new WireClient(proxy.Port());

        await client.RoundTripAsync("GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 203.0.113.7, 10.0.0.1\r\nX-Forwarded-For: 198.51.100.2\r\n\r\n");

        var seen = Assert.Single(upstream.Requests);
        // One line, the received entries first, in order, then this hop's peer.
        Assert.Equal("203.0.113.7, 10.0.0.1, 198.51.100.2, 127.0.0.1", seen.Header("X-Forwarded-For"));
    }

    [Fact]
    public async Task A_client_sent_x_consumer_header_never_reaches_the_upstream()
    {
        await using var upstream = new RawUpstream();
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([upstream.Port]));
        using var client = new WireClient(proxy.Port());

        await client.RoundTripAsync("GET / HTTP/1.1\r\nHost: a\r\nX-Consumer: admin\r\nx-consumer-groups: root\r\nX-Consumer-Custom-Id: 7\r\n"
            + "X_Consumer_Id: 8\r\nX-Consumers-Note: 9\r\nX-Other: kept\r\n\r\n");

        var seen = Assert.Single(upstream.Requests);
        Assert.DoesNotContain("consumer", seen.Head, StringComparison.OrdinalIgnoreCase);
        Assert.Equal("kept", seen.Header("X-Other"));
    }

    [Fact]
    public async Task Client_supplied_forwarded_proto_and_host_are_replaced()
    {
        await using var upstream = new RawUpstream();
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([upstream.Port]));
        using var client = new WireClient(proxy.Port());

        await client.RoundTripAsync("GET / HTTP/1.1\r\nHost: real.test\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Host: evil.test\r\n\r\n");

        var seen = Assert.Single(upstream.Requests);
        Assert.Equal("http", seen.Header("X-Forwarded-Proto"));
        Assert.Equal("real.test", seen.Header("X-Forwarded-Host"));
    }

    [Fact]
    public async Task Via_is_appended_to_an_existing_via()
    {
        await using var upstream = new RawUpstream();
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([upstream.Port]));
        using var client = new WireClient(proxy.Port());

        await client.RoundTripAsync("GET / HTTP/1.1\r\nHost: a\r\nVia: 1.1 edge\r\n\r\n");

        var seen = Assert.Single(upstream.Requests);
        var via = seen.HeaderLines.Where(l => l.StartsWith("Via:", StringComparison.OrdinalIgnoreCase)).Select(l => l[4..].Trim());
        // Several Via lines combine in order (RFC 9110 §5.3): the earlier hop first, this proxy last.
        Assert.Equal("1.1 edge, 1.1 fastproxy", string.Join(", ", via));
    }

    [Fact]
    public async Task Absolute_form_target_becomes_origin_form_with_its_authority_as_host()
    {
        await using var upstream = new RawUpstream();
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([upstream.Port]));
        using var client = new WireClient(proxy.Port());

        await client.RoundTripAsync("GET http://target.test/x?y=1 HTTP/1.1\r\nHost: ignored.test\r\n\r\n");

        var seen = Assert.Single(upstream.Requests);
        Assert.Equal("GET /x?y=1 HTTP/1.1", seen.RequestLine);
        Assert.Equal("target.test", seen.Header("Host"));
    }

    [Fact]
    public async Task Curl_request_headers_reach_the_origin()
    {
        await using var upstream = new RawUpstream();
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([upstream.Port]));

        var result = await Processes.CurlAsync("-H", "X-Custom: v1", "-H", "Host: api.test", proxy.Url("/c").ToString());

        Assert.Equal(0, result.ExitCode);
        var seen = Assert.Single(upstream.Requests);
        Assert.Equal("v1", seen.Header("X-Custom"));
        Assert.Equal("api.test", seen.Header("Host"));
        Assert.StartsWith("curl/", seen.Header("User-Agent"));
    }
}
