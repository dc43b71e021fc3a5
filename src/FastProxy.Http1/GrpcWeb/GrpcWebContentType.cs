using System.Text;

namespace FastProxy.Http1.GrpcWeb;

/// <summary>Which gRPC-Web framing a request uses; <see cref="None"/>: not gRPC-Web.</summary>
public enum GrpcWebFraming : byte
{
    None = 0,
    /// <summary>application/grpc-web[+suffix]: gRPC's own length-prefixed frames, trailers as a body frame.</summary>
    Binary,
    /// <summary>application/grpc-web-text[+suffix]: the same frames, base64-encoded.</summary>
    Text,
}

/// <summary>
/// The gRPC-Web media types (github.com/grpc/grpc doc/PROTOCOL-WEB.md): <c>application/grpc-web</c> and
/// <c>application/grpc-web-text</c>, each optionally with a "+codec" suffix (<c>+proto</c>, <c>+json</c>...), and
/// their gRPC counterparts (<c>application/grpc</c> plus the same suffix). Media types compare case-insensitively;
/// parameters after ';' are ignored. Pure functions over bytes: no allocation.
/// </summary>
public static class GrpcWebContentType
{
    /// <summary>Longest "+codec" suffix carried over ("+proto", "+json", "+thrift" fit with room to spare).</summary>
    public const int MaxSuffixLength = 32;

    /// <summary>What content-type written by <see cref="WriteGrpc"/>/<see cref="WriteGrpcWeb"/> can take at most.</summary>
    public const int MaxLength = 25 + MaxSuffixLength;

    private static ReadOnlySpan<byte> GrpcWeb => "application/grpc-web"u8;
    private static ReadOnlySpan<byte> TextSuffix => "-text"u8;

    /// <summary>
    /// Classifies a request's content-type value. <paramref name="suffixStart"/>/<paramref name="suffixLength"/>: the
    /// "+codec" part within <paramref name="value"/> (length 0 when there is none).
    /// </summary>
    public static GrpcWebFraming Classify(ReadOnlySpan<byte> value, out int suffixStart, out int suffixLength)
    {
        suffixStart = suffixLength = 0;
        var media = MediaType(value);
        if (media.Length < GrpcWeb.Length || !Ascii.EqualsIgnoreCase(media[..GrpcWeb.Length], GrpcWeb)) return GrpcWebFraming.None;
        var rest = media[GrpcWeb.Length..];
        var framing = GrpcWebFraming.Binary;
        if (rest.Length >= TextSuffix.Length && Ascii.EqualsIgnoreCase(rest[..TextSuffix.Length], TextSuffix))
        {
            framing = GrpcWebFraming.Text;
            rest = rest[TextSuffix.Length..];
        }
        if (rest.IsEmpty) return framing;
        // "+codec": a token of letters, digits and a few marks; anything else ("application/grpc-webx") is not ours.
        if (rest[0] != (byte)'+' || rest.Length < 2 || rest.Length > MaxSuffixLength || !IsSuffixToken(rest[1..])) return GrpcWebFraming.None;
        suffixStart = LeadingSpaces(value) + media.Length - rest.Length;
        suffixLength = rest.Length;
        return framing;
    }

    /// <summary>True when an Accept value asks for the text framing (the gRPC-Web client's way to ask for base64 answers).</summary>
    public static bool AcceptsText(ReadOnlySpan<byte> accept)
    {
        // Accept may list several types: any of them being grpc-web-text counts.
        while (!accept.IsEmpty)
        {
            int comma = accept.IndexOf((byte)',');
            var item = comma < 0 ? accept : accept[..comma];
            if (Classify(item, out _, out _) == GrpcWebFraming.Text) return true;
            if (comma < 0) break;
            accept = accept[(comma + 1)..];
        }
        return false;
    }

    /// <summary>True for a response's application/grpc[+codec] (what a gRPC server answers with).</summary>
    public static bool IsGrpc(ReadOnlySpan<byte> value)
    {
        var media = MediaType(value);
        var grpc = "application/grpc"u8;
        if (media.Length < grpc.Length || !Ascii.EqualsIgnoreCase(media[..grpc.Length], grpc)) return false;
        return media.Length == grpc.Length || media[grpc.Length] == (byte)'+';
    }

    /// <summary>Writes "application/grpc" + suffix into <paramref name="into"/> (at least <see cref="MaxLength"/> long); returns the length.</summary>
    public static int WriteGrpc(ReadOnlySpan<byte> suffix, Span<byte> into)
    {
        "application/grpc"u8.CopyTo(into);
        suffix.CopyTo(into[16..]);
        return 16 + suffix.Length;
    }

    /// <summary>Writes "application/grpc-web" or "application/grpc-web-text", then the suffix; returns the length.</summary>
    public static int WriteGrpcWeb(GrpcWebFraming framing, ReadOnlySpan<byte> suffix, Span<byte> into)
    {
        var type = framing == GrpcWebFraming.Text ? "application/grpc-web-text"u8 : "application/grpc-web"u8;
        type.CopyTo(into);
        suffix.CopyTo(into[type.Length..]);
        return type.Length + suffix.Length;
    }

    private static ReadOnlySpan<byte> MediaType(ReadOnlySpan<byte> value)
    {
        int semicolon = value.IndexOf((byte)';');
        if (semicolon >= 0) value = value[..semicolon];
        return value.Trim(" \t"u8);
    }

    private static int LeadingSpaces(ReadOnlySpan<byte> value)
    {
        int i = 0;
        while (i < value.Length && value[i] is (byte)' ' or (byte)'\t') i++;
        return i;
    }

    private static bool IsSuffixToken(ReadOnlySpan<byte> token)
    {
        foreach (byte b in token)
        {
            if (!(b is >= (byte)'a' and <= (byte)'z' || b is >= (byte)'A' and <= (byte)'Z' || b is >= (byte)'0' and <= (byte)'9'
                || b is (byte)'-' or (byte)'.' or (byte)'_')) return false;
        }
        return true;
    }
}
