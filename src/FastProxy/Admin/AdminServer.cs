using System.Net;
using System.Net.Sockets;
using System.Text;
using FastProxy.Admin.Dashboard;
using FastProxy.Diagnostics;
using FastProxy.Hosting;
using FastProxy.Transport;

namespace FastProxy.Admin;

/// <summary>
/// The [admin] listener: a small HTTP/1.1 endpoint for operators and orchestrators, apart from the traffic
/// listeners (loopback in the spec's example; it is not on the request path, so it is written for clarity, not
/// speed, and answers one request per connection with `Connection: close`).
/// <list type="bullet">
/// <item>GET /healthz: 200 while the process runs (liveness).</item>
/// <item>GET /readyz: 200, or 503 once a graceful stop began (readiness: take this instance out of rotation).</item>
/// <item>GET /upstreams: every upstream's servers with their health, ejections, in-flight requests and totals, as JSON.</item>
/// <item>GET /metrics: Prometheus text exposition (Observability/Metrics).</item>
/// <item>GET /dashboard: a live HTML page of the same figures, polling /metrics and /upstreams (Dashboard/).</item>
/// </list>
/// </summary>
internal sealed class AdminServer
{
    /// <summary>A request head bigger than this is refused (431): nothing the endpoints take needs more.</summary>
    private const int MaxHead = 8 * 1024;

    /// <summary>A client that does not send its request within this is closed.</summary>
    private static readonly TimeSpan ReadTimeout = TimeSpan.FromSeconds(5);

    private const string DashboardType = "text/html; charset=utf-8";

    private readonly Socket _socket;
    private readonly Func<ProxyRuntime> _runtime;
    private readonly ProxyServices _services;
    private readonly CancellationTokenSource _stop = new();
    private Task? _acceptLoop;

    private AdminServer(Socket socket, Func<ProxyRuntime> runtime, ProxyServices services)
    {
        _socket = socket;
        _runtime = runtime;
        _services = services;
        EndPoint = (IPEndPoint)socket.LocalEndPoint!;
    }

    public IPEndPoint EndPoint { get; }

    /// <summary>Binds <paramref name="endPoint"/>; a failure throws a <see cref="ListenerBindException"/> naming it.</summary>
    public static AdminServer Bind(IPEndPoint endPoint, Func<ProxyRuntime> runtime, ProxyServices services)
    {
        // Never shared (no SO_REUSEPORT): a second instance must not answer health checks meant for this one.
        var socket = ListenSocket.Open("admin", endPoint, reusePort: false, backlog: 64);
        return new AdminServer(socket, runtime, services);
    }

    public void Start()
    {
        _acceptLoop = AcceptLoopAsync();
        Log.AdminListening(EndPoint.ToString());
    }

    public async Task StopAsync()
    {
        _stop.Cancel();
        _socket.Dispose();
        if (_acceptLoop is not null)
        {
            try { await _acceptLoop.ConfigureAwait(false); } catch { /* stopping */ }
        }
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _socket.AcceptAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (SocketException)
            {
                await Task.Delay(50).ConfigureAwait(false);
                continue;
            }
            catch (ObjectDisposedException)
            {
                return;
            }
            _ = Task.Run(() => ServeAsync(client));
        }
    }

    private async Task ServeAsync(Socket client)
    {
        using (client)
        {
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
                timeout.CancelAfter(ReadTimeout);
                var buffer = new byte[MaxHead];
                int length = 0;
                int end;
                while ((end = buffer.AsSpan(0, length).IndexOf("\r\n\r\n"u8)) < 0)
                {
                    if (length == buffer.Length)
                    {
                        await SendAsync(client, 431, "text/plain", "request head too large\n"u8.ToArray(), head: false).ConfigureAwait(false);
                        return;
                    }
                    int n = await client.ReceiveAsync(buffer.AsMemory(length), SocketFlags.None, timeout.Token).ConfigureAwait(false);
                    if (n == 0) return;
                    length += n;
                }
                var (status, type, body, head) = Answer(Encoding.Latin1.GetString(buffer, 0, end));
                await SendAsync(client, status, type, body, head).ConfigureAwait(false);
                try { client.Shutdown(SocketShutdown.Send); } catch (SocketException) { }
            }
            catch (Exception ex) when (ex is SocketException or OperationCanceledException or ObjectDisposedException)
            {
                // A client that went away or never finished its request: nothing to answer.
            }
        }
    }

    private (int Status, string Type, byte[] Body, bool Head) Answer(string requestHead)
    {
        int lineEnd = requestHead.IndexOf("\r\n", StringComparison.Ordinal);
        var parts = (lineEnd < 0 ? requestHead : requestHead[..lineEnd]).Split(' ');
        if (parts.Length != 3 || !parts[2].StartsWith("HTTP/1.", StringComparison.Ordinal))
            return (400, "text/plain", "bad request\n"u8.ToArray(), false);
        string method = parts[0];
        string path = parts[1];
        int query = path.IndexOf('?');
        if (query >= 0) path = path[..query];
        bool head = method == "HEAD";
        if (method != "GET" && !head) return (405, "text/plain", "only GET and HEAD\n"u8.ToArray(), false);
        return path switch
        {
            "/healthz" => (200, "text/plain", "ok\n"u8.ToArray(), head),
            "/readyz" => _services.Draining
                ? (503, "text/plain", "draining\n"u8.ToArray(), head)
                : (200, "text/plain", "ready\n"u8.ToArray(), head),
            "/upstreams" => (200, "application/json", UpstreamsJson.Write(_runtime(), Heartbeat.NowMs), head),
            "/metrics" => (200, Observability.Metrics.PrometheusText.ContentType, _services.Metrics.Scrape(_runtime()), head),
            "/dashboard" => (200, DashboardType, DashboardPage.Body, head),
            _ => (404, "text/plain", "not found (try /healthz, /readyz, /upstreams, /metrics, /dashboard)\n"u8.ToArray(), head),
        };
    }

    private static async Task SendAsync(Socket client, int status, string type, byte[] body, bool head)
    {
        string reason = status switch { 200 => "OK", 400 => "Bad Request", 404 => "Not Found", 405 => "Method Not Allowed", 431 => "Request Header Fields Too Large", _ => "Service Unavailable" };
        string allow = status == 405 ? "Allow: GET, HEAD\r\n" : "";
        // The dashboard is the one HTML document here: it carries its Content-Security-Policy and nosniff.
        string page = type == DashboardType ? DashboardPage.Headers : "";
        var headBytes = Encoding.ASCII.GetBytes(
            $"HTTP/1.1 {status} {reason}\r\nContent-Type: {type}\r\nContent-Length: {body.Length}\r\nCache-Control: no-store\r\n{allow}{page}Connection: close\r\n\r\n");
        await client.SendAsync(headBytes, SocketFlags.None).ConfigureAwait(false);
        if (!head && body.Length > 0) await client.SendAsync(body, SocketFlags.None).ConfigureAwait(false);
    }
}
