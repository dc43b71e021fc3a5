using System.Buffers;
using System.Buffers.Binary;
using System.Net.Security;
using System.Net.Sockets;
using System.Text;
using FastProxy.Http2.Frames;
using FastProxy.Http2.HPack;

namespace FastProxy.Tests.Http2;

/// <summary>One frame as <see cref="H2RawClient"/> received it.</summary>
internal sealed record RawFrame(Http2FrameType Type, Http2Flags Flags, int StreamId, byte[] Payload)
{
    public bool EndStream => (Flags & Http2Flags.EndStream) != 0;
    public bool Ack => (Flags & Http2Flags.Ack) != 0;
    /// <summary>RST_STREAM's code, or GOAWAY's (after the last stream id).</summary>
    public Http2ErrorCode ErrorCode => (Http2ErrorCode)BinaryPrimitives.ReadUInt32BigEndian(Type == Http2FrameType.GoAway ? Payload.AsSpan(4) : Payload);
    public int GoAwayLastStreamId => (int)(BinaryPrimitives.ReadUInt32BigEndian(Payload) & 0x7FFF_FFFF);
    public override string ToString() => $"{Type} stream={StreamId} flags={Flags} length={Payload.Length}";
}

/// <summary>
/// A hand-driven HTTP/2 client over a raw loopback socket, for what real clients never do on purpose (floods, bad
/// frames, too many streams). Frames are written with the library's writer and read by hand (9-octet header +
/// payload), so a frame the proxy gets wrong is seen exactly as sent. Every read has a deadline. Over TLS too
/// (<see cref="ConnectTlsAsync"/>: ALPN h2), for what only a TLS listener decides.
/// </summary>
internal sealed class H2RawClient : IDisposable
{
    private readonly Socket _socket = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
    /// <summary>Set when the client speaks TLS: everything goes through it.</summary>
    private SslStream? _tls;
    private readonly HPackEncoder _encoder = new() { UseHuffman = false };
    private readonly HPackDecoder _decoder = new(4096, 1 << 20);
    private readonly byte[] _header = new byte[9];

    public H2RawClient(int port)
    {
        _socket.Connect(System.Net.IPAddress.Loopback, port);
        _socket.NoDelay = true;
    }

