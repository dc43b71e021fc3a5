using System.Diagnostics;
using FastProxy.Tests.Http1;
using FastProxy.Tests.Infrastructure;

namespace FastProxy.Tests.Forwarding;

/// <summary>
/// [limits] through a real proxy: 408 header_timeout, 414 max_request_line, 431 max_header_bytes and max_headers.
/// Limits are enforced on what has arrived: a line over a limit is refused before it ends.
/// </summary>
public sealed class LimitRejectionTests
{
    private const string ShortHeaderTimeout = "header_timeout = \"300ms\"";

    /// <summary>Sends a head that never finishes and waits for the answer without closing: it must come on its own.</summary>
    private static async Task<(string Response, TimeSpan Elapsed)> SendUnfinishedAsync(string limits, string partial)
    {
        await using var upstream = new RawUpstream(parse: false);
        await using var proxy = TestProxy.Start(Refusal.Config(upstream.Port, limits));
        using var client = new RawClient(proxy.Port());
        var clock = Stopwatch.StartNew();
        client.Send(partial);
        string response = await client.ReadUntilCloseAsync(Refusal.ReadTimeout);
        var elapsed = clock.Elapsed;
        Assert.True(await client.IsClosedAsync(Refusal.CloseWait), "the connection stayed open after the refusal");
        Refusal.AssertNothingUpstream(upstream);
        return (response, elapsed);
    }

    [Fact]
    public async Task Unfinished_head_is_408_after_header_timeout()
    {
        var (response, elapsed) = await SendUnfinishedAsync(ShortHeaderTimeout, "GET / HTTP/1.1\r\nHost: a\r\n");
        Refusal.AssertOnlyRefusal(response, 408);
        Assert.InRange(elapsed, TimeSpan.FromMilliseconds(250), TimeSpan.FromSeconds(3));
    }

    [Fact]
    public async Task Trickled_head_is_408_after_header_timeout_from_its_first_byte()
    {
        // Slowloris: a byte every 40 ms keeps the connection busy, but the whole head must arrive within 300 ms.
        await using var upstream = new RawUpstream(parse: false);
        await using var proxy = TestProxy.Start(Refusal.Config(upstream.Port, ShortHeaderTimeout));
        using var client = new RawClient(proxy.Port());
        var head = Wire.Bytes("GET / HTTP/1.1\r\nHost: a\r\nX-Slow: " + new string('s', 100) + "\r\n\r\n");
        var clock = Stopwatch.StartNew();
        var sending = Refusal.SendAsync(client, head, pieceSize: 1, delayMs: 40);
        string response = await client.ReadUntilCloseAsync(Refusal.ReadTimeout);
        var elapsed = clock.Elapsed;
        await sending.WaitAsync(Refusal.ReadTimeout);

        Refusal.AssertOnlyRefusal(response, 408);
        Assert.InRange(elapsed, TimeSpan.FromMilliseconds(250), TimeSpan.FromSeconds(3));
        Refusal.AssertNothingUpstream(upstream);
    }

    [Fact]
    public async Task Idle_connection_without_a_byte_is_closed_quietly()
    {
        var (response, _) = await SendUnfinishedAsync(ShortHeaderTimeout + "\nidle_timeout = \"300ms\"", "");
        Assert.Equal("", response);
    }

    private const string MaxLine64 = "max_request_line = \"64B\"";

    private static string Target(int requestLineLength) => "/" + new string('a', requestLineLength - "GET / HTTP/1.1".Length);

    [Fact]
    public Task Request_line_over_max_request_line_is_414()
        => Refusal.AssertRefusedAsync(Wire.Bytes($"GET {Target(65)} HTTP/1.1\r\nHost: a\r\n\r\n"), 414, MaxLine64);

    [Fact]
    public Task Request_line_over_max_request_line_is_414_one_byte_per_segment()
        => Refusal.AssertRefusedAsync(Wire.Bytes($"GET {Target(65)} HTTP/1.1\r\nHost: a\r\n\r\n"), 414, MaxLine64, pieceSize: 1);

