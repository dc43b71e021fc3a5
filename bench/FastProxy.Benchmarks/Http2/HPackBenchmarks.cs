using System.Text;
using BenchmarkDotNet.Attributes;
using FastProxy.Http2.HPack;

namespace FastProxy.Benchmarks.Http2;

/// <summary>
/// Decodes a browser-like request's field block per call, steady state on one connection (the decoder and its
/// dynamic table persist). <c>Repeat</c>: a request after the first, where nearly every field is an index into
/// the dynamic table (the common case). <c>Literals</c>: the same fields sent as Huffman-coded literals that are not
/// indexed, so every call does the Huffman decoding and copying.
/// </summary>
[MemoryDiagnoser]
public class HPackDecoderBenchmarks
{
    private HPackDecoder _decoder = null!;
    private byte[] _block = null!;

    [Params("Repeat", "Literals")]
    public string Block { get; set; } = "Repeat";

    [GlobalSetup]
    public void Setup()
    {
        _decoder = new HPackDecoder(4096, 64 * 1024);
        var encoder = new HPackEncoder();
        var indexing = Block == "Repeat" ? HPackIndexing.Incremental : HPackIndexing.Without;
        byte[] first = HPackSamples.Encode(encoder, HPackSamples.Request, indexing);
        var sink = new Sink();
        if (_decoder.Decode(first.AsSpan(), true, ref sink) != HPackError.None) throw new InvalidOperationException("setup block did not decode");
        _block = HPackSamples.Encode(encoder, HPackSamples.Request, indexing);
        if (Decode() != HPackSamples.Request.Length) throw new InvalidOperationException("benchmark block did not decode to the request");
    }

    private struct Sink : IHPackHeaderHandler
    {
        public int Fields;
        public int Bytes;

        public void OnHeader(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value, bool neverIndexed)
        {
            Fields++;
            Bytes += name.Length + value.Length;
        }
    }

    [Benchmark]
    public int Decode()
    {
        var sink = new Sink();
        _decoder.Decode(_block.AsSpan(), true, ref sink);
        return sink.Fields;
    }
}

/// <summary>
/// Encodes a typical response's fields per call into a reused buffer, steady state on one connection.
/// <c>Indexed</c>: fields that repeat across responses (found in the dynamic table after the first call) plus a
/// date and content-length that change, as literals. <c>Literals</c>: every field a Huffman-coded literal not indexed.
/// </summary>
[MemoryDiagnoser]
public class HPackEncoderBenchmarks
{
    private HPackEncoder _encoder = null!;
    private readonly byte[] _output = new byte[4096];
    private byte[][] _names = null!;
    private byte[][] _values = null!;
    private HPackIndexing[] _indexing = null!;

    [Params("Indexed", "Literals")]
    public string Mode { get; set; } = "Indexed";

    [GlobalSetup]
    public void Setup()
    {
        _encoder = new HPackEncoder();
        var fields = HPackSamples.Response;
        _names = fields.Select(f => Encoding.ASCII.GetBytes(f.Name)).ToArray();
        _values = fields.Select(f => Encoding.ASCII.GetBytes(f.Value)).ToArray();
        _indexing = fields.Select(f => Mode == "Literals" || f.Name is "date" or "content-length" ? HPackIndexing.Without : HPackIndexing.Incremental).ToArray();
        if (Encode() == 0) throw new InvalidOperationException("nothing encoded");
    }

    [Benchmark]
    public int Encode()
    {
        int written = 0;
        _encoder.BeginBlock(_output, ref written);
        for (int i = 0; i < _names.Length; i++) _encoder.TryEncode(_names[i], _values[i], _indexing[i], _output, ref written);
        return written;
    }
}

internal static class HPackSamples
{
    public static readonly (string Name, string Value)[] Request =
    [
        (":method", "GET"), (":scheme", "https"), (":authority", "www.example.com"), (":path", "/assets/app.3f9a2c.js?v=20240101"),
        ("user-agent", "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"),
        ("accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
        ("accept-language", "en-US,en;q=0.5"), ("accept-encoding", "gzip, deflate, br, zstd"),
        ("referer", "https://www.example.com/"), ("cookie", "session=8a7d6f5e4c3b2a19; theme=dark"),
        ("sec-fetch-dest", "script"), ("sec-fetch-mode", "no-cors"), ("sec-fetch-site", "same-origin"),
    ];

    public static readonly (string Name, string Value)[] Response =
    [
        (":status", "200"), ("content-type", "application/javascript; charset=utf-8"), ("content-length", "48213"),
        ("date", "Mon, 23 Nov 2026 11:00:00 GMT"), ("server", "fastproxy"), ("cache-control", "public, max-age=31536000, immutable"),
        ("etag", "\"3f9a2c-bc55\""), ("vary", "accept-encoding"),
    ];

    public static byte[] Encode(HPackEncoder encoder, (string Name, string Value)[] fields, HPackIndexing indexing)
    {
        var output = new byte[8192];
        int written = 0;
        encoder.BeginBlock(output, ref written);
        foreach (var (name, value) in fields)
        {
            if (!encoder.TryEncode(Encoding.ASCII.GetBytes(name), Encoding.ASCII.GetBytes(value), indexing, output, ref written))
                throw new InvalidOperationException("sample does not fit");
        }
        return output[..written];
    }
}
