using System.Threading.Tasks.Sources;

namespace FastProxy.Async;

/// <summary>
/// An async mutex (one holder; waiters served in arrival order) that allocates nothing per wait: a waiter is a pooled
/// <see cref="IValueTaskSource"/>, resumed on the thread pool (as SemaphoreSlim's waiters are), never inside the
/// caller of <see cref="Exit"/>. It replaces SemaphoreSlim(1, 1) as the HTTP/2 connection's write lock, whose every
/// contended wait cost a Task and an await continuation (30-45 bytes per HTTP/2 request under h2load).
/// Each <see cref="EnterAsync"/> result must be awaited exactly once (its waiter goes back to the pool then).
/// </summary>
internal sealed class AsyncGate
{
    private readonly Lock _lock = new();
    private bool _held;
    // Waiters in arrival order, linked through the waiters themselves (no queue to grow).
    private Waiter? _head;
    private Waiter? _tail;

    /// <summary>Takes the gate if it is free, without waiting.</summary>
    public bool TryEnter()
    {
        lock (_lock)
        {
            if (_held) return false;
            _held = true;
            return true;
        }
    }

    /// <summary>Takes the gate: at once when free, else when every earlier waiter has had it.</summary>
    public ValueTask EnterAsync()
    {
        Waiter waiter;
        lock (_lock)
        {
            if (!_held)
            {
                _held = true;
                return default;
            }
            waiter = Waiter.Rent();
            if (_tail is null) _head = waiter;
            else _tail.Next = waiter;
            _tail = waiter;
        }
        return new ValueTask(waiter, waiter.Version);
    }

    /// <summary>Gives the gate up: to the first waiter (who then holds it), or free.</summary>
    public void Exit()
    {
        Waiter? next;
        lock (_lock)
        {
            next = _head;
            if (next is null)
            {
                _held = false;
                return;
            }
            _head = next.Next;
            if (_head is null) _tail = null;
            next.Next = null;
        }
        // The gate stays held: it is the waiter's now. It resumes on the thread pool, not on this thread.
        ThreadPool.UnsafeQueueUserWorkItem(next, preferLocal: false);
    }

    private sealed class Waiter : IValueTaskSource, IThreadPoolWorkItem
    {
        /// <summary>More than the waiters of every busy connection at once.</summary>
        private static readonly BoundedStack<Waiter> s_pool = new(1024);

        // Continuations run where SetResult runs: in Execute, on the thread pool.
        private ManualResetValueTaskSourceCore<bool> _core;

        public Waiter? Next;

        public short Version => _core.Version;

        public static Waiter Rent() => s_pool.TryPop() ?? new Waiter();

        void IThreadPoolWorkItem.Execute() => _core.SetResult(true);

        public void GetResult(short token)
        {
            try
            {
                _core.GetResult(token);
            }
            finally
            {
                _core.Reset();
                s_pool.Push(this);
            }
        }

        public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

        public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags)
            => _core.OnCompleted(continuation, state, token, flags);
    }
}
