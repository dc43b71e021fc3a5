using System.Text;
using FastProxy.Http1;

namespace FastProxy.Tests.Http1;

/// <summary>
/// The chunked decoder, fed whole, one byte at a time and in every two-way split: the decoded data, where the body
/// ends (or where the error is) and the error must not depend on how the bytes arrived.
/// </summary>
public sealed class ChunkedDecoderTests
{
    private const int TrailerCap = 1024;
    private const int TrailerFieldCap = 8;

    /// <summary>
    /// What a feed produced: how it ended, the error, bytes consumed up to the end or error, the data, and the
    /// bytes handed out as trailer field lines.
    /// </summary>
    private readonly record struct Outcome(string End, ChunkedError Error, long Consumed, string Data, long Total, string Trailers = "")
    {
        public override string ToString() => $"{End} {Error} consumed={Consumed} total={Total} data=\"{Wire.Show(Wire.Bytes(Data))}\" trailers=\"{Wire.Show(Wire.Bytes(Trailers))}\"";
    }

    /// <summary>Feeds <paramref name="input"/> cut at <paramref name="cuts"/> (ascending offsets) to a fresh decoder.</summary>
    private static Outcome Feed(byte[] input, IEnumerable<int> cuts, long maxBody = 0)
    {
        var decoder = new ChunkedDecoder(maxBody, TrailerCap, TrailerFieldCap);
        var data = new StringBuilder();
        var trailers = new StringBuilder();
        long consumedTotal = 0;
        int start = 0;
        foreach (int end in cuts.Append(input.Length))
        {
            var span = input.AsSpan(start, end - start);
            start = end;
            // Each call consumes at least one byte or ends the body, so a segment needs at most its length in calls.
            for (int guard = 0; !span.IsEmpty; guard++)
            {
                Assert.True(guard <= input.Length, "the decoder stopped making progress");
                var step = decoder.Next(span, out int consumed);
                Assert.InRange(consumed, 0, span.Length);
                if (step == ChunkedStep.Data) data.Append(Wire.Text(span[..consumed]));
                if (step == ChunkedStep.Trailer) trailers.Append(Wire.Text(span[..consumed]));
                consumedTotal += consumed;
                span = span[consumed..];
                switch (step)
                {
                    case ChunkedStep.Error:
                        Assert.NotEqual(ChunkedError.None, decoder.Error);
                        // A failed decoder stays failed.
                        Assert.Equal(ChunkedStep.Error, decoder.Next("0\r\n\r\n"u8, out int after));
                        Assert.Equal(0, after);
                        // Trailer bytes before the error differ with the splits (each step hands out what it validated
                        // so far) and mean nothing once the section failed.
                        return new Outcome("Error", decoder.Error, consumedTotal, data.ToString(), decoder.TotalDataBytes);
                    case ChunkedStep.Done:
                        Assert.True(decoder.IsDone);
                        Assert.Equal(ChunkedStep.Done, decoder.Next("more"u8, out int afterDone));
                        Assert.Equal(0, afterDone);
                        return new Outcome("Done", decoder.Error, consumedTotal, data.ToString(), decoder.TotalDataBytes, trailers.ToString());
                    case ChunkedStep.Framing:
                    case ChunkedStep.Data:
                    case ChunkedStep.Trailer:
                        Assert.True(consumed > 0, $"{step} consumed nothing of a non-empty segment");
                        break;
                }
            }
        }
        return new Outcome("NeedMore", decoder.Error, consumedTotal, data.ToString(), decoder.TotalDataBytes, trailers.ToString());
    }

    /// <summary>For other test classes: every way of feeding <paramref name="input"/> gives one outcome.</summary>
    internal static void AssertSameEverySplit(byte[] input, long maxBody) => FeedEveryWay(input, maxBody);

    /// <summary>Feeds every way and asserts each gives the whole-input outcome; returns it.</summary>
    private static Outcome FeedEveryWay(byte[] input, long maxBody = 0)
    {
        var whole = Feed(input, [], maxBody);
        string shown = Wire.Show(input);
        var oneByOne = Feed(input, Enumerable.Range(1, Math.Max(0, input.Length - 1)), maxBody);
        Assert.True(whole == oneByOne, $"one byte at a time, \"{shown}\":\n  whole: {whole}\n  bytes: {oneByOne}");
        for (int k = 1; k < input.Length; k++)
        {
            var split = Feed(input, [k], maxBody);
            Assert.True(whole == split, $"split at {k}, \"{shown}\":\n  whole: {whole}\n  split: {split}");
        }
        return whole;
    }