    [Fact]
    public async Task Request_line_over_max_request_line_is_414_before_it_ends()
    {
        var (response, elapsed) = await SendUnfinishedAsync(MaxLine64, "GET /" + new string('a', 100));
        Refusal.AssertOnlyRefusal(response, 414);
        Assert.True(elapsed < TimeSpan.FromSeconds(3), $"took {elapsed}");
    }

    [Fact]
    public async Task Request_line_at_max_request_line_is_forwarded_even_split_between_cr_and_lf()
    {
        await using var upstream = new RawUpstream(RawUpstream.Echo);
        await using var proxy = TestProxy.Start(Refusal.Config(upstream.Port, MaxLine64));
        using var client = new RawClient(proxy.Port());
        string line = $"GET {Target(64)} HTTP/1.1";
        Assert.Equal(64, line.Length);
        client.Send(line + "\r");
        await Task.Delay(50);
        client.Send("\nHost: a\r\n\r\n");
        Assert.StartsWith("HTTP/1.1 200 OK\r\n", await client.ReadResponseAsync(Refusal.ReadTimeout));
        Assert.Equal(line, Assert.Single(upstream.Requests).RequestLine);
    }

    private const string MaxHeaderBytes128 = "max_header_bytes = \"128B\"";

    [Fact]
    public Task Header_section_over_max_header_bytes_is_431()
        => Refusal.AssertRefusedAsync(Wire.Bytes("GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + new string('v', 120) + "\r\n\r\n"), 431, MaxHeaderBytes128);

    [Fact]
    public Task Many_small_fields_over_max_header_bytes_are_431_one_byte_per_segment()
    {
        string fields = string.Concat(Enumerable.Range(0, 12).Select(i => $"X-{i:D2}: vvvv\r\n"));
        return Refusal.AssertRefusedAsync(Wire.Bytes("GET / HTTP/1.1\r\nHost: a\r\n" + fields + "\r\n"), 431, MaxHeaderBytes128, pieceSize: 1);
    }

    [Fact]
    public async Task Field_over_max_header_bytes_is_431_before_it_ends()
    {
        var (response, elapsed) = await SendUnfinishedAsync(MaxHeaderBytes128, "GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + new string('v', 200));
        Refusal.AssertOnlyRefusal(response, 431);
        Assert.True(elapsed < TimeSpan.FromSeconds(3), $"took {elapsed}");
    }

    private const string MaxHeaders3 = "max_headers = 3";

    [Fact]
    public Task Fields_over_max_headers_are_431()
        => Refusal.AssertRefusedAsync(Wire.Bytes("GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n"), 431, MaxHeaders3);

    [Fact]
    public Task Fields_over_max_headers_are_431_one_byte_per_segment()
        => Refusal.AssertRefusedAsync(Wire.Bytes("GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n"), 431, MaxHeaders3, pieceSize: 1);

    [Fact]
    public async Task Field_over_max_headers_is_431_before_it_ends()
    {
        var (response, elapsed) = await SendUnfinishedAsync(MaxHeaders3, "GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nC");
        Refusal.AssertOnlyRefusal(response, 431);
        Assert.True(elapsed < TimeSpan.FromSeconds(3), $"took {elapsed}");
    }

    [Fact]
    public async Task Fields_at_max_headers_are_forwarded()
    {
        await using var upstream = new RawUpstream(RawUpstream.Echo);
        await using var proxy = TestProxy.Start(Refusal.Config(upstream.Port, MaxHeaders3));
        using var client = new RawClient(proxy.Port());
        client.Send("GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\n\r\n");
        Assert.StartsWith("HTTP/1.1 200 OK\r\n", await client.ReadResponseAsync(Refusal.ReadTimeout));
        Assert.Equal("2", Assert.Single(upstream.Requests).Header("B"));
    }
}
