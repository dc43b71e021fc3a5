namespace FastProxy.Http2.Messages;

/// <summary>Why a request's field section is malformed (RFC 9113 §8.1.1: a stream error PROTOCOL_ERROR).</summary>
public enum Http2FieldError : byte
{
    None = 0,
    /// <summary>A name with uppercase, controls, SP, DEL, non-ASCII, or (outside a pseudo-header) a colon; or empty (§8.2.1).</summary>
    InvalidName,
    /// <summary>A value with NUL, CR or LF, or starting or ending with SP or HTAB (§8.2.1).</summary>
    InvalidValue,
    /// <summary>Connection, Proxy-Connection, Keep-Alive, Transfer-Encoding or Upgrade (§8.2.2).</summary>
    ConnectionSpecificField,
    /// <summary>TE with anything but "trailers" (§8.2.2).</summary>
    InvalidTe,
    /// <summary>A pseudo-header that is not a request one, e.g. :status, or unknown (§8.3).</summary>
    UnknownPseudoHeader,
    /// <summary>A pseudo-header after a regular field (§8.3).</summary>
    PseudoHeaderAfterField,
    DuplicatePseudoHeader,
    /// <summary>:method, :scheme or :path missing, or (CONNECT) :scheme/:path present or :authority missing (§8.3.1, §8.5).</summary>
    MissingOrExtraPseudoHeader,
    /// <summary>An empty :path, or one that is neither origin-form nor "*" (§8.3.1).</summary>
    InvalidPath,
    /// <summary>:authority with userinfo ("user@host") (§8.3.1).</summary>
    AuthorityWithUserinfo,
}

/// <summary>
/// Checks a request's field section as it is decoded, field by field, against RFC 9113 §8.2 and §8.3: what HTTP/2
/// adds to HTTP semantics and what a proxy must refuse before converting a stream to HTTP/1.1 (a malformed request
/// is a stream error PROTOCOL_ERROR, and must never be forwarded: §8.1.1). A small struct with no buffers: call
/// <see cref="OnField"/> for each decoded field and <see cref="Complete"/> after the block. Trailers use
/// <see cref="OnTrailerField"/> (no pseudo-headers there).
/// </summary>
public struct Http2RequestFieldValidator
{
    [Flags]
    private enum Seen : byte
    {
        None = 0,
        Method = 1,
        Scheme = 2,
        Path = 4,
        Authority = 8,
        Protocol = 16,
        Regular = 32,
        Connect = 64,
    }

    private Seen _seen;

    public Http2FieldError Error { get; private set; }

