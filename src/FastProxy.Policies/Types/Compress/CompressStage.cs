using System.Buffers;
using System.IO.Compression;
using System.Text;
using FastProxy.Configuration;
using FastProxy.Policies.Pipeline;
using ZstdSharp;
using ZstdSharp.Unsafe;

namespace FastProxy.Policies.Types.Compress;

/// <summary>
/// One client connection's compressor, reused response after response: a Brotli encoder (<see cref="BrotliEncoder"/>,
/// driven span to span), a gzip stream (zlib through <see cref="GZipStream"/>, over a sink that writes into the
/// forwarder's buffer) or a zstd context (ZstdSharp's <see cref="Compressor"/>, span to span, made on the connection's
/// first zstd response and reset between responses: its tables and buffers are reused, nothing is allocated per
/// response). Flushed (a zlib sync flush, a Brotli flush, a zstd block flush) when the forwarder says the upstream
/// paused, so what came so far reaches the client.
/// </summary>
internal sealed class CompressStage(CompressPolicy policy) : ResponseStage
{
    /// <summary>Brotli's window: 512 KiB (lgwin 19, as ngx_brotli): memory per response stays modest on both sides.</summary>
    private const int BrotliWindow = 19;
    /// <summary>zstd's window: 512 KiB too (level 3 alone would take 2 MiB per connection for a body of unknown length).</summary>
    private const int ZstdWindowLog = 19;
    private const int OutputChunk = 16 * 1024;

    private static readonly byte[] s_contentEncoding = "content-encoding"u8.ToArray();
    private static readonly byte[] s_vary = "vary"u8.ToArray();
    private static readonly byte[] s_etag = "etag"u8.ToArray();
    private static readonly byte[] s_acceptRanges = "accept-ranges"u8.ToArray();
    private static readonly byte[] s_gzip = "gzip"u8.ToArray();
    private static readonly byte[] s_br = "br"u8.ToArray();
    private static readonly byte[] s_zstd = "zstd"u8.ToArray();

    private CompressEncoding _encoding;
    private bool _active;
    /// <summary>Bytes went in since the last flush (a flush of nothing writes nothing).</summary>
    private bool _dirty;
    private BrotliEncoder _brotli;
    private GZipStream? _gzip;
    /// <summary>The connection's zstd context, kept across responses (reset at each <see cref="Begin"/>).</summary>
    private Compressor? _zstd;
    private readonly BufferWriterStream _sink = new();

    public override bool Begin(PolicyContext context, ResponseView response, in ResponseBodyInfo info)
    {
        if (!policy.Eligible(context, response, info)) return false;
        // Compressible for some client: a cache must keep this client's variant apart from the others'.
        AddVary(context, response);
        if (info.Http10Client) return false; // no chunked framing: it would cost the connection (as nginx's gzip_http_version 1.1)
        if (policy.Negotiate(context) is not { } encoding) return false;

        context.AddResponseHeader(s_contentEncoding, encoding switch
        {
            CompressEncoding.Brotli => s_br,
            CompressEncoding.Zstd => s_zstd,
            _ => s_gzip,
        });
        WeakenETag(context, response);
        // Ranges of the compressed variant are not served: the upstream's would be of the identity body.
        context.RemoveResponseHeader(s_acceptRanges);

        _encoding = encoding;
        _active = true;
        _dirty = false;
        switch (encoding)
        {
            case CompressEncoding.Brotli:
                _brotli = new BrotliEncoder(policy.BrotliQuality, BrotliWindow);
                break;
            case CompressEncoding.Zstd:
                if (_zstd is null)
                {
                    _zstd = new Compressor(policy.ZstdLevel);
                    _zstd.SetParameter(ZSTD_cParameter.ZSTD_c_windowLog, ZstdWindowLog);
                }
                else
                {
                    _zstd.ResetStream(); // a new frame; level and window stay
                }
                break;
            default:
                _gzip = new GZipStream(_sink, policy.GzipOptions, leaveOpen: true);
                break;
        }
        return true;
    }

    public override void Write(ReadOnlySpan<byte> data, IBufferWriter<byte> output)
    {
        if (data.IsEmpty) return;
        _dirty = true;
        if (_encoding == CompressEncoding.Gzip)
        {
            _sink.Target = output;
            _gzip!.Write(data);
            return;
        }
        bool zstd = _encoding == CompressEncoding.Zstd;
        while (true)
        {
            var span = output.GetSpan(OutputChunk);
            var status = zstd
                ? _zstd!.WrapStream(data, span, out int consumed, out int written, isFinalBlock: false)
                : _brotli.Compress(data, span, out consumed, out written, isFinalBlock: false);
            output.Advance(written);
            data = data[consumed..];
            if (status == OperationStatus.InvalidData) throw new InvalidOperationException(zstd ? "zstd encoder failed" : "Brotli encoder failed");
            if (data.IsEmpty && status != OperationStatus.DestinationTooSmall) return;
        }
    }

