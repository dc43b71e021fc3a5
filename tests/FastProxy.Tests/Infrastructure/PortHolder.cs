using System.Net;
using System.Net.Sockets;
using System.Text;

namespace FastProxy.Tests.Infrastructure;

/// <summary>
/// Someone else on a loopback port: a listening socket that is not the proxy's. Plain (no socket options, as most
/// programs bind), or sharing the port with SO_REUSEPORT and answering every request with "holder" so a test can
/// tell its connections from the proxy's.
/// </summary>
public sealed class PortHolder : IDisposable
{
    // Linux values (the tests run on Linux): SOL_SOCKET and SO_REUSEPORT from <asm-generic/socket.h>.
    private const int SolSocket = 1;
    private const int SoReusePort = 15;

    private readonly Socket _socket;
    private readonly CancellationTokenSource _stop = new();

    private PortHolder(Socket socket, bool answer)
    {
        _socket = socket;
        Port = ((IPEndPoint)socket.LocalEndPoint!).Port;
        if (answer) _ = Task.Run(AnswerLoopAsync);
    }

    public int Port { get; }

    /// <summary>Listens on <paramref name="port"/> (0: any free port) without any socket option.</summary>
    public static PortHolder Plain(int port = 0, string address = "127.0.0.1")
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Parse(address), port));
        socket.Listen(16);
        return new PortHolder(socket, answer: false);
    }

    /// <summary>Listens on <paramref name="port"/> with SO_REUSEPORT (shares it with others that set it too) and answers "holder".</summary>
    public static PortHolder Sharing(int port)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.SetRawSocketOption(SolSocket, SoReusePort, BitConverter.GetBytes(1));
        socket.Bind(new IPEndPoint(IPAddress.Loopback, port));
        socket.Listen(64);
        return new PortHolder(socket, answer: true);
    }

    private async Task AnswerLoopAsync()
    {
        var response = Encoding.ASCII.GetBytes("HTTP/1.1 200 OK\r\nContent-Length: 6\r\nConnection: close\r\n\r\nholder");
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try { client = await _socket.AcceptAsync(_stop.Token); }
            catch (Exception) { return; }
            _ = Task.Run(async () =>
            {
                using (client)
                {
                    try
                    {
                        var buffer = new byte[4096];
                        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                        int n = await client.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
                        if (n > 0) await client.SendAsync(response, SocketFlags.None);
                    }
                    catch (Exception) { /* the test's client went away */ }
                }
            });
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _socket.Dispose();
    }

    /// <summary>True when a TCP connect to 127.0.0.1:<paramref name="port"/> is accepted by someone.</summary>
    public static bool Accepts(int port)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            socket.Connect(IPAddress.Loopback, port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>One GET / on a new connection to 127.0.0.1:<paramref name="port"/>; the body of the answer.</summary>
    public static async Task<string> GetBodyAsync(int port)
    {
        using var client = new RawClient(port);
        client.Send("GET / HTTP/1.1\r\nHost: t\r\n\r\n");
        string response = await client.ReadResponseAsync(TimeSpan.FromSeconds(10));
        int body = response.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        return body < 0 ? "" : response[(body + 4)..];
    }
}