    /// <summary>A TLS connection that negotiated h2 by ALPN (asserted), the server's certificate taken as it is; nothing sent yet.</summary>
    public static async Task<H2RawClient> ConnectTlsAsync(int port, string serverName = "site.example.com")
    {
        var client = new H2RawClient(port);
        var tls = new SslStream(new NetworkStream(client._socket, ownsSocket: false));
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = serverName,
            ApplicationProtocols = [SslApplicationProtocol.Http2],
            RemoteCertificateValidationCallback = static (_, _, _, _) => true,
        }, cts.Token);
        Assert.Equal(SslApplicationProtocol.Http2, tls.NegotiatedApplicationProtocol);
        client._tls = tls;
        return client;
    }

    public void Send(ReadOnlySpan<byte> bytes)
    {
        if (_tls is not null) _tls.Write(bytes);
        else _socket.Send(bytes);
    }

    public void Send(Action<IBufferWriter<byte>> write)
    {
        var buffer = new ArrayBufferWriter<byte>();
        write(buffer);
        Send(buffer.WrittenSpan);
    }

    /// <summary>
    /// The preface and SETTINGS, ours acknowledged and the proxy's ACK read: ready for streams. Returns the frames
    /// read on the way (the proxy's SETTINGS first).
    /// </summary>
    public async Task<List<RawFrame>> HandshakeAsync()
    {
        SendPreface();
        var seen = new List<RawFrame>();
        var settings = await ReadFrameAsync();
        Assert.NotNull(settings);
        Assert.Equal(Http2FrameType.Settings, settings.Type);
        Assert.False(settings.Ack);
        seen.Add(settings);
        Send(w => Http2FrameWriter.WriteSettingsAck(w));
        var ack = await ReadUntilAsync(f =>
        {
            seen.Add(f);
            return f.Type == Http2FrameType.Settings && f.Ack;
        }, maxFrames: 5);
        Assert.NotNull(ack);
        return seen;
    }

    /// <summary>Every octet the proxy sends until it closes the connection (bounded by a deadline).</summary>
    public async Task<byte[]> ReadToCloseAsync()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var all = new MemoryStream();
        var buffer = new byte[4096];
        while (true)
        {
            int n;
            try
            {
                n = _tls is not null ? await _tls.ReadAsync(buffer, cts.Token) : await _socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
            }
            catch (Exception ex) when (ex is SocketException or IOException)
            {
                break; // reset after the last octets: what arrived is what counts
            }
            if (n == 0) break;
            all.Write(buffer, 0, n);
        }
        return all.ToArray();
    }

    /// <summary>
    /// <paramref name="bytes"/> as whole frames; throws, showing them as text, if they are not (HTTP/1.1, say).
    /// </summary>
    public static List<RawFrame> ParseFrames(byte[] bytes)
    {
        var frames = new List<RawFrame>();
        for (int at = 0; at < bytes.Length;)
        {
            int length = at + 9 <= bytes.Length ? (bytes[at] << 16) | (bytes[at + 1] << 8) | bytes[at + 2] : int.MaxValue;
            if (length > bytes.Length - at - 9)
                throw new Xunit.Sdk.XunitException("not HTTP/2 frames: " + Encoding.Latin1.GetString(bytes.AsSpan(at, Math.Min(200, bytes.Length - at))));
            frames.Add(new RawFrame((Http2FrameType)bytes[at + 3], (Http2Flags)bytes[at + 4],
                (int)(BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(at + 5)) & 0x7FFF_FFFF), bytes.AsSpan(at + 9, length).ToArray()));
            at += 9 + length;
        }
        return frames;
    }

    /// <summary>The preface and an empty SETTINGS.</summary>
    public void SendPreface()
    {
        Send(Http2Preface.ClientPreface);
        Send(w => Http2FrameWriter.WriteSettings(w, []));
    }

    public byte[] EncodeBlock(params (string Name, string Value)[] fields)
    {
        var block = new byte[64 * 1024];
        int written = 0;
        _encoder.BeginBlock(block, ref written);
        foreach (var (name, value) in fields)
        {
            if (!_encoder.TryEncode(Encoding.ASCII.GetBytes(name), Encoding.ASCII.GetBytes(value), HPackIndexing.Without, block, ref written))
                throw new InvalidOperationException("block too big");
        }
        return block[..written];
    }

    public static (string, string)[] Get(string path, string authority = "example.test", string method = "GET") =>
        [(":method", method), (":scheme", "http"), (":path", path), (":authority", authority)];

    public void SendHeaders(int streamId, bool endStream, params (string Name, string Value)[] fields)
    {
        var block = EncodeBlock(fields);
        Send(w => Http2FrameWriter.WriteHeaders(w, streamId, block, endStream, endHeaders: true));
    }

    public void SendData(int streamId, byte[] data, bool endStream) => Send(w => Http2FrameWriter.WriteData(w, streamId, data, endStream));

    /// <summary>The next frame, or null when the proxy closed the connection; throws after the deadline.</summary>
    public async Task<RawFrame?> ReadFrameAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(10));
        if (!await FillAsync(_header, cts.Token)) return null;
        int length = (_header[0] << 16) | (_header[1] << 8) | _header[2];
        var payload = new byte[length];
        if (!await FillAsync(payload, cts.Token)) return null;
        return new RawFrame((Http2FrameType)_header[3], (Http2Flags)_header[4], (int)(BinaryPrimitives.ReadUInt32BigEndian(_header.AsSpan(5)) & 0x7FFF_FFFF), payload);
    }

    private async Task<bool> FillAsync(byte[] into, CancellationToken token)
    {
        int read = 0;
        while (read < into.Length)
        {
            int n;
            try
            {
                n = _tls is not null ? await _tls.ReadAsync(into.AsMemory(read), token) : await _socket.ReceiveAsync(into.AsMemory(read), SocketFlags.None, token);
            }
            catch (Exception ex) when (ex is SocketException or IOException)
            {
                return false;
            }
            if (n == 0) return false;
            read += n;
        }
        return true;
    }

    /// <summary>Reads frames until one matches (bounded by count and by each read's deadline); null if the connection closed first.</summary>
    public async Task<RawFrame?> ReadUntilAsync(Func<RawFrame, bool> match, int maxFrames = 1000)
    {
        for (int i = 0; i < maxFrames; i++)
        {
            var frame = await ReadFrameAsync();
            if (frame is null || match(frame)) return frame;
        }
        throw new InvalidOperationException($"no matching frame in {maxFrames} frames");
    }

    /// <summary>Decodes a HEADERS payload (END_HEADERS set, no padding or priority) into "name: value" lines.</summary>
    public List<string> Decode(byte[] block)
    {
        var sink = new Sink { Fields = [] };
        var error = _decoder.Decode(block, endOfBlock: true, ref sink);
        if (error != HPackError.None) throw new InvalidOperationException("HPACK: " + error);
        return sink.Fields;
    }

    private struct Sink : IHPackHeaderHandler
    {
        public List<string> Fields;
        public void OnHeader(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value, bool neverIndexed) =>
            Fields.Add(Encoding.Latin1.GetString(name) + ": " + Encoding.Latin1.GetString(value));
    }

    public void Dispose()
    {
        _tls?.Dispose();
        _socket.Dispose();
    }
}
