using System.IO.Compression;
using System.Text;
using FastProxy.Configuration;
using FastProxy.Http1;
using FastProxy.Policies.Pipeline;

namespace FastProxy.Policies.Types.Compress;

/// <summary>
/// type = "compress": gzip, Brotli and zstd on the way to the client, as a streaming response stage
/// (<see cref="IResponseStreamPolicy"/>): the body is compressed piece by piece as the upstream sends it and flushed
/// each time the upstream pauses. Negotiated from Accept-Encoding (<see cref="AcceptEncoding"/>). Never for: HEAD and
/// bodiless responses, 206 or a Content-Range, a body already encoded, Cache-Control: no-transform,
/// text/event-stream, gRPC, a type not listed, a known length under min_size, an HTTP/1.0 client. A response that
/// could be compressed gets Vary: Accept-Encoding whether or not this client's is (caches must keep the variants apart).
/// </summary>
internal sealed class CompressPolicy : IPolicy, IResponseStreamPolicy
{
    private readonly CompressEncoding[] _encodings;
    private readonly byte[][] _exactTypes;
    private readonly byte[][] _typePrefixes; // "text/" for "text/*"

    public CompressPolicy(string name, CompressOptions options)
    {
        Name = name;
        _encodings = [.. options.Encodings];
        MinSize = options.MinSize;
        BrotliQuality = options.BrotliLevel;
        GzipOptions = new ZLibCompressionOptions { CompressionLevel = options.GzipLevel };
        ZstdLevel = options.ZstdLevel;
        _exactTypes = [.. options.Types.Where(t => !t.EndsWith("/*", StringComparison.Ordinal)).Select(Encoding.ASCII.GetBytes)];
        _typePrefixes = [.. options.Types.Where(t => t.EndsWith("/*", StringComparison.Ordinal)).Select(t => Encoding.ASCII.GetBytes(t[..^1]))];
    }

    public string Name { get; }
    public bool ObservesOnly => false;
    public long MinSize { get; }
    public int BrotliQuality { get; }
    public ZLibCompressionOptions GzipOptions { get; }
    public int ZstdLevel { get; }

    public ValueTask<PolicyAnswer?> OnRequestAsync(PolicyContext context) => default;

    public ResponseStage CreateStage() => new CompressStage(this);

    /// <summary>The response may be compressed at all (for some client): see the class summary for what is never.</summary>
    internal bool Eligible(PolicyContext context, ResponseView response, in ResponseBodyInfo info)
    {
        if (context.Method == HttpMethod.Head || response.Status == 206 || response.Status < 200 || response.Status is 204 or 304) return false;
        if (response.TryGetHeader("content-range"u8, out _)) return false;
        if (response.TryGetHeader("content-encoding"u8, out var coding) && !Ascii.EqualsIgnoreCase(coding.Trim(" \t"u8), "identity"u8)) return false;
        if (info.ContentLength >= 0 && info.ContentLength < MinSize) return false;
        if (!response.TryGetHeader("content-type"u8, out var contentType) || !TypeListed(contentType)) return false;
        for (int i = 0; i < response.HeaderCount; i++)
        {
            if (Ascii.EqualsIgnoreCase(response.HeaderName(i), "cache-control"u8) && ContainsIgnoreCase(response.HeaderValue(i), "no-transform"u8)) return false;
        }
        return true;
    }

    /// <summary>The media type (parameters dropped) is one of <c>types</c>; never text/event-stream or gRPC.</summary>
    internal bool TypeListed(ReadOnlySpan<byte> contentType)
    {
        int semicolon = contentType.IndexOf((byte)';');
        var type = (semicolon < 0 ? contentType : contentType[..semicolon]).Trim(" \t"u8);
        if (Ascii.EqualsIgnoreCase(type, "text/event-stream"u8)) return false;
        if (type.Length >= 16 && Ascii.EqualsIgnoreCase(type[..16], "application/grpc"u8)) return false;
        foreach (var exact in _exactTypes)
        {
            if (Ascii.EqualsIgnoreCase(type, exact)) return true;
        }
        foreach (var prefix in _typePrefixes)
        {
            if (type.Length > prefix.Length && Ascii.EqualsIgnoreCase(type[..prefix.Length], prefix)) return true;
        }
        return false;
    }

