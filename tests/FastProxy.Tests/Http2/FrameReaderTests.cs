using System.Buffers;
using System.Runtime.InteropServices;
using FastProxy.Http2.Frames;
using static FastProxy.Tests.Http2.H2Bytes;

namespace FastProxy.Tests.Http2;

/// <summary>
/// The frame reader against RFC 9113 §4 and §6: each frame type written by the writer and read back whole, at every
/// split and one byte per segment; payloads are slices of the input; and each frame-local rule refused with the
/// error code and scope the RFC gives.
/// </summary>
public sealed class FrameReaderTests
{
    private static byte[] Write(Action<IBufferWriter<byte>> write)
    {
        var writer = new ArrayBufferWriter<byte>();
        write(writer);
        return writer.WrittenSpan.ToArray();
    }

    /// <summary>Raw frame: 9-octet header then payload, for frames the writer would never produce.</summary>
    private static byte[] Raw(int length, byte type, byte flags, uint streamId, params byte[] payload) =>
    [
        (byte)(length >> 16), (byte)(length >> 8), (byte)length, type, flags,
        (byte)(streamId >> 24), (byte)(streamId >> 16), (byte)(streamId >> 8), (byte)streamId, .. payload,
    ];

    private static byte[] Raw(byte type, byte flags, uint streamId, params byte[] payload) => Raw(payload.Length, type, flags, streamId, payload);

    private static (Http2ReadStatus Status, Http2Frame Frame, Http2FrameError Error, long Consumed) Read(ReadOnlySequence<byte> input, Http2FrameReader? reader = null)
    {
        reader ??= new Http2FrameReader();
        var buffer = input;
        var status = reader.TryRead(ref buffer, out var frame, out var error);
        return (status, frame, error, input.Length - buffer.Length);
    }

    private static (Http2ReadStatus Status, Http2Frame Frame, Http2FrameError Error, long Consumed) Read(byte[] input) => Read(new ReadOnlySequence<byte>(input));

    public static TheoryData<string> FrameKinds() =>
        ["data", "data-padded", "data-empty-end", "headers", "headers-padded-priority", "priority", "rst", "settings", "settings-ack",
         "push-promise", "ping", "ping-ack", "goaway", "window-update", "window-update-conn", "extension"];

