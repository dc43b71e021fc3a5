namespace FastProxy.Tests.Infrastructure;

/// <summary>What curl received: the status line's version and status, the head as it came, its fields (names lower-cased) and the body.</summary>
public sealed record CurlResponse(int Status, string Version, string Head, List<(string Name, string Value)> Fields, string Body)
{
    /// <summary>Every value of the field <paramref name="name"/>, in order.</summary>
    public string[] Values(string name) => [.. Fields.Where(f => f.Name == name.ToLowerInvariant()).Select(f => f.Value)];

    /// <summary>The value of a field that is there at most once, or null.</summary>
    public string? Header(string name) => Values(name).SingleOrDefault();

    /// <summary>Whether any field's name starts with access-control-.</summary>
    public bool HasCors => Fields.Any(f => f.Name.StartsWith("access-control-", StringComparison.Ordinal));
}

/// <summary>One curl exchange with the proxy, as a user would make it (see <see cref="Processes.CurlAsync"/> for the raw call).</summary>
public static class Curl
{
    /// <summary>
    /// <c>curl -i</c> over HTTP/1.1, or HTTP/2 (<paramref name="h2"/>: with prior knowledge on http://, by ALPN on
    /// https://), with <paramref name="args"/> before the URL. Asserts that curl succeeded and answered in that version.
    /// </summary>
    public static async Task<CurlResponse> GetAsync(bool h2, string url, params string[] args)
    {
        string version = !h2 ? "--http1.1" : url.StartsWith("https:", StringComparison.Ordinal) ? "--http2" : "--http2-prior-knowledge";
        string[] options = [version, "-i", .. args, url];
        var r = await Processes.CurlAsync(options);
        Assert.True(r.ExitCode == 0, $"curl {string.Join(' ', options)}: exit {r.ExitCode} {r.StdErr}");
        int end = r.StdOut.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        var head = end < 0 ? r.StdOut : r.StdOut[..end];
        var lines = head.Split("\r\n");
        Assert.StartsWith(h2 ? "HTTP/2 " : "HTTP/1.1 ", lines[0]);
        var statusLine = lines[0].Split(' ');
        int status = int.Parse(statusLine[1], System.Globalization.CultureInfo.InvariantCulture);
        var fields = lines.Skip(1).Select(l => (l[..l.IndexOf(':')].ToLowerInvariant(), l[(l.IndexOf(':') + 1)..].Trim())).ToList();
        return new CurlResponse(status, statusLine[0], head, fields, end < 0 ? "" : r.StdOut[(end + 4)..]);
    }

    /// <summary>As <see cref="GetAsync"/>, each of <paramref name="headers"/> sent as a request field ("Name: value").</summary>
    public static Task<CurlResponse> WithHeadersAsync(bool h2, string url, params string[] headers)
        => GetAsync(h2, url, [.. headers.SelectMany(h => new[] { "-H", h })]);
}
