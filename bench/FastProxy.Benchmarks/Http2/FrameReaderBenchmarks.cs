using System.Buffers;
using BenchmarkDotNet.Attributes;
using FastProxy.Http2.Frames;

namespace FastProxy.Benchmarks.Http2;

/// <summary>
/// Reads the frames of one busy connection turn per call: SETTINGS, a HEADERS block, 16 DATA frames of 1 KiB
/// (every fourth padded), a WINDOW_UPDATE and a PING, about 17 KiB. <see cref="Segmented"/> cuts the buffer into
/// 4 KiB segments, as the pipe's block pool delivers it, so frames straddle segments.
/// </summary>
[MemoryDiagnoser]
public class FrameReaderBenchmarks
{
    private ReadOnlySequence<byte> _input;
    private readonly Http2FrameReader _reader = new();
    private int _frames;

    [Params(false, true)]
    public bool Segmented { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var writer = new ArrayBufferWriter<byte>();
        Http2FrameWriter.WriteSettings(writer, [new(Http2SettingsParameter.MaxConcurrentStreams, 100), new(Http2SettingsParameter.InitialWindowSize, 1 << 20)]);
        Http2FrameWriter.WriteHeaders(writer, 1, new byte[120], endStream: false, endHeaders: true);
        var data = new byte[1024];
        for (int i = 0; i < 16; i++) Http2FrameWriter.WriteData(writer, 1, data, endStream: i == 15, padLength: i % 4 == 0 ? 16 : 0);
        Http2FrameWriter.WriteWindowUpdate(writer, 0, 1 << 20);
        Http2FrameWriter.WritePing(writer, 42, ack: false);
        byte[] bytes = writer.WrittenSpan.ToArray();
        _input = Segmented ? Segments.Cut(bytes, 4096) : new ReadOnlySequence<byte>(bytes);
        _frames = 20;
        if (Read() != _frames) throw new InvalidOperationException("benchmark input did not read back as 20 frames");
    }

    [Benchmark]
    public int Read()
    {
        var buffer = _input;
        int frames = 0;
        long payload = 0;
        while (_reader.TryRead(ref buffer, out Http2Frame frame, out _) == Http2ReadStatus.Frame)
        {
            frames++;
            payload += frame.Payload.Length;
        }
        return frames + (int)(payload & 1);
    }
}

internal static class Segments
{
    public static ReadOnlySequence<byte> Cut(byte[] bytes, int size)
    {
        Segment? first = null, last = null;
        for (int offset = 0; offset < bytes.Length; offset += size)
        {
            var memory = bytes.AsMemory(offset, Math.Min(size, bytes.Length - offset));
            var segment = new Segment(memory, offset);
            if (first == null) first = segment;
            else last!.SetNext(segment);
            last = segment;
        }
        return new ReadOnlySequence<byte>(first!, 0, last!, last!.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public void SetNext(Segment next) => Next = next;
    }
}