    /// <summary>
    /// The encoding for this client: the highest q among the offered ones it accepts, the server's order
    /// (<c>encodings</c>) on ties, as Envoy's compressor filters and Caddy's <c>encode</c> do: browsers send
    /// "gzip, deflate, br, zstd" all at q=1, so the client's listing order says nothing and the operator's choice of
    /// ratio against CPU decides. Null: none.
    /// </summary>
    internal CompressEncoding? Negotiate(PolicyContext context)
    {
        var accepted = new AcceptEncoding();
        for (int i = context.FindHeader("accept-encoding"u8); i >= 0; i = context.FindHeader("accept-encoding"u8, i + 1))
        {
            accepted.Add(context.HeaderValue(i));
        }
        CompressEncoding? best = null;
        int bestQ = 0;
        foreach (var encoding in _encodings)
        {
            int q = accepted.Quality(encoding);
            if (q > bestQ)
            {
                best = encoding;
                bestQ = q;
            }
        }
        return best;
    }

    private static bool ContainsIgnoreCase(ReadOnlySpan<byte> value, ReadOnlySpan<byte> word)
    {
        for (int i = 0; i + word.Length <= value.Length; i++)
        {
            if (Ascii.EqualsIgnoreCase(value.Slice(i, word.Length), word)) return true;
        }
        return false;
    }
}

/// <summary>
/// The q-values an Accept-Encoding names (RFC 9110 §12.5.3), in thousandths: gzip (x-gzip too), br, zstd and "*". A coding
/// not named gets the "*" quality, or none (0) without a "*"; q=0 refuses. No allocation.
/// </summary>
internal struct AcceptEncoding
{
    private int _gzip, _brotli, _zstd, _star;
    private bool _any;

    public void Add(ReadOnlySpan<byte> value)
    {
        if (!_any)
        {
            _gzip = _brotli = _zstd = _star = -1;
            _any = true;
        }
        while (!value.IsEmpty)
        {
            int comma = value.IndexOf((byte)',');
            var item = comma < 0 ? value : value[..comma];
            value = comma < 0 ? default : value[(comma + 1)..];
            int semicolon = item.IndexOf((byte)';');
            var coding = (semicolon < 0 ? item : item[..semicolon]).Trim(" \t"u8);
            if (coding.IsEmpty) continue;
            int q = semicolon < 0 ? 1000 : ParseQ(item[(semicolon + 1)..]);
            if (q < 0) continue; // a malformed weight: the item is ignored
            if (Ascii.EqualsIgnoreCase(coding, "gzip"u8) || Ascii.EqualsIgnoreCase(coding, "x-gzip"u8)) _gzip = Math.Max(_gzip, q);
            else if (Ascii.EqualsIgnoreCase(coding, "br"u8)) _brotli = Math.Max(_brotli, q);
            else if (Ascii.EqualsIgnoreCase(coding, "zstd"u8)) _zstd = Math.Max(_zstd, q);
            else if (coding.Length == 1 && coding[0] == (byte)'*') _star = Math.Max(_star, q);
        }
    }

    public readonly int Quality(CompressEncoding encoding)
    {
        if (!_any) return 0;
        int q = encoding switch
        {
            CompressEncoding.Gzip => _gzip,
            CompressEncoding.Brotli => _brotli,
            _ => _zstd,
        };
        return q >= 0 ? q : Math.Max(_star, 0);
    }

    /// <summary>The weight in parameters such as " q=0.5" (other parameters skipped): 0-1000, 1000 when absent, -1 when malformed.</summary>
    private static int ParseQ(ReadOnlySpan<byte> parameters)
    {
        while (!parameters.IsEmpty)
        {
            int semicolon = parameters.IndexOf((byte)';');
            var parameter = (semicolon < 0 ? parameters : parameters[..semicolon]).Trim(" \t"u8);
            parameters = semicolon < 0 ? default : parameters[(semicolon + 1)..];
            if (parameter.Length < 2 || (parameter[0] | 0x20) != 'q' || parameter[1] != '=') continue;
            var number = parameter[2..];
            if (number.IsEmpty || number.Length > 5) return -1;
            if (number[0] == '1')
            {
                for (int i = 1; i < number.Length; i++)
                {
                    if (i == 1 ? number[i] != '.' : number[i] != '0') return -1;
                }
                return 1000;
            }
            if (number[0] != '0') return -1;
            if (number.Length == 1) return 0;
            if (number[1] != '.') return -1;
            int q = 0, scale = 100;
            for (int i = 2; i < number.Length; i++)
            {
                if (number[i] is < (byte)'0' or > (byte)'9') return -1;
                q += (number[i] - '0') * scale;
                scale /= 10;
            }
            return q;
        }
        return 1000;
    }
}
