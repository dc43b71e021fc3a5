using System.Buffers;
using System.Net;
using System.Net.Sockets;
using FastProxy.Configuration;
using FastProxy.Diagnostics;
using FastProxy.Policies.ClientIdentity;
using FastProxy.ProxyProtocol;

namespace FastProxy.Transport;

/// <summary>What the start of a connection on a proxy_protocol listener said.</summary>
/// <param name="Accepted">False: the connection is to be closed (already logged).</param>
/// <param name="Client">The address the header names; null when it names none (LOCAL, UNKNOWN...): the peer is the client.</param>
internal readonly record struct ProxyHeaderOutcome(bool Accepted, IPAddress? Client);

/// <summary>
/// The PROXY protocol side of one listener with <c>proxy_protocol = true</c> (http or tcp): every connection's first
/// bytes are a PROXY protocol header (v1 or v2), read before anything else, TLS included, and only from a peer in
/// [client_ip] trusted_proxies; from any other peer the connection is closed at once, unread (a client that could
/// reach the port directly would otherwise claim any address). Runs once per connection, and only on such listeners:
/// the others never come here.
/// </summary>
/// <remarks>
/// The header is read from the socket itself, before any pipe or TLS stream exists, and exactly: a peek shows what has
/// arrived, the parser says where the header ends (<see cref="ProxyHeaderParser"/>), and only those bytes are taken,
/// so what follows (a ClientHello, an HTTP/2 preface, a request) is read next by whatever serves the connection, as if
/// the header had never been there. A header that arrives in pieces is waited for, within header_timeout. Usually one
/// peek and one receive. Failures are logged as warnings throttled per listener (<see cref="LogThrottle"/>): a
/// misconfigured load balancer fails every connection.
/// </remarks>
internal sealed class ProxyHeaderReader
{
    private readonly string _listener;
    private readonly IpSet _trusted;
    private readonly long _timeoutMs;

    /// <param name="failureLog">The previous configuration's, on a reload: the throttle's intervals and counts go on.</param>
    public ProxyHeaderReader(string listener, ClientIpConfig clientIp, long headerTimeoutMs, LogThrottle? failureLog)
    {
        _listener = listener;
        _trusted = new IpSet(clientIp.TrustedProxies);
        _timeoutMs = headerTimeoutMs;
        FailureLog = failureLog ?? new LogThrottle();
    }

    public LogThrottle FailureLog { get; }

