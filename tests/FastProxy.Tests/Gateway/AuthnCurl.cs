using FastProxy.Tests.Infrastructure;

namespace FastProxy.Tests.Gateway;

/// <summary>One curl exchange with the proxy, over HTTP/1.1 or h2c with prior knowledge, as a user would make it.</summary>
internal static class CurlAnswer
{
    public static Task<CurlResponse> GetAsync(bool h2, string url, params string[] headers) => Curl.WithHeadersAsync(h2, url, headers);
}
