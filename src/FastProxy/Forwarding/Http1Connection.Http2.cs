using FastProxy.Diagnostics;
using System.IO.Pipelines;
using FastProxy.Hosting;
using FastProxy.Transport;

namespace FastProxy.Forwarding;

internal sealed partial class Http1Connection
{
    /// <summary>
    /// This instance serves one HTTP/2 stream, not a socket: its input is the stream's request converted to
    /// HTTP/1.1, its output the HTTP/1.1 response that <see cref="Http2Connection"/> converts back to frames.
    /// </summary>
    private bool _streamMode;

    /// <summary>The HTTP/2 connection this client connection turned into (h2c preface, or ALPN h2), while it runs.</summary>
    private Http2Connection? _http2;

    /// <summary>The HTTP/2 stream this instance serves in stream mode (told when the exchange ends).</summary>
    private Http2Stream? _stream;

    /// <summary>
    /// Serves one HTTP/2 stream as an HTTP/1.1 exchange over in-memory pipes: the same request parser (its limits and
    /// strictness), routes, respond routes, balancers, retries, upstream pools, limits and timeouts as a client
    /// connection. The client connection (socket, max_connections slot) is the HTTP/2 connection's.
    /// </summary>
    public void StartStream(Http2Stream stream, PipeReader input, PipeWriter output, Listener listener, ProxyServices services, ReadOnlySpan<byte> clientAddress, ulong clientHash,
        string? clientCertificateSubject)
    {
        _streamMode = true;
        _stream = stream;
        stream.AttachExchange(this);
        ClientCertificateSubject = clientCertificateSubject;
        _listener = listener;
        _services = services;
        clientAddress.CopyTo(_clientAddress);
        _clientAddressLength = clientAddress.Length;
        _peerParsed = false; // a pooled instance: the last stream's peer may have been another connection's
        _clientHash = clientHash;
        _input = input;
        _output = output;
        _heartbeatSlot = services.Heartbeat.Register(this);
        // The run's pooled box goes back to its pool only when its result is read: a discarded ValueTask would cost
        // a new box per stream. So the end is read here (or when the run ends), and only then does this instance
        // go back to the connection pool (Close leaves that to us in stream mode).
        var run = RunAsync();
        if (run.IsCompleted)
        {
            EndStreamRun(run);
            return;
        }
        var parts = Parts;
        parts.Run = run;
        run.GetAwaiter().UnsafeOnCompleted(parts.RunEnded);
    }

    /// <summary>
    /// What serving streams needs beyond a client connection's state, made the first time this pooled instance serves
    /// a stream and kept for the next ones: a client connection that never did pays one reference for it (idle
    /// connections are counted in bytes).
    /// </summary>
    private sealed class StreamParts(Http1Connection owner)
    {
        public readonly Http2ResponseWriter Response = new();
        public readonly Http2BufferedRequest Request = new();
        /// <summary>The stream-mode run in progress, read by <see cref="RunEnded"/>.</summary>
        public ValueTask Run;
        public readonly Action RunEnded = owner.OnStreamRunEnded;
    }

    private StreamParts? _streamParts;

    private StreamParts Parts => _streamParts ??= new StreamParts(this);

    /// <summary>This instance's response writer for the stream it is about to serve (made once, reused per stream).</summary>
    public Http2ResponseWriter StreamResponse(Http2Connection connection, Http2Stream stream) => Parts.Response.Start(connection, stream);

    /// <summary>This instance's one-block request reader for a bodiless stream (made once, reused per stream).</summary>
    public Http2BufferedRequest StreamRequest() => Parts.Request.Start();

    private void OnStreamRunEnded()
    {
        var parts = _streamParts!;
        var run = parts.Run;
        parts.Run = default;
        EndStreamRun(run);
    }

    private void EndStreamRun(ValueTask run)
    {
        var pool = _services.ConnectionPool;
        var stream = _stream!;
        try
        {
            run.GetAwaiter().GetResult(); // RunAsync handles its own failures: this only recycles the box
        }
        catch (Exception ex)
        {
            Log.ConnectionFailed(_listener.Name, ex);
        }
        pool.Return(this);
        // The exchange's ownership of the stream record (taken in AttachExchange) ends with its run.
        stream.Release();
    }

    /// <summary>
    /// The client sent the HTTP/2 connection preface (h2c with prior knowledge, or after ALPN h2 on a TLS listener):
    /// this connection speaks HTTP/2 until it closes.
    /// </summary>
    private async ValueTask ServeHttp2Async()
    {
        _idle = false;
        if (_connectionMetrics is { } metrics)
        {
            metrics.ConnectionSwitchedToH2(_connectionTls);
            _connectionProtocol = Observability.Metrics.ConnectionProtocol.H2;
        }
        var http2 = new Http2Connection(_input, _output, _listener, _services, ClientAddress, _clientHash, ClientCertificateSubject, _clientDeadline);
        _http2 = http2;
        try
        {
            await http2.RunAsync();
        }
        finally
        {
            _http2 = null;
        }
        // The last frames (a GOAWAY) must reach the client before the close: finish the output, drop late input.
        await LingerAsync();
    }
}
