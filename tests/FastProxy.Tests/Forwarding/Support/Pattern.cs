using System.Diagnostics;

namespace FastProxy.Tests.Forwarding.Support;

/// <summary>
/// A body of any length generated on the fly: byte i is (i mod 251). A prime period makes a dropped, repeated or
/// reordered block show up; checking is one vectorised comparison per buffer, never work per byte.
/// </summary>
public static class Pattern
{
    private const int Period = 251;

    /// <summary>Buffer size for writers and readers: large, so a GiB is a few thousand calls.</summary>
    public const int BufferSize = 256 * 1024;

    private static readonly byte[] s_source = Create(BufferSize + Period);

    private static byte[] Create(int length)
    {
        var bytes = new byte[length];
        for (int i = 0; i < length; i++) bytes[i] = (byte)(i % Period);
        return bytes;
    }

    /// <summary>The <paramref name="count"/> pattern bytes that start at stream position <paramref name="offset"/>.</summary>
    public static ReadOnlyMemory<byte> At(long offset, int count) => s_source.AsMemory((int)(offset % Period), count);

    /// <summary>Writes <paramref name="length"/> pattern bytes.</summary>
    public static async Task WriteAsync(Stream stream, long length, CancellationToken token)
    {
        for (long sent = 0; sent < length;)
        {
            int n = (int)Math.Min(BufferSize, length - sent);
            await stream.WriteAsync(At(sent, n), token);
            sent += n;
        }
    }

    /// <summary>Reads to the end of the stream, checking every byte against the pattern; returns the count.</summary>
    public static async Task<long> ReadAndCheckAsync(Stream stream, CancellationToken token)
    {
        var buffer = new byte[BufferSize];
        long total = 0;
        while (true)
        {
            int n = await stream.ReadAsync(buffer, token);
            if (n == 0) return total;
            if (!buffer.AsSpan(0, n).SequenceEqual(At(total, n).Span))
            {
                throw new InvalidDataException($"body differs from the pattern within bytes {total}..{total + n}");
            }
            total += n;
        }
    }
}

/// <summary>
/// Samples the process's memory while a transfer runs: the managed heap and the working set, each against its
/// value at the start. A proxy that buffers a body whole grows by the body's size; one that streams stays flat.
/// </summary>
public sealed class MemoryProbe : IAsyncDisposable
{
    private readonly long _heapBase;
    private readonly long _workingSetBase;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _sampler;
    private long _heapPeak;
    private long _workingSetPeak;

    private MemoryProbe()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        _heapBase = GC.GetTotalMemory(forceFullCollection: false);
        _workingSetBase = CurrentWorkingSet();
        _heapPeak = _heapBase;
        _workingSetPeak = _workingSetBase;
        _sampler = Task.Run(SampleAsync);
    }

    public static MemoryProbe Start() => new();

    /// <summary>Largest growth seen, in bytes: the larger of heap and working-set growth.</summary>
    public long PeakGrowth => Math.Max(Volatile.Read(ref _heapPeak) - _heapBase, Volatile.Read(ref _workingSetPeak) - _workingSetBase);

    public override string ToString()
        => $"heap +{(_heapPeak - _heapBase) >> 20} MiB, working set +{(_workingSetPeak - _workingSetBase) >> 20} MiB";

    private static long CurrentWorkingSet()
    {
        using var process = Process.GetCurrentProcess();
        return process.WorkingSet64;
    }

    private async Task SampleAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            long heap = GC.GetTotalMemory(forceFullCollection: false);
            long workingSet = CurrentWorkingSet();
            if (heap > _heapPeak) Volatile.Write(ref _heapPeak, heap);
            if (workingSet > _workingSetPeak) Volatile.Write(ref _workingSetPeak, workingSet);
            try { await Task.Delay(25, _stop.Token); } catch (OperationCanceledException) { return; }
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        await _sampler;
    }
}

/// <summary>A request body of pattern bytes, generated as it is sent; chunked when the length is not announced.</summary>
public sealed class PatternContent(long length, bool announceLength = true) : System.Net.Http.HttpContent
{
    protected override Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context)
        => Pattern.WriteAsync(stream, length, CancellationToken.None);

    protected override Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context, CancellationToken cancellationToken)
        => Pattern.WriteAsync(stream, length, cancellationToken);

    protected override bool TryComputeLength(out long computed)
    {
        computed = length;
        return announceLength;
    }
}
