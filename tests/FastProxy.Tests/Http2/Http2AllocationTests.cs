using System.Buffers;
using FastProxy.Http2.Frames;
using FastProxy.Http2.HPack;
using FastProxy.Http2.Streams;
using static FastProxy.Tests.Http2.H2Bytes;

namespace FastProxy.Tests.Http2;

/// <summary>
/// The HTTP/2 wire components allocate nothing per frame or per field block once set up: 10,000 rounds of
/// reading frames (segmented), decoding and encoding blocks (Huffman, dynamic table inserts and evictions) and
/// driving stream states and windows must not allocate a byte on this thread.
/// </summary>
public sealed class Http2AllocationTests
{
    private struct Sink : IHPackHeaderHandler
    {
        public int Bytes;
        public void OnHeader(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value, bool neverIndexed) => Bytes += name.Length + value.Length;
    }

    [Fact]
    public void Steady_state_reading_decoding_encoding_and_state_tracking_allocate_nothing()
    {
        var writer = new ArrayBufferWriter<byte>(64 * 1024);
        Http2FrameWriter.WriteSettings(writer, [new(Http2SettingsParameter.InitialWindowSize, 1 << 20)]);
        Http2FrameWriter.WriteHeaders(writer, 1, Hex("8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff"), false, false);
        Http2FrameWriter.WriteContinuation(writer, 1, Hex("82"), true);
        for (int i = 0; i < 8; i++) Http2FrameWriter.WriteData(writer, 1, new byte[3000], endStream: i == 7, padLength: i);
        Http2FrameWriter.WritePing(writer, 7, false);
        byte[] wire = writer.WrittenSpan.ToArray();
        var input = Sequence(wire[..1000], wire[1000..5000], wire[5000..]);

        // C.6: responses that insert and evict in a 256-octet table on every block.
        byte[][] blocks =
        [
            Hex("4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6 2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3"),
            Hex("4883 640e ffc1 c0bf"),
        ];
        byte[] name = Ascii("x-request-id"), value = Ascii("5f0c8f7e-1b2a-4c3d-9e8f-7a6b5c4d3e2f");
        var reader = new Http2FrameReader();
        var encoder = new HPackEncoder(256);
        var output = new byte[4096];

        long Round()
        {
            long total = 0;
            var buffer = input;
            while (reader.TryRead(ref buffer, out var frame, out _) == Http2ReadStatus.Frame) total += frame.Payload.Length;

            var decoder = s_decoder;
            var sink = new Sink();
            foreach (byte[] block in blocks) decoder.Decode(block.AsSpan(), true, ref sink);
            // A table size update back to 256 starts the next round's first block from an empty table, as C.6.1 expects.
            decoder.Decode(Hex20, true, ref sink);
            decoder.Decode(Hex3f, true, ref sink);

            int written = 0;
            encoder.BeginBlock(output, ref written);
            encoder.TryEncode(name, value, HPackIndexing.Incremental, output, ref written);
            encoder.TryEncode(value, name, HPackIndexing.Without, output, ref written);

            var stream = new Http2StreamStateMachine();
            stream.OnReceive(Http2FrameType.Headers, false);
            stream.OnReceive(Http2FrameType.Data, true);
            stream.OnSend(Http2FrameType.Headers, true);
            // The stream leaves: how it closed is kept, and a late frame judged by it.
            var closed = new Http2ClosedStreams();
            closed.Opened(0, 3);
            closed.Record(3, 3, stream.Closure);
            total += (int)Http2StreamStateMachine.Closed(closed.Find(3, 3)).OnReceive(Http2FrameType.Data, false).Action;
            var send = new Http2SendWindow(65_535);
            send.Take(16_384);
            send.TryIncrease(16_384);
            var receive = new Http2ReceiveWindow(65_535);
            receive.TryReceive(30_000);
            receive.Release(30_000);
            return total + sink.Bytes + written;
        }

        for (int i = 0; i < 100; i++) Round(); // warm up: static tables, first-call paths
        long before = GC.GetAllocatedBytesForCurrentThread();
        long work = 0;
        for (int i = 0; i < 10_000; i++) work += Round();
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(work > 0);
        Assert.Equal(0, allocated);
        Assert.Equal(HPackError.None, s_decoder.Error);
    }

    private static readonly HPackDecoder s_decoder = new(256, 16 * 1024);
    private static readonly byte[] Hex20 = [0x20];
    private static readonly byte[] Hex3f = [0x3f, 0xe1, 0x01]; // 31 + 97 + 128 = 256
}
