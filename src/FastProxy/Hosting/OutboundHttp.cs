using System.Net;
using System.Net.Http;
using FastProxy.Policies.Pipeline;

namespace FastProxy.Hosting;

/// <summary>
/// The HTTP client gateway policies call through (forward_auth, JWKS): pooled connections, no redirects followed, no
/// cookies, bounded answers. One per process.
/// </summary>
internal sealed class OutboundHttp : IOutboundHttp
{
    public static OutboundHttp Shared { get; } = new();

    private readonly HttpClient _client = new(new SocketsHttpHandler
    {
        AllowAutoRedirect = false,
        UseCookies = false,
        UseProxy = false,
        AutomaticDecompression = DecompressionMethods.None,
        ConnectTimeout = TimeSpan.FromSeconds(5),
        PooledConnectionIdleTimeout = TimeSpan.FromSeconds(60),
    })
    {
        Timeout = Timeout.InfiniteTimeSpan,
    };

    public async Task<OutboundResponse> SendAsync(OutboundRequest request, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(request.Timeout);
        using var message = new HttpRequestMessage(new HttpMethod(request.Method), request.Url);
        foreach (var (name, value) in request.Headers) message.Headers.TryAddWithoutValidation(name, value);
        using var response = await _client.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
        var headers = new List<KeyValuePair<string, string>>();
        foreach (var (name, values) in response.Headers) foreach (var v in values) headers.Add(new(name, v));
        foreach (var (name, values) in response.Content.Headers) foreach (var v in values) headers.Add(new(name, v));
        await using var stream = await response.Content.ReadAsStreamAsync(timeout.Token).ConfigureAwait(false);
        var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await stream.ReadAsync(chunk, timeout.Token).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + read > request.MaxResponseBytes) throw new HttpRequestException($"answer over {request.MaxResponseBytes} bytes");
            buffer.Write(chunk, 0, read);
        }
        return new OutboundResponse { Status = (int)response.StatusCode, Headers = headers, Body = buffer.ToArray() };
    }
}
