using System.Buffers;
using System.Buffers.Text;
using System.Runtime.CompilerServices;
using FastProxy.Async;
using FastProxy.Http1;
using FastProxy.StaticFiles;

namespace FastProxy.Forwarding;

/// <summary>
/// Static routes (<c>static = { root = ... }</c>): GET and HEAD answered from a file under the route's root, with
/// ETag / Last-Modified, conditional requests (412 for If-Match / If-Unmodified-Since, 304 for If-None-Match /
/// If-Modified-Since), byte ranges (206, several as multipart/byteranges in .StaticRanges, 416), and precompressed
/// siblings chosen by Accept-Encoding. The pure parts (path mapping, ranges, negotiation, MIME types, the open-file cache) are in StaticFiles/.
/// In HTTP/2 stream mode the same bytes go to the stream's pipe and leave as frames.
/// </summary>
internal sealed partial class Http1Connection
{
    /// <summary>A body goes out in reads of this size, each flushed (the pipe's back-pressure bounds what waits in memory).</summary>
    private const int StaticChunk = 64 * 1024;

    private static readonly CannedResponse s_staticMethodNotAllowed = new(405, "405 Method Not Allowed\n",
        [new("Allow", "GET, HEAD"), new("Content-Type", "text/plain; charset=utf-8")]);

    private enum StaticPlan : byte
    {
        /// <summary>404 (no such file, or a refused path): answered like the proxy's own 404 (error_pages apply).</summary>
        NotFound,
        /// <summary>The head is written and there is no body (HEAD, 304, 301, 416).</summary>
        HeadOnly,
        /// <summary>The head is written; the body follows from the file.</summary>
        Body,
        /// <summary>The head is written; the body is the multipart/byteranges parts of <see cref="_staticRanges"/> (.StaticRanges).</summary>
        Multipart,
    }

    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    private async ValueTask<bool> ServeStaticAsync(StaticSite site)
    {
        var method = _request.Method;
        if (method != HttpMethod.Get && method != HttpMethod.Head) return await RespondAsync(s_staticMethodNotAllowed, Runtime);

        // As for a respond route: a body read whole is skipped and the connection kept; a streaming one cannot be.
        bool keepAlive = _request.KeepAlive && _bodyComplete && !_services.Draining;
        // The head is read (path, conditional fields) and the response head written before the request leaves the pipe.
        var plan = WriteStaticHead(site, keepAlive, out var file, out var variant, out long start, out long length);
        if (plan == StaticPlan.NotFound)
        {
            _requestConsumed = false;
            return await FailAsync(404);
        }
        if (!_requestBuffer.IsEmpty) _input.AdvanceTo(_requestBuffer.GetPosition(_request.HeadLength + (_bodyComplete ? _bodyAvailable : 0)));
        _requestBuffer = default;
        if (_recording) _record!.BytesOut = _output.UnflushedBytes + (plan is StaticPlan.Body or StaticPlan.Multipart ? length : 0);
        try
        {
            if (plan == StaticPlan.Body && !await SendFileAsync(variant!, start, length)) return false;
            if (plan == StaticPlan.Multipart && !await SendPartsAsync(variant!, file!.TypeLine)) return false;
        }
        finally
        {
            variant?.Release();
            if (file is { Owned: true }) file.Close();
        }
        var flush = await _output.FlushAsync();
        return keepAlive && !flush.IsCompleted;
    }

