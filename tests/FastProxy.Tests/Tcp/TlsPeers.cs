using System.Collections.Concurrent;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace FastProxy.Tests.Tcp;

/// <summary>Self-signed certificates made in the test, one per name (cached: key generation is the slow part).</summary>
public static class TestCertificates
{
    private static readonly ConcurrentDictionary<string, X509Certificate2> s_byName = new();

    public static X509Certificate2 For(string name) => s_byName.GetOrAdd(name, static n =>
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={n}", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName(n);
        request.CertificateExtensions.Add(names.Build());
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        // Through PKCS#12, so that the private key is usable by SslStream on every platform.
        return X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pkcs12), null);
    });
}

/// <summary>
/// A TLS server (SslStream over a real socket) with a certificate for <see cref="Name"/>. Per connection: completes
/// the handshake, sends "hello from NAME\n", echoes one line, and closes. It records the server name each client
/// asked for, as the TLS server itself saw it.
/// </summary>
public sealed class TlsBackend : IAsyncDisposable
{
    private readonly TcpBackend _tcp;
    private readonly ConcurrentQueue<string> _serverNames = new();

    public TlsBackend(string name)
    {
        Name = name;
        var certificate = TestCertificates.For(name);
        _tcp = new TcpBackend(async socket =>
        {
            await using var ssl = new SslStream(new NetworkStream(socket, ownsSocket: false));
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await ssl.AuthenticateAsServerAsync(new SslServerAuthenticationOptions { ServerCertificate = certificate }, cts.Token);
            _serverNames.Enqueue(ssl.TargetHostName);
            await ssl.WriteAsync(Encoding.ASCII.GetBytes($"hello from {name}\n"), cts.Token);
            var line = new List<byte>();
            var one = new byte[1];
            while (await ssl.ReadAsync(one, cts.Token) == 1)
            {
                line.Add(one[0]);
                if (one[0] == '\n') break;
            }
            await ssl.WriteAsync(line.ToArray(), cts.Token);
            await ssl.ShutdownAsync();
            socket.Shutdown(SocketShutdown.Send);
        });
    }

    public string Name { get; }

    public int Port => _tcp.Port;

    public int Connections => _tcp.Connections;

    /// <summary>The SNI each handshake carried, as the server saw it.</summary>
    public IReadOnlyList<string> ServerNames => [.. _serverNames];

    public ValueTask DisposeAsync() => _tcp.DisposeAsync();
}

/// <summary>A TLS client through the proxy: a real handshake with SslStream, the server's greeting, one echoed line.</summary>
public static class TlsClient
{
    /// <summary>
    /// Connects to <paramref name="port"/>, handshakes for <paramref name="serverName"/> and returns the greeting and
    /// the echo of "ping", with the subject of the certificate the server presented.
    /// </summary>
    /// <param name="wrap">Wraps the raw stream under the TLS one (e.g. to trickle the ClientHello byte by byte).</param>
    public static async Task<(string Greeting, string Echo, string Subject)> ExchangeAsync(int port, string serverName, Func<Stream, Stream>? wrap = null)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port));
        Stream stream = new NetworkStream(socket, ownsSocket: false);
        if (wrap is not null) stream = wrap(stream);
        await using var ssl = new SslStream(stream);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = serverName,
            // The test's self-signed certificates: the check that matters is which one came back (Subject).
            RemoteCertificateValidationCallback = static (_, _, _, _) => true,
        }, cts.Token);
        string subject = ssl.RemoteCertificate!.Subject;
        string greeting = await ReadLineAsync(ssl, cts.Token);
        await ssl.WriteAsync("ping\n"u8.ToArray(), cts.Token);
        string echo = await ReadLineAsync(ssl, cts.Token);
        return (greeting, echo, subject);
    }

    private static async Task<string> ReadLineAsync(Stream stream, CancellationToken cancellationToken)
    {
        var line = new List<byte>();
        var one = new byte[1];
        while (true)
        {
            if (await stream.ReadAsync(one, cancellationToken) == 0) throw new EndOfStreamException("closed mid-line: " + Encoding.ASCII.GetString([.. line]));
            if (one[0] == '\n') return Encoding.ASCII.GetString([.. line]);
            line.Add(one[0]);
        }
    }

    /// <summary>
    /// The ClientHello SslStream sends for <paramref name="serverName"/>, as raw bytes: a throwaway server reads the
    /// first TLS record and hangs up.
    /// </summary>
    public static async Task<byte[]> CaptureClientHelloAsync(string serverName)
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        var client = Task.Run(async () =>
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await socket.ConnectAsync(listener.LocalEndPoint!);
            await using var ssl = new SslStream(new NetworkStream(socket, ownsSocket: false));
            try
            {
                await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = serverName });
            }
            catch (Exception)
            {
                // The capturing side hangs up after the ClientHello.
            }
        });
        using var server = await listener.AcceptAsync();
        var header = await ReceiveExactlyAsync(server, 5);
        int length = (header[3] << 8) | header[4];
        var payload = await ReceiveExactlyAsync(server, length);
        server.Close();
        await client.WaitAsync(TimeSpan.FromSeconds(10));
        return [.. header, .. payload];
    }

    private static async Task<byte[]> ReceiveExactlyAsync(Socket socket, int count)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var buffer = new byte[count];
        int read = 0;
        while (read < count)
        {
            int n = await socket.ReceiveAsync(buffer.AsMemory(read), SocketFlags.None, cts.Token);
            if (n == 0) throw new EndOfStreamException();
            read += n;
        }
        return buffer;
    }
}

/// <summary>
/// A stream that sends its first <c>trickle</c> bytes one byte per TCP segment, pausing between them, then the rest as
/// given: a ClientHello arriving in many tiny segments.
/// </summary>
public sealed class TrickleStream(Stream inner, int trickle, TimeSpan pause) : Stream
{
    private int _trickled;

    /// <summary>Bytes sent one at a time so far.</summary>
    public int Trickled => _trickled;

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        while (_trickled < trickle && !buffer.IsEmpty)
        {
            await inner.WriteAsync(buffer[..1], cancellationToken);
            buffer = buffer[1..];
            _trickled++;
            await Task.Delay(pause, cancellationToken);
        }
        if (!buffer.IsEmpty) await inner.WriteAsync(buffer, cancellationToken);
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        => WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => inner.ReadAsync(buffer, cancellationToken);

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        => inner.ReadAsync(buffer, offset, count, cancellationToken);

    public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() => inner.Flush();
    public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer, offset, count, CancellationToken.None).GetAwaiter().GetResult();

    protected override void Dispose(bool disposing)
    {
        if (disposing) inner.Dispose();
        base.Dispose(disposing);
    }
}
