using FastProxy.Http1;

namespace FastProxy.Tests.Http1;

/// <summary>
/// Every malformed or ambiguous request in <see cref="RequestCases"/> is refused with its exact reason and status,
/// however its bytes are split.
/// </summary>
public sealed class RequestParserRejectionTests
{
    private static void AssertRefused(string name)
    {
        var c = RequestCases.Find(name);
        var parser = new RequestUnderTest(HeadLimits.Default);
        string whole = HeadSplits.Check(parser, Wire.Bytes(c.Request));
        Assert.Equal($"Error {c.Error} ({c.Status})", whole);
    }

    [Theory]
    [MemberData(nameof(RequestCases.FramingNames), MemberType = typeof(RequestCases))]
    public void Framing_is_refused(string name) => AssertRefused(name);

    [Theory]
    [MemberData(nameof(RequestCases.FieldNames), MemberType = typeof(RequestCases))]
    public void Field_line_is_refused(string name) => AssertRefused(name);

    [Theory]
    [MemberData(nameof(RequestCases.RequestLineNames), MemberType = typeof(RequestCases))]
    public void Request_line_is_refused(string name) => AssertRefused(name);

    [Theory]
    [MemberData(nameof(RequestCases.HostNames), MemberType = typeof(RequestCases))]
    public void Host_is_refused(string name) => AssertRefused(name);

    [Fact]
    public void Case_names_are_unique()
    {
        var names = RequestCases.All.Select(c => c.Name).ToList();
        Assert.Equal(names.Count, names.Distinct().Count());
    }

    [Theory]
    [InlineData(HeadError.RequestLineTooLong, 414)]
    [InlineData(HeadError.HeadersTooLarge, 431)]
    [InlineData(HeadError.TooManyHeaders, 431)]
    [InlineData(HeadError.UnsupportedTransferEncoding, 501)]
    [InlineData(HeadError.MethodNotImplemented, 501)]
    [InlineData(HeadError.ContentLengthAndTransferEncoding, 400)]
    [InlineData(HeadError.BareLineFeed, 400)]
    [InlineData(HeadError.TransferEncodingOnHttp10, 400)]
    public void Error_maps_to_status(HeadError error, int status) => Assert.Equal(status, HeadErrors.StatusCode(error));

    [Fact]
    public void Every_request_error_is_a_client_error_or_501()
    {
        foreach (var error in Enum.GetValues<HeadError>())
        {
            if (error == HeadError.None) continue;
            int status = HeadErrors.StatusCode(error);
            Assert.True(status is 400 or 414 or 431 or 501, $"{error} maps to {status}");
        }
    }
}
