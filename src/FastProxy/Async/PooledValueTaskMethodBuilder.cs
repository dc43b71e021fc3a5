using System.Runtime.CompilerServices;
using System.Threading.Tasks.Sources;

namespace FastProxy.Async;

/// <summary>
/// An async method builder for <see cref="ValueTask{TResult}"/> whose state-machine boxes come from one shared
/// pool per method, whichever thread rents or returns them.
/// </summary>
/// <remarks>
/// Why not the BCL's <c>PoolingAsyncValueTaskMethodBuilder</c>: its cache is one box per thread plus one per core.
/// In a proxy a request's methods start on the client socket's thread and finish on the upstream socket's thread,
/// so boxes are rented on one thread and returned on another, and that cache missed on most requests (measured:
/// ~30 bytes allocated per proxied request). Here a finished box goes back to a shared stack and the next request
/// takes it, whatever thread it runs on; the cost is an uncontended lock per suspension.
/// Execution context is not captured: nothing on the proxy's I/O path uses AsyncLocal. As with any pooled value
/// task, the result must be awaited exactly once; that returns the box to the pool.
/// </remarks>
public struct PooledValueTaskMethodBuilder<TResult>
{
    internal PooledBox<TResult>? Box;
    private TResult? _result;
    internal Exception? Exception;

    public static PooledValueTaskMethodBuilder<TResult> Create() => default;

    public readonly ValueTask<TResult> Task
    {
        get
        {
            if (Box is not null) return new ValueTask<TResult>(Box, Box.Version);
            if (Exception is not null) return ValueTask.FromException<TResult>(Exception);
            return new ValueTask<TResult>(_result!);
        }
    }

    public void Start<TStateMachine>(ref TStateMachine stateMachine) where TStateMachine : IAsyncStateMachine => stateMachine.MoveNext();

    public void SetStateMachine(IAsyncStateMachine stateMachine)
    {
    }

    public void SetResult(TResult result)
    {
        if (Box is not null) Box.SetResult(result);
        else _result = result;
    }

    public void SetException(Exception exception)
    {
        if (Box is not null) Box.SetException(exception);
        else Exception = exception;
    }

    public void AwaitOnCompleted<TAwaiter, TStateMachine>(ref TAwaiter awaiter, ref TStateMachine stateMachine)
        where TAwaiter : INotifyCompletion where TStateMachine : IAsyncStateMachine
        => awaiter.OnCompleted(GetBox(ref stateMachine).MoveNextAction);

    public void AwaitUnsafeOnCompleted<TAwaiter, TStateMachine>(ref TAwaiter awaiter, ref TStateMachine stateMachine)
        where TAwaiter : ICriticalNotifyCompletion where TStateMachine : IAsyncStateMachine
        => awaiter.UnsafeOnCompleted(GetBox(ref stateMachine).MoveNextAction);

    private PooledBox<TResult> GetBox<TStateMachine>(ref TStateMachine stateMachine) where TStateMachine : IAsyncStateMachine
    {
        if (Box is not null) return Box;
        var box = StateMachineBox<TResult, TStateMachine>.Rent();
        // Set before the copy, so that both the caller's builder (which hands out Task) and the boxed copy see it.
        Box = box;
        box.StateMachine = stateMachine;
        return box;
    }
}

/// <summary>The same for <see cref="ValueTask"/>: the generic builder over an empty result.</summary>
public struct PooledValueTaskMethodBuilder
{
    private PooledValueTaskMethodBuilder<NoResult> _inner;

    public static PooledValueTaskMethodBuilder Create() => default;

    public readonly ValueTask Task
    {
        get
        {
            if (_inner.Box is not null) return new ValueTask(_inner.Box, _inner.Box.Version);
            if (_inner.Exception is not null) return ValueTask.FromException(_inner.Exception);
            return default;
        }
    }

    public void Start<TStateMachine>(ref TStateMachine stateMachine) where TStateMachine : IAsyncStateMachine => stateMachine.MoveNext();

    public void SetStateMachine(IAsyncStateMachine stateMachine)
    {
    }

    public void SetResult() => _inner.SetResult(default);

    public void SetException(Exception exception) => _inner.SetException(exception);

    public void AwaitOnCompleted<TAwaiter, TStateMachine>(ref TAwaiter awaiter, ref TStateMachine stateMachine)
        where TAwaiter : INotifyCompletion where TStateMachine : IAsyncStateMachine
        => _inner.AwaitOnCompleted(ref awaiter, ref stateMachine);

    public void AwaitUnsafeOnCompleted<TAwaiter, TStateMachine>(ref TAwaiter awaiter, ref TStateMachine stateMachine)
        where TAwaiter : ICriticalNotifyCompletion where TStateMachine : IAsyncStateMachine
        => _inner.AwaitUnsafeOnCompleted(ref awaiter, ref stateMachine);

    internal readonly struct NoResult;
}

/// <summary>A box as the awaiting side sees it: a resettable value task source that recycles itself once read.</summary>
public abstract class PooledBox<TResult> : IValueTaskSource<TResult>, IValueTaskSource
{
    private ManualResetValueTaskSourceCore<TResult> _core;

    protected PooledBox()
    {
        // Continuations run where the result is set: inline, like everything on the proxy's I/O path.
        _core.RunContinuationsAsynchronously = false;
        MoveNextAction = MoveNext;
    }

    /// <summary>Allocated once per box, not per await.</summary>
    public Action MoveNextAction { get; }

    public short Version => _core.Version;

    protected abstract void MoveNext();

    /// <summary>Clears the state machine and puts the box back in its pool.</summary>
    protected abstract void Recycle();

    internal void SetResult(TResult result) => _core.SetResult(result);

    internal void SetException(Exception exception) => _core.SetException(exception);

    public TResult GetResult(short token)
    {
        try
        {
            return _core.GetResult(token);
        }
        finally
        {
            _core.Reset();
            Recycle();
        }
    }

    void IValueTaskSource.GetResult(short token) => GetResult(token);

    public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags)
        => _core.OnCompleted(continuation, state, token, flags);
}

/// <summary>The box for one async method (one state machine type), with its pool.</summary>
internal sealed class StateMachineBox<TResult, TStateMachine> : PooledBox<TResult> where TStateMachine : IAsyncStateMachine
{
    /// <summary>Enough for every connection's concurrent use of a method on a busy proxy; beyond it boxes are just collected.</summary>
    private const int PoolCapacity = 4096;

    private static readonly BoundedStack<StateMachineBox<TResult, TStateMachine>> s_pool = new(PoolCapacity);

    public TStateMachine? StateMachine;

    public static StateMachineBox<TResult, TStateMachine> Rent() => s_pool.TryPop() ?? new StateMachineBox<TResult, TStateMachine>();

    protected override void MoveNext() => StateMachine!.MoveNext();

    protected override void Recycle()
    {
        // Drop what the finished method referenced (the connection, buffers) before pooling.
        StateMachine = default;
        s_pool.Push(this);
    }
}