    [Theory]
    [InlineData("0\r\n\r\n", "")]
    [InlineData("5\r\nhello\r\n0\r\n\r\n", "hello")]
    [InlineData("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", "hello world")]
    [InlineData("A\r\n0123456789\r\n0\r\n\r\n", "0123456789")]
    [InlineData("a\r\n0123456789\r\n0\r\n\r\n", "0123456789")]
    [InlineData("000005\r\nhello\r\n000\r\n\r\n", "hello")]
    [InlineData("5;name\r\nhello\r\n0;x=y;z=\"q \\\" \\\\ \t\"\r\n\r\n", "hello")]
    [InlineData("5;a=b;c;d=\"\"\r\nhello\r\n0\r\n\r\n", "hello")]
    [InlineData("3\r\n\r\n\n\r\n0\r\n\r\n", "\r\n\n")]
    [InlineData("5\r\nhello\r\n0\r\nX-Checksum: abc\r\nX-Empty:\r\nX-Tab:\ta b\t\r\n\r\n", "hello")]
    [InlineData("1\r\n\0\r\n1\r\n\u00FF\r\n0\r\n\r\n", "\0\u00FF")]
    public void Valid_bodies_decode_the_same_however_split(string body, string data)
    {
        var bytes = Wire.Bytes(body);
        var outcome = FeedEveryWay(bytes);
        Assert.Equal("Done", outcome.End);
        Assert.Equal(data, outcome.Data);
        Assert.Equal(bytes.Length, outcome.Consumed);
        Assert.Equal(data.Length, outcome.Total);
    }

    [Fact]
    public void Nothing_past_the_last_chunk_is_consumed()
    {
        const string body = "5\r\nhello\r\n0\r\n\r\n";
        var outcome = FeedEveryWay(Wire.Bytes(body + "GET /next HTTP/1.1\r\n\r\n"));
        Assert.Equal("Done", outcome.End);
        Assert.Equal(body.Length, outcome.Consumed);
    }

    [Fact]
    public void Extension_at_the_cap_is_accepted()
    {
        var body = "5;a=" + new string('x', ChunkedCases.ExtensionCap - 3) + "\r\nhello\r\n0\r\n\r\n";
        var outcome = Feed(Wire.Bytes(body), []);
        Assert.Equal("Done", outcome.End);
        var over = Feed(Wire.Bytes(body.Replace(";a=", ";aa=")), []);
        Assert.Equal(ChunkedError.ChunkExtensionTooLong, over.Error);
    }

    [Fact]
    public void Largest_size_that_fits_a_long_is_accepted()
    {
        var outcome = Feed(Wire.Bytes("7FFFFFFFFFFFFFFF\r\nabc"), []);
        Assert.Equal("NeedMore", outcome.End);
        Assert.Equal("abc", outcome.Data);
    }

    [Theory]
    [MemberData(nameof(ChunkedCases.Names), MemberType = typeof(ChunkedCases))]
    public void Malformed_body_is_refused_the_same_however_split(string name)
    {
        var c = ChunkedCases.Find(name);
        var outcome = FeedEveryWay(Wire.Bytes(c.Body));
        Assert.Equal("Error", outcome.End);
        Assert.Equal(c.Error, outcome.Error);
    }

    [Theory]
    [InlineData("5\r\nhel", 6)]
    [InlineData("5\r\nhello\r", 9)]
    [InlineData("5;a=\"b", 6)]
    [InlineData("0\r\nX-T: v\r\n", 11)]
    [InlineData("", 0)]
    public void Unfinished_body_waits_for_more(string body, int consumed)
    {
        var outcome = FeedEveryWay(Wire.Bytes(body));
        Assert.Equal("NeedMore", outcome.End);
        Assert.Equal(consumed, outcome.Consumed);
    }

    [Theory]
    [InlineData("A\r\n0123456789\r\n0\r\n\r\n", 10, "Done")]
    [InlineData("B\r\n0123456789a\r\n0\r\n\r\n", 10, "Error")]
    [InlineData("5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\n", 10, "Done")]
    [InlineData("5\r\nhello\r\n6\r\nworld!\r\n0\r\n\r\n", 10, "Error")]
    [InlineData("0000000000B\r\n", 10, "Error")]
    public void Max_body_counts_declared_sizes_across_chunks(string body, long maxBody, string end)
    {
        var outcome = FeedEveryWay(Wire.Bytes(body), maxBody);
        Assert.Equal(end, outcome.End);
        if (end == "Error")
        {
            Assert.Equal(ChunkedError.BodyTooLarge, outcome.Error);
            // Refused at the size line, before the chunk's data was let through.
            Assert.DoesNotContain("!", outcome.Data);
        }
    }