    /// <summary>The first error stays: later fields do not hide it.</summary>
    public Http2FieldError OnField(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
    {
        if (Error != Http2FieldError.None) return Error;
        return Error = Check(name, value);
    }

    public Http2FieldError OnTrailerField(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
    {
        if (Error != Http2FieldError.None) return Error;
        if (!name.IsEmpty && name[0] == (byte)':') return Error = Http2FieldError.UnknownPseudoHeader; // §8.1: no pseudo-headers in trailers
        return Error = CheckRegular(name, value);
    }

    /// <summary>After the last field of the header section: the required pseudo-headers (§8.3.1, §8.5).</summary>
    public Http2FieldError Complete()
    {
        if (Error != Http2FieldError.None) return Error;
        // RFC 8441 §4: :protocol only with CONNECT (extended CONNECT, which then carries :scheme and :path too).
        if ((_seen & Seen.Protocol) != 0 && (_seen & Seen.Connect) == 0) return Error = Http2FieldError.MissingOrExtraPseudoHeader;
        if ((_seen & Seen.Connect) != 0 && (_seen & Seen.Protocol) == 0)
        {
            // §8.5 CONNECT: only :method and :authority.
            bool ok = (_seen & Seen.Authority) != 0 && (_seen & (Seen.Scheme | Seen.Path)) == 0;
            return Error = ok ? Http2FieldError.None : Http2FieldError.MissingOrExtraPseudoHeader;
        }
        const Seen required = Seen.Method | Seen.Scheme | Seen.Path;
        return Error = (_seen & required) == required ? Http2FieldError.None : Http2FieldError.MissingOrExtraPseudoHeader;
    }

    private Http2FieldError Check(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
    {
        if (name.IsEmpty) return Http2FieldError.InvalidName;
        if (name[0] != (byte)':')
        {
            _seen |= Seen.Regular;
            return CheckRegular(name, value);
        }

        // §8.3: "All pseudo-header fields MUST appear in a field block before all regular field lines."
        if ((_seen & Seen.Regular) != 0) return Http2FieldError.PseudoHeaderAfterField;
        Seen which = name switch
        {
            _ when name.SequenceEqual(":method"u8) => Seen.Method,
            _ when name.SequenceEqual(":scheme"u8) => Seen.Scheme,
            _ when name.SequenceEqual(":path"u8) => Seen.Path,
            _ when name.SequenceEqual(":authority"u8) => Seen.Authority,
            _ when name.SequenceEqual(":protocol"u8) => Seen.Protocol, // RFC 8441 extended CONNECT
            _ => Seen.None,
        };
        if (which == Seen.None) return Http2FieldError.UnknownPseudoHeader;
        if ((_seen & which) != 0) return Http2FieldError.DuplicatePseudoHeader;
        _seen |= which;
        if (!IsValidValue(value)) return Http2FieldError.InvalidValue;

        switch (which)
        {
            case Seen.Method:
                if (value.IsEmpty || !IsToken(value)) return Http2FieldError.InvalidValue;
                if (value.SequenceEqual("CONNECT"u8)) _seen |= Seen.Connect;
                break;
            case Seen.Path:
                // §8.3.1: "This pseudo-header field MUST NOT be empty for "http" or "https" URIs"; origin-form or "*".
                if (value.IsEmpty) return Http2FieldError.InvalidPath;
                if (value[0] != (byte)'/' && !(value.Length == 1 && value[0] == (byte)'*')) return Http2FieldError.InvalidPath;
                if (value.IndexOfAny((byte)' ', (byte)'#') >= 0) return Http2FieldError.InvalidPath;
                break;
            case Seen.Authority:
                // §8.3.1: "MUST NOT include the deprecated userinfo subcomponent for "http" or "https" schemed URIs."
                if (value.Contains((byte)'@')) return Http2FieldError.AuthorityWithUserinfo;
                break;
            case Seen.Scheme:
                if (value.IsEmpty || !IsToken(value)) return Http2FieldError.InvalidValue;
                break;
        }
        return Http2FieldError.None;
    }

    private static Http2FieldError CheckRegular(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
    {
        if (name.IsEmpty) return Http2FieldError.InvalidName;
        // §8.2.1: no 0x00-0x20, 0x41-0x5a (uppercase), 0x7f-0xff; and no colon outside pseudo-headers.
        foreach (byte b in name)
        {
            if (b <= 0x20 || b is >= 0x41 and <= 0x5a || b >= 0x7f || b == (byte)':') return Http2FieldError.InvalidName;
        }
        if (!IsValidValue(value)) return Http2FieldError.InvalidValue;

        // §8.2.2: connection-specific fields are malformed in HTTP/2; TE may only say "trailers".
        switch (name.Length)
        {
            case 2 when name.SequenceEqual("te"u8):
                return value.SequenceEqual("trailers"u8) ? Http2FieldError.None : Http2FieldError.InvalidTe;
            case 7 when name.SequenceEqual("upgrade"u8):
            case 10 when name.SequenceEqual("connection"u8) || name.SequenceEqual("keep-alive"u8):
            case 16 when name.SequenceEqual("proxy-connection"u8):
            case 17 when name.SequenceEqual("transfer-encoding"u8):
                return Http2FieldError.ConnectionSpecificField;
        }
        return Http2FieldError.None;
    }

    /// <summary>§8.2.1: no NUL, CR or LF; no leading or trailing SP or HTAB.</summary>
    private static bool IsValidValue(ReadOnlySpan<byte> value)
    {
        if (value.IndexOfAny((byte)0, (byte)'\r', (byte)'\n') >= 0) return false;
        if (value.IsEmpty) return true;
        return value[0] is not ((byte)' ' or (byte)'\t') && value[^1] is not ((byte)' ' or (byte)'\t');
    }

    /// <summary>RFC 9110 §5.6.2 tchar.</summary>
    private static bool IsToken(ReadOnlySpan<byte> value)
    {
        foreach (byte b in value)
        {
            bool ok = b is >= (byte)'a' and <= (byte)'z' or >= (byte)'A' and <= (byte)'Z' or >= (byte)'0' and <= (byte)'9'
                || "!#$%&'*+-.^_`|~"u8.Contains(b);
            if (!ok) return false;
        }
        return true;
    }
}
