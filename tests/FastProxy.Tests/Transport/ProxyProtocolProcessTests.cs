using System.Net;
using System.Text.RegularExpressions;
using FastProxy.Tests.Infrastructure;
using static FastProxy.Tests.ProxyProtocol.ProxyHeaderBytes;
using static FastProxy.Tests.Transport.ProxyProtocolClients;

namespace FastProxy.Tests.Transport;

/// <summary>
/// The published AOT binary with a proxy_protocol listener (run `dotnet publish src/FastProxy/FastProxy.csproj -c
/// Release -o artifacts` first): it serves clients behind the header, and its log says what it refused, once per
/// interval for a run of refusals rather than once per connection.
/// </summary>
public sealed class ProxyProtocolProcessTests
{
    [Fact]
    public async Task The_AOT_binary_serves_clients_behind_the_header_and_logs_refusals_throttled()
    {
        await using var upstream = new RawUpstream(r => RawUpstream.Ok($"xff={r.Header("X-Forwarded-For")}"));
        int port = ProxyProcess.FreePort();
        await using var proxy = ProxyProcess.StartWithConfig($$"""
            [client_ip]
            trusted_proxies = ["127.0.0.1/32"]

            [[listeners]]
            name = "web"
            bind = "127.0.0.1:{{port}}"
            proxy_protocol = true

            [[routes]]
            upstream = "app"

            [upstreams.app]
            servers = ["127.0.0.1:{{upstream.Port}}"]
            """, out string configPath);
        try
        {
            await proxy.WaitForPortAsync(port);
            var url = $"http://127.0.0.1:{port}/";
            using (var v2 = HttpClientWith(V2(IPAddress.Parse("2001:db8::44"), IPAddress.IPv6Loopback)))
            {
                Assert.Equal("xff=2001:db8::44", (await GetAsync(v2, url, HttpVersion.Version20)).Body);
            }
            var curl = await Processes.CurlAsync("--haproxy-protocol", url);
            Assert.Equal("xff=127.0.0.1", curl.StdOut);

            // Five connections without a header, in a row: closed, and one warning for the run of them.
            for (int i = 0; i < 5; i++)
            {
                using var socket = await ConnectAsync(port);
                await socket.SendAsync("GET / HTTP/1.1\r\nHost: a\r\n\r\n"u8.ToArray());
                Assert.Equal(Array.Empty<byte>(), await ReadUntilClosedAsync(socket, TimeSpan.FromSeconds(10)));
            }
            using (var untrusted = await ConnectAsync(port, IPAddress.Parse("127.0.0.2")))
            {
                Assert.Equal(Array.Empty<byte>(), await ReadUntilClosedAsync(untrusted, TimeSpan.FromSeconds(10)));
            }
            await Wait.UntilAsync(() => proxy.StdErr.Contains("trusted_proxies"), "the untrusted peer's warning");

            const string refused = "listener \"web\": connection from 127.0.0.1 closed: malformed PROXY protocol header: the connection does not start with one";
            int lines = Regex.Matches(proxy.StdErr, Regex.Escape(refused)).Count;
            // One, or two should the machine be slow enough for the 10 s interval to pass mid-run: never one per connection.
            Assert.True(lines is 1 or 2, proxy.StdErr);
            Assert.Contains("listener \"web\": connection from 127.0.0.2 closed: PROXY protocol is accepted only from [client_ip] trusted_proxies", proxy.StdErr);
            Assert.Equal(2, upstream.Requests.Count);
        }
        finally
        {
            File.Delete(configPath);
        }
    }
}
