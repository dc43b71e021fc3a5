using System.Diagnostics;
using FastProxy.Tests.Forwarding.Support;
using FastProxy.Tests.Infrastructure;

namespace FastProxy.Tests.Upstreams;

/// <summary>Servers that cannot be reached, do not answer, or break off: 502, 504, next server, or an aborted client.</summary>
public sealed class UpstreamFailureTests
{
    [Fact]
    public async Task A_server_that_refuses_connections_is_skipped_for_the_next()
    {
        await using var good = new RawUpstream(_ => RawUpstream.Ok("good"));
        int closed = UpstreamPorts.Closed();
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([closed, good.Port]));
        using var client = new WireClient(proxy.Port());

        for (int i = 0; i < 6; i++)
        {
            var response = await client.RoundTripAsync("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
            Assert.Equal(200, response.Status);
            Assert.Equal("good", response.BodyText);
        }
        Assert.Equal(6, good.Requests.Count);
    }

    [Fact]
    public async Task A_post_is_moved_to_the_next_server_when_the_first_cannot_be_connected()
    {
        // Nothing was sent to the refused server, so moving on is safe for any method.
        await using var good = new RawUpstream(r => RawUpstream.Ok("got " + System.Text.Encoding.ASCII.GetString(r.Body)));
        int closed = UpstreamPorts.Closed();
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([closed, good.Port]));
        using var client = new WireClient(proxy.Port());

