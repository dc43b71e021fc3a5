using FastProxy.Http2.Streams;

namespace FastProxy.Tests.Http2;

/// <summary>
/// <see cref="Http2ClosedStreams"/>: how the peer's last <see cref="Http2ClosedStreams.Capacity"/> stream ids were
/// closed, for the frames that arrive after their records are gone (RFC 9113 §5.1).
/// </summary>
public sealed class ClosedStreamsTests
{
    private const int Capacity = Http2ClosedStreams.Capacity;

    [Fact]
    public void Each_closing_is_kept_apart_and_skipped_ids_are_unknown()
    {
        var closed = new Http2ClosedStreams();
        closed.Opened(0, 1);
        closed.Opened(1, 3);
        closed.Opened(3, 9); // 5 and 7 skipped: implicitly closed (§5.1.1)
        closed.Record(1, 9, Http2StreamClosure.EndStream);
        closed.Record(3, 9, Http2StreamClosure.ReceivedReset);
        closed.Record(9, 9, Http2StreamClosure.SentReset);
        Assert.Equal(Http2StreamClosure.EndStream, closed.Find(1, 9));
        Assert.Equal(Http2StreamClosure.ReceivedReset, closed.Find(3, 9));
        Assert.Equal(Http2StreamClosure.None, closed.Find(5, 9));
        Assert.Equal(Http2StreamClosure.None, closed.Find(7, 9));
        Assert.Equal(Http2StreamClosure.SentReset, closed.Find(9, 9));
        // Not the peer's parity, not opened yet, not a stream.
        Assert.Equal(Http2StreamClosure.None, closed.Find(2, 9));
        Assert.Equal(Http2StreamClosure.None, closed.Find(11, 9));
        Assert.Equal(Http2StreamClosure.None, closed.Find(0, 9));
        // A closing recorded again replaces the first (a stream error we answered: we reset it then).
        closed.Record(3, 9, Http2StreamClosure.SentReset);
        Assert.Equal(Http2StreamClosure.SentReset, closed.Find(3, 9));
        Assert.Equal(Http2StreamClosure.EndStream, closed.Find(1, 9));
    }

    [Fact]
    public void A_stream_is_remembered_while_fewer_than_capacity_newer_ones_open_then_forgotten()
    {
        var closed = new Http2ClosedStreams();
        closed.Opened(0, 1);
        closed.Record(1, 1, Http2StreamClosure.SentReset);
        int newest = 1;
        for (int i = 1; i < Capacity; i++)
        {
            closed.Opened(newest, newest + 2);
            newest += 2;
            closed.Record(newest, newest, Http2StreamClosure.EndStream);
        }
        Assert.Equal(Http2StreamClosure.SentReset, closed.Find(1, newest));
        // One more: its slot was stream 1's; 1 is out of the window, and the new stream starts unknown.
        closed.Opened(newest, newest + 2);
        newest += 2;
        Assert.Equal(Http2StreamClosure.None, closed.Find(1, newest));
        Assert.Equal(Http2StreamClosure.None, closed.Find(newest, newest));
        Assert.Equal(Http2StreamClosure.EndStream, closed.Find(newest - 2, newest));
        // A stream that stayed open while the window moved past it is not recorded when it closes (it would land in
        // a newer stream's slot).
        closed.Record(1, newest, Http2StreamClosure.ReceivedReset);
        Assert.Equal(Http2StreamClosure.None, closed.Find(newest, newest));
    }

    [Fact]
    public void A_jump_over_the_whole_window_forgets_everything()
    {
        var closed = new Http2ClosedStreams();
        for (int id = 1; id < 2 * Capacity; id += 2)
        {
            closed.Opened(id - 2 < 0 ? 0 : id - 2, id);
            closed.Record(id, id, Http2StreamClosure.ReceivedReset);
        }
        int last = 2 * Capacity - 1;
        int far = last + 4 * Capacity;
        closed.Opened(last, far);
        for (int id = far - 2 * Capacity + 2; id <= far; id += 2) Assert.Equal(Http2StreamClosure.None, closed.Find(id, far));
        Assert.Equal(Http2StreamClosure.None, closed.Find(last, far));
    }
}
