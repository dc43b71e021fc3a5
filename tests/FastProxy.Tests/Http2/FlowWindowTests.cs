using FastProxy.Http2.Frames;
using FastProxy.Http2.Streams;

namespace FastProxy.Tests.Http2;

/// <summary>RFC 9113 §5.2 and §6.9: flow-control windows for sending and receiving.</summary>
public sealed class FlowWindowTests
{
    [Fact]
    public void Send_window_grants_at_most_what_is_left_and_grows_with_updates()
    {
        var w = new Http2SendWindow(Http2Limits.DefaultInitialWindowSize);
        Assert.Equal(16_384, w.Take(16_384));
        Assert.Equal(65_535 - 16_384, w.Available);
        Assert.Equal(65_535 - 16_384, w.Take(100_000)); // the rest, no more
        Assert.Equal(0, w.Take(1));
        Assert.True(w.TryIncrease(10));
        Assert.Equal(10, w.Take(1000));
    }

    [Fact]
    public void Window_update_past_2_pow_31_minus_1_is_refused_and_changes_nothing()
    {
        var w = new Http2SendWindow(Http2Limits.DefaultInitialWindowSize);
        Assert.True(w.TryIncrease(int.MaxValue - 65_535)); // exactly 2^31-1 is allowed
        Assert.Equal(int.MaxValue, w.Available);
        Assert.False(w.TryIncrease(1));
        Assert.Equal(int.MaxValue, w.Available);

        var fresh = new Http2SendWindow(Http2Limits.DefaultInitialWindowSize);
        Assert.False(fresh.TryIncrease(int.MaxValue)); // 65,535 + 2^31-1
    }

    [Fact]
    public void Initial_window_size_change_applies_to_every_open_stream_and_may_go_negative()
    {
        // Three streams with 65,535 initial: one untouched, one that sent 60,000, one that had an update.
        Span<Http2SendWindow> streams = [new(65_535), new(65_535), new(65_535)];
        streams[1].Take(60_000);
        Assert.True(streams[2].TryIncrease(1_000_000));

        // §6.9.2 example: the peer lowers the initial size to 16,384: each window moves by -49,151.
        Assert.True(Http2SendWindow.TryApplyInitialWindowSize(streams, 65_535, 16_384));
        Assert.Equal(16_384, streams[0].Available);
        Assert.Equal(5_535 - 49_151, streams[1].Available); // negative: nothing may be sent
        Assert.Equal(0, streams[1].Take(1));
        Assert.Equal(1_016_384, streams[2].Available);

        // A WINDOW_UPDATE brings the negative one back.
        Assert.True(streams[1].TryIncrease(43_616 + 100));
        Assert.Equal(100, streams[1].Take(1_000));

        // Raising it back applies the difference.
        Assert.True(Http2SendWindow.TryApplyInitialWindowSize(streams, 16_384, 65_535));
        Assert.Equal(65_535, streams[0].Available);
    }

    [Fact]
    public void Initial_window_size_change_pushing_a_window_past_the_maximum_is_a_connection_error()
    {
        Span<Http2SendWindow> streams = [new(65_535), new(65_535)];
        Assert.True(streams[1].TryIncrease(int.MaxValue - 65_535 - 10));
        Assert.False(Http2SendWindow.TryApplyInitialWindowSize(streams, 65_535, 65_535 + 11));
    }

    [Fact]
    public void Receive_window_refuses_data_beyond_it()
    {
        var w = new Http2ReceiveWindow(1000);
        Assert.True(w.TryReceive(600));
        Assert.True(w.TryReceive(400)); // exactly the window
        Assert.False(w.TryReceive(1)); // FLOW_CONTROL_ERROR: a peer ignoring flow control cannot make us buffer more
        Assert.Equal(0, w.Available);
    }

    [Fact]
    public void Receive_window_sends_an_update_once_half_is_released()
    {
        var w = new Http2ReceiveWindow(1000);
        Assert.True(w.TryReceive(1000));
        Assert.Equal(0, w.Release(300)); // not yet: updates stay few
        Assert.Equal(500, w.Release(200)); // half the window waiting: give it all back
        Assert.Equal(500, w.Available);
        Assert.True(w.TryReceive(500));
        Assert.False(w.TryReceive(1));
    }

    [Fact]
    public void Lowering_our_initial_window_leaves_the_peer_in_debt_until_released()
    {
        var w = new Http2ReceiveWindow(65_535);
        Assert.True(w.TryReceive(60_000));
        Assert.True(w.TryAdjust(16_384)); // our new SETTINGS_INITIAL_WINDOW_SIZE is acknowledged
        Assert.Equal(5_535 - 49_151, w.Available);
        Assert.False(w.TryReceive(1));
        Assert.Equal(60_000, w.Release(60_000));
        Assert.Equal(16_384, w.Available);
    }

    [Fact]
    public void Windows_are_small_structs() =>
        Assert.True(System.Runtime.CompilerServices.Unsafe.SizeOf<Http2SendWindow>() <= 8 && System.Runtime.CompilerServices.Unsafe.SizeOf<Http2ReceiveWindow>() <= 16);
}
