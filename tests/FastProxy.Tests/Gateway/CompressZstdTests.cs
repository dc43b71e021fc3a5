using FastProxy.Tests.Forwarding.Support;
using FastProxy.Tests.Infrastructure;
using static FastProxy.Tests.Gateway.CompressLoopbackTests;
using static FastProxy.Tests.Gateway.JsonBodyLoopbackTests;

namespace FastProxy.Tests.Gateway;

/// <summary>
/// compress with zstd (ZstdSharp) end to end: curl over HTTP/1.1 and h2c (prior knowledge) through a real proxy to the
/// scripted origin of <see cref="CompressLoopbackTests"/>; what curl saves goes through the real `zstd -d` (Debian's
/// zstd) and must come back byte for byte, and curl's own decoder (--compressed, libcurl built with zstd) agrees.
/// Negotiation: the highest q wins, the server's <c>encodings</c> order on ties.
/// </summary>
public sealed class CompressZstdTests
{
    private const string ZstdFirst = Policy + "\nencodings = [\"zstd\", \"br\", \"gzip\"]";
    private const string ZstdLast = Policy + "\nencodings = [\"br\", \"gzip\", \"zstd\"]";

    public static TheoryData<bool, string> Framings()
    {
        var data = new TheoryData<bool, string>();
        foreach (bool h2 in new[] { false, true })
            foreach (var framing in new[] { "cl", "chunked", "close" })
                data.Add(h2, framing);
        return data;
    }

