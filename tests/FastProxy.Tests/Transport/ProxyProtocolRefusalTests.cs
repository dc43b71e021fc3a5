using System.Diagnostics;
using System.Net;
using System.Text;
using FastProxy.Tests.Infrastructure;
using static FastProxy.Tests.ProxyProtocol.ProxyHeaderBytes;
using static FastProxy.Tests.Transport.ProxyProtocolClients;
using static FastProxy.Tests.Transport.ProxyProtocolTests;

namespace FastProxy.Tests.Transport;

/// <summary>
/// What a proxy_protocol listener refuses, over real loopback sockets: a peer outside trusted_proxies (closed at once,
/// unread), a connection without a header or with a malformed one, and a header that does not arrive within
/// header_timeout. In every case the connection is closed with nothing answered, and nothing reaches the upstream.
/// </summary>
public sealed class ProxyProtocolRefusalTests
{
    private static readonly byte[] Request = "GET / HTTP/1.1\r\nHost: a\r\n\r\n"u8.ToArray();
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task A_peer_outside_trusted_proxies_is_closed_at_once_even_with_a_valid_header()
    {
        await using var upstream = new RawUpstream(r => RawUpstream.Ok($"xff={r.Header("X-Forwarded-For")}"));
        // header_timeout far beyond the wait below: a close within it is the refusal, not a timeout.
        await using var proxy = TestProxy.Start(Config([upstream.Port], limits: "header_timeout = \"120s\""));
        // 127.0.0.2 is loopback too, but not in trusted_proxies (127.0.0.1/32).
        var untrusted = IPAddress.Parse("127.0.0.2");

        using (var silent = await ConnectAsync(proxy.Port(), untrusted))
        {
            Assert.Equal(Array.Empty<byte>(), await ReadUntilClosedAsync(silent, Wait));
        }
        using (var forger = await ConnectAsync(proxy.Port(), untrusted))
        {
            await forger.SendAsync(Concat(V1(IPAddress.Parse("203.0.113.7"), IPAddress.Loopback), Request));
            Assert.Equal(Array.Empty<byte>(), await ReadUntilClosedAsync(forger, Wait));
        }
        Assert.Equal(0, upstream.Connections);

        // The same bytes from the trusted address are served.
        using var trusted = HttpClientWith(V1(IPAddress.Parse("203.0.113.7"), IPAddress.Loopback));
        Assert.Equal("xff=203.0.113.7", (await GetAsync(trusted, $"http://127.0.0.1:{proxy.Port()}/", HttpVersion.Version11)).Body);
    }

    public static TheoryData<string, byte[]> Malformed
    {
        get
        {
            var v4 = AddressBlock(IPAddress.Parse("203.0.113.7"), IPAddress.Parse("10.0.0.1"), 1, 2);
            return new TheoryData<string, byte[]>
            {
                // No header at all: the receiver "MUST not try to guess whether the protocol header is present".
                { "plain HTTP/1.1", Request },
                { "the h2c preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8.ToArray() },
                { "a TLS record", [0x16, 0x03, 0x01, 0x00, 0x05, 0x01, 0x00, 0x00, 0x01, 0x00] },
                { "v1 with three fields", Concat(V1("PROXY TCP4 203.0.113.7 10.0.0.1 1\r\n"), Request) },
                { "v1 with a leading zero", Concat(V1("PROXY TCP4 203.0.113.07 10.0.0.1 1 2\r\n"), Request) },
                { "v1 ended by a bare LF", Concat(V1("PROXY TCP4 203.0.113.7 10.0.0.1 1 2\n"), Request) },
                { "v1 longer than 107 bytes", Concat(V1("PROXY UNKNOWN " + new string('x', 120) + "\r\n"), Request) },
                { "v1 in lower case", Concat(V1("proxy TCP4 203.0.113.7 10.0.0.1 1 2\r\n"), Request) },
                { "v2 claiming version 1", Concat(V2(0x11, 0x11, v4), Request) },
                { "v2 with an unassigned command", Concat(V2(0x25, 0x11, v4), Request) },
                { "v2 with a wrong CRC32C", Concat(V2(0x21, 0x11, v4, Tlv(0x03, [1, 2, 3, 4])), Request) },
                { "v2 claiming 60000 bytes", Concat(V2Raw(0x21, 0x11, 60000, v4), Request) },
                { "v2 with a TLV past its end", Concat(V2(0x21, 0x11, [.. v4, 0x02, 0x00, 0x40, 0x61]), Request) },
                { "v2 with an AF_INET6 block too short", Concat(V2(0x21, 0x21, v4), Request) },
            };
        }
    }

    [Theory]
    [MemberData(nameof(Malformed))]
    public async Task A_connection_without_a_valid_header_is_closed_with_nothing_forwarded(string what, byte[] bytes)
    {
        await using var upstream = new RawUpstream();
        await using var proxy = TestProxy.Start(Config([upstream.Port], limits: "header_timeout = \"120s\""));
        using var socket = await ConnectAsync(proxy.Port());

        await socket.SendAsync(bytes);

        var answer = await ReadUntilClosedAsync(socket, Wait);
        Assert.True(answer is not null, what + ": still open");
        Assert.True(answer.Length == 0, what + ": answered " + Encoding.Latin1.GetString(answer));
        Assert.Equal(0, upstream.Connections);
    }

    [Fact]
    public async Task A_header_that_stalls_is_closed_at_header_timeout()
    {
        await using var upstream = new RawUpstream();
        await using var proxy = TestProxy.Start(Config([upstream.Port], limits: "header_timeout = \"300ms\""));
        var v2 = V2(IPAddress.Parse("203.0.113.7"), IPAddress.Loopback);

        // Half a v1 line, a v2 header missing its last bytes, nothing at all: each may still become a header, so
        // only the timeout ends it.
        foreach (var start in new[] { V1("PROXY TCP4 203.0.113.7 "), v2[..20], Array.Empty<byte>() })
        {
            using var socket = await ConnectAsync(proxy.Port());
            var clock = Stopwatch.StartNew();
            await socket.SendAsync(start);
            Assert.Equal(Array.Empty<byte>(), await ReadUntilClosedAsync(socket, Wait));
            // Not before the timeout (a deadline cannot fire early; an upper bound would only measure the machine).
            Assert.True(clock.ElapsedMilliseconds >= 250, $"closed after {clock.ElapsedMilliseconds} ms");
        }
        Assert.Equal(0, upstream.Connections);
    }

    [Fact]
    public async Task A_header_that_arrives_in_pieces_within_header_timeout_is_waited_for()
    {
        await using var upstream = new RawUpstream(r => RawUpstream.Ok($"xff={r.Header("X-Forwarded-For")}"));
        await using var proxy = TestProxy.Start(Config([upstream.Port], limits: "header_timeout = \"30s\""));

        foreach (var (header, client) in new[]
        {
            (V1(IPAddress.Parse("192.0.2.31"), IPAddress.Loopback), "192.0.2.31"),
            (V2(IPAddress.Parse("2001:db8::31"), IPAddress.IPv6Loopback, 1, 2, Tlv(0x05, new byte[64])), "2001:db8::31"),
        })
        {
            using var socket = await ConnectAsync(proxy.Port());
            // One byte per segment (the client sends with NoDelay and pauses), then the request.
            foreach (byte b in header)
            {
                await socket.SendAsync(new[] { b });
                await Task.Delay(2);
            }
            using var stream = new System.Net.Sockets.NetworkStream(socket);
            var response = await RoundTripAsync(stream, "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
            Assert.EndsWith("xff=" + client, response);
        }
    }
}
