using FastProxy.Tests.Infrastructure;

namespace FastProxy.Tests.Gateway;

/// <summary>One curl exchange with the proxy, over HTTP/1.1 or h2c with prior knowledge, as a user would make it.</summary>
internal sealed record CurlAnswer(int Status, string Version, string Head, string Body)
{
    /// <summary>The value of a response field (case-insensitive; HTTP/2 names arrive in lower case), or null.</summary>
    public string? Header(string name) => Head.Split("\r\n")
        .Where(l => l.StartsWith(name + ":", StringComparison.OrdinalIgnoreCase))
        .Select(l => l[(name.Length + 1)..].Trim())
        .SingleOrDefault();

    public static async Task<CurlAnswer> GetAsync(bool h2, string url, params string[] headers)
    {
        var args = new List<string> { "-i" };
        args.Add(h2 ? "--http2-prior-knowledge" : "--http1.1");
        foreach (var header in headers)
        {
            args.Add("-H");
            args.Add(header);
        }
        args.Add(url);
        var result = await Processes.CurlAsync([.. args]);
        Assert.True(result.ExitCode == 0, $"curl exited {result.ExitCode}: {result.StdErr}");
        var text = result.StdOut;
        int end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        Assert.True(end > 0, "no response head: " + text);
        var head = text[..end];
        var statusLine = head[..head.IndexOf("\r\n", StringComparison.Ordinal)].Split(' ');
        Assert.Equal(h2 ? "HTTP/2" : "HTTP/1.1", statusLine[0]);
        return new CurlAnswer(int.Parse(statusLine[1], System.Globalization.CultureInfo.InvariantCulture), statusLine[0], head, text[(end + 4)..]);
    }
}