    /// <summary>
    /// Decides the answer and writes its head. On <see cref="StaticPlan.Body"/> and on a 304 or a HEAD, <paramref name="variant"/>
    /// holds a reference on the file's handle (released by the caller).
    /// </summary>
    private StaticPlan WriteStaticHead(StaticSite site, bool keepAlive, out StaticFile? file, out FileVariant? variant, out long start, out long length)
    {
        file = null;
        variant = null;
        start = 0;
        length = 0;
        var head = RequestHeadBytes;
        Span<char> mapped = stackalloc char[StaticPath.MaxLength];
        if (!StaticPath.TryMap(_request.Path(head), site.Prefix, site.Dotfiles, mapped, out int mappedLength, out bool bareRoot)) return StaticPlan.NotFound;

        ReadOnlySpan<byte> acceptEncoding = default, range = default, ifNoneMatch = default, ifModifiedSince = default, ifRange = default,
            ifMatch = default, ifUnmodifiedSince = default;
        bool hasRange = false, hasIfNoneMatch = false, hasIfModifiedSince = false, hasIfRange = false, hasIfMatch = false, hasIfUnmodifiedSince = false;
        foreach (var field in _request.Fields)
        {
            var name = field.Name(head);
            if (name.Length < 5 || (name[0] | 0x20) is not ('a' or 'r' or 'i')) continue;
            if (System.Text.Ascii.EqualsIgnoreCase(name, "accept-encoding"u8)) acceptEncoding = field.Value(head);
            else if (System.Text.Ascii.EqualsIgnoreCase(name, "range"u8)) { range = field.Value(head); hasRange = true; }
            else if (System.Text.Ascii.EqualsIgnoreCase(name, "if-none-match"u8)) { ifNoneMatch = field.Value(head); hasIfNoneMatch = true; }
            else if (System.Text.Ascii.EqualsIgnoreCase(name, "if-modified-since"u8)) { ifModifiedSince = field.Value(head); hasIfModifiedSince = true; }
            else if (System.Text.Ascii.EqualsIgnoreCase(name, "if-range"u8)) { ifRange = field.Value(head); hasIfRange = true; }
            else if (System.Text.Ascii.EqualsIgnoreCase(name, "if-match"u8)) { ifMatch = field.Value(head); hasIfMatch = true; }
            else if (System.Text.Ascii.EqualsIgnoreCase(name, "if-unmodified-since"u8)) { ifUnmodifiedSince = field.Value(head); hasIfUnmodifiedSince = true; }
        }
        bool get = _request.Method == HttpMethod.Get;
        bool headRequest = !get;
        // RFC 9110 §14.2: range handling is defined for GET only; HEAD ignores Range.
        hasRange &= get;

        if (bareRoot) return WriteStaticRedirect(head, keepAlive);
        for (int attempt = 0; ; attempt++)
        {
            file = site.Find(mapped[..mappedLength], fresh: attempt > 0);
            if (file is null) return StaticPlan.NotFound;
            if (file.Kind == FileKind.Directory)
            {
                file = null; // holds no handle
                return WriteStaticRedirect(head, keepAlive);
            }
            // A range is of the file itself: a Range request is never answered from a compressed sibling.
            var coding = file.HasVariants && !hasRange && !acceptEncoding.IsEmpty
                ? Negotiation.Choose(acceptEncoding, file.Brotli is not null, file.Gzip is not null, file.Zstd is not null)
                : Coding.Identity;
            variant = file.For(coding);
            if (variant.TryAcquire()) break;
            // Replaced and closed between the lookup and now (a second passed): open it for this response alone.
            variant = null;
            if (attempt > 0) return StaticPlan.NotFound;
        }

        var connection = ClientConnectionHeader(keepAlive);
        // §13.2.2 steps 1 and 2: If-Match (§13.1.1), or without it If-Unmodified-Since (§13.1.4; a date that cannot be
        // read is ignored): the file is not the one the client means: 412, before any 304 or range.
        bool preconditionFailed = hasIfMatch
            ? !Negotiation.MatchHits(ifMatch, variant.ETag)
            : hasIfUnmodifiedSince && Negotiation.TryParseDate(ifUnmodifiedSince, out long unmodifiedSince) && variant.Mtime > unmodifiedSince;
        if (preconditionFailed)
        {
            WriteStatusAndDate("HTTP/1.1 412 Precondition Failed\r\n"u8, 412);
            _output.Write("Content-Length: 0\r\n"u8);
            EndStaticHead(file, connection);
            return StaticPlan.HeadOnly;
        }
        // §13.2.2 steps 3 and 4: If-None-Match; If-Modified-Since only without it.
        bool notModified = hasIfNoneMatch
            ? Negotiation.NoneMatchHits(ifNoneMatch, variant.ETag)
            : hasIfModifiedSince && Negotiation.TryParseDate(ifModifiedSince, out long since) && variant.Mtime <= since;
        if (notModified)
        {
            WriteStatusAndDate("HTTP/1.1 304 Not Modified\r\n"u8, 304);
            _output.Write(variant.ValidatorLines);
            EndStaticHead(file, connection);
            return StaticPlan.HeadOnly;
        }

        int status = 200;
        length = variant.Length;
        if (hasRange && (!hasIfRange || Negotiation.IfRangeHolds(ifRange, variant.ETag, variant.Mtime)))
        {
            var ranges = _staticRanges ??= new long[2 * ByteRange.MaxRanges];
            var kind = ByteRange.ParseSet(range, variant.Length, ranges, out _staticRangeCount);
            if (kind == RangeKind.Single)
            {
                status = 206;
                start = ranges[0];
                length = ranges[1];
            }
            else if (kind == RangeKind.Multiple)
            {
                length = WriteMultipartHead(file, variant, connection);
                return headRequest ? StaticPlan.HeadOnly : StaticPlan.Multipart;
            }
            else if (kind == RangeKind.Unsatisfiable)
            {
                WriteStatusAndDate("HTTP/1.1 416 Range Not Satisfiable\r\n"u8, 416);
                _output.Write("Content-Range: bytes */"u8);
                WriteNumber(variant.Length);
                _output.Write("\r\nContent-Length: 0\r\n"u8);
                _output.Write(variant.ValidatorLines);
                EndStaticHead(file, connection);
                return StaticPlan.HeadOnly;
            }
        }

        WriteStatusAndDate(status == 206 ? "HTTP/1.1 206 Partial Content\r\n"u8 : "HTTP/1.1 200 OK\r\n"u8, status);
        _output.Write(file.TypeLine);
        _output.Write("Content-Length: "u8);
        WriteNumber(length);
        _output.Write("\r\n"u8);
        if (status == 206)
        {
            _output.Write("Content-Range: bytes "u8);
            WriteNumber(start);
            _output.Write("-"u8);
            WriteNumber(start + length - 1);
            _output.Write("/"u8);
            WriteNumber(variant.Length);
            _output.Write("\r\n"u8);
        }
        _output.Write(variant.ValidatorLines);
        _output.Write("Accept-Ranges: bytes\r\n"u8);
        if (variant.EncodingLines is { } encoding) _output.Write(encoding);
        EndStaticHead(file, connection);
        return headRequest ? StaticPlan.HeadOnly : StaticPlan.Body;
    }

