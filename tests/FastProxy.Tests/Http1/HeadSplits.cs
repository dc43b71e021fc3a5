using System.Text;
using FastProxy.Http1;

namespace FastProxy.Tests.Http1;

/// <summary>Wire text for tests: every char below 256 is one byte (Latin-1), so escapes such as "\0" and "\xE9" are exact.</summary>
internal static class Wire
{
    public static byte[] Bytes(string text) => Encoding.Latin1.GetBytes(text);

    public static string Text(ReadOnlySpan<byte> bytes) => Encoding.Latin1.GetString(bytes);

    /// <summary>Where a message's body starts: just past its first empty line.</summary>
    public static int BodyStart(ReadOnlySpan<byte> message) => message.IndexOf("\r\n\r\n"u8) + 4;

    /// <summary>A readable form of wire bytes for assertion messages: CR, LF and other controls escaped.</summary>
    public static string Show(ReadOnlySpan<byte> bytes)
    {
        var sb = new StringBuilder();
        foreach (byte b in bytes)
        {
            if (b == '\r') sb.Append("\\r");
            else if (b == '\n') sb.Append("\\n");
            else if (b < 0x20 || b >= 0x7F) sb.Append($"\\x{b:X2}");
            else sb.Append((char)b);
        }
        return sb.ToString();
    }
}

/// <summary>One head parser (request or response) seen through the same three calls, so one split harness serves both.</summary>
internal interface IHeadUnderTest
{
    void Reset();
    ParseStatus Parse(ReadOnlySpan<byte> input);
    /// <summary>Everything the parse produced, as text: two parses gave the same result iff their descriptions are equal.</summary>
    string Describe(ParseStatus status, ReadOnlySpan<byte> input);
}

internal sealed class RequestUnderTest(HeadLimits limits) : IHeadUnderTest
{
    public RequestHead Head { get; } = new();

    public void Reset() => Head.Reset();

    public ParseStatus Parse(ReadOnlySpan<byte> input) => RequestParser.Parse(input, Head, limits);

    public string Describe(ParseStatus status, ReadOnlySpan<byte> input)
    {
        if (status == ParseStatus.NeedMore) return "NeedMore";
        if (status == ParseStatus.Error) return $"Error {Head.Error} ({HeadErrors.StatusCode(Head.Error)})";
        var h = Head;
        var sb = new StringBuilder();
        sb.Append($"Complete head={h.HeadLength} line@{h.RequestLineStart} method={h.Method}:{Wire.Show(h.MethodBytes(input))} ");
        sb.Append($"form={h.TargetForm} target={Wire.Show(h.Target(input))} path={Wire.Show(h.Path(input))} ");
        sb.Append($"pq={Wire.Show(h.PathAndQuery(input))} host={Wire.Show(h.Host(input))} hostname={Wire.Show(h.HostName(input))} ");
        sb.Append($"fromTarget={h.HostFromTarget} version={h.Version} cl={h.ContentLength} chunked={h.IsChunked} ");
        sb.Append($"conn={h.Connection} keepAlive={h.KeepAlive} expect={h.ExpectContinue} upgrade={h.IsUpgrade}");
        DescribeFields(sb, h, input);
        return sb.ToString();
    }

    internal static void DescribeFields(StringBuilder sb, MessageHead h, ReadOnlySpan<byte> input)
    {
        foreach (var f in h.Fields)
        {
            sb.Append($" | {Wire.Show(f.Name(input))}={Wire.Show(f.Value(input))} [{f.Known}{(f.HopByHop ? ",hop" : "")}] {f.LineStart}-{f.LineEnd}");
        }
    }
}

internal sealed class ResponseUnderTest(HeadLimits limits) : IHeadUnderTest
{
    public ResponseHead Head { get; } = new();

    public void Reset() => Head.Reset();

    public ParseStatus Parse(ReadOnlySpan<byte> input) => ResponseParser.Parse(input, Head, limits);

    public string Describe(ParseStatus status, ReadOnlySpan<byte> input)
    {
        if (status == ParseStatus.NeedMore) return "NeedMore";
        if (status == ParseStatus.Error) return $"Error {Head.Error}";
        var h = Head;
        var sb = new StringBuilder();
        sb.Append($"Complete head={h.HeadLength} status={h.StatusCode} line={Wire.Show(input[h.StatusStart..h.StatusLineEnd])} ");
        sb.Append($"version={h.Version} cl={h.ContentLength} chunked={h.IsChunked} conn={h.Connection} keepAlive={h.KeepAlive}");
        RequestUnderTest.DescribeFields(sb, h, input);
        return sb.ToString();
    }
}

/// <summary>
/// Feeds a head to a resumable parser in every way it can arrive and checks that the answer never depends on the
/// split (STYLE.md: parsers are tested against every split of their input).
/// </summary>
internal static class HeadSplits
{
    /// <summary>
    /// Parses <paramref name="input"/> whole, then:
    /// every prefix on a fresh head (NeedMore, or else the whole answer, and once answered every longer prefix too);
    /// one byte more per call on the same head (the one-byte-per-segment case: same answer, at the same byte);
    /// every two-way split on the same head. Returns the description of the whole-input answer.
    /// </summary>
    public static string Check(IHeadUnderTest parser, byte[] input)
    {
        parser.Reset();
        var wholeStatus = parser.Parse(input);
        string whole = parser.Describe(wholeStatus, input);
        string shown = Wire.Show(input);

        // Every prefix, fresh: the first prefix that gets an answer is where the answer becomes knowable.
        int firstAnswered = -1;
        for (int k = 0; k <= input.Length; k++)
        {
            parser.Reset();
            var status = parser.Parse(input.AsSpan(0, k));
            if (status == ParseStatus.NeedMore)
            {
                Assert.True(firstAnswered < 0, $"prefix {k} of \"{shown}\" is NeedMore although prefix {firstAnswered} was answered");
                continue;
            }
            if (firstAnswered < 0) firstAnswered = k;
            string got = parser.Describe(status, input.AsSpan(0, k));
            Assert.True(whole == got, $"prefix {k} of \"{shown}\":\n  whole: {whole}\n  prefix: {got}");
        }
        if (wholeStatus == ParseStatus.NeedMore) Assert.Equal(-1, firstAnswered);

        // One byte per call, resuming: the same answer, reached at the same byte.
        parser.Reset();
        int answeredAt = -1;
        for (int k = 0; k <= input.Length; k++)
        {
            var status = parser.Parse(input.AsSpan(0, k));
            if (status == ParseStatus.NeedMore) continue;
            answeredAt = k;
            string got = parser.Describe(status, input.AsSpan(0, k));
            Assert.True(whole == got, $"byte by byte, at {k} of \"{shown}\":\n  whole: {whole}\n  resumed: {got}");
            break;
        }
        Assert.True(answeredAt == firstAnswered, $"byte by byte answered at {answeredAt}, fresh prefixes at {firstAnswered}, for \"{shown}\"");

        // Every two-way split, resuming.
        for (int k = 1; k < input.Length; k++)
        {
            parser.Reset();
            var status = parser.Parse(input.AsSpan(0, k));
            if (status == ParseStatus.NeedMore) status = parser.Parse(input);
            // Offsets never point past the bytes parsed, so the whole input serves to describe any result.
            string got = parser.Describe(status, input);
            Assert.True(whole == got, $"split at {k} of \"{shown}\":\n  whole: {whole}\n  split: {got}");
        }
        return whole;
    }
}
