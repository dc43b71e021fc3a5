using FastProxy.Configuration;
using FastProxy.Diagnostics;

namespace FastProxy.Observability.AccessLog;

/// <summary>
/// One [access_log] output: the queue requests write into, and the one background thread that empties it into a
/// batch buffer and writes the batch with one write(2) when it is full, when its oldest line has waited
/// flush_interval, and at stop. The thread polls every few milliseconds while lines come, and parks when none do (a
/// request finding it parked wakes it, which happens at most once per idle spell, not per request).
/// </summary>
internal sealed class AccessLogWriter
{
    /// <summary>While lines come: how long the writer lets them gather between two passes over the queue.</summary>
    private const int PollMs = 5;

    /// <summary>The longest the writer parks without looking at the queue: bounds the delay of a line whose wake-up raced with parking.</summary>
    private const int MaxParkMs = 200;

    private readonly LineQueue _queue;
    private readonly byte[] _batch;
    private readonly long _flushMs;
    private readonly ManualResetEventSlim _wake = new(false);
    private readonly Thread _thread;
    private Stream _output;
    private int _batchLength;
    private long _batchStartMs;
    private int _parked;
    private int _reopen;
    private volatile bool _stop;
    private bool _failing;

    private AccessLogWriter(AccessLogConfig config, Stream output)
    {
        Config = config;
        Formatter = AccessLogFormatters.For(config.Format);
        _queue = new LineQueue(config.Queue);
        _batch = new byte[Math.Max(config.Buffer, LineQueue.SlotSize)];
        _flushMs = Math.Max(1, (long)config.FlushInterval.TotalMilliseconds);
        _output = output;
        _thread = new Thread(Run) { IsBackground = true, Name = "access-log" };
    }

    public AccessLogConfig Config { get; }

    public IAccessLogFormatter Formatter { get; }

    /// <summary>Replaced on reload when only the policies (and so the names to redact) changed.</summary>
    public volatile QueryRedaction Redaction = QueryRedaction.None;

    /// <summary>Opens the output (a file is created if missing, appended to if present) and starts the thread.</summary>
    /// <exception cref="IOException">The file cannot be opened.</exception>
    /// <exception cref="UnauthorizedAccessException">The file cannot be opened.</exception>
    public static AccessLogWriter Start(AccessLogConfig config, QueryRedaction redaction)
    {
        var writer = new AccessLogWriter(config, Open(config.Path!)) { Redaction = redaction };
        writer._thread.Start();
        return writer;
    }

    private static Stream Open(string path) => path == AccessLogConfig.Stdout
        ? Console.OpenStandardOutput()
        // Unbuffered: the batch is the buffer. FileShare.Delete lets logrotate rename it while open.
        : new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete, bufferSize: 0);

    /// <summary>Request path: formats the line into a queue slot; a full queue drops it (counted). Never blocks.</summary>
    public void Write(scoped in AccessLogEntry entry)
    {
        if (!_queue.TryWrite(entry, Formatter, Redaction))
        {
            Interlocked.Increment(ref AccessLogCounters.s_dropped);
            return;
        }
        // Racy read on purpose (no fence per request): a wake-up missed here is made up by the writer's MaxParkMs.
        if (Volatile.Read(ref _parked) == 1 && Interlocked.Exchange(ref _parked, 0) == 1) _wake.Set();
    }

    /// <summary>SIGUSR1: the writer closes the file and opens the path again (after logrotate renamed it).</summary>
    public void Reopen()
    {
        Volatile.Write(ref _reopen, 1);
        _wake.Set();
    }

    /// <summary>Writes what is queued, closes the output and ends the thread (within <paramref name="timeout"/>).</summary>
    public void Stop(TimeSpan timeout)
    {
        _stop = true;
        _wake.Set();
        _thread.Join(timeout);
        Log.AccessLogClosed(Config.Path!, AccessLogCounters.Lines, AccessLogCounters.Dropped);
    }

    private void Run()
    {
        while (true)
        {
            bool stopping = _stop;
            int lines = Drain();
            if (Interlocked.Exchange(ref _reopen, 0) == 1)
            {
                Flush();
                ReopenNow();
            }
            long now = Environment.TickCount64;
            if (_batchLength > 0 && (stopping || now - _batchStartMs >= _flushMs)) Flush();
            if (stopping && lines == 0)
            {
                Flush();
                if (Config.Path != AccessLogConfig.Stdout) _output.Dispose();
                else _output.Flush();
                return;
            }
            if (lines > 0)
            {
                Thread.Sleep(PollMs);
                continue;
            }
            // Nothing came since the last pass: park until a request wakes us, or the batch is due.
            _wake.Reset();
            Volatile.Write(ref _parked, 1);
            Interlocked.MemoryBarrier();
            if (!_queue.IsEmpty || _stop || Volatile.Read(ref _reopen) == 1)
            {
                Volatile.Write(ref _parked, 0);
                continue;
            }
            long wait = _batchLength > 0 ? Math.Clamp(_batchStartMs + _flushMs - now, 1, MaxParkMs) : MaxParkMs;
            _wake.Wait((int)wait);
            Volatile.Write(ref _parked, 0);
        }
    }

    /// <summary>Moves every ready line into the batch, writing the batch whenever the next line would not fit.</summary>
    private int Drain()
    {
        int lines = 0;
        while (_queue.TryPeek(out var line))
        {
            if (_batchLength + line.Length > _batch.Length) Flush();
            if (_batchLength == 0) _batchStartMs = Environment.TickCount64;
            line.CopyTo(_batch.AsSpan(_batchLength));
            _batchLength += line.Length;
            _queue.Release();
            lines++;
        }
        return lines;
    }

    private void Flush()
    {
        if (_batchLength == 0) return;
        int lines = CountLines(_batch.AsSpan(0, _batchLength));
        try
        {
            _output.Write(_batch, 0, _batchLength);
            Interlocked.Add(ref AccessLogCounters.s_lines, lines);
            if (_failing)
            {
                _failing = false;
                Log.AccessLogRecovered(Config.Path!);
            }
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or NotSupportedException)
        {
            // A full disk or a closed stdout must not stop the proxy: the lines are counted as dropped, and said once.
            Interlocked.Add(ref AccessLogCounters.s_dropped, lines);
            if (!_failing)
            {
                _failing = true;
                Log.AccessLogWriteFailed(Config.Path!, ex.Message);
            }
        }
        _batchLength = 0;
    }

    private static int CountLines(ReadOnlySpan<byte> batch) => batch.Count((byte)'\n');

    private void ReopenNow()
    {
        if (Config.Path == AccessLogConfig.Stdout) return;
        try
        {
            var fresh = Open(Config.Path!);
            var old = _output;
            _output = fresh;
            old.Dispose();
            Log.AccessLogReopened(Config.Path!);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Keep writing to the open file (renamed or not): better than losing lines.
            Log.AccessLogReopenFailed(Config.Path!, ex.Message);
        }
    }
}
