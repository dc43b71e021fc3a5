using System.Net.Sockets;
using System.Text;
using FastProxy.StaticFiles;
using FastProxy.Tests.Gateway;
using FastProxy.Tests.Infrastructure;

namespace FastProxy.Tests.StaticFiles;

/// <summary>
/// Static files: several ranges as multipart/byteranges (RFC 9110 §14.6, laid out as nginx lays them out), If-Match and
/// If-Unmodified-Since (412, §13.1.1 / §13.1.4, evaluated before If-None-Match), If-Range with a validator that does not
/// match (the whole file). curl over HTTP/1.1 and h2c (prior knowledge), a raw socket for the framing.
/// </summary>
public sealed class StaticRangesTests : IDisposable
{
    private readonly StaticTree _tree = new();

    public void Dispose() => _tree.Dispose();

    private static Task<CurlResponse> Get(bool h2, TestProxy proxy, string path, params string[] headers) =>
        CurlAnswer.GetAsync(h2, $"http://127.0.0.1:{proxy.Port()}{path}", headers);

    private static string Boundary(CurlResponse answer)
    {
        var type = answer.Header("Content-Type")!;
        Assert.StartsWith("multipart/byteranges; boundary=", type);
        return type["multipart/byteranges; boundary=".Length..];
    }

