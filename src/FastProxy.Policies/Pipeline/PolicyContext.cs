using System.Text;
using FastProxy.Http1;
using FastProxy.Policies.ClientIdentity;
using FastProxy.Policies.Consumers;

namespace FastProxy.Policies.Pipeline;

/// <summary>
/// The one view of a request that policies get, whatever protocol it came in on (an HTTP/2 stream reaches the chain
/// as the same request head an HTTP/1.1 request does): method, target, headers, client, route, and what earlier
/// policies found (consumer, claims). Changes are recorded, not applied: the forwarder writes the upstream's request
/// head (and the client's response head) with them. One per connection, reset per request; nothing here allocates
/// in steady state.
/// </summary>
public sealed partial class PolicyContext
{
    private RequestHead _request = null!;
    private ReadOnlyMemory<byte> _head;

    /// <summary>Starts a request: the head as parsed and its bytes, the resolved client, the route that matched (null: none).</summary>
    public void Begin(RequestHead request, ReadOnlyMemory<byte> head, in IpValue client, ReadOnlySpan<byte> clientText, string? route, bool secure)
    {
        _request = request;
        _head = head;
        Client = client;
        clientText.CopyTo(_clientText);
        _clientTextLength = clientText.Length;
        Route = route;
        Secure = secure;
        Consumer = null;
        Claims = null;
        _requestIdLength = 0;
        ResponseBodyPolicy = null;
        CacheExchange?.Reset();
        ResetEdits();
        ResetUpstream();
        ResetAbort();
    }

    /// <summary>
    /// The head's bytes were copied elsewhere (the same bytes, so every offset still holds): the forwarder calls this
    /// before it lets the receive buffer go while response-side policies will still read the request.
    /// </summary>
    public void MoveHead(ReadOnlyMemory<byte> head) => _head = head;

    public RequestHead Request => _request;

    /// <summary>The bytes <see cref="Request"/>'s offsets point into.</summary>
    public ReadOnlySpan<byte> Head => _head.Span;

    public HttpMethod Method => _request.Method;
    public ReadOnlySpan<byte> MethodBytes => _request.MethodBytes(Head);
    /// <summary>The path in normal form, without the query.</summary>
    public ReadOnlySpan<byte> Path => _request.Path(Head);
    /// <summary>The query without its '?'; empty when there is none.</summary>
    public ReadOnlySpan<byte> Query
    {
        get
        {
            var pathAndQuery = _request.PathAndQuery(Head);
            return pathAndQuery.Length > _request.PathLength ? pathAndQuery[(_request.PathLength + 1)..] : default;
        }
    }
    public ReadOnlySpan<byte> Host => _request.HostName(Head);

    /// <summary>The client as [client_ip] resolved it (the peer, unless a trusted proxy said otherwise).</summary>
    public IpValue Client { get; private set; }
    private readonly byte[] _clientText = new byte[46];
    private int _clientTextLength;
    public ReadOnlySpan<byte> ClientText => _clientText.AsSpan(0, _clientTextLength);

    /// <summary>The [[routes]] name; null when no route matched (listener policies still run).</summary>
    public string? Route { get; private set; }

    /// <summary>The request came over TLS.</summary>
    public bool Secure { get; private set; }

    /// <summary>Who the request is from, once an authentication policy said so.</summary>
    public Consumer? Consumer { get; set; }

    /// <summary>A verified token's claims, once a jwt policy checked one.</summary>
    public IClaims? Claims { get; set; }

    public int HeaderCount => _request.FieldCount;
    public ReadOnlySpan<byte> HeaderName(int index) => _request.Fields[index].Name(Head);
    public ReadOnlySpan<byte> HeaderValue(int index) => _request.Fields[index].Value(Head);

    /// <summary>The index of the first field named <paramref name="name"/> (case-insensitive) at or after <paramref name="from"/>; -1: none.</summary>
    public int FindHeader(ReadOnlySpan<byte> name, int from = 0)
    {
        var fields = _request.Fields;
        var head = Head;
        for (int i = from; i < fields.Length; i++)
        {
            if (fields[i].NameLength == name.Length && Ascii.EqualsIgnoreCase(fields[i].Name(head), name)) return i;
        }
        return -1;
    }

    public bool TryGetHeader(ReadOnlySpan<byte> name, out ReadOnlySpan<byte> value)
    {
        int index = FindHeader(name);
        value = index < 0 ? default : HeaderValue(index);
        return index >= 0;
    }

    /// <summary>Reads one query parameter's raw (still percent-encoded) value; the first occurrence wins.</summary>
    public bool TryGetQuery(ReadOnlySpan<byte> name, out ReadOnlySpan<byte> value, out Range where)
    {
        var query = Query;
        int offset = 0;
        while (offset <= query.Length && !query.IsEmpty)
        {
            var rest = query[offset..];
            int amp = rest.IndexOf((byte)'&');
            var pair = amp < 0 ? rest : rest[..amp];
            int eq = pair.IndexOf((byte)'=');
            var key = eq < 0 ? pair : pair[..eq];
            if (key.SequenceEqual(name))
            {
                value = eq < 0 ? default : pair[(eq + 1)..];
                where = new Range(offset, offset + pair.Length);
                return true;
            }
            if (amp < 0) break;
            offset += amp + 1;
        }
        value = default;
        where = default;
        return false;
    }

    /// <summary>Looks up a cookie's value in the Cookie fields.</summary>
    public bool TryGetCookie(ReadOnlySpan<byte> name, out ReadOnlySpan<byte> value)
    {
        for (int i = FindHeader("cookie"u8); i >= 0; i = FindHeader("cookie"u8, i + 1))
        {
            if (CookieList.TryFind(HeaderValue(i), name, out value)) return true;
        }
        value = default;
        return false;
    }
}

/// <summary>A verified token's claims, looked up by name (policies do not depend on how the token was read).</summary>
public interface IClaims
{
    /// <summary>A string or number claim's text (a number as written in the token).</summary>
    bool TryGetText(ReadOnlySpan<byte> name, out ReadOnlySpan<byte> value);

    /// <summary>True when the claim equals <paramref name="value"/>, or is a list that contains it.</summary>
    bool Contains(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value);
}