    [Theory]
    [MemberData(nameof(Framings))]
    public async Task Small_and_multi_MB_bodies_round_trip_through_the_zstd_cli(bool h2, string framing)
    {
        await using var origin = Origin();
        await using var proxy = TestProxy.Start(CompressLoopbackTests.Config(origin.Port, ZstdFirst));

        foreach (int size in new[] { 5_000, 3 * 1024 * 1024 + 17 })
        {
            var (status, headers, body) = await CurlAsync(proxy, h2, $"/{framing}/{size}", "-H", "Accept-Encoding: zstd");

            Assert.EndsWith("200" + (h2 ? "" : " OK"), status);
            Assert.Equal(["zstd"], Values(headers, "content-encoding"));
            Assert.Empty(Values(headers, "content-length"));
            Assert.Equal(["Accept-Encoding"], Values(headers, "vary"));
            if (!h2) Assert.Equal(["chunked"], Values(headers, "transfer-encoding"));
            Assert.True(body.Length < size / 2, $"{body.Length} bytes for {size}: not compressed");
            Assert.Equal(Text(size), await DecodeAsync("zstd", body));
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Curl_compressed_decodes_what_the_proxy_sends(bool h2)
    {
        await using var origin = Origin();
        await using var proxy = TestProxy.Start(CompressLoopbackTests.Config(origin.Port, ZstdFirst));

        // curl --compressed offers every coding it was built with ("deflate, gzip, br, zstd", all at q=1): the
        // server's first listed wins, and curl decodes it.
        var (_, headers, body) = await CurlAsync(proxy, h2, "/chunked/200000", "--compressed");

        Assert.Equal(["zstd"], Values(headers, "content-encoding"));
        Assert.Equal(Text(200_000), body);
    }

    [Theory]
    [InlineData(ZstdFirst, "zstd", "zstd")]
    [InlineData(ZstdFirst, "gzip, deflate, br, zstd", "zstd")]   // a browser's: equal weights, the server's order
    [InlineData(ZstdLast, "gzip, deflate, br, zstd", "br")]
    [InlineData(ZstdLast, "gzip, zstd", "gzip")]
    [InlineData(ZstdLast, "zstd", "zstd")]                        // listed last, still used when it is the only one
    [InlineData(ZstdFirst, "zstd;q=0.5, br", "br")]               // the client's higher weight wins over the order
    [InlineData(ZstdLast, "br;q=0.5, zstd", "zstd")]
    [InlineData(ZstdFirst, "zstd;q=0, gzip", "gzip")]             // q=0 refuses
    [InlineData(ZstdFirst, "*", "zstd")]
    [InlineData(ZstdFirst, "*;q=0.5, zstd;q=0", "br")]
    [InlineData(ZstdFirst, "ZSTD;Q=0.9, gzip;q=0.8", "zstd")]
    [InlineData(ZstdFirst, "zstd;q=2", "")]                       // a malformed weight: the item is ignored
    [InlineData(Policy, "zstd", "")]                              // not offered by default (encodings = ["br", "gzip"])
    [InlineData(Policy, "zstd, gzip", "gzip")]
    public async Task The_encoding_follows_the_q_values_then_the_servers_order(string policy, string acceptEncoding, string expected)
    {
        await using var origin = Origin();
        await using var proxy = TestProxy.Start(CompressLoopbackTests.Config(origin.Port, policy));

        var (_, headers, body) = await CurlAsync(proxy, false, "/cl/8000", "-H", $"Accept-Encoding: {acceptEncoding}");

        if (expected.Length == 0)
        {
            Assert.Empty(Values(headers, "content-encoding"));
            Assert.Equal(Text(8000), body);
        }
        else
        {
            Assert.Equal([expected], Values(headers, "content-encoding"));
            Assert.Equal(Text(8000), await DecodeAsync(expected, body));
        }
    }

    [Fact]
    public async Task One_connection_carries_zstd_responses_one_after_another()
    {
        // The zstd context is the connection's, reset between responses: each response is a whole frame of its own,
        // whatever the previous one was (a large one, a small one, an upstream that closed).
        await using var origin = Origin();
        await using var proxy = TestProxy.Start(CompressLoopbackTests.Config(origin.Port, ZstdFirst));
        string dir = Path.Combine(Path.GetTempPath(), "fastproxy-zstd-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            var args = new List<string> { "--http1.1", "-H", "Accept-Encoding: zstd", "-w", "%{num_connects}\\n" };
            for (int i = 0; i < Sequence.Length; i++) args.AddRange(["-o", Path.Combine(dir, $"{i}.zst"), proxy.Url(Sequence[i]).ToString()]);
            var result = await Processes.CurlAsync([.. args]);

            Assert.True(result.ExitCode == 0, result.StdErr);
            Assert.Equal(["1", "0", "0", "0", "0"], result.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            for (int i = 0; i < Sequence.Length; i++)
            {
                Assert.Equal(Text(SizeOf(Sequence[i])), await DecodeAsync("zstd", await File.ReadAllBytesAsync(Path.Combine(dir, $"{i}.zst"))));
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task One_h2_connection_carries_zstd_responses_one_after_another()
    {
        // (curl 7.88 fails a second URL on a reused h2c prior-knowledge connection, whatever the coding: HttpClient,
        // whose h2 pool keeps one connection per server, carries the sequence.)
        await using var origin = Origin();
        await using var proxy = TestProxy.Start(CompressLoopbackTests.Config(origin.Port, ZstdFirst));
        using var handler = new System.Net.Http.SocketsHttpHandler { AutomaticDecompression = System.Net.DecompressionMethods.None };
        using var client = new System.Net.Http.HttpClient(handler) { Timeout = TimeSpan.FromSeconds(60) };
        foreach (var path in Sequence)
        {
            using var request = new System.Net.Http.HttpRequestMessage(System.Net.Http.HttpMethod.Get, proxy.Url(path))
            {
                Version = System.Net.HttpVersion.Version20,
                VersionPolicy = System.Net.Http.HttpVersionPolicy.RequestVersionExact,
            };
            request.Headers.TryAddWithoutValidation("Accept-Encoding", "zstd");
            using var response = await client.SendAsync(request);
            Assert.Equal(System.Net.HttpVersion.Version20, response.Version);
            Assert.Equal("zstd", Assert.Single(response.Content.Headers.ContentEncoding));
            Assert.Equal(Text(SizeOf(path)), await DecodeAsync("zstd", await response.Content.ReadAsByteArrayAsync()));
        }
    }

    private static readonly string[] Sequence = ["/cl/30000", "/chunked/1048576", "/cl/2000", "/close/70000", "/chunked/1500"];

    private static int SizeOf(string path) => int.Parse(path.Split('/')[2], System.Globalization.CultureInfo.InvariantCulture);
}
