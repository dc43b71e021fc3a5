using FastProxy.Http1;

namespace FastProxy.Tests.Http1;

/// <summary>
/// Seeded mutations of valid messages (bytes the grammar cares about inserted, replaced, deleted), each checked to
/// get the same answer however it is split. Deterministic: a failure names its seed and input. Bounded to stay fast;
/// set FASTPROXY_FUZZ_ROUNDS to run longer locally.
/// </summary>
public sealed class SplitFuzzTests
{
    private static readonly int Rounds = int.TryParse(Environment.GetEnvironmentVariable("FASTPROXY_FUZZ_ROUNDS"), out int r) ? r : 300;

    /// <summary>The bytes that change how a head or a chunked body is read.</summary>
    private static readonly byte[] Interesting = Wire.Bytes("\r\n \t:,;=\"\\#?/*[]@0aF9-\0\u000b\u000c\u007f\u0080\u00ff");

    private static readonly string[] Requests =
    [
        "GET /a?b=c HTTP/1.1\r\nHost: x:1\r\nConnection: close, X-A\r\nX-A: 1\r\n\r\n",
        "POST http://h/p HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc",
        "PUT / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
        "\r\nOPTIONS * HTTP/1.1\r\nHost: [::1]:8\r\nExpect: 100-continue\r\nTE: trailers\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
    ];

    private static readonly string[] Responses =
    [
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nhi",
        "HTTP/1.0 204\r\nTransfer-Encoding: chunked\r\nX: y\r\n\r\n",
    ];

    private static readonly string[] Bodies =
    [
        "5;a=\"q\\\"\"\r\nhello\r\n0\r\nT: v\r\n\r\n",
        "1\r\nx\r\nA\r\n0123456789\r\n0\r\n\r\nnext",
    ];

    private static byte[] Mutate(Random random, byte[] input)
    {
        var bytes = new List<byte>(input);
        int edits = random.Next(1, 4);
        for (int e = 0; e < edits; e++)
        {
            int at = random.Next(bytes.Count + 1);
            byte b = Interesting[random.Next(Interesting.Length)];
            switch (random.Next(4))
            {
                case 0: bytes.Insert(at, b); break;
                case 1 when at < bytes.Count: bytes[at] = b; break;
                case 2 when at < bytes.Count: bytes.RemoveAt(at); break;
                default: bytes.InsertRange(at, Enumerable.Repeat(b, random.Next(1, 40))); break;
            }
        }
        return [.. bytes];
    }

    public static TheoryData<int> Seeds => [1, 2, 3];

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Mutated_requests_get_one_answer_however_split(int seed)
    {
        var random = new Random(seed);
        var tight = new HeadLimits(MaxStartLine: 40, MaxHeaderBytes: 80, MaxHeaders: 3);
        for (int i = 0; i < Rounds; i++)
        {
            var input = Mutate(random, Wire.Bytes(Requests[random.Next(Requests.Length)]));
            var parser = new RequestUnderTest(HeadLimits.Default);
            if (HeadSplits.Check(parser, input).StartsWith("Complete", StringComparison.Ordinal))
            {
                parser.Reset();
                parser.Parse(input);
                AssertWellFormed(parser.Head, input);
            }
            HeadSplits.Check(new RequestUnderTest(tight), input);
        }
    }

    /// <summary>What an accepted request head must be, whatever it was mutated from (RFC 9112 §3, §5, §6).</summary>
    private static void AssertWellFormed(RequestHead h, byte[] input)
    {
        string shown = Wire.Show(input.AsSpan(0, h.HeadLength));
        var head = input.AsSpan(0, h.HeadLength);
        Assert.True(head.EndsWith("\r\n\r\n"u8), shown);
        // Every LF in the head is part of a CRLF, and no CR stands alone.
        for (int i = 0; i < head.Length; i++)
        {
            if (head[i] == '\n') Assert.True(i > 0 && head[i - 1] == '\r', $"bare LF at {i}: {shown}");
            if (head[i] == '\r') Assert.True(i + 1 < head.Length && head[i + 1] == '\n', $"bare CR at {i}: {shown}");
        }
        Assert.False(h.IsChunked && h.ContentLength >= 0, shown);
        Assert.False(h.IsChunked && h.Version == HttpVersion.Http10, shown);
        var target = h.Target(input);
        Assert.True(target.Length > 0 && target.IndexOfAny(" #\t"u8) < 0, shown);
        Assert.True(target.IndexOfAnyInRange((byte)0, (byte)0x20) < 0 && target.IndexOfAnyInRange((byte)0x7F, (byte)0xFF) < 0, shown);
        int hosts = 0;
        foreach (var f in h.Fields)
        {
            var name = f.Name(input);
            Assert.True(name.Length > 0 && name.IndexOfAnyExcept("!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"u8) < 0, shown);
            var value = f.Value(input);
            foreach (byte b in value) Assert.True(b == '\t' || (b >= 0x20 && b != 0x7F), $"control 0x{b:X2} in a value: {shown}");
            if (f.Known == KnownHeader.Host) hosts++;
            if (f.Known == KnownHeader.TransferEncoding) Assert.True(h.IsChunked, shown);
        }
        Assert.True(hosts <= 1, shown);
        if (h.Version == HttpVersion.Http11) Assert.True(hosts == 1 && h.HostLength > 0, shown);
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Mutated_responses_get_one_answer_however_split(int seed)
    {
        var random = new Random(seed);
        var tight = new HeadLimits(MaxStartLine: 30, MaxHeaderBytes: 60, MaxHeaders: 2);
        for (int i = 0; i < Rounds; i++)
        {
            var input = Mutate(random, Wire.Bytes(Responses[random.Next(Responses.Length)]));
            HeadSplits.Check(new ResponseUnderTest(HeadLimits.Default), input);
            HeadSplits.Check(new ResponseUnderTest(tight), input);
        }
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Mutated_chunked_bodies_decode_the_same_however_split(int seed)
    {
        var random = new Random(seed);
        for (int i = 0; i < Rounds; i++)
        {
            var input = Mutate(random, Wire.Bytes(Bodies[random.Next(Bodies.Length)]));
            ChunkedDecoderTests.AssertSameEverySplit(input, maxBody: random.Next(2) == 0 ? 0 : 12);
        }
    }
}
