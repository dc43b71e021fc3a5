using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using FastProxy.Forwarding;

namespace FastProxy.Tests.Forwarding;

/// <summary>The heartbeat-fired read deadline of a client connection (Http1Connection.Deadline).</summary>
public sealed class DeadlineTests
{
    /// <summary>
    /// Between requests a client connection's upstream deadline kept the reader of its last upstream connection, so
    /// that connection's socket and objects stayed reachable after it closed, for as long as the client stayed
    /// connected: after a burst of 5,000 requests (5,000 upstream connections, 1,024 of them kept by the pools), 4,000
    /// closed sockets, ~1 KB each, per idle client.
    /// </summary>
    [Fact]
    public void A_disarmed_deadline_holds_no_reference_to_the_reader_it_watched()
    {
        var deadline = new Http1Connection.Deadline();
        var reader = ArmAndDisarm(deadline);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        Assert.False(reader.IsAlive, "a disarmed deadline still refers to the reader it watched");
        GC.KeepAlive(deadline);
    }

    [Fact]
    public async Task An_armed_deadline_that_passes_cancels_the_pending_read()
    {
        var deadline = new Http1Connection.Deadline();
        var pipe = new Pipe();
        deadline.Arm(pipe.Reader, 1);
        var read = pipe.Reader.ReadAsync();
        deadline.Check(Environment.TickCount64 + 1000);
        var result = await read.AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(result.IsCanceled);
        Assert.True(deadline.TimedOut);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference ArmAndDisarm(Http1Connection.Deadline deadline)
    {
        var pipe = new Pipe();
        deadline.Arm(pipe.Reader, 60_000);
        deadline.Disarm();
        return new WeakReference(pipe.Reader);
    }
}
