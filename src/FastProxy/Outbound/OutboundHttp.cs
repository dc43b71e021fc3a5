using System.Buffers;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Text;
using FastProxy.Diagnostics;
using FastProxy.Policies.Pipeline;
using HttpMethod = System.Net.Http.HttpMethod;

namespace FastProxy.Outbound;

/// <summary>
/// The HTTP client of the gateway's own calls (forward_auth's question, a JWKS fetch): what policies reach through
/// <see cref="IOutboundHttp"/>, since they know nothing of sockets. One per process (<see cref="Shared"/>), across
/// reloads, so keep-alive connections to an auth service are pooled and reused by every request and configuration.
/// Not the request path's forwarder: these calls are few, their answers small, and HttpClient's allocations are
/// acceptable here.
/// </summary>
/// <remarks>
/// SocketsHttpHandler, set for a proxy calling a service of its own: redirects are answers, never followed (a 302 to
/// a login page is for the client); no cookie container (cookies belong to the client whose request is asked about);
/// no HTTP_PROXY from the environment (a reverse proxy's auth service is not reached through a forward proxy); no
/// decompression; header bytes kept as Latin-1 both ways, so a client's obs-text goes out and comes back unchanged.
/// Each call has its own deadline for the whole exchange (connect, answer head, body), and the body is read up to
/// <see cref="OutboundRequest.MaxResponseBytes"/>. HTTP status codes are answers (a 5xx is logged, not thrown);
/// transport failures throw <see cref="HttpRequestException"/> (<see cref="HttpRequestError.ConnectionError"/> when
/// nothing answered, <see cref="HttpRequestError.ConfigurationLimitExceeded"/> for an answer too large), and a call
/// past its deadline throws <see cref="TimeoutException"/>. Failures are logged, one line per URL and kind every 10 s.
/// </remarks>
internal sealed class OutboundHttp : IOutboundHttp, IDisposable
{
    // A connect that takes longer than this will not make any auth deadline (forward_auth's default is 2 s); the
    // per-call deadline still applies when it is shorter.
    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(5);

    // Beyond this many connections to one service, calls wait for a free one within their own deadline: a flood of
    // slow answers must not open one socket per waiting request without end.
    private const int MaxConnectionsPerServer = 1024;

    // Distinct URLs whose failures are throttled separately; they come from the config, so a handful in practice.
    private const int MaxThrottledUrls = 256;

    /// <summary>The process's client; what the gateway is built with: <c>new PolicySet(config, OutboundHttp.Shared)</c>.</summary>
    // After the constants above: static fields are set in the order written.
    public static OutboundHttp Shared { get; } = new();

    private readonly HttpMessageInvoker _invoker;
    private readonly ConcurrentDictionary<string, LogThrottle> _failureLogs = new(StringComparer.Ordinal);
    private readonly LogThrottle _otherUrls = new();