    /// <summary>The body nginx would send for these ranges (its layout: each part after a CRLF, the closing delimiter ending in CRLF).</summary>
    private static string Multipart(string boundary, string type, string data, params (int From, int To)[] ranges)
    {
        var body = new StringBuilder();
        foreach (var (from, to) in ranges)
        {
            body.Append($"\r\n--{boundary}\r\nContent-Type: {type}\r\nContent-Range: bytes {from}-{to}/{data.Length}\r\n\r\n");
            body.Append(data[from..(to + 1)]);
        }
        body.Append($"\r\n--{boundary}--\r\n");
        return body.ToString();
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Curl_r_with_two_ranges_gets_multipart_byteranges(bool h2)
    {
        await using var proxy = TestProxy.Start(_tree.Config());
        string data = Encoding.ASCII.GetString(_tree.Data);
        string type = (await Get(h2, proxy, "/data.txt")).Header("Content-Type")!;

        var answer = await Curl.GetAsync(h2, $"http://127.0.0.1:{proxy.Port()}/data.txt", "-r", "0-1,3-4");

        Assert.Equal(206, answer.Status);
        string boundary = Boundary(answer);
        Assert.Matches("^[0-9a-f]{24}$", boundary);
        Assert.Equal(Multipart(boundary, type, data, (0, 1), (3, 4)), answer.Body);
        Assert.Equal(answer.Body.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), answer.Header("Content-Length"));
        Assert.Null(answer.Header("Content-Range")); // the parts carry theirs
        Assert.NotNull(answer.Header("ETag"));

        // In the order asked, not merged or sorted; a suffix and an open range are parts too.
        var mixed = await Get(h2, proxy, "/data.txt", "Range: bytes=990-, 5-6, -3");
        Assert.Equal(206, mixed.Status);
        Assert.Equal(Multipart(Boundary(mixed), type, data, (990, 999), (5, 6), (997, 999)), mixed.Body);
        Assert.NotEqual(boundary, Boundary(mixed)); // a new boundary for every response
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Unsatisfiable_overlapping_and_too_many_ranges_answer_as_nginx_does(bool h2)
    {
        await using var proxy = TestProxy.Start(_tree.Config());
        string data = Encoding.ASCII.GetString(_tree.Data);

        // One satisfiable range among unsatisfiable ones: a plain 206 of it.
        var one = await Get(h2, proxy, "/data.txt", "Range: bytes=0-1,2000-3000");
        Assert.Equal(206, one.Status);
        Assert.Equal("bytes 0-1/1000", one.Header("Content-Range"));
        Assert.Equal(data[..2], one.Body);

        // None satisfiable: 416.
        var none = await Get(h2, proxy, "/data.txt", "Range: bytes=2000-,3000-3001");
        Assert.Equal(416, none.Status);
        Assert.Equal("bytes */1000", none.Header("Content-Range"));

        // Ranges adding up to more than the file (overlap), or more than 16 of them: the whole file, 200.
        var overlap = await Get(h2, proxy, "/data.txt", "Range: bytes=0-599,400-999");
        Assert.Equal((200, data), (overlap.Status, overlap.Body));
        var many = await Get(h2, proxy, "/data.txt", "Range: bytes=" + string.Join(",", Enumerable.Range(0, 17).Select(i => $"{i * 10}-{i * 10 + 1}")));
        Assert.Equal((200, data), (many.Status, many.Body));
        var sixteen = await Get(h2, proxy, "/data.txt", "Range: bytes=" + string.Join(",", Enumerable.Range(0, 16).Select(i => $"{i * 10}-{i * 10 + 1}")));
        Assert.Equal(206, sixteen.Status);

        // A malformed range anywhere in the list: the field is ignored.
        var malformed = await Get(h2, proxy, "/data.txt", "Range: bytes=0-1,x-3");
        Assert.Equal((200, data), (malformed.Status, malformed.Body));

        // HEAD ignores Range.
        var head = await Processes.CurlAsync("-i", "-I", h2 ? "--http2-prior-knowledge" : "--http1.1", "-r", "0-1,3-4", $"http://127.0.0.1:{proxy.Port()}/data.txt");
        Assert.Contains(h2 ? "HTTP/2 200" : "HTTP/1.1 200", head.StdOut);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task If_Match_and_If_Unmodified_Since_that_fail_get_412_before_anything_else(bool h2)
    {
        await using var proxy = TestProxy.Start(_tree.Config());
        string data = Encoding.ASCII.GetString(_tree.Data);
        var plain = await Get(h2, proxy, "/data.txt");
        string etag = plain.Header("ETag")!, lastModified = plain.Header("Last-Modified")!;

        var failed = await Get(h2, proxy, "/data.txt", "If-Match: \"other\"");
        Assert.Equal(412, failed.Status);
        Assert.Equal("", failed.Body);
        Assert.Equal("0", failed.Header("Content-Length"));
        Assert.Equal(412, (await Get(h2, proxy, "/data.txt", $"If-Match: W/{etag}")).Status); // compared strongly
        Assert.Equal(200, (await Get(h2, proxy, "/data.txt", "If-Match: *")).Status);
        var matched = await Get(h2, proxy, "/data.txt", $"If-Match: \"other\", {etag}");
        Assert.Equal((200, data), (matched.Status, matched.Body));

        Assert.Equal(412, (await Get(h2, proxy, "/data.txt", "If-Unmodified-Since: Sun, 06 Nov 1994 08:49:37 GMT")).Status);
        Assert.Equal(200, (await Get(h2, proxy, "/data.txt", $"If-Unmodified-Since: {lastModified}")).Status);
        Assert.Equal(200, (await Get(h2, proxy, "/data.txt", "If-Unmodified-Since: not a date")).Status); // ignored
        // §13.2.2: If-Unmodified-Since only without If-Match.
        Assert.Equal(200, (await Get(h2, proxy, "/data.txt", $"If-Match: {etag}", "If-Unmodified-Since: Sun, 06 Nov 1994 08:49:37 GMT")).Status);
        // 412 comes before 304 and before ranges.
        Assert.Equal(412, (await Get(h2, proxy, "/data.txt", "If-Match: \"other\"", $"If-None-Match: {etag}")).Status);
        Assert.Equal(412, (await Get(h2, proxy, "/data.txt", "If-Match: \"other\"", "Range: bytes=0-1,3-4")).Status);
        Assert.Equal(304, (await Get(h2, proxy, "/data.txt", $"If-Match: {etag}", $"If-None-Match: {etag}")).Status);
        var head = await Processes.CurlAsync("-i", "-I", h2 ? "--http2-prior-knowledge" : "--http1.1", "-H", "If-Match: \"other\"", $"http://127.0.0.1:{proxy.Port()}/data.txt");
        Assert.Contains(h2 ? "HTTP/2 412" : "HTTP/1.1 412", head.StdOut);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task If_Range_that_does_not_match_gets_the_whole_file(bool h2)
    {
        await using var proxy = TestProxy.Start(_tree.Config());
        string data = Encoding.ASCII.GetString(_tree.Data);
        var plain = await Get(h2, proxy, "/data.txt");
        string etag = plain.Header("ETag")!, lastModified = plain.Header("Last-Modified")!;

        var oldTag = await Get(h2, proxy, "/data.txt", "Range: bytes=0-1,3-4", "If-Range: \"old\"");
        Assert.Equal((200, data), (oldTag.Status, oldTag.Body));
        var weak = await Get(h2, proxy, "/data.txt", "Range: bytes=0-4", $"If-Range: W/{etag}");
        Assert.Equal((200, data), (weak.Status, weak.Body));
        var oldDate = await Get(h2, proxy, "/data.txt", "Range: bytes=0-4", "If-Range: Sun, 06 Nov 1994 08:49:37 GMT");
        Assert.Equal((200, data), (oldDate.Status, oldDate.Body));

        var sameDate = await Get(h2, proxy, "/data.txt", "Range: bytes=0-4", $"If-Range: {lastModified}");
        Assert.Equal((206, data[..5]), (sameDate.Status, sameDate.Body));
        var sameTag = await Get(h2, proxy, "/data.txt", "Range: bytes=0-1,3-4", $"If-Range: {etag}");
        Assert.Equal(206, sameTag.Status);
        Assert.StartsWith("multipart/byteranges", sameTag.Header("Content-Type"));
    }

    /// <summary>Keep-alive framing: a multipart answer's Content-Length is exact, so the next answer on the connection reads right.</summary>
    [Fact]
    public async Task A_multipart_answer_is_framed_exactly_on_a_kept_connection()
    {
        await using var proxy = TestProxy.Start(_tree.Config());
        using var client = new TcpClient();
        await client.ConnectAsync("127.0.0.1", proxy.Port());
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(
            "GET /data.txt HTTP/1.1\r\nHost: x\r\nRange: bytes=1-2,10-12,500-\r\n\r\nGET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n"));
        var received = new MemoryStream();
        var buffer = new byte[8192];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        while (!Encoding.ASCII.GetString(received.ToArray()).EndsWith("hello static\n", StringComparison.Ordinal))
        {
            int read = await stream.ReadAsync(buffer, timeout.Token);
            if (read == 0) break;
            received.Write(buffer, 0, read);
        }
        string text = Encoding.ASCII.GetString(received.ToArray());

        int headEnd = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        string head = text[..headEnd];
        Assert.StartsWith("HTTP/1.1 206 Partial Content\r\n", head);
        int length = int.Parse(head.Split("\r\n").Single(l => l.StartsWith("Content-Length:", StringComparison.Ordinal))[15..].Trim(),
            System.Globalization.CultureInfo.InvariantCulture);
        string body = text.Substring(headEnd + 4, length);
        string boundary = head.Split("\r\n").Single(l => l.StartsWith("Content-Type:", StringComparison.Ordinal)).Split("boundary=")[1];
        Assert.EndsWith($"\r\n--{boundary}--\r\n", body);
        Assert.Equal(3, body.Split($"--{boundary}\r\n").Length - 1);
        Assert.StartsWith("HTTP/1.1 200 OK\r\n", text[(headEnd + 4 + length)..]);
    }

    [Theory]
    [InlineData("bytes=0-1,3-4", 10, RangeKind.Multiple, new long[] { 0, 2, 3, 2 })]
    [InlineData("bytes=0-1,,3-4", 10, RangeKind.Multiple, new long[] { 0, 2, 3, 2 })]
    [InlineData("bytes=0-1,20-30", 10, RangeKind.Single, new long[] { 0, 2 })]
    [InlineData("bytes=20-30,40-", 10, RangeKind.Unsatisfiable, new long[0])]
    [InlineData("bytes=0-5,2-9", 10, RangeKind.None, new long[0])]
    [InlineData("bytes=0-,0-", 10, RangeKind.None, new long[0])]
    [InlineData("bytes=-2, 0-0", 10, RangeKind.Multiple, new long[] { 8, 2, 0, 1 })]
    [InlineData("bytes=0-1,a-2", 10, RangeKind.None, new long[0])]
    [InlineData("bytes=,", 10, RangeKind.None, new long[0])]
    public void Parses_range_sets(string value, long size, RangeKind kind, long[] expected)
    {
        var ranges = new long[2 * ByteRange.MaxRanges];
        Assert.Equal(kind, ByteRange.ParseSet(Encoding.ASCII.GetBytes(value), size, ranges, out int count));
        Assert.Equal(expected, ranges[..(2 * count)]);
    }
}
