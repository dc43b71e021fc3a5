using System.IO.Pipelines;

namespace FastProxy.Async;

/// <summary>
/// <see cref="PipeScheduler.ThreadPool"/> without its allocation: that scheduler queues each continuation through
/// ThreadPool.UnsafeQueueUserWorkItem(Action&lt;object?&gt;, object?), which wraps it in a new work item every time
/// (about 40 bytes per HTTP/2 request with a body: the in-memory pipes between a stream and its exchange schedule a
/// continuation or two each). Here the work items are pooled, whichever thread runs them.
/// </summary>
internal sealed class PooledThreadPoolScheduler : PipeScheduler
{
    public static readonly PooledThreadPoolScheduler Instance = new();

    private PooledThreadPoolScheduler()
    {
    }

    public override void Schedule(Action<object?> action, object? state)
    {
        var item = WorkItem.Rent();
        item.Action = action;
        item.State = state;
        System.Threading.ThreadPool.UnsafeQueueUserWorkItem(item, preferLocal: false);
    }

    private sealed class WorkItem : IThreadPoolWorkItem
    {
        /// <summary>More than the continuations queued at once on a busy proxy.</summary>
        private static readonly BoundedStack<WorkItem> s_pool = new(1024);

        public Action<object?>? Action;
        public object? State;

        public static WorkItem Rent() => s_pool.TryPop() ?? new WorkItem();

        void IThreadPoolWorkItem.Execute()
        {
            var action = Action!;
            var state = State;
            Action = null;
            State = null;
            // Back in the pool before the continuation runs: it may schedule the next one at once.
            s_pool.Push(this);
            action(state);
        }
    }
}