    /// <summary>
    /// A size that does not fit 64 bits is malformed (400) whatever max_body is, as an overflowing Content-Length is:
    /// the size is judged against max_body only once all its digits are in.
    /// </summary>
    [Theory]
    [InlineData("size_overflow_16_digits")]
    [InlineData("size_overflow_17_digits")]
    [InlineData("size_overflow_after_leading_zeros")]
    public void Overflowing_size_is_malformed_even_under_max_body(string name)
    {
        var outcome = FeedEveryWay(Wire.Bytes(ChunkedCases.Find(name).Body), maxBody: 10 * 1024 * 1024);
        Assert.Equal(ChunkedError.ChunkSizeOverflow, outcome.Error);
    }

    [Theory]
    [InlineData("A00001\r\n")]
    [InlineData("A00001;x=y\r\n")]
    [InlineData("5\r\nhello\r\nA00000\r\n")]
    public void Size_over_max_body_is_refused_once_its_digits_end(string body)
    {
        var outcome = FeedEveryWay(Wire.Bytes(body), maxBody: 10 * 1024 * 1024);
        Assert.Equal(ChunkedError.BodyTooLarge, outcome.Error);
        // At the byte after the last digit: no data of the chunk was let through.
        Assert.Equal(body.IndexOfAny([';', '\r'], body.LastIndexOf('A')), outcome.Consumed);
    }

    [Fact]
    public void Trailer_over_its_cap_is_refused()
    {
        var outcome = FeedEveryWay(Wire.Bytes("0\r\nX-T: " + new string('v', TrailerCap) + "\r\n\r\n"));
        Assert.Equal(ChunkedError.TrailerTooLarge, outcome.Error);
    }

    /// <summary>
    /// Trailer field lines are handed out as their own steps, whole lines with their CRLFs and nothing else (not the
    /// last chunk before them, not the empty line after), however the bytes arrive.
    /// </summary>
    [Theory]
    [InlineData("0\r\n\r\n", "")]
    [InlineData("5\r\nhello\r\n0\r\nGrpc-Status: 0\r\n\r\n", "Grpc-Status: 0\r\n")]
    [InlineData("0;ext=1\r\ngrpc-status: 5\r\ngrpc-message: not found\r\nx-empty:\r\n\r\n", "grpc-status: 5\r\ngrpc-message: not found\r\nx-empty:\r\n")]
    [InlineData("3\r\nabc\r\n0\r\nx-t:\t a:b \t\r\n\r\n", "x-t:\t a:b \t\r\n")]
    public void Trailer_field_lines_are_handed_out_however_split(string body, string trailers)
    {
        var bytes = Wire.Bytes(body);
        var outcome = FeedEveryWay(bytes);
        Assert.Equal("Done", outcome.End);
        Assert.Equal(bytes.Length, outcome.Consumed);
        Assert.Equal(trailers, outcome.Trailers);
    }

    [Fact]
    public void Trailer_fields_at_their_count_limit_pass_and_one_more_is_refused()
    {
        string Lines(int n) => string.Concat(Enumerable.Range(0, n).Select(i => $"x-{i}: v\r\n"));
        var atCap = FeedEveryWay(Wire.Bytes("0\r\n" + Lines(TrailerFieldCap) + "\r\n"));
        Assert.Equal("Done", atCap.End);
        Assert.Equal(Lines(TrailerFieldCap), atCap.Trailers);
        var over = FeedEveryWay(Wire.Bytes("0\r\n" + Lines(TrailerFieldCap + 1) + "\r\n"));
        Assert.Equal(ChunkedError.TooManyTrailerFields, over.Error);
        // Refused at the first byte of the field over the limit.
        Assert.Equal(3 + Lines(TrailerFieldCap).Length, over.Consumed);
    }

    [Fact]
    public void Trailer_fields_read_back_as_names_and_trimmed_values()
    {
        var lines = Wire.Bytes("Grpc-Status: 0\r\ngrpc-message:\tno such thing: 42 \r\nx-empty:\r\n");
        var fields = new TrailerFields(lines);
        var read = new List<string>();
        while (fields.TryRead(out var name, out var value)) read.Add(Wire.Text(name) + "=" + Wire.Text(value) + ";");
        Assert.Equal(["Grpc-Status=0;", "grpc-message=no such thing: 42;", "x-empty=;"], read);
        Assert.Equal(3, TrailerFields.Count(lines));
        Assert.False(new TrailerFields([]).TryRead(out _, out _));
    }
}
