using FastProxy.Tests.Gateway;
using FastProxy.Tests.Infrastructure;

namespace FastProxy.Tests.StaticFiles;

/// <summary>
/// precompressed = true serves a file's `.zst` sibling (written by the real `zstd` CLI) to clients that take zstd: the
/// sibling's bytes, length and validators, Vary: Accept-Encoding; Brotli, then zstd, then gzip on equal weights (the
/// usual sizes at rest); curl --compressed decodes it back to the file. Over HTTP/1.1 and h2c.
/// </summary>
public sealed class StaticZstdTests : IDisposable
{
    private readonly StaticTree _tree = new();
    private readonly byte[] _zstd;

    public StaticZstdTests()
    {
        string appJs = Path.Combine(_tree.Root, "app.js");
        var made = Processes.RunAsync("zstd", ["-q", "-19", "-f", appJs, "-o", appJs + ".zst"]).GetAwaiter().GetResult();
        if (made.ExitCode != 0) throw new InvalidOperationException("zstd failed: " + made.StdErr);
        _zstd = File.ReadAllBytes(appJs + ".zst");
    }

    public void Dispose() => _tree.Dispose();

    private static Task<CurlResponse> Get(bool h2, TestProxy proxy, string path, params string[] headers) =>
        CurlAnswer.GetAsync(h2, $"http://127.0.0.1:{proxy.Port()}{path}", headers);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task The_zst_sibling_follows_Accept_Encoding(bool h2)
    {
        await using var proxy = TestProxy.Start(_tree.Config(", precompressed = true"));

        var zstd = await Get(h2, proxy, "/app.js", "Accept-Encoding: zstd");
        Assert.Equal(200, zstd.Status);
        Assert.Equal("zstd", zstd.Header("Content-Encoding"));
        Assert.Equal(_zstd.Length.ToString(), zstd.Header("Content-Length"));
        Assert.Equal("Accept-Encoding", zstd.Header("Vary"));
        Assert.Equal("text/javascript; charset=utf-8", zstd.Header("Content-Type"));
        var plain = await Get(h2, proxy, "/app.js");
        Assert.Null(plain.Header("Content-Encoding"));
        // The sibling's own validator: its modification time and length (nginx's form).
        var info = new FileInfo(Path.Combine(_tree.Root, "app.js.zst"));
        Assert.Equal($"\"{new DateTimeOffset(info.LastWriteTimeUtc).ToUnixTimeSeconds():x}-{info.Length:x}\"", zstd.Header("ETag"));

        // Equal weights: br, then zstd, then gzip; the client's weights first.
        Assert.Equal("br", (await Get(h2, proxy, "/app.js", "Accept-Encoding: gzip, br, zstd")).Header("Content-Encoding"));
        Assert.Equal("zstd", (await Get(h2, proxy, "/app.js", "Accept-Encoding: gzip, zstd")).Header("Content-Encoding"));
        Assert.Equal("zstd", (await Get(h2, proxy, "/app.js", "Accept-Encoding: br;q=0.5, zstd")).Header("Content-Encoding"));
        Assert.Equal("gzip", (await Get(h2, proxy, "/app.js", "Accept-Encoding: zstd;q=0, gzip")).Header("Content-Encoding"));

        // The bytes are the sibling's, byte for byte, and decode back to the file.
        string saved = Path.Combine(_tree.Base, "out.zst");
        var raw = await Processes.CurlAsync("-H", "Accept-Encoding: zstd", h2 ? "--http2-prior-knowledge" : "--http1.1", proxy.Url("/app.js").ToString(), "-o", saved);
        Assert.Equal(0, raw.ExitCode);
        Assert.Equal(_zstd, await File.ReadAllBytesAsync(saved));
        var decoded = await Processes.CurlAsync("--compressed", "-H", "Accept-Encoding: zstd", h2 ? "--http2-prior-knowledge" : "--http1.1", proxy.Url("/app.js").ToString());
        Assert.Equal(StaticTree.AppJs, decoded.StdOut);

        // 304 for the zstd variant the client holds; a Range gets the file itself.
        var again = await Get(h2, proxy, "/app.js", "Accept-Encoding: zstd", $"If-None-Match: {zstd.Header("ETag")}");
        Assert.Equal(304, again.Status);
        var range = await Get(h2, proxy, "/app.js", "Accept-Encoding: zstd", "Range: bytes=0-6");
        Assert.Equal(206, range.Status);
        Assert.Null(range.Header("Content-Encoding"));
        Assert.Equal("console", range.Body);
    }
}
