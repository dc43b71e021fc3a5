using System.Buffers;
using FastProxy.Policies.Pipeline;

namespace FastProxy.Policies.Types.Cache;

/// <summary>
/// The cache's capture of a miss's body: an observing response stage (it runs after every transforming one, so with
/// compress on the route it sees, and stores, the compressed variant with its Content-Encoding, Vary and weak ETag).
/// The body streams on to the client as it comes; a copy is kept up to max_entry_size and stored when the body ends
/// whole (Content-Length, chunked, or read to the close). Past max_entry_size it gives up: the rest streams through
/// uncached and the requests waiting for this URL go on at once. One per client connection, reused.
/// </summary>
internal sealed class CacheCaptureStage(CachePolicy policy, long maxEntrySize) : ResponseStage
{
    private readonly PooledBufferWriter _body = new();
    private PolicyContext? _context;
    private CachePolicy.PendingEntry? _pending;
    private long _expected;
    private bool _complete;

    public override bool Begin(PolicyContext context, ResponseView response, in ResponseBodyInfo info)
    {
        if (policy.BeginCapture(context, response, info.ContentLength) is not { } pending) return false;
        _context = context;
        _pending = pending;
        // An observed body keeps its length; a transformed one is checked only by its end.
        _expected = context.StagesTransform ? -1 : info.ContentLength;
        _complete = false;
        _body.Clear();
        return true;
    }

    public override void Write(ReadOnlySpan<byte> data, IBufferWriter<byte> output)
    {
        if (_pending is null) return;
        if (_body.WrittenCount + (long)data.Length > maxEntrySize)
        {
            // Too large for an entry: the rest goes through uncached.
            _pending = null;
            _body.Clear(keepAtMost: 64 * 1024);
            CachePolicy.GiveUpCapture(_context!);
            return;
        }
        _body.Write(data);
    }

    public override void Flush(IBufferWriter<byte> output)
    {
    }

    public override void Complete(IBufferWriter<byte> output) => _complete = true;

    public override void End(bool completed)
    {
        var context = _context;
        var pending = _pending;
        _context = null;
        _pending = null;
        if (context is null) return;
        if (pending is not null)
        {
            bool whole = completed && _complete && (_expected < 0 || _body.WrittenCount == _expected);
            policy.EndCapture(context, pending, whole ? _body.WrittenSpan.ToArray() : null);
        }
        _body.Clear(keepAtMost: 64 * 1024);
    }

    public override void Dispose() => _body.Release();
}
