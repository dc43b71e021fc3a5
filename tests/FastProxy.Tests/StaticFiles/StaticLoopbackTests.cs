using System.Text;
using FastProxy.Tests.Gateway;
using FastProxy.Tests.Infrastructure;

namespace FastProxy.Tests.StaticFiles;

/// <summary>
/// Static routes end to end: curl over HTTP/1.1 and h2c (prior knowledge) against an in-process proxy serving a real
/// directory: types, validators, index files, redirects, conditional requests, ranges, HEAD, methods, precompressed siblings.
/// </summary>
public sealed class StaticLoopbackTests : IDisposable
{
    private readonly StaticTree _tree = new();

    public void Dispose() => _tree.Dispose();

    private static Task<CurlResponse> Get(bool h2, TestProxy proxy, string path, params string[] headers) =>
        // Not through Uri: its ToString() would unescape "%20" into a space curl refuses.
        CurlAnswer.GetAsync(h2, $"http://127.0.0.1:{proxy.Port()}{path}", headers);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Serves_a_file_with_its_type_length_and_validators(bool h2)
    {
        await using var proxy = TestProxy.Start(_tree.Config());
        var answer = await Get(h2, proxy, "/hello.txt");
        Assert.Equal(200, answer.Status);
        Assert.Equal("hello static\n", answer.Body);
        Assert.Equal("text/plain; charset=utf-8", answer.Header("Content-Type"));
        Assert.Equal("13", answer.Header("Content-Length"));
        Assert.Equal("bytes", answer.Header("Accept-Ranges"));
        var info = new FileInfo(Path.Combine(_tree.Root, "hello.txt"));
        long mtime = new DateTimeOffset(info.LastWriteTimeUtc).ToUnixTimeSeconds();
        Assert.Equal($"\"{mtime:x}-{13:x}\"", answer.Header("ETag"));
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(mtime).ToString("R"), answer.Header("Last-Modified"));
        Assert.Null(answer.Header("Vary"));