    private static byte[] Sample(string kind) => kind switch
    {
        "data" => Write(w => Http2FrameWriter.WriteData(w, 1, Ascii("hello world"), endStream: false)),
        "data-padded" => Write(w => Http2FrameWriter.WriteData(w, 3, Ascii("padded"), endStream: true, padLength: 7)),
        "data-empty-end" => Write(w => Http2FrameWriter.WriteData(w, 5, ReadOnlySpan<byte>.Empty, endStream: true)),
        "headers" => Write(w => Http2FrameWriter.WriteHeaders(w, 1, Hex("8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff"), endStream: true, endHeaders: true)),
        "headers-padded-priority" => Raw(0x1, 0x2d, 7, [4, 0x80, 0, 0, 3, 15, 0x82, 0x84, 0, 0, 0, 0]),
        "priority" => Write(w => Http2FrameWriter.WritePriority(w, 9, 7, exclusive: true, weight: 200)),
        "rst" => Write(w => Http2FrameWriter.WriteRstStream(w, 11, Http2ErrorCode.Cancel)),
        "settings" => Write(w => Http2FrameWriter.WriteSettings(w,
            [new(Http2SettingsParameter.MaxConcurrentStreams, 100), new(Http2SettingsParameter.InitialWindowSize, 1 << 20), new((Http2SettingsParameter)0x77, 5)])),
        "settings-ack" => Write(Http2FrameWriter.WriteSettingsAck),
        "push-promise" => Write(w => Http2FrameWriter.WritePushPromise(w, 1, 2, Hex("82"), endHeaders: true)),
        "ping" => Write(w => Http2FrameWriter.WritePing(w, 0x0102030405060708, ack: false)),
        "ping-ack" => Write(w => Http2FrameWriter.WritePing(w, ulong.MaxValue, ack: true)),
        "goaway" => Write(w => Http2FrameWriter.WriteGoAway(w, 41, Http2ErrorCode.EnhanceYourCalm, Ascii("calm down"))),
        "window-update" => Write(w => Http2FrameWriter.WriteWindowUpdate(w, 13, 1000)),
        "window-update-conn" => Write(w => Http2FrameWriter.WriteWindowUpdate(w, 0, int.MaxValue)),
        "extension" => Raw(0xfa, 0xff, 1, [1, 2, 3]),
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    /// <summary>Everything the reader produced, as text, so reads of the same bytes cut differently can be compared.</summary>
    private static string Describe(Http2Frame f) =>
        $"{f.Type} len={f.Length} flags={(byte)f.Flags:x2} stream={f.StreamId} pad={f.PadLength} dep={f.StreamDependency} excl={f.Exclusive} " +
        $"w={f.Weight} promised={f.PromisedStreamId} code={f.ErrorCode} last={f.LastStreamId} inc={f.WindowIncrement} ping={f.PingData:x16} " +
        $"payload={Convert.ToHexString(f.Payload.ToArray())}";

    [Theory]
    [MemberData(nameof(FrameKinds))]
    public void Each_frame_reads_the_same_at_every_split_and_one_byte_per_segment(string kind)
    {
        byte[] wire = Sample(kind);
        var whole = Read(wire);
        Assert.Equal(Http2ReadStatus.Frame, whole.Status);
        Assert.Equal(wire.Length, whole.Consumed);
        string expected = Describe(whole.Frame);

        for (int at = 0; at <= wire.Length; at++)
        {
            // The prefix alone: need more, nothing consumed.
            if (at < wire.Length)
            {
                var partial = Read(new ReadOnlySequence<byte>(wire, 0, at));
                Assert.Equal(Http2ReadStatus.NeedMore, partial.Status);
                Assert.Equal(0, partial.Consumed);
            }
            var split = Read(Split(wire, at));
            Assert.Equal(Http2ReadStatus.Frame, split.Status);
            Assert.Equal(expected, Describe(split.Frame));
        }
        var bytewise = Read(BytePerSegment(wire));
        Assert.Equal(expected, Describe(bytewise.Frame));
        Assert.Equal(wire.Length, bytewise.Consumed);
    }

    [Fact]
    public void Fields_of_each_type_are_decoded()
    {
        var data = Read(Sample("data-padded")).Frame;
        Assert.Equal((Http2FrameType.Data, 3, 7, true, "padded"), (data.Type, data.StreamId, data.PadLength, data.EndStream, Text(data.Payload.ToArray())));
        Assert.Equal(1 + 6 + 7, data.Length);

        var headers = Read(Sample("headers-padded-priority")).Frame;
        Assert.Equal((7, 4, true, 3, (byte)15, "8284"), (headers.StreamId, headers.PadLength, headers.Exclusive, headers.StreamDependency, headers.Weight, Convert.ToHexString(headers.Payload.ToArray())));
        Assert.True(headers.EndStream && headers.EndHeaders);

        var priority = Read(Sample("priority")).Frame;
        Assert.Equal((9, 7, true, (byte)200), (priority.StreamId, priority.StreamDependency, priority.Exclusive, priority.Weight));

        Assert.Equal(Http2ErrorCode.Cancel, Read(Sample("rst")).Frame.ErrorCode);

        var settings = new List<Http2Setting>();
        foreach (var s in new Http2SettingsEnumerator(Read(Sample("settings")).Frame.Payload)) settings.Add(s);
        Assert.Equal([new(Http2SettingsParameter.MaxConcurrentStreams, 100), new(Http2SettingsParameter.InitialWindowSize, 1 << 20), new((Http2SettingsParameter)0x77, 5)], settings);
        Assert.True(Read(Sample("settings-ack")).Frame.IsAck);

        var push = Read(Sample("push-promise")).Frame;
        Assert.Equal((1, 2, "82"), (push.StreamId, push.PromisedStreamId, Convert.ToHexString(push.Payload.ToArray())));

        Assert.Equal(0x0102030405060708ul, Read(Sample("ping")).Frame.PingData);
        Assert.True(Read(Sample("ping-ack")).Frame.IsAck);

        var goaway = Read(Sample("goaway")).Frame;
        Assert.Equal((41, Http2ErrorCode.EnhanceYourCalm, "calm down"), (goaway.LastStreamId, goaway.ErrorCode, Text(goaway.Payload.ToArray())));

        Assert.Equal((13, 1000), (Read(Sample("window-update")).Frame.StreamId, Read(Sample("window-update")).Frame.WindowIncrement));
        Assert.Equal(int.MaxValue, Read(Sample("window-update-conn")).Frame.WindowIncrement);

        var extension = Read(Sample("extension")).Frame;
        Assert.True(extension.IsExtension);
        Assert.Equal("010203", Convert.ToHexString(extension.Payload.ToArray()));
    }

    [Fact]
    public void Payload_is_a_slice_of_the_receive_buffer_not_a_copy()
    {
        byte[] wire = Sample("data-padded");
        var frame = Read(wire).Frame;
        Assert.True(MemoryMarshal.TryGetArray(frame.Payload.First, out ArraySegment<byte> slice));
        Assert.Same(wire, slice.Array);
        Assert.Equal(Http2Limits.FrameHeaderLength + 1, slice.Offset); // after the header and the Pad Length octet
    }

    [Fact]
    public void Several_frames_in_one_buffer_are_read_one_by_one()
    {
        byte[] wire = [.. Sample("settings"), .. Sample("ping"), .. Sample("headers"), .. Sample("data")];
        var reader = new Http2FrameReader();
        var buffer = new ReadOnlySequence<byte>(wire);
        var types = new List<Http2FrameType>();
        for (int i = 0; i < 10 && reader.TryRead(ref buffer, out var frame, out _) == Http2ReadStatus.Frame; i++) types.Add(frame.Type);
        Assert.Equal([Http2FrameType.Settings, Http2FrameType.Ping, Http2FrameType.Headers, Http2FrameType.Data], types);
        Assert.Equal(0, buffer.Length);
    }

    [Fact]
    public void Reserved_bit_of_the_stream_id_is_ignored()
    {
        var frame = Read(Raw(0x0, 0, 0x8000_0001, [0x61])).Frame;
        Assert.Equal(1, frame.StreamId);
    }

    // §4.2: over SETTINGS_MAX_FRAME_SIZE is FRAME_SIZE_ERROR, refused from the 9-octet header alone.
    [Fact]
    public void Frame_over_max_frame_size_is_refused_from_its_header_before_buffering()
    {
        byte[] header = Raw(16_385, 0x0, 0, 1);
        var result = Read(header);
        Assert.Equal(Http2ReadStatus.Error, result.Status);
        Assert.Equal(new Http2FrameError(Http2ErrorCode.FrameSizeError, 0, Http2FrameErrorReason.FrameTooLarge), result.Error);

        // Exactly the limit is fine, and a raised limit lets a larger one in.
        Assert.Equal(Http2ReadStatus.NeedMore, Read(Raw(16_384, 0x0, 0, 1)).Status);
        var reader = new Http2FrameReader { MaxFrameSize = 1 << 20 };
        Assert.Equal(Http2ReadStatus.NeedMore, Read(new ReadOnlySequence<byte>(header), reader).Status);
        Assert.Throws<ArgumentOutOfRangeException>(() => reader.MaxFrameSize = 16_383);
    }

    public static TheoryData<string, byte[], Http2ErrorCode, bool, Http2FrameErrorReason> Violations() => new()
    {
        // §6.1 DATA
        { "DATA on stream 0", Raw(0x0, 0, 0, [1]), Http2ErrorCode.ProtocolError, true, Http2FrameErrorReason.StreamIdMustNotBeZero },
        { "DATA padding = payload length", Raw(0x0, 0x8, 1, [3, 0, 0]), Http2ErrorCode.ProtocolError, true, Http2FrameErrorReason.PaddingTooLong },
        { "DATA padding > payload", Raw(0x0, 0x8, 1, [200, 1, 2]), Http2ErrorCode.ProtocolError, true, Http2FrameErrorReason.PaddingTooLong },
        { "DATA PADDED with no Pad Length", Raw(0x0, 0x8, 1), Http2ErrorCode.FrameSizeError, true, Http2FrameErrorReason.FrameTooShort },
        // §6.2 HEADERS
        { "HEADERS on stream 0", Raw(0x1, 0x4, 0, [0x82]), Http2ErrorCode.ProtocolError, true, Http2FrameErrorReason.StreamIdMustNotBeZero },
        { "HEADERS padding over the block", Raw(0x1, 0xc, 1, [2, 0x82]), Http2ErrorCode.ProtocolError, true, Http2FrameErrorReason.PaddingTooLong },
        { "HEADERS PRIORITY too short", Raw(0x1, 0x24, 1, [0, 0, 0, 3]), Http2ErrorCode.FrameSizeError, true, Http2FrameErrorReason.FrameTooShort },
        { "HEADERS depends on itself", Raw(0x1, 0x24, 5, [0, 0, 0, 5, 16, 0x82]), Http2ErrorCode.ProtocolError, true, Http2FrameErrorReason.StreamDependsOnItself },
        // §6.3 PRIORITY
        { "PRIORITY on stream 0", Raw(0x2, 0, 0, [0, 0, 0, 1, 16]), Http2ErrorCode.ProtocolError, true, Http2FrameErrorReason.StreamIdMustNotBeZero },
        { "PRIORITY of 4 octets", Raw(0x2, 0, 3, [0, 0, 0, 1]), Http2ErrorCode.FrameSizeError, false, Http2FrameErrorReason.BadFixedLength },
        { "PRIORITY of 6 octets", Raw(0x2, 0, 3, [0, 0, 0, 1, 16, 0]), Http2ErrorCode.FrameSizeError, false, Http2FrameErrorReason.BadFixedLength },
        { "PRIORITY depends on itself", Raw(0x2, 0, 3, [0, 0, 0, 3, 16]), Http2ErrorCode.ProtocolError, false, Http2FrameErrorReason.StreamDependsOnItself },
        // §6.4 RST_STREAM
        { "RST_STREAM on stream 0", Raw(0x3, 0, 0, [0, 0, 0, 8]), Http2ErrorCode.ProtocolError, true, Http2FrameErrorReason.StreamIdMustNotBeZero },
        { "RST_STREAM of 3 octets", Raw(0x3, 0, 1, [0, 0, 8]), Http2ErrorCode.FrameSizeError, true, Http2FrameErrorReason.BadFixedLength },
        { "RST_STREAM of 5 octets", Raw(0x3, 0, 1, [0, 0, 0, 8, 0]), Http2ErrorCode.FrameSizeError, true, Http2FrameErrorReason.BadFixedLength },
        // §6.5 SETTINGS
        { "SETTINGS on a stream", Raw(0x4, 0, 1), Http2ErrorCode.ProtocolError, true, Http2FrameErrorReason.StreamIdMustBeZero },
        { "SETTINGS ACK with payload", Raw(0x4, 0x1, 0, [0, 3, 0, 0, 0, 1]), Http2ErrorCode.FrameSizeError, true, Http2FrameErrorReason.SettingsAckWithPayload },
        { "SETTINGS of 5 octets", Raw(0x4, 0, 0, [0, 3, 0, 0, 1]), Http2ErrorCode.FrameSizeError, true, Http2FrameErrorReason.SettingsLengthNotMultipleOfSix },
        { "SETTINGS_ENABLE_PUSH 2", Raw(0x4, 0, 0, [0, 2, 0, 0, 0, 2]), Http2ErrorCode.ProtocolError, true, Http2FrameErrorReason.SettingsBadBoolean },
        { "SETTINGS_INITIAL_WINDOW_SIZE 2^31", Raw(0x4, 0, 0, [0, 4, 0x80, 0, 0, 0]), Http2ErrorCode.FlowControlError, true, Http2FrameErrorReason.SettingsInitialWindowTooLarge },
        { "SETTINGS_MAX_FRAME_SIZE 2^14-1", Raw(0x4, 0, 0, [0, 5, 0, 0, 0x3f, 0xff]), Http2ErrorCode.ProtocolError, true, Http2FrameErrorReason.SettingsMaxFrameSizeOutOfRange },
        { "SETTINGS_MAX_FRAME_SIZE 2^24", Raw(0x4, 0, 0, [0, 5, 1, 0, 0, 0]), Http2ErrorCode.ProtocolError, true, Http2FrameErrorReason.SettingsMaxFrameSizeOutOfRange },
        { "bad value after a good one", Raw(0x4, 0, 0, [0, 3, 0, 0, 0, 9, 0, 2, 0, 0, 0, 7]), Http2ErrorCode.ProtocolError, true, Http2FrameErrorReason.SettingsBadBoolean },
        // §6.6 PUSH_PROMISE
        { "PUSH_PROMISE on stream 0", Raw(0x5, 0x4, 0, [0, 0, 0, 2]), Http2ErrorCode.ProtocolError, true, Http2FrameErrorReason.StreamIdMustNotBeZero },
        { "PUSH_PROMISE without promised id", Raw(0x5, 0x4, 1, [0, 0]), Http2ErrorCode.FrameSizeError, true, Http2FrameErrorReason.FrameTooShort },
        { "PUSH_PROMISE padding over the block", Raw(0x5, 0xc, 1, [1, 0, 0, 0, 2]), Http2ErrorCode.ProtocolError, true, Http2FrameErrorReason.PaddingTooLong },
        // §6.7 PING
        { "PING on a stream", Raw(0x6, 0, 1, [1, 2, 3, 4, 5, 6, 7, 8]), Http2ErrorCode.ProtocolError, true, Http2FrameErrorReason.StreamIdMustBeZero },
        { "PING of 7 octets", Raw(0x6, 0, 0, [1, 2, 3, 4, 5, 6, 7]), Http2ErrorCode.FrameSizeError, true, Http2FrameErrorReason.BadFixedLength },
        { "PING of 9 octets", Raw(0x6, 0, 0, [1, 2, 3, 4, 5, 6, 7, 8, 9]), Http2ErrorCode.FrameSizeError, true, Http2FrameErrorReason.BadFixedLength },
        // §6.8 GOAWAY
        { "GOAWAY on a stream", Raw(0x7, 0, 1, [0, 0, 0, 0, 0, 0, 0, 0]), Http2ErrorCode.ProtocolError, true, Http2FrameErrorReason.StreamIdMustBeZero },
        { "GOAWAY of 7 octets", Raw(0x7, 0, 0, [0, 0, 0, 0, 0, 0, 0]), Http2ErrorCode.FrameSizeError, true, Http2FrameErrorReason.BadFixedLength },
        // §6.9 WINDOW_UPDATE
        { "WINDOW_UPDATE of 3 octets", Raw(0x8, 0, 1, [0, 0, 1]), Http2ErrorCode.FrameSizeError, true, Http2FrameErrorReason.BadFixedLength },
        { "WINDOW_UPDATE of 5 octets on 0", Raw(0x8, 0, 0, [0, 0, 0, 1, 0]), Http2ErrorCode.FrameSizeError, true, Http2FrameErrorReason.BadFixedLength },
        { "WINDOW_UPDATE 0 on a stream", Raw(0x8, 0, 1, [0, 0, 0, 0]), Http2ErrorCode.ProtocolError, false, Http2FrameErrorReason.ZeroWindowIncrement },
        { "WINDOW_UPDATE 0 (R bit set) on a stream", Raw(0x8, 0, 1, [0x80, 0, 0, 0]), Http2ErrorCode.ProtocolError, false, Http2FrameErrorReason.ZeroWindowIncrement },
        { "WINDOW_UPDATE 0 on the connection", Raw(0x8, 0, 0, [0, 0, 0, 0]), Http2ErrorCode.ProtocolError, true, Http2FrameErrorReason.ZeroWindowIncrement },
        // §6.10 CONTINUATION
        { "CONTINUATION with no block open", Raw(0x9, 0x4, 1, [0x82]), Http2ErrorCode.ProtocolError, true, Http2FrameErrorReason.UnexpectedContinuation },
    };

    [Theory]
    [MemberData(nameof(Violations))]
    public void Frame_local_rules_are_enforced_with_the_rfc_error(string rule, byte[] wire, Http2ErrorCode code, bool connection, Http2FrameErrorReason reason)
    {
        var result = Read(wire);
        Assert.True(result.Status == Http2ReadStatus.Error, rule);
        Assert.Equal(code, result.Error.Code);
        Assert.Equal(reason, result.Error.Reason);
        Assert.Equal(connection, result.Error.IsConnectionError);
        // A stream error consumed the frame (reading can go on), and names the stream.
        if (!connection)
        {
            Assert.Equal(wire.Length, result.Consumed);
            Assert.Equal(result.Frame.StreamId, result.Error.StreamId);
        }
        // Whatever the cut, the verdict is the same.
        Assert.Equal(result.Error, Read(BytePerSegment(wire)).Error);
    }

    [Fact]
    public void Padding_taking_all_that_is_left_is_valid()
    {
        var data = Read(Raw(0x0, 0x8, 1, [2, 0, 0])).Frame; // §6.1: padding of payload length - 1: no data
        Assert.Equal((2, 0L), (data.PadLength, data.Payload.Length));
        var headers = Read(Raw(0x1, 0xc, 1, [1, 0x82, 0])).Frame;
        Assert.Equal("82", Convert.ToHexString(headers.Payload.ToArray()));
    }

    [Fact]
    public void Field_block_must_continue_on_its_stream_with_nothing_in_between()
    {
        byte[] headers = Raw(0x1, 0, 1, [0x82]); // no END_HEADERS
        var reader = new Http2FrameReader();
        Assert.Equal(Http2ReadStatus.Frame, Read(new ReadOnlySequence<byte>(headers), reader).Status);
        Assert.True(reader.InFieldBlock);

        foreach (byte[] intruder in new[]
        {
            Sample("ping"), Sample("data"), Raw(0x9, 0x4, 3, [0x84]) /* CONTINUATION on another stream */, Raw(0xfa, 0, 1, [1]) /* extension */,
            Raw(0x1, 0x4, 3, [0x82]) /* another HEADERS */,
        })
        {
            var copy = new Http2FrameReader();
            Read(new ReadOnlySequence<byte>(headers), copy);
            var result = Read(new ReadOnlySequence<byte>(intruder[..9]), copy); // refused from the header alone
            Assert.Equal(Http2ReadStatus.Error, result.Status);
            Assert.Equal(new Http2FrameError(Http2ErrorCode.ProtocolError, 0, Http2FrameErrorReason.ExpectedContinuation), result.Error);
        }

        Assert.Equal(Http2ReadStatus.Frame, Read(new ReadOnlySequence<byte>(Raw(0x9, 0, 1, [0x84])), reader).Status);
        Assert.True(reader.InFieldBlock);
        Assert.Equal(Http2ReadStatus.Frame, Read(new ReadOnlySequence<byte>(Raw(0x9, 0x4, 1, [0x86])), reader).Status);
        Assert.False(reader.InFieldBlock);
        Assert.Equal(Http2ReadStatus.Frame, Read(new ReadOnlySequence<byte>(Sample("ping")), reader).Status);
    }

    [Fact]
    public void Continuation_flood_of_empty_frames_is_cut_at_the_field_block_limit()
    {
        // HEADERS without END_HEADERS, then empty CONTINUATIONs forever: each costs its 9-octet header against the
        // limit, so the flood ends with ENHANCE_YOUR_CALM after limit / 9 frames, refused from the header alone.
        var reader = new Http2FrameReader { MaxFieldBlockSize = 9 * 100 };
        Assert.Equal(Http2ReadStatus.Frame, Read(new ReadOnlySequence<byte>(Raw(0x1, 0, 1, [])), reader).Status);
        int accepted = 0;
        Http2FrameError error = default;
        for (int i = 0; i < 1000; i++)
        {
            var result = Read(new ReadOnlySequence<byte>(Raw(0x9, 0, 1)), reader);
            if (result.Status != Http2ReadStatus.Frame)
            {
                error = result.Error;
                break;
            }
            accepted++;
        }
        Assert.Equal(99, accepted);
        Assert.Equal(new Http2FrameError(Http2ErrorCode.EnhanceYourCalm, 0, Http2FrameErrorReason.FieldBlockTooLarge), error);
    }

    [Fact]
    public void Field_block_limit_counts_one_block_at_a_time()
    {
        // Blocks of 9 + 100 octets each, 50 of them, under a limit of 200: each block alone fits.
        var reader = new Http2FrameReader { MaxFieldBlockSize = 200 };
        for (int i = 0; i < 50; i++)
        {
            Assert.Equal(Http2ReadStatus.Frame, Read(new ReadOnlySequence<byte>(Raw(0x1, 0, (uint)(2 * i + 1), new byte[50])), reader).Status);
            Assert.Equal(Http2ReadStatus.Frame, Read(new ReadOnlySequence<byte>(Raw(0x9, 0x4, (uint)(2 * i + 1), new byte[50])), reader).Status);
        }
        // A single HEADERS frame over the limit is refused before its payload arrives.
        var big = Raw(length: 192, type: 0x1, flags: 0x4, streamId: 101);
        Assert.Equal(Http2FrameErrorReason.FieldBlockTooLarge, Read(new ReadOnlySequence<byte>(big), reader).Error.Reason);
    }

    [Fact]
    public void Field_block_split_by_the_writer_reads_back_whole()
    {
        byte[] block = Enumerable.Range(0, 40_000).Select(i => (byte)i).ToArray();
        byte[] wire = Write(w => Http2FrameWriter.WriteFieldBlock(w, 7, block, endStream: true, maxFrameSize: 16_384));
        var reader = new Http2FrameReader();
        var buffer = new ReadOnlySequence<byte>(wire);
        var fragments = new List<byte>();
        var types = new List<(Http2FrameType, Http2Flags)>();
        for (int i = 0; i < 10 && buffer.Length > 0; i++)
        {
            Assert.Equal(Http2ReadStatus.Frame, reader.TryRead(ref buffer, out var frame, out _));
            types.Add((frame.Type, frame.Flags));
            fragments.AddRange(frame.Payload.ToArray());
        }
        Assert.Equal([(Http2FrameType.Headers, Http2Flags.EndStream), (Http2FrameType.Continuation, Http2Flags.None), (Http2FrameType.Continuation, Http2Flags.EndHeaders)], types);
        Assert.Equal(block, fragments);
    }

    [Fact]
    public void Data_written_from_a_segmented_sequence_reads_back_whole()
    {
        byte[] body = Enumerable.Range(0, 5000).Select(i => (byte)(i * 7)).ToArray();
        byte[] wire = Write(w => Http2FrameWriter.WriteData(w, 9, Cut(body, 1000), endStream: true));
        var frame = Read(wire).Frame;
        Assert.Equal((Http2FrameType.Data, 9, true, 5000), (frame.Type, frame.StreamId, frame.EndStream, frame.Length));
        Assert.Equal(body, frame.Payload.ToArray());
    }

    private static ReadOnlySequence<byte> Cut(byte[] bytes, int size) =>
        Sequence(Enumerable.Range(0, (bytes.Length + size - 1) / size).Select(i => bytes[(i * size)..Math.Min(bytes.Length, (i + 1) * size)]).ToArray());

    [Fact]
    public void Writer_output_matches_rfc_9113_layouts_bit_for_bit()
    {
        // §6.7 PING: length 8, type 6, flags ACK, stream 0, opaque data.
        Assert.Equal("000008060100000000" + "0102030405060708", Convert.ToHexString(Write(w => Http2FrameWriter.WritePing(w, 0x0102030405060708, ack: true))));
        // §6.8 GOAWAY: last stream 0x7fffffff masked to 31 bits, NO_ERROR.
        Assert.Equal("000008070000000000" + "7FFFFFFF00000000", Convert.ToHexString(Write(w => Http2FrameWriter.WriteGoAway(w, int.MaxValue, Http2ErrorCode.NoError))));
        // §6.5: SETTINGS ACK has no payload.
        Assert.Equal("000000040100000000", Convert.ToHexString(Write(Http2FrameWriter.WriteSettingsAck)));
        // §6.1: padded DATA: Pad Length, data, zero padding.
        Assert.Equal("000004000900000001" + "02" + "61" + "0000", Convert.ToHexString(Write(w => Http2FrameWriter.WriteData(w, 1, Ascii("a"), true, padLength: 2))));
        Assert.Throws<ArgumentOutOfRangeException>(() => Write(w => Http2FrameWriter.WriteWindowUpdate(w, 1, 0)));
    }
}
