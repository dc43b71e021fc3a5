using FastProxy.Http2.Messages;
using static FastProxy.Tests.Http2.H2Bytes;

namespace FastProxy.Tests.Http2;

/// <summary>RFC 9113 §8.2 and §8.3: what makes a request's field section malformed.</summary>
public sealed class RequestFieldValidatorTests
{
    private static Http2FieldError Validate(params string[] fields)
    {
        var v = new Http2RequestFieldValidator();
        foreach (string field in fields)
        {
            int colon = field.IndexOf(": ", 1, StringComparison.Ordinal);
            v.OnField(Ascii(field[..colon]), Ascii(field[(colon + 2)..]));
        }
        return v.Complete();
    }

    private static readonly string[] Get = [":method: GET", ":scheme: https", ":authority: example.com", ":path: /a?b=c"];

    [Fact]
    public void A_plain_request_is_valid()
    {
        Assert.Equal(Http2FieldError.None, Validate(Get));
        Assert.Equal(Http2FieldError.None, Validate([.. Get, "accept: */*", "te: trailers", "cookie: a=b", "x-empty: "]));
        Assert.Equal(Http2FieldError.None, Validate(":method: OPTIONS", ":scheme: http", ":path: *"));
        Assert.Equal(Http2FieldError.None, Validate(":method: CONNECT", ":authority: example.com:443"));
        Assert.Equal(Http2FieldError.None, Validate(":method: CONNECT", ":protocol: websocket", ":scheme: https", ":path: /chat", ":authority: example.com"));
    }

    [Theory]
    [InlineData("Accept: x", Http2FieldError.InvalidName)]           // uppercase
    [InlineData("x y: 1", Http2FieldError.InvalidName)]              // SP
    [InlineData("x:y: 1", Http2FieldError.InvalidName)]              // colon in a regular name
    [InlineData("x\u007f: 1", Http2FieldError.InvalidName)]          // DEL
    [InlineData("x\u00e9: 1", Http2FieldError.InvalidName)]          // non-ASCII
    [InlineData("x\u0001: 1", Http2FieldError.InvalidName)]          // control
    [InlineData("x: a\rb", Http2FieldError.InvalidValue)]
    [InlineData("x: a\nb", Http2FieldError.InvalidValue)]
    [InlineData("x: a\0b", Http2FieldError.InvalidValue)]
    [InlineData("x:  lead", Http2FieldError.InvalidValue)]           // leading SP
    [InlineData("x: trail\t", Http2FieldError.InvalidValue)]         // trailing HTAB
    [InlineData("connection: close", Http2FieldError.ConnectionSpecificField)]
    [InlineData("keep-alive: 5", Http2FieldError.ConnectionSpecificField)]
    [InlineData("proxy-connection: x", Http2FieldError.ConnectionSpecificField)]
    [InlineData("transfer-encoding: chunked", Http2FieldError.ConnectionSpecificField)]
    [InlineData("upgrade: websocket", Http2FieldError.ConnectionSpecificField)]
    [InlineData("te: gzip", Http2FieldError.InvalidTe)]
    [InlineData("te: trailers, gzip", Http2FieldError.InvalidTe)]
    public void Regular_field_rules_of_8_2(string field, Http2FieldError error) => Assert.Equal(error, Validate([.. Get, field]));

    [Theory]
    [InlineData(Http2FieldError.UnknownPseudoHeader, ":method: GET", ":status: 200", ":scheme: http", ":path: /")]
    [InlineData(Http2FieldError.UnknownPseudoHeader, ":method: GET", ":foo: 1", ":scheme: http", ":path: /")]
    [InlineData(Http2FieldError.PseudoHeaderAfterField, ":method: GET", "accept: x", ":scheme: http", ":path: /")]
    [InlineData(Http2FieldError.DuplicatePseudoHeader, ":method: GET", ":method: GET", ":scheme: http", ":path: /")]
    [InlineData(Http2FieldError.DuplicatePseudoHeader, ":method: GET", ":scheme: http", ":path: /", ":path: /")]
    [InlineData(Http2FieldError.MissingOrExtraPseudoHeader, ":method: GET", ":scheme: http")]
    [InlineData(Http2FieldError.MissingOrExtraPseudoHeader, ":scheme: http", ":path: /")]
    [InlineData(Http2FieldError.MissingOrExtraPseudoHeader, ":method: GET", ":path: /")]
    [InlineData(Http2FieldError.MissingOrExtraPseudoHeader, ":method: CONNECT", ":authority: a:443", ":path: /")]
    [InlineData(Http2FieldError.MissingOrExtraPseudoHeader, ":method: CONNECT")]
    [InlineData(Http2FieldError.MissingOrExtraPseudoHeader, ":method: GET", ":protocol: websocket", ":scheme: http", ":path: /")]
    [InlineData(Http2FieldError.InvalidPath, ":method: GET", ":scheme: http", ":path: ")]
    [InlineData(Http2FieldError.InvalidPath, ":method: GET", ":scheme: http", ":path: a/b")]
    [InlineData(Http2FieldError.InvalidPath, ":method: GET", ":scheme: http", ":path: /a b")]
    [InlineData(Http2FieldError.InvalidPath, ":method: GET", ":scheme: http", ":path: /a#frag")]
    [InlineData(Http2FieldError.AuthorityWithUserinfo, ":method: GET", ":scheme: http", ":path: /", ":authority: user:pw@example.com")]
    [InlineData(Http2FieldError.InvalidValue, ":method: G T", ":scheme: http", ":path: /")]
    [InlineData(Http2FieldError.InvalidValue, ":method: ", ":scheme: http", ":path: /")]
    public void Pseudo_header_rules_of_8_3(Http2FieldError error, params string[] fields) => Assert.Equal(error, Validate(fields));

    [Fact]
    public void First_error_sticks()
    {
        var v = new Http2RequestFieldValidator();
        Assert.Equal(Http2FieldError.InvalidName, v.OnField("Bad"u8, "1"u8));
        Assert.Equal(Http2FieldError.InvalidName, v.OnField(":method"u8, "GET"u8));
        Assert.Equal(Http2FieldError.InvalidName, v.Complete());
    }

    [Fact]
    public void Trailers_carry_no_pseudo_headers_and_follow_the_same_field_rules()
    {
        var v = new Http2RequestFieldValidator();
        Assert.Equal(Http2FieldError.None, v.OnTrailerField("grpc-status"u8, "0"u8));
        Assert.Equal(Http2FieldError.UnknownPseudoHeader, new Http2RequestFieldValidator().OnTrailerField(":path"u8, "/"u8));
        Assert.Equal(Http2FieldError.ConnectionSpecificField, new Http2RequestFieldValidator().OnTrailerField("connection"u8, "x"u8));
    }
}