    /// <summary>
    /// Checks the peer, then reads the header. Refused: the failure is logged, and the caller closes the socket. The
    /// socket may be disposed meanwhile (a graceful stop's final cut): that is a refusal too.
    /// </summary>
    /// <param name="peer">The socket's remote address (IPv4-mapped addresses already unmapped).</param>
    public async Task<ProxyHeaderOutcome> ReadAsync(Socket socket, IPAddress? peer)
    {
        if (peer is null || !_trusted.Contains(IpValue.From(peer)))
        {
            if (FailureLog.ShouldLog(RepeatedFailure.UntrustedPeer, out var repeats)) Log.ProxyPeerUntrusted(_listener, peer?.ToString() ?? "?", repeats);
            return default;
        }

        var buffer = ArrayPool<byte>.Shared.Rent(ProxyHeaderParser.MaxLength);
        using var timeout = new CancellationTokenSource();
        if (_timeoutMs > 0) timeout.CancelAfter(TimeSpan.FromMilliseconds(_timeoutMs));
        int have = 0;
        try
        {
            while (true)
            {
                // What has arrived, left in the socket: only the header's bytes are taken below.
                int seen = await socket.ReceiveAsync(buffer.AsMemory(have, ProxyHeaderParser.MaxLength - have), SocketFlags.Peek, timeout.Token).ConfigureAwait(false);
                if (seen == 0)
                {
                    Refused(peer, have == 0 ? null : "the peer closed the connection in the middle of its PROXY protocol header");
                    return default;
                }
                var status = ProxyHeaderParser.TryParse(buffer.AsSpan(0, have + seen), out var header, out int length, out var error);
                if (status == ProxyParseStatus.Invalid)
                {
                    Refused(peer, "malformed PROXY protocol header: " + Describe(error));
                    return default;
                }
                // Complete: up to the header's end. Need more: everything seen belongs to the header, so it is taken,
                // and the next peek waits for new bytes instead of showing these again.
                int take = status == ProxyParseStatus.Complete ? length - have : seen;
                while (take > 0)
                {
                    int got = await socket.ReceiveAsync(buffer.AsMemory(have, take), SocketFlags.None, timeout.Token).ConfigureAwait(false);
                    if (got == 0)
                    {
                        Refused(peer, "the peer closed the connection in the middle of its PROXY protocol header");
                        return default;
                    }
                    have += got;
                    take -= got;
                }
                if (status == ProxyParseStatus.Complete) return new ProxyHeaderOutcome(true, ClientOf(header));
            }
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
            Refused(peer, have == 0 ? "no PROXY protocol header within header_timeout" : "the PROXY protocol header was not complete within header_timeout");
            return default;
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException or OperationCanceledException)
        {
            // Reset by the peer, or cut by a graceful stop: nothing the operator needs to hear of.
            Log.ProxyHeaderAbandoned(_listener, ex.Message);
            return default;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Null <paramref name="reason"/>: the peer connected and closed without a byte (a load balancer's TCP health check).</summary>
    private void Refused(IPAddress peer, string? reason)
    {
        if (reason is null)
        {
            Log.ProxyHeaderAbandoned(_listener, "the peer closed the connection before sending a PROXY protocol header");
            return;
        }
        if (FailureLog.ShouldLog(RepeatedFailure.ProxyHeader, out var repeats)) Log.ProxyHeaderRefused(_listener, peer.ToString(), reason, repeats);
    }

    /// <summary>The client the header names, IPv4-mapped IPv6 taken as IPv4 (as the socket's own peer is); null: keep the peer.</summary>
    private static IPAddress? ClientOf(in ProxyHeader header)
    {
        Span<byte> bytes = stackalloc byte[16];
        int length = header.WriteSource(bytes);
        if (length == 0) return null;
        var address = new IPAddress(bytes[..length]);
        return address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
    }

    private static string Describe(ProxyHeaderError error) => error switch
    {
        ProxyHeaderError.NotProxyProtocol => "the connection does not start with one (is the sender configured to send it?)",
        ProxyHeaderError.V1LineTooLong => "version 1 line without CRLF in 107 bytes",
        ProxyHeaderError.V1BareCrOrLf => "version 1 line with a bare CR or LF",
        ProxyHeaderError.V1InvalidCharacter => "version 1 line with a byte no field can hold",
        ProxyHeaderError.V1UnknownProtocol => "version 1 protocol not TCP4, TCP6 or UNKNOWN",
        ProxyHeaderError.V1InvalidFields => "version 1 fields not four, single-spaced",
        ProxyHeaderError.V1InvalidAddress => "version 1 address not canonical for its family",
        ProxyHeaderError.V1InvalidPort => "version 1 port not 0-65535 without leading zeros",
        ProxyHeaderError.V2InvalidVersion => "version 2 signature with a version other than 2",
        ProxyHeaderError.V2InvalidCommand => "version 2 command neither LOCAL nor PROXY",
        ProxyHeaderError.V2InvalidFamily => "version 2 address family or transport unassigned",
        ProxyHeaderError.V2TooLong => $"version 2 header longer than {ProxyHeaderParser.MaxLength} bytes",
        ProxyHeaderError.V2AddressBlockTooShort => "version 2 length too short for its addresses",
        ProxyHeaderError.V2InvalidTlv => "version 2 TLV overruns the header",
        ProxyHeaderError.V2ChecksumMismatch => "version 2 CRC32C checksum does not match",
        _ => error.ToString(),
    };

    /// <summary>Heartbeat: the failures left out of the log while no further one came to say so.</summary>
    public void FlushSuppressedLogs(long nowMs)
    {
        if (FailureLog.TryFlush(RepeatedFailure.ProxyHeader, nowMs, out var refused)) Log.ListenerFailuresSuppressed(_listener, RepeatedFailure.ProxyHeader, refused);
        if (FailureLog.TryFlush(RepeatedFailure.UntrustedPeer, nowMs, out var untrusted)) Log.ListenerFailuresSuppressed(_listener, RepeatedFailure.UntrustedPeer, untrusted);
    }
}