    public override void Flush(IBufferWriter<byte> output)
    {
        if (!_dirty) return;
        _dirty = false;
        if (_encoding == CompressEncoding.Gzip)
        {
            _sink.Target = output;
            _gzip!.Flush();
            return;
        }
        bool zstd = _encoding == CompressEncoding.Zstd;
        while (true)
        {
            var span = output.GetSpan(OutputChunk);
            var status = zstd ? _zstd!.FlushStream(span, out int written) : _brotli.Flush(span, out written);
            output.Advance(written);
            if (status == OperationStatus.Done) return;
            if (status != OperationStatus.DestinationTooSmall) throw new InvalidOperationException(zstd ? "zstd encoder failed" : "Brotli encoder failed");
        }
    }

    public override void Complete(IBufferWriter<byte> output)
    {
        if (_encoding == CompressEncoding.Gzip)
        {
            _sink.Target = output;
            var gzip = _gzip!;
            _gzip = null;
            gzip.Dispose(); // the last block and the gzip trailer (CRC-32, length)
            return;
        }
        bool zstd = _encoding == CompressEncoding.Zstd;
        while (true)
        {
            var span = output.GetSpan(OutputChunk);
            var status = zstd
                ? _zstd!.FlushStream(span, out int written, isFinalBlock: true) // the last block: the frame ends
                : _brotli.Compress(default, span, out _, out written, isFinalBlock: true);
            output.Advance(written);
            if (status == OperationStatus.Done) return;
            if (status != OperationStatus.DestinationTooSmall) throw new InvalidOperationException(zstd ? "zstd encoder failed" : "Brotli encoder failed");
        }
    }

    public override void End(bool completed)
    {
        if (!_active) return;
        _active = false;
        if (_gzip is { } gzip)
        {
            // Cut short: the stream is dropped without its end (nothing more goes to the client).
            _sink.Target = null;
            _gzip = null;
            try { gzip.Dispose(); } catch (InvalidOperationException) { }
        }
        if (_encoding == CompressEncoding.Brotli) _brotli.Dispose();
        _brotli = default;
        _sink.Target = null;
        // zstd: the context stays for the connection's next response (Begin resets it; a frame cut short is dropped then).
    }

    public override void Dispose()
    {
        End(completed: false);
        var zstd = _zstd;
        _zstd = null;
        zstd?.Dispose();
    }

    /// <summary>Vary gains Accept-Encoding: merged into the upstream's (one line), unless it is "*" or names it already.</summary>
    private static void AddVary(PolicyContext context, ResponseView response)
    {
        Span<byte> merged = stackalloc byte[512];
        int length = 0;
        bool any = false, overflow = false;
        for (int i = 0; i < response.HeaderCount; i++)
        {
            if (!Ascii.EqualsIgnoreCase(response.HeaderName(i), s_vary)) continue;
            var value = response.HeaderValue(i).Trim(" \t"u8);
            if (value.IsEmpty) continue;
            foreach (var range in value.Split((byte)','))
            {
                var item = value[range].Trim(" \t"u8);
                if (item.Length == 1 && item[0] == (byte)'*') return;
                if (Ascii.EqualsIgnoreCase(item, "accept-encoding"u8)) return;
            }
            any = true;
            if (length + value.Length + 2 > merged.Length) overflow = true;
            else
            {
                if (length > 0)
                {
                    merged[length++] = (byte)',';
                    merged[length++] = (byte)' ';
                }
                value.CopyTo(merged[length..]);
                length += value.Length;
            }
        }
        if (!any || overflow)
        {
            // None to merge with (or too long to: a second Vary line means the same, RFC 9110 §5.3).
            context.AddResponseHeader(s_vary, "Accept-Encoding"u8);
            return;
        }
        ", Accept-Encoding"u8.CopyTo(merged[length..]);
        length += 17;
        context.RemoveResponseHeader(s_vary);
        context.AddResponseHeader(s_vary, merged[..length]);
    }

    /// <summary>A strong ETag names the identity bytes: the compressed body gets the weak one (W/"...").</summary>
    private static void WeakenETag(PolicyContext context, ResponseView response)
    {
        if (!response.TryGetHeader(s_etag, out var etag)) return;
        etag = etag.Trim(" \t"u8);
        if (etag.Length < 2 || etag[0] != (byte)'"' || etag.Length > 254) return; // weak already (W/), or not an entity tag
        Span<byte> weak = stackalloc byte[256];
        "W/"u8.CopyTo(weak);
        etag.CopyTo(weak[2..]);
        context.RemoveResponseHeader(s_etag);
        context.AddResponseHeader(s_etag, weak[..(etag.Length + 2)]);
    }

    /// <summary>A write-only stream over whichever buffer the forwarder hands the stage for the call in progress.</summary>
    private sealed class BufferWriterStream : Stream
    {
        public IBufferWriter<byte>? Target;

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            // Null: a stream cut short, being dropped; what it writes goes nowhere.
            Target?.Write(buffer);
        }

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));
        public override void WriteByte(byte value) => Write([value]);
        public override void Flush() { }
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
