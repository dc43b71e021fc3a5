using System.Buffers;
using System.IO.Compression;
using System.Text;
using BenchmarkDotNet.Attributes;
using FastProxy.Configuration;
using ZstdSharp;
using ZstdSharp.Unsafe;

namespace FastProxy.Benchmarks.Compression;

/// <summary>
/// The compress policy's three encoders on a typical API answer (16 KiB of JSON: a page of user records, as the
/// issue 18 gzip scenario), each at its default level and driven the way CompressStage drives it: gzip through a
/// GZipStream made per response (zlib level 6), Brotli through a BrotliEncoder made per response (quality 4, window
/// 2^19), zstd through the connection's Compressor reset per response (level 3, window 2^19). One operation = one
/// whole response (16 KiB in, the frame out): divide the mean by 16 for CPU per KiB. The compressed sizes are
/// printed at setup. gzip and Brotli allocate their encoder per response (CompressAllocationTests budgets it); zstd
/// allocates nothing.
/// </summary>
[MemoryDiagnoser]
public class CompressEncoderBenchmarks
{
    private const int BodySize = 16 * 1024;

    private byte[] _body = null!;
    private readonly ArrayBufferWriter<byte> _output = new(64 * 1024);
    private readonly ZLibCompressionOptions _gzipOptions = new() { CompressionLevel = CompressOptions.DefaultGzipLevel };
    private Compressor _zstd = null!;
    private Sink _sink = null!;

    /// <summary>16 KiB of JSON like an API's list answer: ids, names, e-mails, dates, flags, nested tags.</summary>
    internal static byte[] Json(int size)
    {
        var builder = new StringBuilder(size + 512).Append("{\"page\":1,\"per_page\":50,\"users\":[");
        string[] first = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Ken", "Frances", "John", "Radia"];
        string[] last = ["Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Thompson", "Allen", "McCarthy", "Perlman"];
        string[] roles = ["admin", "editor", "viewer", "billing", "support"];
        for (int i = 0; builder.Length < size - 300; i++)
        {
            uint h = (uint)i * 2654435761u;
            if (i > 0) builder.Append(',');
            builder.Append("{\"id\":").Append(100_000 + i * 7)
                .Append(",\"name\":\"").Append(first[h % 10]).Append(' ').Append(last[(h >> 8) % 10]).Append('"')
                .Append(",\"email\":\"").Append(first[h % 10].ToLowerInvariant()).Append('.').Append(h % 9973).Append("@example.com\"")
                .Append(",\"created_at\":\"2026-").Append(1 + h % 12).Append('-').Append(10 + h % 18).Append('T').Append(h % 24).Append(':')
                .Append(10 + (h >> 4) % 50).Append(":00Z\",\"active\":").Append((h & 1) == 0 ? "true" : "false")
                .Append(",\"score\":").Append((h % 100000) / 100.0)
                .Append(",\"roles\":[\"").Append(roles[h % 5]).Append("\",\"").Append(roles[(h >> 3) % 5]).Append("\"]}");
        }
        builder.Append("],\"next\":\"/users?page=2\"}");
        var text = Encoding.ASCII.GetBytes(builder.ToString());
        return text.Length > size ? text : [.. text, .. Enumerable.Repeat((byte)' ', size - text.Length)];
    }

    [GlobalSetup]
    public void Setup()
    {
        _body = Json(BodySize);
        _sink = new Sink(_output);
        _zstd = new Compressor(CompressOptions.DefaultZstdLevel);
        _zstd.SetParameter(ZSTD_cParameter.ZSTD_c_windowLog, 19);
        foreach (var (name, run) in new (string, Action)[] { ("gzip-6", () => GzipResponse()), ("br-4", () => BrotliResponse()), ("zstd-3", () => ZstdResponse()) })
        {
            run();
            Console.WriteLine($"// {name}: {_body.Length} -> {_output.WrittenCount} bytes ({100.0 * _output.WrittenCount / _body.Length:F1}%)");
        }
    }

    [GlobalCleanup]
    public void Cleanup() => _zstd.Dispose();

    [Benchmark(Baseline = true)]
    public int GzipResponse()
    {
        _output.ResetWrittenCount();
        using (var gzip = new GZipStream(_sink, _gzipOptions, leaveOpen: true)) gzip.Write(_body);
        return _output.WrittenCount;
    }

    [Benchmark]
    public int BrotliResponse()
    {
        _output.ResetWrittenCount();
        using var encoder = new BrotliEncoder(CompressOptions.DefaultBrotliLevel, 19);
        ReadOnlySpan<byte> data = _body;
        while (true)
        {
            var status = encoder.Compress(data, _output.GetSpan(16 * 1024), out int consumed, out int written, isFinalBlock: true);
            _output.Advance(written);
            data = data[consumed..];
            if (status == OperationStatus.Done) return _output.WrittenCount;
        }
    }

    [Benchmark]
    public int ZstdResponse()
    {
        _output.ResetWrittenCount();
        _zstd.ResetStream();
        ReadOnlySpan<byte> data = _body;
        while (true)
        {
            var status = _zstd.WrapStream(data, _output.GetSpan(16 * 1024), out int consumed, out int written, isFinalBlock: true);
            _output.Advance(written);
            data = data[consumed..];
            if (status == OperationStatus.Done) return _output.WrittenCount;
        }
    }

    /// <summary>A write-only stream into the output buffer (CompressStage's sink).</summary>
    private sealed class Sink(IBufferWriter<byte> target) : Stream
    {
        public override void Write(ReadOnlySpan<byte> buffer) => target.Write(buffer);
        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));
        public override void Flush() { }
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
