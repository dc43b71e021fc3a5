namespace FastProxy.Async;

/// <summary>
/// The pool behind the proxy's recycled async objects (state-machine boxes, gate waiters, scheduler work items): a
/// lock-guarded stack that any thread may push to or pop from (an object is often rented on one thread and given
/// back on another), bounded so that a burst leaves at most <c>capacity</c> objects behind; beyond that they are
/// just collected. What a burst leaves is let go once the process goes quiet (<see cref="BoundedStacks.ReleaseIdle"/>).
/// </summary>
internal sealed class BoundedStack<T> : BoundedStacks.IIdleRelease where T : class
{
    private readonly Lock _lock = new();
    private readonly T?[] _items;
    private int _count;
    /// <summary>Fewest items held since the last <see cref="ReleaseIdle"/>: that many nobody needed in that period.</summary>
    private int _lowWater;

    public BoundedStack(int capacity)
    {
        _items = new T?[capacity];
        BoundedStacks.Register(this);
    }

    public T? TryPop()
    {
        lock (_lock)
        {
            if (_count == 0) return null;
            var item = _items[--_count];
            _items[_count] = null;
            if (_count < _lowWater) _lowWater = _count;
            return item;
        }
    }

    public void Push(T item)
    {
        lock (_lock)
        {
            if (_count < _items.Length) _items[_count++] = item;
        }
    }

    public int ReleaseIdle(bool release)
    {
        lock (_lock)
        {
            int idle = release ? _lowWater : 0;
            Array.Clear(_items, _count - idle, idle);
            _count -= idle;
            _lowWater = _count;
            return idle;
        }
    }
}

/// <summary>Every <see cref="BoundedStack{T}"/> of the process (one per pooled type), for the quiet check.</summary>
internal static class BoundedStacks
{
    internal interface IIdleRelease
    {
        /// <summary>
        /// Ends the period since the last call; with <paramref name="release"/>, lets go of the objects that stayed in
        /// the pool all through it. Returns how many were let go.
        /// </summary>
        int ReleaseIdle(bool release);
    }

    private static readonly Lock s_lock = new();
    private static IIdleRelease[] s_all = [];

    internal static void Register(IIdleRelease stack)
    {
        // Once per pooled type, at its first use: copy on write keeps ReleaseIdle lock-free.
        lock (s_lock) Volatile.Write(ref s_all, [.. s_all, stack]);
    }

    /// <summary>Ends every stack's period; with <paramref name="release"/>, lets go of what stayed idle through it.</summary>
    public static int ReleaseIdle(bool release)
    {
        int released = 0;
        foreach (var stack in Volatile.Read(ref s_all)) released += stack.ReleaseIdle(release);
        return released;
    }
}