        Assert.Equal("application/octet-stream", (await Get(h2, proxy, "/unknown.qqq")).Header("Content-Type"));
        Assert.Equal("with a space\n", (await Get(h2, proxy, "/sp%20ace.txt")).Body);
        Assert.Equal("utf-8 name\n", (await Get(h2, proxy, "/caf%C3%A9.txt")).Body);
        Assert.Equal("hello static\n", (await Get(h2, proxy, "/link-in")).Body); // a link that stays inside the root
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Directories_get_their_index_and_a_redirect_to_the_slash_form(bool h2)
    {
        await using var proxy = TestProxy.Start(_tree.Config());
        var home = await Get(h2, proxy, "/");
        Assert.Equal(200, home.Status);
        Assert.Equal("<h1>home</h1>\n", home.Body);
        Assert.Equal("text/html; charset=utf-8", home.Header("Content-Type"));
        Assert.Equal("docs index\n", (await Get(h2, proxy, "/docs/")).Body);

        var redirect = await Get(h2, proxy, "/docs?x=1");
        Assert.Equal(301, redirect.Status);
        Assert.Equal("/docs/?x=1", redirect.Header("Location"));
        Assert.Equal(404, (await Get(h2, proxy, "/nodir/")).Status); // no index, no listing
        Assert.Equal(404, (await Get(h2, proxy, "/missing.txt")).Status);
        Assert.Equal(404, (await Get(h2, proxy, "/hello.txt/")).Status);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Conditional_requests_get_304(bool h2)
    {
        await using var proxy = TestProxy.Start(_tree.Config());
        var first = await Get(h2, proxy, "/hello.txt");
        var etag = first.Header("ETag")!;
        var lastModified = first.Header("Last-Modified")!;

        var notModified = await Get(h2, proxy, "/hello.txt", $"If-None-Match: {etag}");
        Assert.Equal(304, notModified.Status);
        Assert.Equal("", notModified.Body);
        Assert.Equal(etag, notModified.Header("ETag"));
        Assert.Equal(304, (await Get(h2, proxy, "/hello.txt", $"If-None-Match: \"other\", W/{etag}")).Status);
        Assert.Equal(200, (await Get(h2, proxy, "/hello.txt", "If-None-Match: \"other\"")).Status);

        Assert.Equal(304, (await Get(h2, proxy, "/hello.txt", $"If-Modified-Since: {lastModified}")).Status);
        Assert.Equal(200, (await Get(h2, proxy, "/hello.txt", "If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT")).Status);
        // If-None-Match wins over If-Modified-Since (RFC 9110 §13.2.2).
        Assert.Equal(200, (await Get(h2, proxy, "/hello.txt", "If-None-Match: \"other\"", $"If-Modified-Since: {lastModified}")).Status);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Single_ranges_get_206_and_unsatisfiable_ones_416(bool h2)
    {
        await using var proxy = TestProxy.Start(_tree.Config());
        string data = Encoding.ASCII.GetString(_tree.Data);

        var part = await Get(h2, proxy, "/data.txt", "Range: bytes=10-19");
        Assert.Equal(206, part.Status);
        Assert.Equal(data[10..20], part.Body);
        Assert.Equal("bytes 10-19/1000", part.Header("Content-Range"));
        Assert.Equal("10", part.Header("Content-Length"));

        var suffix = await Get(h2, proxy, "/data.txt", "Range: bytes=-7");
        Assert.Equal(206, suffix.Status);
        Assert.Equal(data[993..], suffix.Body);
        Assert.Equal("bytes 993-999/1000", suffix.Header("Content-Range"));

        var open = await Get(h2, proxy, "/data.txt", "Range: bytes=995-");
        Assert.Equal(data[995..], open.Body);

        var unsatisfiable = await Get(h2, proxy, "/data.txt", "Range: bytes=1000-");
        Assert.Equal(416, unsatisfiable.Status);
        Assert.Equal("bytes */1000", unsatisfiable.Header("Content-Range"));
        Assert.Equal("", unsatisfiable.Body);

        // Several ranges: multipart/byteranges (StaticRangesTests has the details).
        var multi = await Get(h2, proxy, "/data.txt", "Range: bytes=0-1,5-6");
        Assert.Equal(206, multi.Status);
        Assert.StartsWith("multipart/byteranges; boundary=", multi.Header("Content-Type"));

        var etag = part.Header("ETag")!;
        var matching = await Get(h2, proxy, "/data.txt", "Range: bytes=0-4", $"If-Range: {etag}");
        Assert.Equal(206, matching.Status);
        Assert.Equal(data[..5], matching.Body);
        var changed = await Get(h2, proxy, "/data.txt", "Range: bytes=0-4", "If-Range: \"old\"");
        Assert.Equal(200, changed.Status);
        Assert.Equal(data, changed.Body);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task HEAD_has_the_length_and_no_body_and_other_methods_get_405(bool h2)
    {
        await using var proxy = TestProxy.Start(_tree.Config());
        var head = await Processes.CurlAsync("-i", "-I", h2 ? "--http2-prior-knowledge" : "--http1.1", proxy.Url("/data.txt").ToString());
        Assert.Equal(0, head.ExitCode);
        int end = head.StdOut.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        Assert.True(end > 0, head.StdOut);
        Assert.Matches("(?im)^content-length: 1000\r?$", head.StdOut[..end]);
        Assert.Matches("(?im)^etag: \"", head.StdOut[..end]);
        Assert.Equal("", head.StdOut[(end + 4)..]);

        var post = await Processes.CurlAsync("-i", "-X", "POST", "-d", "x=1", h2 ? "--http2-prior-knowledge" : "--http1.1", proxy.Url("/data.txt").ToString());
        Assert.Contains(" 405", post.StdOut.Split("\r\n")[0]);
        Assert.Matches("(?im)^allow: GET, HEAD\r?$", post.StdOut);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Precompressed_siblings_follow_Accept_Encoding(bool h2)
    {
        await using var proxy = TestProxy.Start(_tree.Config(", precompressed = true"));
        var plain = await Get(h2, proxy, "/app.js");
        Assert.Equal(StaticTree.AppJs, plain.Body);
        Assert.Null(plain.Header("Content-Encoding"));
        Assert.Equal("Accept-Encoding", plain.Header("Vary"));

        var gzip = await Get(h2, proxy, "/app.js", "Accept-Encoding: gzip");
        Assert.Equal("gzip", gzip.Header("Content-Encoding"));
        Assert.Equal(_tree.Gzipped.Length.ToString(), gzip.Header("Content-Length"));
        Assert.Equal("Accept-Encoding", gzip.Header("Vary"));
        Assert.Equal("text/javascript; charset=utf-8", gzip.Header("Content-Type"));
        Assert.NotEqual(plain.Header("ETag"), gzip.Header("ETag"));

        var br = await Get(h2, proxy, "/app.js", "Accept-Encoding: gzip;q=0.5, br");
        Assert.Equal("br", br.Header("Content-Encoding"));
        Assert.Equal(_tree.Brotlied.Length.ToString(), br.Header("Content-Length"));
        Assert.Equal("gzip", (await Get(h2, proxy, "/app.js", "Accept-Encoding: br;q=0, gzip")).Header("Content-Encoding"));

        // The bytes are the sibling's: curl decodes them back to the file.
        var decoded = await Processes.CurlAsync("--compressed", h2 ? "--http2-prior-knowledge" : "--http1.1", proxy.Url("/app.js").ToString());
        Assert.Equal(StaticTree.AppJs, decoded.StdOut);
        var gunzip = await Processes.CurlAsync("-H", "Accept-Encoding: gzip", h2 ? "--http2-prior-knowledge" : "--http1.1", proxy.Url("/app.js").ToString(), "-o", Path.Combine(_tree.Base, "out.gz"));
        Assert.Equal(0, gunzip.ExitCode);
        Assert.Equal(_tree.Gzipped, await File.ReadAllBytesAsync(Path.Combine(_tree.Base, "out.gz")));

        // A Range request gets a range of the file itself, never of a compressed sibling.
        var range = await Get(h2, proxy, "/app.js", "Accept-Encoding: gzip, br", "Range: bytes=0-6");
        Assert.Equal(206, range.Status);
        Assert.Null(range.Header("Content-Encoding"));
        Assert.Equal("console", range.Body);

        // 304 for the variant the client holds.
        var again = await Get(h2, proxy, "/app.js", "Accept-Encoding: gzip", $"If-None-Match: {gzip.Header("ETag")}");
        Assert.Equal(304, again.Status);
        Assert.Equal("Accept-Encoding", again.Header("Vary"));

        // Without precompressed = true the siblings are just files.
        await using var off = TestProxy.Start(_tree.Config());
        var identity = await Get(h2, off, "/app.js", "Accept-Encoding: gzip, br");
        Assert.Null(identity.Header("Content-Encoding"));
        Assert.Null(identity.Header("Vary"));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task The_routes_prefix_is_removed_before_mapping(bool h2)
    {
        await using var proxy = TestProxy.Start(_tree.Config(match: "path_prefix = \"/assets/\""));
        Assert.Equal("hello static\n", (await Get(h2, proxy, "/assets/hello.txt")).Body);
        Assert.Equal("docs page\n", (await Get(h2, proxy, "/assets/docs/page.html")).Body);
        Assert.Equal("<h1>home</h1>\n", (await Get(h2, proxy, "/assets/")).Body);
        Assert.Equal("/assets/docs/", (await Get(h2, proxy, "/assets/docs")).Header("Location"));
        Assert.Equal(404, (await Get(h2, proxy, "/hello.txt")).Status); // no route

        await using var stripped = TestProxy.Start(_tree.Config(routeKeys: "strip_prefix = \"/static\"", match: "path_prefix = \"/static\""));
        Assert.Equal("hello static\n", (await Get(h2, stripped, "/static/hello.txt")).Body);
        Assert.Equal("/static/", (await Get(h2, stripped, "/static")).Header("Location"));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Types_and_dotfiles_keys_apply(bool h2)
    {
        await using var proxy = TestProxy.Start(_tree.Config(", types = { qqq = \"text/x-qqq\" }, dotfiles = true"));
        Assert.Equal("text/x-qqq", (await Get(h2, proxy, "/unknown.qqq")).Header("Content-Type"));
        Assert.Equal("application/manifest+json", (await Get(h2, proxy, "/site.webmanifest")).Header("Content-Type"));
        Assert.Equal(StaticTree.DotenvMarker, (await Get(h2, proxy, "/.env")).Body);
    }

    [Fact]
    public async Task Keep_alive_carries_several_static_answers_in_order()
    {
        await using var proxy = TestProxy.Start(_tree.Config());
        using var client = new RawClient(proxy.Port());
        client.Send("GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\nGET /docs HTTP/1.1\r\nHost: x\r\n\r\nGET /missing HTTP/1.1\r\nHost: x\r\n\r\nGET /data.txt HTTP/1.1\r\nHost: x\r\nRange: bytes=0-2\r\n\r\n");
        var a = await client.ReadResponseAsync();
        Assert.StartsWith("HTTP/1.1 200 OK", a);
        Assert.EndsWith("\r\n\r\nhello static\n", a);
        Assert.StartsWith("HTTP/1.1 301 ", await client.ReadResponseAsync());
        Assert.StartsWith("HTTP/1.1 404 ", await client.ReadResponseAsync());
        var range = await client.ReadResponseAsync();
        Assert.StartsWith("HTTP/1.1 206 ", range);
        Assert.EndsWith("\r\n\r\nabc", range);
    }
}
