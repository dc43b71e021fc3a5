using System.Diagnostics;
using FastProxy.Http2.Frames;
using FastProxy.Policies.Pipeline;
using FastProxy.Tests.Forwarding.Support;
using FastProxy.Tests.Http2;
using FastProxy.Tests.Infrastructure;

namespace FastProxy.Tests.Gateway;

/// <summary>
/// The mock policy end to end: curl (HTTP/1.1 and h2c with prior knowledge) and raw clients against a real proxy, on
/// routes with no upstream at all and on one whose counting origin must never be reached.
/// </summary>
public sealed class MockLoopbackTests
{
    private static string Config(string policy, string route = "") => $$"""
        [[listeners]]
        name = "web"
        bind = "127.0.0.1:0"

        [[routes]]
        name = "mocked"
        policies = ["fake"]
        {{route}}

        [policies.fake]
        type = "mock"
        {{policy}}
        """;

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_route_without_upstream_answers_with_the_mock(bool h2)
    {
        await using var proxy = TestProxy.Start(Config("""
            status = 201
            headers = { "X-Mock" = "yes", "Cache-Control" = "no-store" }
            body = '{"id": 7, "name": "alice"}'
            """));

        var answer = await CurlAnswer.GetAsync(h2, proxy.Url("/users/7").ToString());
        Assert.Equal(201, answer.Status);
        Assert.Equal("{\"id\": 7, \"name\": \"alice\"}", answer.Body);
        Assert.Equal("application/json", answer.Header("Content-Type"));
        Assert.Equal("yes", answer.Header("X-Mock"));
        Assert.Equal("no-store", answer.Header("Cache-Control"));
        Assert.Equal("26", answer.Header("Content-Length"));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_body_file_is_served_and_HEAD_gets_its_length_without_it(bool h2)
    {
        var file = Path.GetTempFileName();
        try
        {
            await File.WriteAllTextAsync(file, "plain text from a file\n");
            await using var proxy = TestProxy.Start(Config($"body_file = '{file}'"));

            var get = await CurlAnswer.GetAsync(h2, proxy.Url("/doc").ToString());
            Assert.Equal(200, get.Status);
            Assert.Equal("plain text from a file\n", get.Body);
            Assert.Equal("text/plain; charset=utf-8", get.Header("Content-Type"));

            var head = await Processes.CurlAsync("-i", "-I", h2 ? "--http2-prior-knowledge" : "--http1.1", proxy.Url("/doc").ToString());
            Assert.Equal(0, head.ExitCode);
            var text = head.StdOut;
            int end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
            Assert.True(end > 0, text);
            Assert.Matches("(?im)^content-length: 23\r?$", text[..end]);
            Assert.Equal("", text[(end + 4)..]);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task Nothing_reaches_the_upstream_of_a_mocked_route()
    {
        await using var origin = new RawUpstream(_ => RawUpstream.Ok("origin"));
        await using var proxy = TestProxy.Start(Config("body = 'mocked'", route: "upstream = \"app\"") + $"\n[upstreams.app]\nservers = [\"127.0.0.1:{origin.Port}\"]\n");

        for (int i = 0; i < 3; i++)
        {
            var answer = await CurlAnswer.GetAsync(i % 2 == 1, proxy.Url("/x").ToString());
            Assert.Equal("mocked", answer.Body);
        }
        Assert.Empty(origin.Requests);
        Assert.Equal(0, origin.Connections);
    }

    [Fact]
    public async Task A_delayed_answer_comes_no_sooner_and_the_connection_serves_the_next_request()
    {
        await using var proxy = TestProxy.Start(Config("""
            delay = "300ms"
            body = "late"
            """));
        using var client = new WireClient(proxy.Port());

        for (int i = 0; i < 2; i++)
        {
            var clock = Stopwatch.StartNew();
            var answer = await client.RoundTripAsync("GET /slow HTTP/1.1\r\nHost: a\r\n\r\n", TimeSpan.FromSeconds(20));
            // Only the lower bound: a timer never fires early (a loaded machine may make it late, which is no failure).
            Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(290), $"answered after {clock.Elapsed.TotalMilliseconds} ms");
            Assert.Equal(200, answer.Status);
            Assert.Equal("late", answer.BodyText);
        }
    }

    [Fact]
    public async Task A_delayed_answer_over_h2_comes_no_sooner()
    {
        await using var proxy = TestProxy.Start(Config("""
            delay = "300ms"
            body = "late"
            """));
        var clock = Stopwatch.StartNew();
        var answer = await CurlAnswer.GetAsync(true, proxy.Url("/slow").ToString());
        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(290), $"answered after {clock.Elapsed.TotalMilliseconds} ms");
        Assert.Equal("late", answer.Body);
    }

    [Fact]
    public async Task An_http1_client_that_closes_stops_the_delay()
    {
        const string Policy = "mock-close-test";
        await using var proxy = TestProxy.Start(Config("").Replace("\"fake\"", $"\"{Policy}\"").Replace("[policies.fake]", $"[policies.{Policy}]")
            + "delay = \"1s\"\nbody = \"late\"\n");
        var answered = RejectionCounter.All().Single(c => c.Policy == Policy);
        using (var client = new WireClient(proxy.Port()))
        {
            client.Send("GET /slow HTTP/1.1\r\nHost: a\r\n\r\n");
            await Task.Delay(100);
        }

        // Past the delay: a delay that was not stopped would have answered (and been counted) by now.
        await Task.Delay(2000);
        Assert.Equal(0, answered.Count);
        // Another client is served as usual.
        using var next = new WireClient(proxy.Port());
        var answer = await next.RoundTripAsync("GET /slow HTTP/1.1\r\nHost: a\r\n\r\n", TimeSpan.FromSeconds(20));
        Assert.Equal("late", answer.BodyText);
        Assert.Equal(1, answered.Count);
    }

    [Fact]
    public async Task A_reset_stream_stops_the_delay_and_the_connection_goes_on()
    {
        const string Policy = "mock-reset-test";
        await using var proxy = TestProxy.Start($$"""
            [[listeners]]
            name = "web"
            bind = "127.0.0.1:0"

            [[routes]]
            name = "slow"
            policies = ["{{Policy}}"]
            [routes.match]
            path = "/slow"

            [[routes]]
            respond = { status = 200, body = "fast" }

            [policies.{{Policy}}]
            type = "mock"
            delay = "1s"
            body = "late"
            """);
        var answered = RejectionCounter.All().Single(c => c.Policy == Policy);
        using var client = new H2RawClient(proxy.Port());
        await client.HandshakeAsync();

        client.SendHeaders(1, endStream: true, H2RawClient.Get("/slow"));
        await Task.Delay(100);
        client.Send(w => Http2FrameWriter.WriteRstStream(w, 1, Http2ErrorCode.Cancel));
        client.SendHeaders(3, endStream: true, H2RawClient.Get("/other"));
        var other = await client.ReadUntilAsync(f => f.StreamId == 3 && f.Type == Http2FrameType.Headers);
        Assert.NotNull(other);

        // Past the delay: a delay that was not stopped would have answered (and been counted) by now.
        await Task.Delay(2000);
        Assert.Equal(0, answered.Count);
        client.SendHeaders(5, endStream: true, H2RawClient.Get("/other"));
        Assert.NotNull(await client.ReadUntilAsync(f => f.StreamId == 5 && f.Type == Http2FrameType.Headers));
    }
}
