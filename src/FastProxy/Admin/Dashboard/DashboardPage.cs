using System.Security.Cryptography;
using System.Text;

namespace FastProxy.Admin.Dashboard;

/// <summary>
/// GET /dashboard: one self-contained HTML document (dashboard.html beside this file, embedded in the binary as a
/// manifest resource) that polls /metrics and /upstreams from the browser. The proxy keeps no history for it.
/// <para>
/// Polling rather than server-sent events: the admin listener answers one request per connection and closes it, so a
/// page that asks once a second costs it two short requests and nothing between them, while an event stream would
/// hold a connection and a timer per open tab. /metrics is also exactly what Prometheus reads, so the page shows the
/// same figures an operator's alerts see.
/// </para>
/// <para>
/// Its Content-Security-Policy allows nothing but the page's own inline script and style (by their SHA-256, computed
/// here from the embedded bytes, so no other inline script can run) and fetches to the same origin; no frames, no
/// forms, no external anything.
/// </para>
/// </summary>
internal static class DashboardPage
{
    private const string ResourceName = "FastProxy.Admin.Dashboard.dashboard.html";

    /// <summary>The document, UTF-8.</summary>
    public static byte[] Body { get; } = Load();

    /// <summary>The headers sent with it (each line ending in CRLF), the Content-Security-Policy first.</summary>
    public static string Headers { get; } =
        $"Content-Security-Policy: {Policy(Body)}\r\n" +
        "X-Content-Type-Options: nosniff\r\n" +
        "X-Frame-Options: DENY\r\n" +
        "Referrer-Policy: no-referrer\r\n";

    private static byte[] Load()
    {
        using var stream = typeof(DashboardPage).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"the dashboard page ({ResourceName}) is not embedded in this build");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    /// <summary>
    /// default-src 'none' and then only what the page needs: its one inline script and one inline style by hash,
    /// fetch() to the admin listener itself, and the empty data: favicon (so the browser asks for no /favicon.ico).
    /// </summary>
    internal static string Policy(byte[] page) =>
        "default-src 'none'; " +
        $"script-src '{InlineHash(page, "<script>"u8, "</script>"u8)}'; " +
        $"style-src '{InlineHash(page, "<style>"u8, "</style>"u8)}'; " +
        "connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    /// <summary>'sha256-...' of the text between the first <paramref name="open"/> tag and its closing tag, as CSP hashes it.</summary>
    internal static string InlineHash(ReadOnlySpan<byte> page, ReadOnlySpan<byte> open, ReadOnlySpan<byte> close)
    {
        int start = page.IndexOf(open);
        if (start < 0) throw new InvalidOperationException($"the dashboard page has no {Encoding.ASCII.GetString(open)}");
        start += open.Length;
        int length = page[start..].IndexOf(close);
        if (length < 0) throw new InvalidOperationException($"the dashboard page has no {Encoding.ASCII.GetString(close)}");
        return "sha256-" + Convert.ToBase64String(SHA256.HashData(page.Slice(start, length)));
    }
}
