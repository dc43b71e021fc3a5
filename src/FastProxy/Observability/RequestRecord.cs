using System.Diagnostics;
using System.Text;
using FastProxy.Hosting;
using FastProxy.Http1;
using FastProxy.Policies.ClientIdentity;
using FastProxy.Policies.Consumers;
using FastProxy.Routing;
using FastProxy.Upstreams;
using HttpMethod = FastProxy.Http1.HttpMethod;

namespace FastProxy.Observability;

/// <summary>
/// What is known of one request when it ends, for the metrics, the access log and traces. One instance per HTTP/1.1
/// client connection, or per HTTP/2 stream's exchange (both are pooled Http1Connections): <see cref="Begin"/> resets it
/// at each request's first byte, the request path fills it as it goes (numbers, and references to objects that
/// already exist: the listener, route, upstream and server, the consumer), and ObservabilityHub.Complete hands it
/// to the observers once, whatever way the request ended. Made only while some observer is registered.
/// </summary>
/// <remarks>
/// The request's text (host, path, query, user agent, request id, client address) is copied into one array of this
/// record when some observer asked for it (<see cref="IRequestObserver.WantsText"/>): the head's bytes live in the
/// receive buffer, which is consumed as soon as the request is forwarded. That array grows to the largest request
/// seen on the connection and is kept, so steady state allocates nothing.
/// </remarks>
internal sealed class RequestRecord
{
    /// <summary>The most text kept per request (a head has at most max_request_line + max_header_bytes anyway).</summary>
    private const int MaxText = 16 * 1024;

    private byte[] _text = [];
    private int _textLength;
    private (int Start, int Length) _method, _host, _path, _query, _userAgent, _referer, _requestId, _client;

    /// <summary>Stopwatch ticks when the request's first byte was read (HTTP/2: when its HEADERS were handed to the exchange).</summary>
    public long StartTimestamp;

    /// <summary>Stopwatch ticks when the request ended (set by the hub just before the observers run).</summary>
    public long EndTimestamp;

    /// <summary>The listener's view of the configuration generation the request was served under.</summary>
    public ListenerRuntime Listener = null!;

    public RequestProtocol Protocol;

    /// <summary>TLS was terminated on the client connection.</summary>
    public bool Tls;

    /// <summary><see cref="HttpMethod.Custom"/> for any other token (its text is <see cref="MethodText"/> when captured).</summary>
    public HttpMethod Method;

    public HttpVersion Version;

    /// <summary>The status sent to the client; 0 when nothing was (the client went away, a tunnel's end).</summary>
    public int Status;

    /// <summary>Request bytes received: head plus body as framed on the wire (HTTP/2: the converted HTTP/1.1 bytes).</summary>
    public long BytesIn;

    /// <summary>Response bytes sent: head plus body (HTTP/2: before conversion to frames).</summary>
    public long BytesOut;

    /// <summary>The route that matched; null when none did.</summary>
    public Route? Route;

    /// <summary>The upstream the request was sent to (the route's); null when it never left the proxy.</summary>
    public Upstream? Upstream;

    /// <summary>The last server the request was sent to (after retries, the one that answered or failed last).</summary>
    public UpstreamServer? Server;

    /// <summary>Stopwatch ticks when the request (head) was last sent to a server, and when its response head arrived; 0: not reached.</summary>
    public long UpstreamSentTimestamp;
    public long UpstreamHeadTimestamp;

    /// <summary>Servers tried beyond the first (retries and fresh connections after a stale one).</summary>
    public int Retries;

    /// <summary>Who the gateway found the client to be (api_key, basic_auth, jwt...); null: anonymous or no policies.</summary>
    public Consumer? Consumer;

    /// <summary>The policy that answered, when one did (its counter names policy, type and reason).</summary>
    public Policies.Pipeline.RejectionCounter? AnsweredBy;

    /// <summary>The client as [client_ip] resolved it (the peer when nothing is trusted); default when not parsed.</summary>
    public IpValue Client;
    public bool HasClient;

    public RequestFlags Flags;

    /// <summary>The request's trace context and id (set at completion; null when the request never got a parsed head).</summary>
    public Tracing.RequestTrace? Trace;

    /// <summary>True once <see cref="CaptureHead"/> copied the request's text.</summary>
    public bool HasText { get; private set; }

    /// <summary>Duration in seconds from the first byte to the end.</summary>
    public double DurationSeconds => (EndTimestamp - StartTimestamp) / (double)Stopwatch.Frequency;

    /// <summary>Request sent to response head received, in seconds; negative when the request never got a response head.</summary>
    public double UpstreamSeconds => UpstreamHeadTimestamp == 0 || UpstreamSentTimestamp == 0 ? -1
        : (UpstreamHeadTimestamp - UpstreamSentTimestamp) / (double)Stopwatch.Frequency;

