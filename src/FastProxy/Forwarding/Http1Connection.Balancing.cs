using System.IO.Hashing;
using System.Text;
using FastProxy.Balancing;
using FastProxy.Configuration;
using FastProxy.Http1;
using FastProxy.Policies.Pipeline;
using FastProxy.Upstreams;

namespace FastProxy.Forwarding;

/// <summary>
/// What a pick needs beyond the client hash, for upstreams that have it (<see cref="ServerSet.Balancing"/> not null):
/// consistent_hash's key, the server a sticky cookie names, p2c's response times, and the Set-Cookie that makes a
/// client sticky. Nothing here runs for an upstream without them; nothing allocates.
/// </summary>
internal sealed partial class Http1Connection
{
    /// <summary>consistent_hash's key for the request in progress (see <see cref="PrepareBalancing"/>).</summary>
    private ulong _requestKeyHash;
    /// <summary>The server the request's sticky cookie names (by position), or -1.</summary>
    private int _stickyServer = -1;
    /// <summary>A Set-Cookie was added for this request (through the policy context even without a chain).</summary>
    private bool _stickyCookieSet;
    /// <summary>When the request went to the server (Stopwatch), for p2c's response times.</summary>
    private long _upstreamSentTicks;

    /// <summary>Per request, before the first pick: the hash key and the sticky server.</summary>
    private void PrepareBalancing(UpstreamBalancing balancing)
    {
        var head = RequestHeadBytes;
        _requestKeyHash = _requestClientHash;
        switch (balancing.HashKey)
        {
            // A request without the header or cookie is hashed by its client address (HAProxy's and nginx's
            // users expect such requests to spread, not to pile onto the server of the empty key).
            case HashKeyKind.Header:
                if (TryGetHeader(head, balancing.HashKeyName, out var value)) _requestKeyHash = XxHash3.HashToUInt64(value);
                break;
            case HashKeyKind.Cookie:
                if (TryGetCookie(head, balancing.HashKeyName, out var cookie)) _requestKeyHash = XxHash3.HashToUInt64(cookie);
                break;
            case HashKeyKind.Path:
                _requestKeyHash = XxHash3.HashToUInt64(_request.Path(head));
                break;
        }
        _stickyServer = balancing.StickyCookie is { } name && TryGetCookie(head, name, out var id) ? balancing.FindSticky(id) : -1;
    }

    /// <summary>The pick for a server set with <see cref="ServerSet.Balancing"/>: the sticky server if it can take the request, else the balancer's.</summary>
    private int PickBalanced(ServerSet set)
    {
        var excluded = _excluded.AsSpan(0, set.ExclusionWords);
        int sticky = _stickyServer;
        if (sticky >= 0 && sticky < set.Servers.Length && set.Servers[sticky].State.IsAvailable
            && !new PickContext { Excluded = excluded }.IsExcluded(sticky))
        {
            return sticky;
        }
        return set.Balancer.Pick(new PickContext { ClientHash = _requestClientHash, KeyHash = _requestKeyHash, Excluded = excluded });
    }

    /// <summary>p2c: the time from sending the request to its response head, into the server's decaying average.</summary>
    private void RecordResponseTime(BalancedServer server)
    {
        long now = System.Diagnostics.Stopwatch.GetTimestamp();
        server.RecordResponseTime(now - _upstreamSentTicks, now);
    }

    /// <summary>
    /// The response comes from server <paramref name="index"/>: unless the client's cookie already names it, the
    /// response carries a Set-Cookie naming it (a client without the cookie, or whose server is gone or down).
    /// </summary>
    private void SetStickyCookie(UpstreamBalancing balancing, int index)
    {
        if (index == _stickyServer || (uint)index >= (uint)balancing.SetCookieValues.Length) return;
        if (_chain is null)
        {
            // No chain ran: the response-side edits go through a context begun for this request alone.
            _policyContext ??= new PolicyContext();
            _policyContext.Begin(_request, RequestHeadMemory, Peer, ClientAddress, null, false);
        }
        _policyContext!.AddResponseHeader("set-cookie"u8, balancing.SetCookieValues[index]);
        _stickyCookieSet = true;
    }

    private bool TryGetHeader(ReadOnlySpan<byte> head, ReadOnlySpan<byte> name, out ReadOnlySpan<byte> value)
    {
        foreach (ref readonly var field in _request.Fields)
        {
            if (field.NameLength == name.Length && Ascii.EqualsIgnoreCase(field.Name(head), name))
            {
                value = field.Value(head);
                return true;
            }
        }
        value = default;
        return false;
    }

    /// <summary>A cookie's value from the Cookie fields (HTTP/2 clients may split them, RFC 9113 §8.2.3: every one is read).</summary>
    private bool TryGetCookie(ReadOnlySpan<byte> head, ReadOnlySpan<byte> name, out ReadOnlySpan<byte> value)
    {
        foreach (ref readonly var field in _request.Fields)
        {
            if (field.NameLength != 6 || !Ascii.EqualsIgnoreCase(field.Name(head), "cookie"u8)) continue;
            if (CookieList.TryFind(field.Value(head), name, out value)) return true;
        }
        value = default;
        return false;
    }
}