    public OutboundHttp()
    {
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            UseCookies = false,
            UseProxy = false,
            AutomaticDecompression = DecompressionMethods.None,
            ConnectTimeout = ConnectTimeout,
            // Idle connections go after a minute; every connection is replaced after five, so a service moved to
            // another address (DNS) is found without a restart.
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(60),
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            MaxConnectionsPerServer = MaxConnectionsPerServer,
            // KiB: an auth answer's head is a few cookies and a Location.
            MaxResponseHeadersLength = 64,
            RequestHeaderEncodingSelector = static (_, _) => Encoding.Latin1,
            ResponseHeaderEncodingSelector = static (_, _) => Encoding.Latin1,
            // No traceparent of the proxy's own on calls a policy makes; a policy that wants one sends it.
            ActivityHeadersPropagator = null,
        };
        _invoker = new HttpMessageInvoker(handler, disposeHandler: true);
    }

    public async Task<OutboundResponse> SendAsync(OutboundRequest request, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(request.Timeout);
        using var message = new HttpRequestMessage(Method(request.Method), request.Url);
        foreach (var (name, value) in request.Headers) message.Headers.TryAddWithoutValidation(name, value);
        try
        {
            using var response = await _invoker.SendAsync(message, deadline.Token).ConfigureAwait(false);
            var headers = new List<KeyValuePair<string, string>>();
            Collect(response.Headers.NonValidated, headers);
            Collect(response.Content.Headers.NonValidated, headers);
            var body = await ReadBodyAsync(response.Content, request.MaxResponseBytes, deadline.Token).ConfigureAwait(false);
            int status = (int)response.StatusCode;
            if (status >= 500) Failed(request.Url, RepeatedFailure.Response, $"answered {status}");
            return new OutboundResponse { Status = status, Headers = headers, Body = body };
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            var text = $"no answer within {Durations(request.Timeout)}";
            Failed(request.Url, RepeatedFailure.Timeout, text);
            throw new TimeoutException($"{Describe(request.Url)}: {text}");
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            // The handler's own connect timeout (longer than most deadlines): nothing answered.
            Failed(request.Url, RepeatedFailure.Connect, "connect timed out");
            throw new HttpRequestException(HttpRequestError.ConnectionError, $"{Describe(request.Url)}: connect timed out", ex);
        }
        catch (HttpRequestException ex)
        {
            Failed(request.Url, ex.HttpRequestError is HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError
                ? RepeatedFailure.Connect : RepeatedFailure.Response, Message(ex));
            throw;
        }
    }

    public void Dispose() => _invoker.Dispose();

    private static HttpMethod Method(string method) => method switch
    {
        "GET" => HttpMethod.Get,
        "HEAD" => HttpMethod.Head,
        "POST" => HttpMethod.Post,
        _ => new HttpMethod(method),
    };

    private static void Collect(HttpHeadersNonValidated source, List<KeyValuePair<string, string>> into)
    {
        // Each value on its own (Set-Cookie is never joined), as received.
        foreach (var (name, values) in source)
        {
            foreach (var value in values) into.Add(new(name, value));
        }
    }

    private static async Task<byte[]> ReadBodyAsync(HttpContent content, int max, CancellationToken cancellationToken)
    {
        if (content.Headers.ContentLength > max) throw TooLarge(max);
        using var stream = await content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Min(max + 1, 16 * 1024));
        try
        {
            int filled = 0;
            while (true)
            {
                if (filled == buffer.Length)
                {
                    // One byte past the bound tells a body of exactly max bytes from a longer one.
                    if (filled > max) throw TooLarge(max);
                    var larger = ArrayPool<byte>.Shared.Rent(Math.Min(max + 1, buffer.Length * 2));
                    buffer.AsSpan(0, filled).CopyTo(larger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = larger;
                }
                int read = await stream.ReadAsync(buffer.AsMemory(filled, Math.Min(buffer.Length, max + 1) - filled), cancellationToken).ConfigureAwait(false);
                if (read == 0) break;
                filled += read;
                if (filled > max) throw TooLarge(max);
            }
            return buffer.AsSpan(0, filled).ToArray();
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static HttpRequestException TooLarge(int max) =>
        new(HttpRequestError.ConfigurationLimitExceeded, $"answer body larger than {max} bytes");

    private void Failed(Uri url, RepeatedFailure kind, string error)
    {
        var key = Describe(url);
        if (!_failureLogs.TryGetValue(key, out var throttle))
        {
            throttle = _failureLogs.Count < MaxThrottledUrls ? _failureLogs.GetOrAdd(key, static _ => new LogThrottle()) : _otherUrls;
        }
        if (throttle.ShouldLog(kind, out var repeats)) Log.OutboundFailed(key, error, repeats);
    }

    /// <summary>The URL without its query or fragment: what a log line may show.</summary>
    private static string Describe(Uri url) => url.GetLeftPart(UriPartial.Path);

    private static string Durations(TimeSpan timeout) =>
        timeout.TotalSeconds >= 1 && timeout.Milliseconds == 0 ? $"{(long)timeout.TotalSeconds}s" : $"{(long)timeout.TotalMilliseconds}ms";

    /// <summary>The innermost message: "Connection refused (127.0.0.1:9000)" rather than the wrapper's.</summary>
    private static string Message(Exception ex)
    {
        while (ex.InnerException is { } inner) ex = inner;
        return ex.Message;
    }
}
