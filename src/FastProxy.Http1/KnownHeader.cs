using System.Text;

namespace FastProxy.Http1;

/// <summary>The header fields whose meaning the proxy needs; everything else is copied through as bytes.</summary>
public enum KnownHeader : byte
{
    None = 0,
    Host,
    ContentLength,
    TransferEncoding,
    Connection,
    KeepAlive,
    TE,
    Trailer,
    Upgrade,
    /// <summary>Proxy-Connection, Proxy-Authorization, Proxy-Authenticate and any other Proxy-*: meant for the next hop only.</summary>
    Proxy,
    Expect,
    XForwardedFor,
    XForwardedProto,
    XForwardedHost,
    /// <summary>A response's Date (RFC 9110 §6.6.1): the proxy adds one when the server sent none.</summary>
    Date,
    /// <summary>x-consumer and anything starting with it: set by the gateway only, never taken from a client.</summary>
    Consumer,
    /// <summary>W3C Trace Context traceparent: the proxy writes its own (continued or started), never the client's line.</summary>
    TraceParent,
    /// <summary>W3C Trace Context tracestate: passed on only with a valid traceparent.</summary>
    TraceState,
    /// <summary>X-Request-Id: kept when usable, else replaced by a generated one (the forwarder writes the line).</summary>
    RequestId,
}

public static class KnownHeaders
{
    /// <summary>Classifies a field name (already checked to be a token) by length, then by case-insensitive bytes.</summary>
    public static KnownHeader Lookup(ReadOnlySpan<byte> name)
    {
        if (name.Length < 2) return KnownHeader.None;
        // Length and first letter first: most names are rejected without a full comparison.
        switch (name.Length, name[0] | 0x20)
        {
            case (2, 't'):
                if (HttpChars.EqualsLowercase(name, "te"u8)) return KnownHeader.TE;
                break;
            case (4, 'h'):
                if (HttpChars.EqualsLowercase(name, "host"u8)) return KnownHeader.Host;
                break;
            case (4, 'd'):
                if (HttpChars.EqualsLowercase(name, "date"u8)) return KnownHeader.Date;
                break;
            case (6, 'e'):
                if (HttpChars.EqualsLowercase(name, "expect"u8)) return KnownHeader.Expect;
                break;
            case (7, 'u'):
                if (HttpChars.EqualsLowercase(name, "upgrade"u8)) return KnownHeader.Upgrade;
                break;
            case (7, 't'):
                if (HttpChars.EqualsLowercase(name, "trailer"u8)) return KnownHeader.Trailer;
                break;
            case (10, 'c'):
                if (HttpChars.EqualsLowercase(name, "connection"u8)) return KnownHeader.Connection;
                break;
            case (10, 't'):
                if (HttpChars.EqualsLowercase(name, "tracestate"u8)) return KnownHeader.TraceState;
                break;
            case (11, 't'):
                if (HttpChars.EqualsLowercase(name, "traceparent"u8)) return KnownHeader.TraceParent;
                break;
            case (12, 'x'):
                if (HttpChars.EqualsLowercase(name, "x-request-id"u8)) return KnownHeader.RequestId;
                break;
            case (10, 'k'):
                if (HttpChars.EqualsLowercase(name, "keep-alive"u8)) return KnownHeader.KeepAlive;
                break;
            case (14, 'c'):
                if (HttpChars.EqualsLowercase(name, "content-length"u8)) return KnownHeader.ContentLength;
                break;
            case (15, 'x'):
                if (HttpChars.EqualsLowercase(name, "x-forwarded-for"u8)) return KnownHeader.XForwardedFor;
                break;
            case (16, 'x'):
                if (HttpChars.EqualsLowercase(name, "x-forwarded-host"u8)) return KnownHeader.XForwardedHost;
                break;
            case (17, 't'):
                if (HttpChars.EqualsLowercase(name, "transfer-encoding"u8)) return KnownHeader.TransferEncoding;
                break;
            case (17, 'x'):
                if (HttpChars.EqualsLowercase(name, "x-forwarded-proto"u8)) return KnownHeader.XForwardedProto;
                break;
        }
        // RFC 9110 §7.6.1 names Proxy-Connection as hop-by-hop; the Proxy-Authorization family is for the proxy itself.
        if (name.Length > 6 && (name[0] | 0x20) == 'p' && Ascii.EqualsIgnoreCase(name[..6], "proxy-"u8)) return KnownHeader.Proxy;
        // The identity the gateway vouches for (x-consumer, x-consumer-groups, ...): a client must not be able to claim one.
        if (name.Length >= 10 && (name[0] | 0x20) == 'x' && Ascii.EqualsIgnoreCase(name[..10], "x-consumer"u8)) return KnownHeader.Consumer;
        return KnownHeader.None;
    }

    /// <summary>
    /// True for a name like "Transfer_Encoding" or "content_length": an underscore spelling of a field the proxy
    /// treats specially. CGI-style servers (PHP, WSGI, Rack) turn '_' and '-' into the same variable name, so such a
    /// field could be read as framing or Host behind the proxy's back. They are dropped, not forwarded (nginx drops
    /// every underscored name by default; this drops only the dangerous ones).
    /// </summary>
    public static bool IsUnderscoreAlias(ReadOnlySpan<byte> name)
    {
        // The longest known name is 17 bytes; anything longer cannot alias one.
        // x-consumer* has no length limit (x_consumer_custom_id aliases x-consumer-custom-id).
        if ((name.Length > 17 && ((name[0] | 0x20) != 'x' || name.Length > 256)) || !name.Contains((byte)'_')) return false;
        Span<byte> dashed = stackalloc byte[name.Length];
        name.CopyTo(dashed);
        dashed.Replace((byte)'_', (byte)'-');
        return Lookup(dashed) != KnownHeader.None;
    }

    /// <summary>
    /// Hop-by-hop fields (RFC 9110 §7.6.1) that a proxy must not forward: Connection, Keep-Alive, TE, Trailer,
    /// Upgrade (re-added only when tunnelling) and Proxy-*. Framing fields are rewritten by the forwarder, not here.
    /// </summary>
    public static bool IsHopByHop(KnownHeader header) => header is KnownHeader.Connection or KnownHeader.KeepAlive
        or KnownHeader.TE or KnownHeader.Trailer or KnownHeader.Upgrade or KnownHeader.Proxy;
}

/// <summary>One field line of a parsed head, as offsets into the head's bytes: nothing is copied.</summary>
public struct HeaderField
{
    /// <summary>Start of the line, which is also the start of the name.</summary>
    public int LineStart;
    /// <summary>Just past the line's LF.</summary>
    public int LineEnd;
    public int NameLength;
    /// <summary>Value with surrounding whitespace removed.</summary>
    public int ValueStart;
    public int ValueLength;
    public KnownHeader Known;
    /// <summary>Not to be forwarded: hop-by-hop by name, or nominated by the Connection field.</summary>
    public bool HopByHop;

    public readonly ReadOnlySpan<byte> Name(ReadOnlySpan<byte> head) => head.Slice(LineStart, NameLength);

    public readonly ReadOnlySpan<byte> Value(ReadOnlySpan<byte> head) => head.Slice(ValueStart, ValueLength);

    public readonly ReadOnlySpan<byte> Line(ReadOnlySpan<byte> head) => head[LineStart..LineEnd];
}
