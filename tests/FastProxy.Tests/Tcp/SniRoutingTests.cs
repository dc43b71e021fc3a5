using System.Net.Sockets;
using FastProxy.Tests.Infrastructure;

namespace FastProxy.Tests.Tcp;

/// <summary>
/// TLS passthrough on a tcp listener routed by the ClientHello's server name: the proxy reads the name without
/// terminating TLS and forwards the untouched bytes, so the TLS session is between the client and the backend.
/// </summary>
public sealed class SniRoutingTests
{
    [Fact]
    public async Task Each_name_reaches_its_backend_and_the_TLS_session_works_end_to_end()
    {
        await using var api = new TlsBackend("api.example.com");
        await using var web = new TlsBackend("www.example.com");
        await using var wild = new TlsBackend("tenant.example.net");
        await using var proxy = TestProxy.Start(TcpConfigs.Sni([("api.example.com", api.Port), ("www.example.com", web.Port), ("*.example.net", wild.Port)]));
        int port = proxy.Port("tls");

        var (greeting, echo, subject) = await TlsClient.ExchangeAsync(port, "api.example.com");
        Assert.Equal("hello from api.example.com", greeting);
        Assert.Equal("ping", echo);
        Assert.Equal("CN=api.example.com", subject);

        (greeting, _, subject) = await TlsClient.ExchangeAsync(port, "www.example.com");
        Assert.Equal("hello from www.example.com", greeting);
        Assert.Equal("CN=www.example.com", subject);

        // Wildcard: any name under example.net, case-insensitively.
        (greeting, _, _) = await TlsClient.ExchangeAsync(port, "Tenant-42.EXAMPLE.net");
        Assert.Equal("hello from tenant.example.net", greeting);
        (greeting, _, _) = await TlsClient.ExchangeAsync(port, "a.b.example.net");
        Assert.Equal("hello from tenant.example.net", greeting);

        // The backends saw the names the clients sent: the ClientHello went through as it was.
        Assert.Equal(["api.example.com"], api.ServerNames);
        Assert.Equal(["www.example.com"], web.ServerNames);
        Assert.Equal(["Tenant-42.EXAMPLE.net", "a.b.example.net"], wild.ServerNames);
    }

    [Fact]
    public async Task A_name_no_route_matches_goes_to_the_listeners_upstream_when_it_has_one()
    {
        await using var api = new TlsBackend("api.example.com");
        await using var fallback = new TlsBackend("fallback.example.com");
        await using var proxy = TestProxy.Start(TcpConfigs.Sni([("api.example.com", api.Port)], defaultPort: fallback.Port));
        int port = proxy.Port("tls");

        Assert.Equal("hello from api.example.com", (await TlsClient.ExchangeAsync(port, "api.example.com")).Greeting);
        Assert.Equal("hello from fallback.example.com", (await TlsClient.ExchangeAsync(port, "other.example.com")).Greeting);
        // "*.example.com" is not "example.com": no label before the suffix.
        Assert.Equal("hello from fallback.example.com", (await TlsClient.ExchangeAsync(port, "example.com")).Greeting);
    }

    [Fact]
    public async Task A_name_no_route_matches_is_closed_when_the_listener_has_no_upstream()
    {
        await using var api = new TlsBackend("api.example.com");
        await using var proxy = TestProxy.Start(TcpConfigs.Sni([("*.example.com", api.Port)]));
        await Assert.ThrowsAnyAsync<IOException>(() => TlsClient.ExchangeAsync(proxy.Port("tls"), "example.org"));
        Assert.Equal(0, api.Connections);
        Assert.Equal("hello from api.example.com", (await TlsClient.ExchangeAsync(proxy.Port("tls"), "x.example.com")).Greeting);
    }

    [Fact]
    public async Task Openssl_s_client_is_routed_by_its_servername()
    {
        await using var a = new TlsBackend("a.example.com");
        await using var b = new TlsBackend("b.example.com");
        await using var proxy = TestProxy.Start(TcpConfigs.Sni([("a.example.com", a.Port), ("*.b.example.com", b.Port)]));
        foreach (var (name, expected) in new[] { ("a.example.com", "a.example.com"), ("x.b.example.com", "b.example.com") })
        {
            var result = await Processes.RunAsync("openssl",
                ["s_client", "-connect", $"127.0.0.1:{proxy.Port("tls")}", "-servername", name, "-ign_eof"],
                TimeSpan.FromSeconds(20), stdin: "ping\n");
            Assert.Contains($"hello from {expected}", result.StdOut);
            Assert.Contains($"CN = {expected}", result.StdOut); // the certificate chain s_client printed
        }
        Assert.Equal(["a.example.com"], a.ServerNames);
        Assert.Equal(["x.b.example.com"], b.ServerNames);
    }

