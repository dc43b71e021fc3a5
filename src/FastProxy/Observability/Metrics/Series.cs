using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using FastProxy.Http1;
using HttpMethod = FastProxy.Http1.HttpMethod;

namespace FastProxy.Observability.Metrics;

/// <summary>
/// fastproxy_requests_total and fastproxy_request_duration_seconds of one (listener, route, upstream): a cell per
/// method x status class, and the duration histogram. Compiled at config load and kept by name across reloads, so a
/// route that survives a reload keeps counting where it was.
/// </summary>
internal sealed class RequestSeries(string listener, string route, string upstream)
{
    /// <summary>HttpMethod's values in enum order (Custom first): the method label of each.</summary>
    public static readonly string[] MethodLabels = ["other", "GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "TRACE", "PATCH", "CONNECT"];

    public static readonly string[] ClassLabels = ["1xx", "2xx", "3xx", "4xx", "5xx"];

    public const int Methods = 10;
    public const int Classes = 5;
    public const int DurationCell = Methods * Classes;

    public readonly string Listener = listener;
    public readonly string Route = route;
    public readonly string Upstream = upstream;
    public readonly StripedCells Cells = new(DurationCell + Histogram.Cells);

    /// <param name="statusClass">1..5.</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Count(HttpMethod method, int statusClass, long durationTicks)
    {
        var cells = Cells;
        int stripe = cells.Stripe;
        int m = (uint)method < Methods ? (int)method : 0;
        cells.Increment(stripe, m * Classes + statusClass - 1);
        Histogram.Record(cells, stripe, DurationCell, durationTicks);
    }
}

/// <summary>
/// What one listener counts (by name, across reloads): bytes, requests that got no response, connections by protocol
/// and TLS, TLS handshakes and their failures by reason.
/// </summary>
internal sealed class ListenerSeries(string name)
{
    public const int BytesIn = 0, BytesOut = 1, Unanswered = 2, TlsHandshakes = 3, Opened = 4, Closed = 10, Switched = 16;
    public static readonly string[] ProtocolLabels = ["http1", "h2", "tcp"];

    public readonly string Name = name;
    public readonly StripedCells Cells = new(18);

    /// <summary>Failed TLS handshakes by reason (a handful of fixed reasons, see <see cref="TlsFailureReason"/>); rare, so a dictionary.</summary>
    public readonly ConcurrentDictionary<string, StrongBox<long>> TlsFailures = new(StringComparer.Ordinal);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int ConnectionCell(ConnectionProtocol protocol, bool tls) => (int)protocol * 2 + (tls ? 1 : 0);

    public void ConnectionOpened(ConnectionProtocol protocol, bool tls) => Cells.Increment(Opened + ConnectionCell(protocol, tls));

    public void ConnectionClosed(ConnectionProtocol protocol, bool tls) => Cells.Increment(Closed + ConnectionCell(protocol, tls));

    /// <summary>
    /// An HTTP/1.1 connection turned into an HTTP/2 one (h2c preface, or ALPN h2): from here it counts as h2, and is
    /// counted as an h2 connection, not an http1 one (the writer moves it: its open was counted as http1 first, so
    /// http1's total never goes down between the two), and its close is counted as h2's.
    /// </summary>
    public void ConnectionSwitchedToH2(bool tls) => Cells.Increment(Switched + (tls ? 1 : 0));

    /// <summary>(opened, open now) for one protocol and TLS, from folded cells.</summary>
    public static (long Total, long Open) Connections(ReadOnlySpan<long> folded, ConnectionProtocol protocol, bool tls)
    {
        int cell = ConnectionCell(protocol, tls);
        long opened = folded[Opened + cell];
        long closed = folded[Closed + cell];
        long switched = folded[Switched + (tls ? 1 : 0)];
        if (protocol == ConnectionProtocol.Http1) opened -= switched;
        else if (protocol == ConnectionProtocol.H2) opened += switched;
        return (opened, Math.Max(0, opened - closed));
    }

    public void TlsHandshakeSucceeded() => Cells.Increment(TlsHandshakes);

    public void TlsHandshakeFailed(string reason)
    {
        var box = TlsFailures.GetOrAdd(reason, static _ => new StrongBox<long>());
        Interlocked.Increment(ref box.Value);
    }
}

/// <summary>What is counted per connection's protocol for fastproxy_open_connections.</summary>
internal enum ConnectionProtocol : byte
{
    Http1 = 0,
    H2 = 1,
    Tcp = 2,
}

/// <summary>What one upstream counts (by name, across reloads): its response-time histogram, retries, their budget, circuit breaking.</summary>
internal sealed class UpstreamSeries(string name)
{
    public const int Retries = Histogram.Cells, BudgetExhausted = Histogram.Cells + 1, CircuitRejections = Histogram.Cells + 2;

    public readonly string Name = name;
    public readonly StripedCells Cells = new(Histogram.Cells + 3);
}

/// <summary>[metrics] per_consumer: one declared consumer's requests by status class and the policy answers it got.</summary>
internal sealed class ConsumerSeries(string name)
{
    public readonly string Name = name;
    public readonly StripedCells Requests = new(RequestSeries.Classes);
    public readonly ConcurrentDictionary<string, StrongBox<long>> Rejections = new(StringComparer.Ordinal);

    public void Rejected(string policy)
    {
        var box = Rejections.GetOrAdd(policy, static _ => new StrongBox<long>());
        Interlocked.Increment(ref box.Value);
    }
}
