namespace FastProxy.Http1;

/// <summary>The form of the request-target (RFC 9112 §3.2).</summary>
public enum TargetForm : byte
{
    Origin = 0,
    Absolute,
    Asterisk,
}

/// <summary>A parsed request head: offsets into the bytes it was parsed from, plus the facts routing and forwarding use.</summary>
public sealed class RequestHead : MessageHead
{
    public HttpMethod Method { get; internal set; }
    public int MethodLength { get; internal set; }

    /// <summary>Where the request line starts (after any leading empty lines).</summary>
    public int RequestLineStart { get; internal set; }

    public TargetForm TargetForm { get; internal set; }
    public int TargetStart { get; internal set; }
    public int TargetLength { get; internal set; }

    /// <summary>The path, without query; for absolute-form, without scheme and authority. May be empty ("http://a?x").</summary>
    public int PathStart { get; internal set; }
    public int PathLength { get; internal set; }

    /// <summary>Path and query as forwarded in origin-form (starts at <see cref="PathStart"/>, runs to the end of the target).</summary>
    public int PathAndQueryLength { get; internal set; }

    /// <summary>The authority routing uses: the absolute-form target's, else the Host field's value. Length 0 when absent.</summary>
    public int HostStart { get; internal set; }
    public int HostLength { get; internal set; }

    /// <summary>Host without its port, for matching.</summary>
    public int HostNameLength { get; internal set; }

    /// <summary>The Host field came from the absolute-form target, not the Host field: it must be rewritten.</summary>
    public bool HostFromTarget { get; internal set; }

    /// <summary>Expect: 100-continue (RFC 9110 §10.1.1).</summary>
    public bool ExpectContinue { get; internal set; }

    /// <summary>An HTTP/1.1 request whose TE lists "trailers" (RFC 9110 §10.1.4): the client takes trailer fields.</summary>
    public bool AcceptsTrailers { get; internal set; }

    /// <summary>The request carries a body: chunked, or a Content-Length above zero.</summary>
    public bool HasBody => IsChunked || ContentLength > 0;

    /// <summary>
    /// The client asks to switch protocols (Connection: upgrade plus an Upgrade field). Only on HTTP/1.1: RFC 9110 §7.8
    /// has a server ignore Upgrade in an HTTP/1.0 request (an old intermediary may have passed it on unknowingly).
    /// </summary>
    public bool IsUpgrade => Version == HttpVersion.Http11 && (Connection & ConnectionOptions.Upgrade) != 0 && IndexOf(KnownHeader.Upgrade) >= 0;

    public override void Reset()
    {
        base.Reset();
        Method = HttpMethod.Custom;
        MethodLength = 0;
        RequestLineStart = 0;
        TargetForm = TargetForm.Origin;
        TargetStart = TargetLength = 0;
        PathStart = PathLength = PathAndQueryLength = 0;
        HostStart = HostLength = HostNameLength = 0;
        HostFromTarget = false;
        ExpectContinue = false;
        AcceptsTrailers = false;
    }

    public ReadOnlySpan<byte> MethodBytes(ReadOnlySpan<byte> head) => head.Slice(RequestLineStart, MethodLength);
    public ReadOnlySpan<byte> Target(ReadOnlySpan<byte> head) => head.Slice(TargetStart, TargetLength);
    public ReadOnlySpan<byte> Path(ReadOnlySpan<byte> head) => head.Slice(PathStart, PathLength);
    public ReadOnlySpan<byte> PathAndQuery(ReadOnlySpan<byte> head) => head.Slice(PathStart, PathAndQueryLength);
    public ReadOnlySpan<byte> Host(ReadOnlySpan<byte> head) => head.Slice(HostStart, HostLength);
    public ReadOnlySpan<byte> HostName(ReadOnlySpan<byte> head) => head.Slice(HostStart, HostNameLength);
}

/// <summary>A parsed response head.</summary>
public sealed class ResponseHead : MessageHead
{
    public int StatusCode { get; internal set; }

    /// <summary>Offset of the three status digits; the status line is forwarded from here with our own version.</summary>
    public int StatusStart { get; internal set; }

    /// <summary>Just past the status line's LF.</summary>
    public int StatusLineEnd { get; internal set; }

    public override void Reset()
    {
        base.Reset();
        StatusCode = 0;
        StatusStart = 0;
        StatusLineEnd = 0;
    }

    /// <summary>
    /// How this response's body is delimited (RFC 9112 §6.3): none for HEAD, 1xx, 204 and 304; chunked;
    /// Content-Length; otherwise it runs until the server closes.
    /// </summary>
    public BodyKind GetBodyKind(HttpMethod requestMethod)
    {
        if (requestMethod == HttpMethod.Head || StatusCode < 200 || StatusCode == 204 || StatusCode == 304) return BodyKind.None;
        if (IsChunked) return BodyKind.Chunked;
        if (ContentLength >= 0) return ContentLength == 0 ? BodyKind.None : BodyKind.ContentLength;
        return BodyKind.CloseDelimited;
    }
}

public enum BodyKind : byte
{
    None = 0,
    ContentLength,
    Chunked,
    CloseDelimited,
}
