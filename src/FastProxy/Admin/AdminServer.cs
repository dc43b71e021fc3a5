using System.Net;
using System.Net.Sockets;
using System.Text;
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
/// <item>GET /config: the effective configuration as JSON, secrets redacted.</item>
/// <item>POST /upstreams/NAME/servers/ADDRESS/drain and /enable: take a server out of rotation and back
/// (<see cref="AdminAuth"/> says who may).</item>
/// </list>
/// The routing of requests to these is in AdminServer.Routes.cs.
/// </summary>
internal sealed partial class AdminServer
{
    /// <summary>A request head bigger than this is refused (431): nothing the endpoints take needs more.</summary>
    private const int MaxHead = 8 * 1024;

    /// <summary>A client that does not send its request within this is closed.</summary>
    private static readonly TimeSpan ReadTimeout = TimeSpan.FromSeconds(5);

    private readonly Socket _socket;
    private readonly ProxyHost _host;
    private readonly CancellationTokenSource _stop = new();
    private Task? _acceptLoop;

    private AdminServer(Socket socket, ProxyHost host)
    {
        _socket = socket;
        _host = host;
        EndPoint = (IPEndPoint)socket.LocalEndPoint!;
    }

    public IPEndPoint EndPoint { get; }

    /// <summary>Binds <paramref name="endPoint"/>; a failure throws a <see cref="ListenerBindException"/> naming it.</summary>
    public static AdminServer Bind(IPEndPoint endPoint, ProxyHost host)
    {
        // Never shared (no SO_REUSEPORT): a second instance must not answer health checks meant for this one.
        var socket = ListenSocket.Open("admin", endPoint, reusePort: false, backlog: 64);
        return new AdminServer(socket, host);
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
                        await SendAsync(client, AdminAnswer.Text(431, "request head too large\n")).ConfigureAwait(false);
                        return;
                    }
                    int n = await client.ReceiveAsync(buffer.AsMemory(length), SocketFlags.None, timeout.Token).ConfigureAwait(false);
                    if (n == 0) return;
                    length += n;
                }
                var answer = Answer(Encoding.Latin1.GetString(buffer, 0, end), client.RemoteEndPoint?.ToString() ?? "?");
                await SendAsync(client, answer).ConfigureAwait(false);
                try { client.Shutdown(SocketShutdown.Send); } catch (SocketException) { }
            }
            catch (Exception ex) when (ex is SocketException or OperationCanceledException or ObjectDisposedException)
            {
                // A client that went away or never finished its request: nothing to answer.
            }
        }
    }

    private static async Task SendAsync(Socket client, AdminAnswer answer)
    {
        string reason = answer.Status switch
        {
            200 => "OK", 400 => "Bad Request", 401 => "Unauthorized", 403 => "Forbidden", 404 => "Not Found",
            405 => "Method Not Allowed", 431 => "Request Header Fields Too Large", _ => "Service Unavailable",
        };
        var headBytes = Encoding.ASCII.GetBytes(
            $"HTTP/1.1 {answer.Status} {reason}\r\nContent-Type: {answer.Type}\r\nContent-Length: {answer.Body.Length}\r\nCache-Control: no-store\r\n{answer.ExtraHeaders}Connection: close\r\n\r\n");
        await client.SendAsync(headBytes, SocketFlags.None).ConfigureAwait(false);
        if (!answer.Head && answer.Body.Length > 0) await client.SendAsync(answer.Body, SocketFlags.None).ConfigureAwait(false);
    }
}