    [Fact]
    public async Task A_ClientHello_in_one_byte_segments_is_routed_and_the_session_works()
    {
        await using var a = new TlsBackend("a.example.com");
        await using var b = new TlsBackend("b.example.com");
        await using var proxy = TestProxy.Start(TcpConfigs.Sni([("a.example.com", a.Port), ("b.example.com", b.Port)]));
        TrickleStream? trickle = null;
        var (greeting, echo, _) = await TlsClient.ExchangeAsync(proxy.Port("tls"), "b.example.com",
            stream => trickle = new TrickleStream(stream, trickle: 4096, pause: TimeSpan.FromMilliseconds(1)));
        Assert.Equal("hello from b.example.com", greeting);
        Assert.Equal("ping", echo);
        Assert.True(trickle!.Trickled > 200, $"only {trickle.Trickled} bytes went one per segment");
        Assert.Equal(0, a.Connections);
    }

    [Fact]
    public async Task The_bytes_reach_the_backend_exactly_as_the_client_sent_them()
    {
        // A plain backend that records what it gets: the ClientHello (sent one byte per segment) and what follows.
        var received = new TaskCompletionSource<byte[]>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var recorder = new TcpBackend(async socket =>
        {
            var all = new MemoryStream();
            var buffer = new byte[4096];
            int n;
            while ((n = await socket.ReceiveAsync(buffer, SocketFlags.None)) > 0) all.Write(buffer, 0, n);
            received.TrySetResult(all.ToArray());
        });
        await using var other = TcpBackend.Echo();
        await using var proxy = TestProxy.Start(TcpConfigs.Sni([("other.example.com", other.Port), ("*.example.com", recorder.Port)]));

        byte[] hello = await TlsClient.CaptureClientHelloAsync("db.example.com");
        byte[] sent = [.. hello, .. "then anything at all"u8];
        using var client = await TcpTestClient.ConnectAsync(proxy.Port("tls"));
        foreach (byte b in sent)
        {
            await client.SendAsync([b]);
            await Task.Delay(1);
        }
        client.Socket.Shutdown(SocketShutdown.Send);
        Assert.Equal(sent, await received.Task.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(0, other.Connections);
    }

    [Fact]
    public async Task Garbage_instead_of_a_ClientHello_closes_that_connection_only()
    {
        await using var backend = new TlsBackend("a.example.com");
        await using var proxy = TestProxy.Start(TcpConfigs.Sni([("a.example.com", backend.Port)]));
        int port = proxy.Port("tls");

        using var healthy = await TcpTestClient.ConnectAsync(port);
        var garbage = new[] { "GET / HTTP/1.1\r\nHost: a.example.com\r\n\r\n", "\x16\x02\x00\x00\x05hello", "\x16\x03\x01\x00\x05\x02\x00\x00\x01\x00" };
        foreach (var text in garbage)
        {
            using var client = await TcpTestClient.ConnectAsync(port);
            await client.SendAsync(System.Text.Encoding.Latin1.GetBytes(text));
            Assert.True(await client.IsClosedByPeerAsync(TimeSpan.FromSeconds(5)), $"still open after {text}");
        }
        Assert.Equal(0, backend.Connections);

        // Other connections, open before and new, are served: the one opened first gets the backend's ServerHello.
        await healthy.SendAsync(await TlsClient.CaptureClientHelloAsync("a.example.com"));
        var serverHello = await healthy.ReadExactlyAsync(6);
        Assert.Equal([22, 3, 3], serverHello[..3]); // a handshake record...
        Assert.Equal(2, serverHello[5]); // ...holding a ServerHello (RFC 8446 §4)
        Assert.Equal("hello from a.example.com", (await TlsClient.ExchangeAsync(port, "a.example.com")).Greeting);
    }

    [Fact]
    public async Task A_stalled_ClientHello_is_closed_after_header_timeout_while_others_are_served()
    {
        await using var backend = new TlsBackend("a.example.com");
        await using var proxy = TestProxy.Start(TcpConfigs.Sni([("a.example.com", backend.Port)], limits: "header_timeout = \"500ms\""));
        int port = proxy.Port("tls");
        byte[] hello = await TlsClient.CaptureClientHelloAsync("a.example.com");

        using var stalled = await TcpTestClient.ConnectAsync(port);
        using var silent = await TcpTestClient.ConnectAsync(port);
        await stalled.SendAsync(hello[..20]);
        var started = DateTime.UtcNow;
        var stalledClosed = stalled.IsClosedByPeerAsync(TimeSpan.FromSeconds(5));
        var silentClosed = silent.IsClosedByPeerAsync(TimeSpan.FromSeconds(5));

        // Meanwhile a complete handshake goes through.
        Assert.Equal("hello from a.example.com", (await TlsClient.ExchangeAsync(port, "a.example.com")).Greeting);

        Assert.True(await stalledClosed);
        Assert.True(await silentClosed);
        Assert.InRange(DateTime.UtcNow - started, TimeSpan.FromMilliseconds(400), TimeSpan.FromSeconds(3));
        Assert.Equal(1, backend.Connections);
    }
}
