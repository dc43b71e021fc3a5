namespace FastProxy.Http1;

/// <summary>Request methods the proxy treats specially; any other token is <see cref="Custom"/> and passed through.</summary>
public enum HttpMethod : byte
{
    Custom = 0,
    Get,
    Head,
    Post,
    Put,
    Delete,
    Options,
    Trace,
    Patch,
    Connect,
}

public static class HttpMethods
{
    /// <summary>Maps a method token to its enum by length and bytes; case-sensitive (RFC 9110 §9.1).</summary>
    public static HttpMethod Lookup(ReadOnlySpan<byte> method) => method.Length switch
    {
        3 when method.SequenceEqual("GET"u8) => HttpMethod.Get,
        3 when method.SequenceEqual("PUT"u8) => HttpMethod.Put,
        4 when method.SequenceEqual("POST"u8) => HttpMethod.Post,
        4 when method.SequenceEqual("HEAD"u8) => HttpMethod.Head,
        5 when method.SequenceEqual("PATCH"u8) => HttpMethod.Patch,
        5 when method.SequenceEqual("TRACE"u8) => HttpMethod.Trace,
        6 when method.SequenceEqual("DELETE"u8) => HttpMethod.Delete,
        7 when method.SequenceEqual("OPTIONS"u8) => HttpMethod.Options,
        7 when method.SequenceEqual("CONNECT"u8) => HttpMethod.Connect,
        _ => HttpMethod.Custom,
    };

    /// <summary>RFC 9110 §9.2.2: idempotent methods may be retried on another connection when nothing came back.</summary>
    public static bool IsIdempotent(HttpMethod method) => method is HttpMethod.Get or HttpMethod.Head or HttpMethod.Put
        or HttpMethod.Delete or HttpMethod.Options or HttpMethod.Trace;
}