        for (int i = 0; i < 2; i++)
        {
            var response = await client.RoundTripAsync("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\ndata");
            Assert.Equal("got data", response.BodyText);
        }
    }

    [Fact]
    public async Task No_server_reachable_is_502_and_the_client_connection_survives()
    {
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([UpstreamPorts.Closed(), UpstreamPorts.Closed()]));
        using var client = new WireClient(proxy.Port());

        var response = await client.RoundTripAsync("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
        Assert.Equal(502, response.Status);
        Assert.Equal("502 Bad Gateway\n", response.BodyText);

        var head = await client.RoundTripAsync("HEAD / HTTP/1.1\r\nHost: a\r\n\r\n");
        Assert.Equal(502, head.Status);
        Assert.Equal(0, client.Buffered);
    }

    [Fact]
    public async Task Curl_gets_502_when_no_server_is_reachable()
    {
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([UpstreamPorts.Closed()]));

        var result = await Processes.CurlAsync("-o", "/dev/null", "-w", "%{http_code}", proxy.Url().ToString());

        Assert.Equal("502", result.StdOut);
    }

    [Fact]
    public async Task A_server_that_never_answers_gives_504_after_response_timeout()
    {
        await using var silent = new RawUpstream(_ => []);
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([silent.Port], extraUpstream: "response_timeout = \"500ms\""));
        using var client = new WireClient(proxy.Port());

        var stopwatch = Stopwatch.StartNew();
        var response = await client.RoundTripAsync("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
        stopwatch.Stop();

        Assert.Equal(504, response.Status);
        Assert.InRange(stopwatch.ElapsedMilliseconds, 400, 3000);
        Assert.Single(silent.Requests);
    }

    [Fact]
    public async Task After_a_504_the_next_request_gets_a_fresh_connection()
    {
        int n = 0;
        await using var upstream = new RawUpstream(r => Interlocked.Increment(ref n) == 1 ? [] : RawUpstream.Echo(r));
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([upstream.Port], extraUpstream: "response_timeout = \"300ms\""));
        using var client = new WireClient(proxy.Port());

        Assert.Equal(504, (await client.RoundTripAsync("GET / HTTP/1.1\r\nHost: a\r\n\r\n")).Status);
        // The late connection cannot be reused: a late answer on it would be taken for the next request's.
        var next = await client.RoundTripAsync("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
        Assert.Equal(200, next.Status);
        Assert.Equal("conn=2", next.BodyText);
    }

    [Fact]
    public async Task A_server_that_stalls_mid_body_is_cut_off_after_response_timeout()
    {
        await using var origin = new ScriptedOrigin(async (r, c) =>
        {
            await c.SendAsync("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nfirst ten.");
            await Task.Delay(TimeSpan.FromSeconds(10));
        });
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([origin.Port], extraUpstream: "response_timeout = \"500ms\""));
        using var client = new WireClient(proxy.Port());

        var response = await client.RoundTripAsync("GET / HTTP/1.1\r\nHost: a\r\n\r\n", TimeSpan.FromSeconds(5));

        Assert.Equal(200, response.Status);
        Assert.False(response.Complete);
        Assert.Equal("first ten.", response.BodyText);
    }

    [Fact]
    public async Task A_chunked_response_cut_off_mid_body_leaves_the_client_without_a_last_chunk()
    {
        await using var origin = new ScriptedOrigin(async (r, c) =>
        {
            await c.SendAsync("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n");
            await Task.Delay(50);
            c.Close();
        });
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([origin.Port]));
        using var client = new WireClient(proxy.Port());

        var response = await client.RoundTripAsync("GET / HTTP/1.1\r\nHost: a\r\n\r\n");

        Assert.Equal(200, response.Status);
        Assert.Equal(Framing.Chunked, response.Framing);
        Assert.False(response.Complete);
        Assert.Equal("hello", response.BodyText);
        Assert.DoesNotContain("0\r\n\r\n", response.RawBody);
        Assert.True(await client.IsClosedAsync());
    }

    [Fact]
    public async Task A_content_length_response_cut_off_mid_body_is_short_and_closed()
    {
        await using var origin = new ScriptedOrigin(async (r, c) =>
        {
            await c.SendAsync("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + new string('x', 300));
            await Task.Delay(50);
            c.Reset();
        });
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([origin.Port]));
        using var client = new WireClient(proxy.Port());

        var response = await client.RoundTripAsync("GET / HTTP/1.1\r\nHost: a\r\n\r\n");

        Assert.Equal(200, response.Status);
        Assert.Equal("1000", response.Header("Content-Length"));
        Assert.False(response.Complete);
        Assert.Equal(300, response.Body.Length);
        Assert.True(await client.IsClosedAsync());
    }

    [Fact]
    public async Task Curl_reports_a_response_cut_off_mid_body_as_an_error()
    {
        await using var origin = new ScriptedOrigin(async (r, c) =>
        {
            await c.SendAsync("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n");
            await Task.Delay(50);
            c.Close();
        });
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([origin.Port]));

        var result = await Processes.CurlAsync(proxy.Url().ToString());

        // 18: partial file; 56: failure receiving data. Never 0, which would pass the cut body off as whole.
        Assert.Contains(result.ExitCode, new[] { 18, 56 });
    }

    [Fact]
    public async Task A_server_that_closes_before_answering_a_fresh_connection_is_502()
    {
        await using var upstream = new RawUpstream(_ => null);
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([upstream.Port]));
        using var client = new WireClient(proxy.Port());

        var response = await client.RoundTripAsync("GET / HTTP/1.1\r\nHost: a\r\n\r\n");

        Assert.Equal(502, response.Status);
    }

    [Theory]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!")]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")]
    [InlineData("HTTP/1.1 2000 OK\r\n\r\n")]
    [InlineData("NOT HTTP AT ALL\r\n\r\n")]
    public async Task A_malformed_response_head_is_502(string answer)
    {
        await using var upstream = new RawUpstream(_ => System.Text.Encoding.ASCII.GetBytes(answer));
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([upstream.Port]));
        using var client = new WireClient(proxy.Port());

        var response = await client.RoundTripAsync("GET / HTTP/1.1\r\nHost: a\r\n\r\n");

        Assert.Equal(502, response.Status);
    }

    [Fact]
    public async Task A_malformed_chunk_mid_body_aborts_the_client_connection()
    {
        await using var upstream = new RawUpstream(_ => "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nZZ\r\nbad\r\n0\r\n\r\n"u8.ToArray());
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([upstream.Port]));
        using var client = new WireClient(proxy.Port());

        var response = await client.RoundTripAsync("GET / HTTP/1.1\r\nHost: a\r\n\r\n");

        Assert.Equal(200, response.Status);
        Assert.False(response.Complete);
        Assert.True(await client.IsClosedAsync());
    }

    /// <summary>
    /// A listener whose accept queue is full: connects to it neither succeed nor fail, they hang until the
    /// client gives up, as with a server that is overloaded or behind a firewall that drops packets.
    /// </summary>
    private sealed class SaturatedListener : IDisposable
    {
        private readonly System.Net.Sockets.Socket _listener = new(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
        private readonly System.Net.Sockets.Socket _filler = new(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);

        public SaturatedListener()
        {
            _listener.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0));
            _listener.Listen(0);
            Port = ((System.Net.IPEndPoint)_listener.LocalEndPoint!).Port;
            // Never accepted: it fills the queue of one.
            _filler.Connect(_listener.LocalEndPoint!);
        }

        public int Port { get; }

        public void Dispose()
        {
            _filler.Dispose();
            _listener.Dispose();
        }
    }

    [Fact]
    public async Task A_server_that_does_not_accept_within_connect_timeout_is_skipped_for_the_next()
    {
        using var hung = new SaturatedListener();
        await using var good = new RawUpstream(_ => RawUpstream.Ok("good"));
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([hung.Port, good.Port], extraUpstream: "connect_timeout = \"300ms\""));
        using var client = new WireClient(proxy.Port());

        var stopwatch = Stopwatch.StartNew();
        for (int i = 0; i < 4; i++)
        {
            Assert.Equal("good", (await client.RoundTripAsync("GET / HTTP/1.1\r\nHost: a\r\n\r\n")).BodyText);
        }

        // Two of the four picks landed on the hung server and each cost one connect_timeout.
        Assert.InRange(stopwatch.ElapsedMilliseconds, 500, 5000);
    }

    [Fact]
    public async Task Every_server_timing_out_on_connect_is_502()
    {
        using var hung = new SaturatedListener();
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([hung.Port], extraUpstream: "connect_timeout = \"300ms\""));
        using var client = new WireClient(proxy.Port());

        var stopwatch = Stopwatch.StartNew();
        var response = await client.RoundTripAsync("GET / HTTP/1.1\r\nHost: a\r\n\r\n");

        Assert.Equal(502, response.Status);
        Assert.InRange(stopwatch.ElapsedMilliseconds, 250, 3000);
    }
}
