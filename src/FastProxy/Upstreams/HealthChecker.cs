using System.Buffers;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Text;
using FastProxy.Configuration;
using FastProxy.Diagnostics;
using FastProxy.Tls;

namespace FastProxy.Upstreams;

/// <summary>
/// Active health checks ([upstreams.X.health]) for one upstream: every `interval`, each server gets a check of its
/// own, bounded by `timeout`: an HTTP request (`method`, `path`; the status must be within `expect`) over a fresh
/// connection (over TLS for a `tls = true` upstream), or for `type = "tcp"` a connect only. `unhealthy` failures in a row take the server out of every
/// balancer; `healthy` passes in a row bring it back. Servers start up (a restart of the proxy must not empty an
/// upstream while the first checks run), and a reload carries their state over.
/// </summary>
/// <remarks>Off the request path: one loop per server, allocations here do not matter.</remarks>
internal sealed class HealthChecker
{
    /// <summary>The most of a check's answer that is read: the status line must fit.</summary>
    private const int MaxStatusLine = 1024;

    private readonly string _upstream;
    private readonly List<UpstreamServer> _servers;
    private readonly Lock _lock = new();
    private readonly HealthCheckConfig _config;
    private readonly CancellationTokenSource _stop = new();
    private int _started;

    public HealthChecker(string upstream, UpstreamServer[] servers, HealthCheckConfig config)
    {
        _upstream = upstream;
        _servers = [.. servers];
        _config = config;
    }

    public HealthCheckConfig Config => _config;

    public void Start()
    {
        lock (_lock)
        {
            if (_started == 1) return;
            _started = 1;
            foreach (var server in _servers) _ = Task.Run(() => RunAsync(server));
        }
    }

    /// <summary>Discovery added a server: checked from now on (at once, when the checks run). Removed servers stop on their own.</summary>
    public void Add(UpstreamServer server)
    {
        lock (_lock)
        {
            _servers.RemoveAll(s => s.Removed);
            _servers.Add(server);
            if (_started == 1) _ = Task.Run(() => RunAsync(server));
        }
    }

    public void Stop()
    {
        try { _stop.Cancel(); } catch (ObjectDisposedException) { }
    }

