using FastProxy.Tests.Infrastructure;

namespace FastProxy.Tests.Http2;

/// <summary>
/// The HTTP/2 library against real clients over loopback: curl (libcurl + nghttp2) and nghttp, with prior
/// knowledge (h2c), talking to <see cref="WireH2Server"/>, which is the library and nothing else. The clients'
/// prefaces, SETTINGS, PRIORITY, HEADERS (their HPACK encoders, Huffman and dynamic table), DATA and
/// WINDOW_UPDATEs go through our reader and decoder; our SETTINGS, ACKs, HEADERS (our encoder) and DATA (split by
/// the clients' windows) go through theirs, and any mistake on either side fails the exchange.
/// This tests the wire library alone; the proxy serving h2c is tested in ProxyH2cTests.
/// </summary>
public sealed class RealClientInteropTests
{
    private static void AssertClean(WireH2Server server) => Assert.True(server.Errors.Count == 0, string.Join("; ", server.Errors));

    [Fact]
    public async Task Curl_prior_knowledge_get_round_trips_fields_both_ways()
    {
        await using var server = new WireH2Server();
        var r = await Processes.CurlAsync("--http2-prior-knowledge", "-i", "-H", "x-test: hello h2", "-H", "cookie: a=1",
            "-w", "\nversion=%{http_version}\n", $"http://127.0.0.1:{server.Port}/path/to?q=1");
        Assert.True(r.ExitCode == 0, r.StdErr);
        Assert.StartsWith("HTTP/2 200", r.StdOut);
        Assert.Contains("x-served-by: fastproxy-http2-library", r.StdOut);
        Assert.Contains("content-type: text/plain", r.StdOut);
        Assert.Contains(":method: GET\n", r.StdOut);
        Assert.Contains(":path: /path/to?q=1\n", r.StdOut);
        Assert.Contains(":scheme: http\n", r.StdOut);
        Assert.Contains($":authority: 127.0.0.1:{server.Port}\n", r.StdOut);
        Assert.Contains("x-test: hello h2\n", r.StdOut);
        Assert.Contains("user-agent: curl/", r.StdOut);
        Assert.Contains("version=2", r.StdOut);
        AssertClean(server);
        Assert.Contains("SETTINGS", server.Events);
        Assert.Contains("SETTINGS-ACK", server.Events); // curl acknowledged ours
    }

    [Fact]
    public async Task Curl_post_larger_than_the_initial_window_gets_window_updates()
    {
        // 300,000 octets: more than the 65,535 both windows start with, so curl must wait for our WINDOW_UPDATEs.
        string file = Path.Combine(Path.GetTempPath(), $"fastproxy-h2-body-{Guid.NewGuid():N}");
        await File.WriteAllBytesAsync(file, new byte[300_000]);
        try
        {
            await using var server = new WireH2Server();
            var r = await Processes.CurlAsync("--http2-prior-knowledge", "--data-binary", "@" + file, $"http://127.0.0.1:{server.Port}/upload");
            Assert.True(r.ExitCode == 0, r.StdErr);
            Assert.Contains(":method: POST\n", r.StdOut);
            Assert.Contains("body-bytes: 300000\n", r.StdOut);
            AssertClean(server);
            Assert.Contains(server.Events, e => e.StartsWith("DATA 1 ", StringComparison.Ordinal));
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task Curl_downloads_a_body_split_by_frame_size_and_windows()
    {
        await using var server = new WireH2Server();
        var r = await Processes.CurlAsync("--http2-prior-knowledge", $"http://127.0.0.1:{server.Port}/big?size=1000000");
        Assert.True(r.ExitCode == 0, r.StdErr);
        Assert.Equal(1_000_000, r.StdOut.Length);
        AssertClean(server);
        Assert.True(server.Events.Count(e => e.StartsWith("SENT DATA 1 ", StringComparison.Ordinal)) >= 1_000_000 / 16_384);
    }

    [Fact]
    public async Task Nghttp_several_requests_on_one_connection_share_the_hpack_tables()
    {
        // nghttp sends its PRIORITY tree on idle streams, then three requests whose later HEADERS reuse dynamic
        // table entries; our responses index their fields too, so nghttp's decoder checks our encoder's table.
        // The third response (200 KB) outgrows nghttp's 64 KiB windows: its WINDOW_UPDATEs must drive our sends.
        await using var server = new WireH2Server();
        string baseUrl = $"http://127.0.0.1:{server.Port}";
        var r = await Processes.RunAsync("nghttp", ["-v", "-H", "x-repeat: same-value", $"{baseUrl}/a", $"{baseUrl}/b", $"{baseUrl}/c?size=200000"], TimeSpan.FromSeconds(30));
        Assert.True(r.ExitCode == 0, r.StdOut + r.StdErr);
        AssertClean(server);
        Assert.Equal(3, server.Requests.Count);
        foreach (var request in server.Requests)
        {
            Assert.Contains("x-repeat: same-value", request);
            Assert.Contains(":method: GET", request);
        }
        Assert.Equal(["/a", "/b", "/c?size=200000"], server.Requests.Select(q => q.Single(f => f.StartsWith(":path: ", StringComparison.Ordinal))[7..]).Order());
        // nghttp printed each decoded response head as our encoder wrote it, and no error.
        Assert.Equal(3, CountOf(r.StdOut, "x-served-by: fastproxy-http2-library"));
        Assert.DoesNotContain("COMPRESSION_ERROR", r.StdOut + r.StdErr);
        Assert.DoesNotContain("PROTOCOL_ERROR", r.StdOut + r.StdErr);
        Assert.Contains("recv SETTINGS frame <length=12, flags=0x00, stream_id=0>", r.StdOut);
        Assert.Contains(server.Events, e => e.StartsWith("WINDOW_UPDATE", StringComparison.Ordinal));
        Assert.Contains(server.Events, e => e.StartsWith("GOAWAY", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Nghttp_receives_our_settings_and_their_ack()
    {
        // Our SETTINGS (2 parameters) and our ACK of nghttp's, as nghttp's frame reader saw them.
        await using var server = new WireH2Server();
        var r = await Processes.RunAsync("nghttp", ["-v", $"http://127.0.0.1:{server.Port}/"], TimeSpan.FromSeconds(30));
        Assert.True(r.ExitCode == 0, r.StdOut + r.StdErr);
        Assert.Contains("recv SETTINGS frame <length=12, flags=0x00, stream_id=0>", r.StdOut);
        Assert.Contains("recv SETTINGS frame <length=0, flags=0x01, stream_id=0>", r.StdOut);
        AssertClean(server);
    }

    private static int CountOf(string text, string needle)
    {
        int count = 0;
        for (int i = text.IndexOf(needle, StringComparison.Ordinal); i >= 0; i = text.IndexOf(needle, i + 1, StringComparison.Ordinal)) count++;
        return count;
    }
}
