using FastProxy.Configuration;
using FastProxy.Http1;

namespace FastProxy.Policies.ClientIdentity;

/// <summary>
/// [client_ip]: who the client is. The peer, unless the peer is a trusted proxy: then the forwarding header is read
/// from the nearest hop back, skipping trusted proxies, and the first address that is not one is the client (a client
/// can put anything at the front of the list; only what trusted hops appended counts). Everything that uses the
/// client address (ip_hash, ip_filter, rate-limit keys, X-Forwarded-For, the access log) uses this one answer.
/// </summary>
public sealed class ClientIpResolver
{
    private readonly IpSet _trusted;
    private readonly ForwardedHeader _header;

    public ClientIpResolver(ClientIpConfig config)
    {
        _trusted = new IpSet(config.TrustedProxies);
        _header = config.Header;
    }

    /// <summary>No trusted proxies: the peer is always the client, and the headers are never read.</summary>
    public bool PeerOnly => _trusted.IsEmpty;

    public bool IsTrusted(in IpValue peer) => !_trusted.IsEmpty && _trusted.Contains(peer);

    /// <summary>The client of a request from <paramref name="peer"/>, and whether the peer's forwarding header is to be kept (appended to).</summary>
    public IpValue Resolve(in IpValue peer, RequestHead request, ReadOnlySpan<byte> head, out bool trustedPeer)
    {
        trustedPeer = IsTrusted(peer);
        if (!trustedPeer) return peer;
        var client = peer;
        var fields = request.Fields;
        // Field lines of the same name form one list, in order (RFC 9110 §5.3): walk them from the last.
        for (int f = fields.Length - 1; f >= 0; f--)
        {
            ref readonly var field = ref fields[f];
            if (!IsForwardingField(field, head)) continue;
            var list = field.Value(head);
            while (true)
            {
                int comma = list.LastIndexOf((byte)',');
                var element = (comma < 0 ? list : list[(comma + 1)..]).Trim(" \t"u8);
                // Empty list elements ("a, , b", a trailing comma, an empty field line) count for nothing (RFC 9110 §5.6.1).
                if (!element.IsEmpty)
                {
                    if (!TryReadElement(element, out var hop))
                    {
                        // Garbage (or "unknown", or an obfuscated node) where an address should be: stop at the last good one.
                        return client;
                    }
                    client = hop;
                    if (!_trusted.Contains(hop)) return hop;
                }
                if (comma < 0) break;
                list = list[..comma];
            }
        }
        return client;
    }

    private bool IsForwardingField(in HeaderField field, ReadOnlySpan<byte> head) => _header == ForwardedHeader.XForwardedFor
        ? field.Known == KnownHeader.XForwardedFor
        : field.NameLength == 9 && System.Text.Ascii.EqualsIgnoreCase(field.Name(head), "forwarded"u8);

    private bool TryReadElement(ReadOnlySpan<byte> element, out IpValue address)
    {
        if (_header == ForwardedHeader.XForwardedFor) return IpValue.TryParse(element, out address);
        // RFC 7239: forwarded-element = pairs separated by ';', e.g. for=192.0.2.60;proto=http;by=203.0.113.43
        address = default;
        while (!element.IsEmpty)
        {
            int semi = element.IndexOf((byte)';');
            var pair = (semi < 0 ? element : element[..semi]).Trim(" \t"u8);
            if (pair.Length > 4 && System.Text.Ascii.EqualsIgnoreCase(pair[..4], "for="u8)) return IpValue.TryParse(pair[4..], out address);
            if (semi < 0) break;
            element = element[(semi + 1)..];
        }
        return false;
    }
}