    private async Task RunAsync(UpstreamServer server)
    {
        var token = _stop.Token;
        while (!token.IsCancellationRequested && !server.Removed)
        {
            string? failure = await CheckAsync(server, token).ConfigureAwait(false);
            if (token.IsCancellationRequested) return;
            Record(server, failure);
            try
            {
                await Task.Delay(_config.Interval, token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private void Record(UpstreamServer server, string? failure)
    {
        var health = server.Health;
        if (failure is null)
        {
            health.CheckFailures = 0;
            health.CheckPasses++;
            if (!health.ActiveUp && health.CheckPasses >= _config.Healthy)
            {
                health.SetActiveUp(true);
                Log.HealthChanged(_upstream, server.Display, up: true, $"{health.CheckPasses} checks passed");
            }
        }
        else
        {
            health.CheckPasses = 0;
            health.CheckFailures++;
            if (health.ActiveUp && health.CheckFailures >= _config.Unhealthy)
            {
                health.SetActiveUp(false);
                Log.HealthChanged(_upstream, server.Display, up: false, $"{health.CheckFailures} checks failed, last: {failure}");
            }
        }
    }

    /// <summary>One check: null when it passed, else why not.</summary>
    private async Task<string?> CheckAsync(UpstreamServer server, CancellationToken stop)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stop);
        timeout.CancelAfter(_config.Timeout);
        if (server.Http2 is not null && _config.Type != HealthCheckType.Tcp) return await CheckHttp2Async(server, timeout.Token).ConfigureAwait(false);
        using var socket = new Socket(server.EndPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        ServerCertificateCheck? check = null;
        try
        {
            await socket.ConnectAsync(server.EndPoint, timeout.Token).ConfigureAwait(false);
            if (_config.Type == HealthCheckType.Tcp) return null;

            // A tls = true upstream is checked over TLS, with the options its requests use (the same CA, name and
            // ALPN): a check in plain TCP would get no status line from a TLS server and take every server out.
            await using var stream = new NetworkStream(socket, ownsSocket: false);
            Stream channel = stream;
            SslStream? ssl = null;
            if (server.Tls is { } tls)
            {
                ssl = UpstreamTls.CreateStream(stream, leaveInnerStreamOpen: true, tls, out check);
                await ssl.AuthenticateAsClientAsync(tls, timeout.Token).ConfigureAwait(false);
                channel = ssl;
            }
            await using (ssl)
            {
                var request = Encoding.ASCII.GetBytes(
                    $"{_config.Method} {_config.Path} HTTP/1.1\r\nHost: {server.Address}\r\nUser-Agent: fastproxy-health-check\r\nConnection: close\r\n\r\n");
                await channel.WriteAsync(request, timeout.Token).ConfigureAwait(false);
                await channel.FlushAsync(timeout.Token).ConfigureAwait(false);

                var buffer = new byte[MaxStatusLine];
                int length = 0;
                while (true)
                {
                    int end = buffer.AsSpan(0, length).IndexOf("\r\n"u8);
                    if (end >= 0) return Judge(buffer.AsSpan(0, end));
                    if (length == buffer.Length) return "status line too long";
                    int n = await channel.ReadAsync(buffer.AsMemory(length), timeout.Token).ConfigureAwait(false);
                    if (n == 0) return "closed before a status line";
                    length += n;
                }
            }
        }
        catch (OperationCanceledException)
        {
            return "timed out";
        }
        catch (AuthenticationException ex)
        {
            return "TLS handshake failed: " + UpstreamTls.Reason(ex, check);
        }
        catch (Exception ex) when (ex is SocketException or IOException)
        {
            return ex.Message;
        }
    }

    /// <summary>
    /// A check of an h2c/h2 server speaks HTTP/2 (a server may accept nothing else, as Kestrel's Http2-only endpoints):
    /// one stream on the server's pooled connections, written and read as HTTP/1.1 like any forwarded request.
    /// </summary>
    private async Task<string?> CheckHttp2Async(UpstreamServer server, CancellationToken timeout)
    {
        UpstreamConnection? stream = null;
        try
        {
            stream = await server.Http2!.OpenStreamAsync(_config.Timeout).AsTask().WaitAsync(timeout).ConfigureAwait(false);
            stream.Output.Write(Encoding.ASCII.GetBytes(
                $"{_config.Method} {_config.Path} HTTP/1.1\r\nHost: {server.Address}\r\nUser-Agent: fastproxy-health-check\r\n\r\n"));
            await stream.Output.FlushAsync(timeout).ConfigureAwait(false);
            while (true)
            {
                var result = await stream.Input.ReadAsync(timeout).ConfigureAwait(false);
                var buffer = result.Buffer;
                var head = buffer.Length > MaxStatusLine ? buffer.Slice(0, MaxStatusLine) : buffer;
                var bytes = head.ToArray();
                int end = bytes.AsSpan().IndexOf("\r\n"u8);
                if (end >= 0)
                {
                    // Informational heads (1xx) come first; the final status is the one judged.
                    if (end >= 12 && bytes[9] == (byte)'1')
                    {
                        int headEnd = bytes.AsSpan().IndexOf("\r\n\r\n"u8);
                        if (headEnd >= 0)
                        {
                            stream.Input.AdvanceTo(buffer.GetPosition(headEnd + 4));
                            continue;
                        }
                    }
                    else
                    {
                        return Judge(bytes.AsSpan(0, end));
                    }
                }
                if (bytes.Length >= MaxStatusLine) return "status line too long";
                if (result.IsCompleted) return "closed before a status line";
                stream.Input.AdvanceTo(buffer.Start, buffer.End);
            }
        }
        catch (OperationCanceledException)
        {
            return "timed out";
        }
        catch (TimeoutException)
        {
            return "timed out";
        }
        catch (Exception ex) when (ex is SocketException or UpstreamTlsException or UpstreamProtocolException or UpstreamBusyException or IOException)
        {
            return ex.Message;
        }
        finally
        {
            stream?.Dispose();
        }
    }

    /// <summary>"HTTP/1.x NNN reason": the status must be within expect.</summary>
    private string? Judge(ReadOnlySpan<byte> statusLine)
    {
        if (statusLine.Length < 12 || !statusLine.StartsWith("HTTP/1."u8) || statusLine[8] != (byte)' ')
            return "malformed status line";
        int status = 0;
        for (int i = 9; i < 12; i++)
        {
            int digit = statusLine[i] - '0';
            if ((uint)digit > 9) return "malformed status line";
            status = status * 10 + digit;
        }
        if (statusLine.Length > 12 && statusLine[12] != (byte)' ') return "malformed status line";
        return status >= _config.ExpectMin && status <= _config.ExpectMax ? null : $"status {status}";
    }
}
