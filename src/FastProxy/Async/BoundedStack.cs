namespace FastProxy.Async;

/// <summary>
/// The pool behind the proxy's recycled async objects (state-machine boxes, gate waiters, scheduler work items): a
/// lock-guarded stack that any thread may push to or pop from (an object is often rented on one thread and given
/// back on another), bounded so that a burst leaves at most <c>capacity</c> objects behind; beyond that they are
/// just collected.
/// </summary>
internal sealed class BoundedStack<T>(int capacity) where T : class
{
    private readonly Lock _lock = new();
    private readonly T?[] _items = new T?[capacity];
    private int _count;

    public T? TryPop()
    {
        lock (_lock)
        {
            if (_count == 0) return null;
            var item = _items[--_count];
            _items[_count] = null;
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
}