    public ReadOnlySpan<byte> MethodText => Slice(_method);
    public ReadOnlySpan<byte> Host => Slice(_host);
    /// <summary>The path as routed (normalised), without the query.</summary>
    public ReadOnlySpan<byte> Path => Slice(_path);
    /// <summary>The query without its '?'; empty when none.</summary>
    public ReadOnlySpan<byte> Query => Slice(_query);
    public ReadOnlySpan<byte> UserAgent => Slice(_userAgent);
    /// <summary>The Referer field's value (the access log's combined format); empty when none.</summary>
    public ReadOnlySpan<byte> Referer => Slice(_referer);
    /// <summary>The request id (the policy chain's, or whatever <see cref="SetRequestId"/> was given); empty when none.</summary>
    public ReadOnlySpan<byte> RequestId => Slice(_requestId);
    /// <summary>The client address as text (the resolved client's, else the peer's).</summary>
    public ReadOnlySpan<byte> ClientText => Slice(_client);

    /// <summary>A new request starts on this connection or stream.</summary>
    public void Begin(ListenerRuntime listener, RequestProtocol protocol, bool tls)
    {
        StartTimestamp = Stopwatch.GetTimestamp();
        EndTimestamp = 0;
        Listener = listener;
        Protocol = protocol;
        Tls = tls;
        Method = HttpMethod.Custom;
        Version = HttpVersion.Http11;
        Status = 0;
        BytesIn = 0;
        BytesOut = 0;
        Route = null;
        Upstream = null;
        Server = null;
        UpstreamSentTimestamp = 0;
        UpstreamHeadTimestamp = 0;
        Retries = 0;
        Consumer = null;
        AnsweredBy = null;
        Client = default;
        HasClient = false;
        Flags = RequestFlags.None;
        Trace = null;
        HasText = false;
        _textLength = 0;
        _method = _host = _path = _query = _userAgent = _referer = _requestId = _client = default;
    }

    /// <summary>Lets go of the last request's references (the connection goes back to its pool, or idles).</summary>
    public void Clear()
    {
        Listener = null!;
        Route = null;
        Upstream = null;
        Server = null;
        Consumer = null;
        AnsweredBy = null;
        Trace = null;
    }

    /// <summary>The parsed head: method and version always; the text only when <paramref name="text"/> (some observer reads it).</summary>
    public void CaptureHead(RequestHead head, ReadOnlySpan<byte> bytes, bool text)
    {
        Method = head.Method;
        Version = head.Version;
        if (!text) return;
        HasText = true;
        _textLength = 0;
        _method = Append(head.MethodBytes(bytes));
        _host = Append(head.Host(bytes));
        _path = Append(head.Path(bytes));
        var pathAndQuery = head.PathAndQuery(bytes);
        _query = pathAndQuery.Length > head.PathLength + 1 ? Append(pathAndQuery[(head.PathLength + 1)..]) : default;
        _userAgent = _referer = default;
        foreach (var field in head.Fields)
        {
            if (field.NameLength == 10 && _userAgent.Length == 0 && Ascii.EqualsIgnoreCase(field.Name(bytes), "user-agent"u8))
            {
                _userAgent = Append(bytes.Slice(field.ValueStart, field.ValueLength));
            }
            else if (field.NameLength == 7 && _referer.Length == 0 && Ascii.EqualsIgnoreCase(field.Name(bytes), "referer"u8))
            {
                _referer = Append(bytes.Slice(field.ValueStart, field.ValueLength));
            }
        }
    }

    /// <summary>The client address as text (copied; only when text is captured).</summary>
    public void SetClientText(ReadOnlySpan<byte> address)
    {
        if (HasText) _client = Append(address);
    }

    /// <summary>The request id, copied (only when text is captured).</summary>
    public void SetRequestId(ReadOnlySpan<byte> id)
    {
        if (HasText) _requestId = Append(id);
    }

    private ReadOnlySpan<byte> Slice((int Start, int Length) range) => _text.AsSpan(range.Start, range.Length);

    private (int, int) Append(ReadOnlySpan<byte> value)
    {
        int room = MaxText - _textLength;
        if (room <= 0) return default;
        if (value.Length > room) value = value[..room];
        int needed = _textLength + value.Length;
        if (_text.Length < needed)
        {
            // Grows to the largest request seen on this connection, then stays: no allocation in steady state.
            var bigger = new byte[Math.Min(MaxText, Math.Max(needed, Math.Max(256, _text.Length * 2)))];
            _text.AsSpan(0, _textLength).CopyTo(bigger);
            _text = bigger;
        }
        value.CopyTo(_text.AsSpan(_textLength));
        var range = (_textLength, value.Length);
        _textLength = needed;
        return range;
    }
}
