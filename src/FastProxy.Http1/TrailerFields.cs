namespace FastProxy.Http1;

/// <summary>
/// Reads the field lines of a trailer section as <see cref="ChunkedDecoder"/> handed them out
/// (<see cref="ChunkedStep.Trailer"/> bytes, kept together by the caller): each line is
/// <c>name ":" OWS value OWS CRLF</c>, already validated, so this only splits. The value comes without the
/// surrounding whitespace (RFC 9110 §5.5); the name as sent (field names are case-insensitive).
/// </summary>
public ref struct TrailerFields
{
    private ReadOnlySpan<byte> _rest;

    public TrailerFields(ReadOnlySpan<byte> lines) => _rest = lines;

    /// <summary>The next field; false at the end (or at an incomplete last line, which validated input never has).</summary>
    public bool TryRead(out ReadOnlySpan<byte> name, out ReadOnlySpan<byte> value)
    {
        int lineFeed = _rest.IndexOf(HttpChars.LF);
        int colon = _rest.IndexOf(HttpChars.Colon);
        if (lineFeed < 1 || colon < 1 || colon > lineFeed)
        {
            name = value = default;
            _rest = default;
            return false;
        }
        name = _rest[..colon];
        value = _rest[(colon + 1)..(lineFeed - 1)].Trim(" \t"u8);
        _rest = _rest[(lineFeed + 1)..];
        return true;
    }

    /// <summary>How many lines <paramref name="lines"/> holds (its LFs): a bound for whoever converts them.</summary>
    public static int Count(ReadOnlySpan<byte> lines) => lines.Count(HttpChars.LF);
}
