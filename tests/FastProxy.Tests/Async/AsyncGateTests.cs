using FastProxy.Async;

namespace FastProxy.Tests.Async;

/// <summary>The HTTP/2 connection's write lock: one holder, waiters in arrival order, resumed off the releasing thread.</summary>
public sealed class AsyncGateTests
{
    [Fact]
    public async Task One_holder_at_a_time_and_the_gate_passes_to_the_first_waiter()
    {
        var gate = new AsyncGate();
        Assert.True(gate.TryEnter());
        Assert.False(gate.TryEnter());

        var order = new List<int>();
        var waits = Enumerable.Range(0, 5).Select(async i =>
        {
            var entered = gate.EnterAsync();
            await Task.Yield();
            await entered;
            lock (order) order.Add(i);
            gate.Exit();
        }).ToList();
        await Task.Delay(50);
        Assert.Empty(order); // all wait for the holder
        gate.Exit();
        await Task.WhenAll(waits).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal([0, 1, 2, 3, 4], order);
        // Free again once the last waiter has left.
        Assert.True(gate.TryEnter());
        gate.Exit();
    }

    [Fact]
    public async Task Concurrent_holders_never_overlap()
    {
        var gate = new AsyncGate();
        int inside = 0, overlaps = 0, total = 0;
        var workers = Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
        {
            for (int i = 0; i < 2_000; i++)
            {
                await gate.EnterAsync();
                if (Interlocked.Increment(ref inside) != 1) Interlocked.Increment(ref overlaps);
                total++; // guarded by the gate alone
                if (i % 50 == 0) await Task.Yield();
                Interlocked.Decrement(ref inside);
                gate.Exit();
            }
        }));
        await Task.WhenAll(workers).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(0, overlaps);
        Assert.Equal(16_000, total);
    }

    [Fact]
    public async Task A_waiter_never_resumes_inside_the_exit_of_the_holder()
    {
        var gate = new AsyncGate();
        Assert.True(gate.TryEnter());
        var exitingThread = new ThreadLocal<bool>();
        bool resumedInsideExit = false;
        var waiter = Task.Run(async () =>
        {
            await gate.EnterAsync();
            resumedInsideExit = exitingThread.Value;
            gate.Exit();
        });
        await Task.Delay(50);
        exitingThread.Value = true;
        gate.Exit();
        exitingThread.Value = false;
        await waiter.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.False(resumedInsideExit);
    }
}