    /// <summary>A directory asked for without its final '/': 301 to the same path with it (the query kept), as nginx answers.</summary>
    private StaticPlan WriteStaticRedirect(ReadOnlySpan<byte> head, bool keepAlive)
    {
        WriteStatusAndDate("HTTP/1.1 301 Moved Permanently\r\n"u8, 301);
        var pathAndQuery = _request.PathAndQuery(head);
        _output.Write("Location: "u8);
        _output.Write(pathAndQuery[.._request.PathLength]);
        _output.Write("/"u8);
        _output.Write(pathAndQuery[_request.PathLength..]);
        _output.Write("\r\nContent-Length: 0\r\n"u8);
        EndStaticHead(null, ClientConnectionHeader(keepAlive));
        return StaticPlan.HeadOnly;
    }

    private void WriteStatusAndDate(ReadOnlySpan<byte> statusLine, int status)
    {
        _output.Write(statusLine);
        _output.Write(DateHeader.Line);
        var span = _output.GetSpan(Observability.Tracing.RequestTrace.MaxRequestIdLineLength);
        _output.Advance(_trace.WriteRequestIdLine(span));
        if (_recording) _record!.Status = status;
    }

    /// <summary>Vary when the file has compressed siblings (whichever was sent), the chain's response lines, connection handling, the blank line.</summary>
    private void EndStaticHead(StaticFile? file, ConnectionHeader connection)
    {
        if (file is { HasVariants: true }) _output.Write("Vary: Accept-Encoding\r\n"u8);
        if (_chain is not null) _output.Write(_policyContext!.ResponseLines);
        if (connection == ConnectionHeader.Close) _output.Write("Connection: close\r\n"u8);
        else if (connection == ConnectionHeader.KeepAlive) _output.Write("Connection: keep-alive\r\n"u8);
        _output.Write("\r\n"u8);
    }

    private void WriteNumber(long value)
    {
        var span = _output.GetSpan(20);
        Utf8Formatter.TryFormat(value, span, out int written);
        _output.Advance(written);
    }

    /// <summary>
    /// Streams <paramref name="length"/> bytes of the file from <paramref name="offset"/>: pread into a pooled buffer, copied
    /// to the client's pipe, flushed every <see cref="StaticChunk"/> (so a large file never sits in memory). A file that
    /// shrank meanwhile cannot honour the Content-Length already sent: the connection is closed (IOException).
    /// </summary>
    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    private async ValueTask<bool> SendFileAsync(FileVariant variant, long offset, long length)
    {
        byte[] buffer = ArrayPool<byte>.Shared.Rent((int)Math.Min(length, StaticChunk));
        try
        {
            while (length > 0)
            {
                int want = (int)Math.Min(length, buffer.Length);
                int read = RandomAccess.Read(variant.Handle, buffer.AsSpan(0, want), offset);
                if (read <= 0) throw new IOException("the file shrank while it was being sent");
                _output.Write(buffer.AsSpan(0, read));
                offset += read;
                length -= read;
                if (length > 0 && _output.UnflushedBytes >= StaticChunk)
                {
                    var flush = await _output.FlushAsync();
                    if (flush.IsCompleted || flush.IsCanceled) return false;
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
        return true;
    }
}
