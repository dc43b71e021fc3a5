namespace FastProxy.Transport;

/// <summary>global.max_connections: client connections of the whole process. Beyond it new ones are refused.</summary>
internal sealed class ConnectionLimiter(int max)
{
    private int _count;

    public int Max { get; set; } = max;

    public int Count => Volatile.Read(ref _count);

    public bool TryAcquire()
    {
        if (Interlocked.Increment(ref _count) <= Max) return true;
        Interlocked.Decrement(ref _count);
        return false;
    }

    public void Release() => Interlocked.Decrement(ref _count);
}
