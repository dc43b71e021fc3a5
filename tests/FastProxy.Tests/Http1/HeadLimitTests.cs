using FastProxy.Http1;

namespace FastProxy.Tests.Http1;

/// <summary>
/// [limits]: 414 for the request line, 431 for the header section (bytes and count). A limit is judged on what has
/// arrived so far: a line already over it is refused before its LF, which may never come.
/// </summary>
public sealed class HeadLimitTests
{
    private const int MaxLine = 40;
    private const int MaxHeaderBytes = 64;
    private const int MaxHeaders = 3;
    private static readonly HeadLimits Limits = new(MaxLine, MaxHeaderBytes, MaxHeaders);

    private static RequestUnderTest Parser() => new(Limits);

    /// <summary>A request line of exactly <paramref name="length"/> bytes, CRLF not counted.</summary>
    private static string Line(int length) => "GET /" + new string('a', length - "GET / HTTP/1.1".Length) + " HTTP/1.1";

    private static string Check(string request) => HeadSplits.Check(Parser(), Wire.Bytes(request));

    private static ParseStatus ParseOnce(string bytes, out HeadError error)
    {
        var parser = Parser();
        parser.Reset();
        var status = parser.Parse(Wire.Bytes(bytes));
        error = parser.Head.Error;
        return status;
    }

    [Fact]
    public void Request_line_at_the_limit_is_accepted()
    {
        Assert.Equal(MaxLine, Line(MaxLine).Length);
        Assert.StartsWith("Complete", Check(Line(MaxLine) + "\r\nHost: a\r\n\r\n"));
    }

    [Fact]
    public void Request_line_at_the_limit_is_accepted_when_its_cr_arrives_before_its_lf()
    {
        Assert.Equal(ParseStatus.NeedMore, ParseOnce(Line(MaxLine) + "\r", out _));
    }

    [Fact]
    public void Request_line_over_the_limit_is_414()
        => Assert.Equal("Error RequestLineTooLong (414)", Check(Line(MaxLine + 1) + "\r\nHost: a\r\n\r\n"));

    [Fact]
    public void Request_line_over_the_limit_is_414_before_its_end_arrives()
    {
        // MaxLine + 1 bytes of a line that has not ended: no LF, no CR, nothing else.
        Assert.Equal(ParseStatus.Error, ParseOnce(Line(MaxLine + 5)[..(MaxLine + 1)], out var error));
        Assert.Equal(HeadError.RequestLineTooLong, error);
        Assert.Equal(ParseStatus.NeedMore, ParseOnce(Line(MaxLine + 5)[..MaxLine], out _));
    }

    [Fact]
    public void Request_line_after_leading_empty_lines_is_measured_from_its_start()
    {
        Assert.StartsWith("Complete", Check("\r\n\r\n" + Line(MaxLine) + "\r\nHost: a\r\n\r\n"));
        Assert.Equal("Error RequestLineTooLong (414)", Check("\r\n\r\n" + Line(MaxLine + 1) + "\r\nHost: a\r\n\r\n"));
    }

    [Fact]
    public void Long_request_line_ended_by_a_bare_lf_gets_one_answer_however_split()
    {
        // Whole, the bare LF is seen; in pieces, the length is: both must agree.
        Check(Line(MaxLine + 10) + "\nHost: a\r\n\r\n");
    }

    [Fact]
    public void Long_request_line_with_a_bare_cr_gets_one_answer_however_split()
        => Assert.Equal("Error RequestLineTooLong (414)", Check(Line(MaxLine) + "\rX\r\nHost: a\r\n\r\n"));

    [Fact]
    public void Empty_lines_do_not_count_towards_the_request_line()
        => Assert.StartsWith("Complete", Check("\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"));

    /// <summary>Header section (fields and the final CRLF) of exactly <paramref name="bytes"/> bytes.</summary>
    private static string HeaderSection(int bytes)
    {
        const string host = "Host: a\r\n";
        int filler = bytes - host.Length - "X: \r\n".Length - 2;
        return host + "X: " + new string('v', filler) + "\r\n\r\n";
    }

    [Fact]
    public void Header_section_at_the_limit_is_accepted()
    {
        Assert.Equal(MaxHeaderBytes, HeaderSection(MaxHeaderBytes).Length);
        Assert.StartsWith("Complete", Check("GET / HTTP/1.1\r\n" + HeaderSection(MaxHeaderBytes)));
    }

    [Fact]
    public void Header_section_over_the_limit_is_431()
        => Assert.Equal("Error HeadersTooLarge (431)", Check("GET / HTTP/1.1\r\n" + HeaderSection(MaxHeaderBytes + 1)));

    [Fact]
    public void Header_section_over_the_limit_is_431_before_the_line_ends()
    {
        string start = "GET / HTTP/1.1\r\nHost: a\r\nX: " + new string('v', MaxHeaderBytes);
        Assert.Equal(ParseStatus.Error, ParseOnce(start, out var error));
        Assert.Equal(HeadError.HeadersTooLarge, error);
    }

    [Fact]
    public void Long_field_ended_by_a_bare_lf_gets_one_answer_however_split()
        => Check("GET / HTTP/1.1\r\nHost: a\r\nX: " + new string('v', MaxHeaderBytes) + "\n\r\n");

    [Fact]
    public void Headers_at_the_count_limit_are_accepted()
        => Assert.StartsWith("Complete", Check("GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\n\r\n"));

    [Fact]
    public void Headers_over_the_count_limit_are_431()
        => Assert.Equal("Error TooManyHeaders (431)", Check("GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n"));

    [Fact]
    public void Headers_over_the_count_limit_are_431_before_the_extra_line_ends()
    {
        Assert.Equal(ParseStatus.Error, ParseOnce("GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nC", out var error));
        Assert.Equal(HeadError.TooManyHeaders, error);
        // What may still be the final CRLF is not judged yet.
        Assert.Equal(ParseStatus.NeedMore, ParseOnce("GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\n\r", out _));
    }

    [Theory]
    [InlineData("C: 3\n\r\n")]
    [InlineData("C\n")]
    [InlineData("\rC: 3\r\n\r\n")]
    [InlineData("\r\r\n")]
    [InlineData("\n")]
    public void Extra_line_after_the_count_limit_gets_one_answer_however_split(string extra)
        => Assert.StartsWith("Error", Check("GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\n" + extra));

    [Fact]
    public void Default_limits_accept_a_large_ordinary_head()
    {
        var fields = string.Concat(Enumerable.Range(0, 99).Select(i => $"X-{i}: {new string('v', 200)}\r\n"));
        var parser = new RequestUnderTest(HeadLimits.Default);
        parser.Reset();
        Assert.Equal(ParseStatus.Complete, parser.Parse(Wire.Bytes("GET /" + new string('p', 8000) + " HTTP/1.1\r\nHost: a\r\n" + fields + "\r\n")));
    }
}
