using FastProxy.Http2.Frames;

namespace FastProxy.Http2.Streams;

/// <summary>
/// How much we may still send (RFC 9113 §5.2, §6.9): the peer's window for one stream or for the connection.
/// It starts at the peer's SETTINGS_INITIAL_WINDOW_SIZE (streams) or 65,535 (the connection), shrinks as we send
/// DATA, grows with the peer's WINDOW_UPDATE, and may go negative when the peer lowers its initial window size
/// (§6.9.2): then nothing may be sent until updates bring it above zero.
/// </summary>
public struct Http2SendWindow
{
    private long _available;

    public Http2SendWindow(int initialSize) => _available = initialSize;

    /// <summary>Octets that may be sent now (negative while the peer's settings shrank it below what was in flight).</summary>
    public readonly long Available => _available;

    /// <summary>Takes up to <paramref name="wanted"/> octets of the window for one DATA frame; returns how many (0 if none).</summary>
    public int Take(int wanted)
    {
        int granted = (int)Math.Clamp(_available, 0, wanted);
        _available -= granted;
        return granted;
    }

    /// <summary>
    /// WINDOW_UPDATE received (§6.9.1). False, with no change, if the window would exceed 2^31-1: FLOW_CONTROL_ERROR,
    /// a stream error for a stream window, a connection error for the connection window.
    /// </summary>
    public bool TryIncrease(int increment)
    {
        if (increment <= 0) throw new ArgumentOutOfRangeException(nameof(increment)); // the frame reader refuses 0 (§6.9)
        long next = _available + increment;
        if (next > Http2Limits.MaxWindowSize) return false;
        _available = next;
        return true;
    }

    /// <summary>
    /// The peer's SETTINGS_INITIAL_WINDOW_SIZE changed by <paramref name="delta"/> (new - old), §6.9.2. False if
    /// the window would exceed 2^31-1: a connection error FLOW_CONTROL_ERROR. Negative results are kept.
    /// </summary>
    public bool TryAdjust(long delta)
    {
        long next = _available + delta;
        if (next > Http2Limits.MaxWindowSize) return false;
        _available = next;
        return true;
    }

    /// <summary>Applies a SETTINGS_INITIAL_WINDOW_SIZE change to the send windows of every open stream (§6.9.2).</summary>
    /// <returns>False if any window would pass 2^31-1 (connection error FLOW_CONTROL_ERROR); windows before it were changed.</returns>
    public static bool TryApplyInitialWindowSize(Span<Http2SendWindow> streams, int oldSize, int newSize)
    {
        long delta = (long)newSize - oldSize;
        foreach (ref Http2SendWindow window in streams)
        {
            if (!window.TryAdjust(delta)) return false;
        }
        return true;
    }
}

/// <summary>
/// How much the peer may still send us (RFC 9113 §5.2, §6.9), and when to let it send more. DATA counts against it
/// as it arrives, padding included (§6.9.1); over the window is FLOW_CONTROL_ERROR, which is how a peer that ignores
/// flow control is stopped from making us buffer without bound. Octets count as free again only when the consumer
/// has taken them (<see cref="Release"/>); a WINDOW_UPDATE is due once half the window is free, so updates are
/// few and the peer rarely stalls.
/// </summary>
public struct Http2ReceiveWindow
{
    private long _available;
    private int _size;
    private int _released;

    public Http2ReceiveWindow(int size)
    {
        _available = size;
        _size = size;
    }

    public readonly long Available => _available;

    /// <summary>DATA of <paramref name="length"/> octets (the frame's whole payload) arrived. False if it overruns the window.</summary>
    public bool TryReceive(int length)
    {
        if (length > _available) return false;
        _available -= length;
        return true;
    }

    /// <summary>
    /// The consumer is done with <paramref name="length"/> octets. Returns the WINDOW_UPDATE increment to send now,
    /// or 0 while less than half the window is waiting to be given back.
    /// </summary>
    public int Release(int length)
    {
        _released += length;
        if (_released < Math.Max(_size / 2, 1)) return 0;
        int increment = (int)Math.Min(_released, Http2Limits.MaxWindowSize - _available);
        if (increment <= 0) return 0;
        _available += increment;
        _released -= increment;
        return increment;
    }

    /// <summary>
    /// Our SETTINGS_INITIAL_WINDOW_SIZE, once acknowledged, changed the stream windows by new - old (§6.9.2).
    /// Lowering it may leave the window negative: the peer must wait for updates.
    /// </summary>
    public bool TryAdjust(int newSize)
    {
        long next = _available + ((long)newSize - _size);
        if (next > Http2Limits.MaxWindowSize) return false;
        _available = next;
        _size = newSize;
        return true;
    }
}
