using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Net.Http;
using System.Text;

namespace FastProxy.Tests.Transport;

/// <summary>Clients that open a connection with a PROXY protocol header, as a load balancer in front of the proxy would.</summary>
public static class ProxyProtocolClients
{
    /// <summary>
    /// An HttpClient whose every connection starts with <paramref name="header"/> on the socket, under whatever the
    /// handler does next (TLS and ALPN for https, the h2c preface for HTTP/2 over http): a real HTTP/1.1 and HTTP/2
    /// client behind a "load balancer".
    /// </summary>
    public static HttpClient HttpClientWith(byte[] header)
    {
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (context, cancel) =>
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, context.DnsEndPoint.Port), cancel);
                    await socket.SendAsync(header, SocketFlags.None, cancel);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
            SslOptions = new SslClientAuthenticationOptions { RemoteCertificateValidationCallback = (_, _, _, _) => true },
        };
        return new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(20) };
    }

    /// <summary>One request at exactly <paramref name="version"/> (2.0 over http: h2c with prior knowledge; over https: ALPN h2).</summary>
    public static async Task<(HttpStatusCode Status, Version Version, string Body)> GetAsync(HttpClient client, string url, Version version)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, url) { Version = version, VersionPolicy = HttpVersionPolicy.RequestVersionExact };
        using var response = await client.SendAsync(request);
        return (response.StatusCode, response.Version, await response.Content.ReadAsStringAsync());
    }

    /// <summary>A socket from <paramref name="from"/> (127.0.0.x) to the proxy, with nothing sent.</summary>
    public static async Task<Socket> ConnectAsync(int port, IPAddress? from = null)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        if (from is not null) socket.Bind(new IPEndPoint(from, 0));
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port)).WaitAsync(TimeSpan.FromSeconds(10));
        return socket;
    }

    /// <summary>
    /// What the proxy sends before it closes (end of stream or a reset), within <paramref name="wait"/>; null when the
    /// connection is still open then.
    /// </summary>
    public static async Task<byte[]?> ReadUntilClosedAsync(Socket socket, TimeSpan wait)
    {
        using var cts = new CancellationTokenSource(wait);
        var all = new MemoryStream();
        var buffer = new byte[16 * 1024];
        try
        {
            while (true)
            {
                int n = await socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
                if (n == 0) return all.ToArray();
                all.Write(buffer, 0, n);
            }
        }
        catch (OperationCanceledException)
        {
            return null;
        }
        catch (SocketException)
        {
            return all.ToArray(); // reset: the request left unread in the proxy's receive buffer makes its close one
        }
    }

    /// <summary>Sends an HTTP/1.1 request on a socket (after its header) and reads one Content-Length response.</summary>
    public static async Task<string> RoundTripAsync(Stream stream, string request)
    {
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request));
        await stream.FlushAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var data = new List<byte>();
        var buffer = new byte[4096];
        while (true)
        {
            var text = Encoding.Latin1.GetString([.. data]);
            int end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
            if (end >= 0)
            {
                var length = text[..end].Split("\r\n").FirstOrDefault(l => l.StartsWith("content-length:", StringComparison.OrdinalIgnoreCase));
                int bodyLength = length is null ? 0 : int.Parse(length[15..].Trim());
                if (data.Count >= end + 4 + bodyLength) return text[..(end + 4 + bodyLength)];
            }
            int n = await stream.ReadAsync(buffer, cts.Token);
            if (n == 0) return text;
            data.AddRange(buffer.AsSpan(0, n).ToArray());
        }
    }
}
